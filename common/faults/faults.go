// Package faults is tracelab's catalogue of planted problems, the workshop's raw material:
// each fault is a real failure class (a slow dependency, an N+1 read, a contended lock, a
// retry storm, a backlog...) that leaves its own shape in a trace.
//
// A fault is switched on three ways, all read through this package:
//
//   - for one request, with the baggage item fault: curl -H 'uberctx-fault: slow-quote=300ms'.
//     Baggage follows the request across HTTP and AMQP, so nobody else is affected;
//   - for everyone, at run time: make fault SET=lock-contention (the /faults admin route,
//     see Admin);
//   - at start, with TRACELAB_FAULTS=lock-contention,slow-quote=300ms.
//
// The code of a service asks faults.On(ctx, faults.SlowQuote) where the fault acts, and
// every span a fault touches is tagged fault=<name>. TRACELAB_FAULTS_ENABLED=false turns
// the machinery off: nothing can be switched, and the edge drops a caller's fault item.
package faults

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Name is a fault's name, as learners, instructors and scripts type it.
type Name string

// The catalogue's names. The lab that uses a fault tells what it looks like in a trace.
const (
	SlowQuote       Name = "slow-quote"       // quoteservice takes longer: a latency (300ms) or CPU (a strength, 40)
	SequentialCalls Name = "sequential-calls" // accountservice calls quote, then image: a staircase
	NPlusOne        Name = "n-plus-one"       // one bolt transaction per recent account transaction
	LockContention  Name = "lock-contention"  // imageservice filters through one shared lock
	RetryStorm      Name = "retry-storm"      // imageservice fails, accountservice retries at once, again and again
	QueueBacklog    Name = "queue-backlog"    // vipservice consumes slowly: the queue grows
	VIPErrors       Name = "vip-errors"       // requests for VIP accounts fail in accountservice
	QuoteTimeout    Name = "quote-timeout"    // quoteservice hangs past accountservice's call timeout
	EdgePool        Name = "edge-pool"        // the edge has too few upstream connections
	ImageLeak       Name = "image-leak"       // imageservice keeps what it allocates: self time, no child span
)

// Mystery is the pseudo-fault of lab 2: mystery=<seed> switches on one fault of Findable,
// chosen from the seed, and its spans are not tagged, so the learner has to find it.
const Mystery Name = "mystery"

// Fault describes one entry of the catalogue.
type Fault struct {
	Name     Name
	Services []string // where it acts
	Summary  string   // what it does, in a line
	Param    Param    // what a value after = means; Kind None when it takes none
}

// ParamKind says what a fault's parameter is.
type ParamKind int

const (
	None            ParamKind = iota // no parameter: a value is ignored
	Duration                         // 300ms, 2s
	Count                            // a whole number
	DurationOrCount                  // either; slow-quote: a latency, or a CPU strength
)

// Param is a fault's parameter: its kind, the value used when none is given, and the
// bounds every value is clamped to, so that no request can make a service sleep for an hour.
type Param struct {
	Kind        ParamKind
	Default     string
	MinDuration time.Duration
	MaxDuration time.Duration
	MinCount    int
	MaxCount    int
	Help        string
}

// Catalogue is every fault, in the order the workshop introduces them.
var Catalogue = []Fault{
	{SlowQuote, []string{"quoteservice"}, "quoteservice sleeps (300ms) or burns CPU (a strength, 40) before answering",
		Param{Kind: DurationOrCount, Default: "300ms", MinDuration: time.Millisecond, MaxDuration: 1500 * time.Millisecond, MinCount: 1, MaxCount: 100,
			Help: "a latency up to 1.5s, or a CPU strength from 1 to 100"}},
	{SequentialCalls, []string{"accountservice"}, "accountservice asks for the quote, waits, then asks for the image", Param{}},
	{NPlusOne, []string{"accountservice"}, "accountservice reads each recent transaction in a bolt transaction of its own", Param{}},
	{LockContention, []string{"imageservice"}, "imageservice filters every image through one shared lock, held for the whole filter",
		Param{Kind: Duration, Default: "25ms", MinDuration: time.Millisecond, MaxDuration: 500 * time.Millisecond, Help: "how long each request holds the lock, up to 500ms"}},
	{RetryStorm, []string{"accountservice", "imageservice"}, "imageservice fails the first attempts; accountservice retries at once, with no backoff or budget",
		Param{Kind: Count, Default: "5", MinCount: 1, MaxCount: 20, Help: "attempts that fail before one succeeds, up to 20"}},
	{QueueBacklog, []string{"vipservice"}, "vipservice takes long over each VIP event, one at a time, so the queue grows",
		Param{Kind: Duration, Default: "500ms", MinDuration: time.Millisecond, MaxDuration: 5 * time.Second, Help: "time spent on each event, up to 5s"}},
	{VIPErrors, []string{"accountservice"}, "accountservice fails the requests for VIP accounts, and only those", Param{}},
	{QuoteTimeout, []string{"quoteservice"}, "quoteservice hangs past accountservice's call timeout; the answer comes without a quote",
		Param{Kind: Duration, Default: "5s", MinDuration: time.Millisecond, MaxDuration: 30 * time.Second, Help: "how long it hangs, up to 30s (the caller gives up first)"}},
	{EdgePool, []string{"edge"}, "the edge lets only a few calls at a time through to accountservice: the others wait",
		Param{Kind: Count, Default: "1", MinCount: 1, MaxCount: 16, Help: "calls let through at a time, up to 16"}},
	{ImageLeak, []string{"imageservice"}, "imageservice keeps every buffer it allocates: the garbage collector's work shows as self time",
		Param{Kind: Count, Default: "4096", MinCount: 1, MaxCount: 65536, Help: "KiB kept per request, up to 65536 (the leak stops growing at 512 MiB)"}},
}

// Findable is the faults lab 2's mystery picks from: each makes the request slower in a
// way the trace shows.
var Findable = []Name{SlowQuote, SequentialCalls, NPlusOne, LockContention, RetryStorm, ImageLeak}

// Lookup returns the catalogue entry of name.
func Lookup(name Name) (Fault, bool) {
	for _, f := range Catalogue {
		if f.Name == name {
			return f, true
		}
	}
	return Fault{}, false
}

// MysteryFault is the fault that mystery=seed switches on: always the same for the same
// seed, and spread over Findable for different ones.
func MysteryFault(seed string) Name {
	h := fnv.New32a()
	h.Write([]byte(seed))
	return Findable[h.Sum32()%uint32(len(Findable))]
}

// Set is a set of active faults and their parameters ("" for a fault that takes none).
type Set map[Name]string

// Parse reads the syntax the three switches share: names separated by commas, each with
// an optional =value: "sequential-calls", "slow-quote=300ms,lock-contention". A name the
// catalogue lacks is ignored and returned in unknown (the caller counts it: never an
// error, a typo must not fail a request); a value is clamped to the fault's bounds, and
// one that cannot be read takes the default. "mystery=<seed>" becomes the fault the seed
// picks, marked so that its spans stay untagged.
func Parse(s string) (set Set, unknown []string) {
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		key, value, _ := strings.Cut(item, "=")
		name := Name(strings.ToLower(strings.TrimSpace(key)))
		value = strings.TrimSpace(value)
		if name == Mystery {
			if value == "" {
				unknown = append(unknown, item)
				continue
			}
			if set == nil {
				set = Set{}
			}
			picked := MysteryFault(value)
			set[picked] = clamp(mustLookup(picked).Param, "")
			set[Mystery] = value
			continue
		}
		f, ok := Lookup(name)
		if !ok {
			unknown = append(unknown, item)
			continue
		}
		if set == nil {
			set = Set{}
		}
		set[name] = clamp(f.Param, value)
	}
	return set, unknown
}

func mustLookup(name Name) Fault {
	f, _ := Lookup(name)
	return f
}

// clamp returns value within p's bounds, as a fault reads it: "" for none, the default
// when value is empty or unreadable, else the nearest allowed value.
func clamp(p Param, value string) string {
	if p.Kind == None {
		return ""
	}
	if value == "" {
		value = p.Default
	}
	if p.Kind == Count || p.Kind == DurationOrCount {
		if n, err := strconv.Atoi(value); err == nil {
			return strconv.Itoa(min(max(n, p.MinCount), p.MaxCount))
		}
	}
	if p.Kind == Duration || p.Kind == DurationOrCount {
		if d, err := time.ParseDuration(value); err == nil {
			return min(max(d, p.MinDuration), p.MaxDuration).String()
		}
	}
	if value != p.Default {
		return clamp(p, p.Default)
	}
	return value
}

// String writes s in Parse's syntax, sorted, mystery as mystery=<seed> alone.
func (s Set) String() string {
	if seed, ok := s[Mystery]; ok {
		return string(Mystery) + "=" + seed
	}
	items := make([]string, 0, len(s))
	for name, value := range s {
		if value == "" {
			items = append(items, string(name))
		} else {
			items = append(items, string(name)+"="+value)
		}
	}
	sort.Strings(items)
	return strings.Join(items, ",")
}

// merge returns the faults of s and of other; other's values win.
func (s Set) merge(other Set) Set {
	if len(s) == 0 {
		return other
	}
	if len(other) == 0 {
		return s
	}
	out := make(Set, len(s)+len(other))
	for name, v := range s {
		out[name] = v
	}
	for name, v := range other {
		out[name] = v
	}
	return out
}

// checkSyntax is Parse for settings: an unknown name is an error there, because a person
// typed it and is waiting to see it work.
func checkSyntax(s string) (Set, error) {
	set, unknown := Parse(s)
	if len(unknown) > 0 {
		return nil, fmt.Errorf("unknown fault %q (make fault lists them)", strings.Join(unknown, ","))
	}
	return set, nil
}
