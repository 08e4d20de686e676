package faults

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opentracing/opentracing-go"
)

// BaggageKey is the baggage item that switches faults on for one request.
const BaggageKey = "fault"

// Tag is the span tag that names the faults acting on a span: fault=sequential-calls.
const Tag = "fault"

// IgnoredTag lists, on the span that received them, the baggage items that named no fault.
const IgnoredTag = "fault.ignored"

// Switch holds what a service's faults are: whether they can be switched at all, and
// which are on for everyone. Each service builds one in run, from the environment.
type Switch struct {
	enabled bool
	mu      sync.Mutex          // serializes Set and Clear
	global  atomic.Pointer[Set] // read by every request, so without the lock
	ignored atomic.Int64        // baggage items that named no fault, since the start
}

// NewSwitch returns a switch with start on for everyone. Disabled, it switches nothing.
func NewSwitch(enabled bool, start Set) *Switch {
	s := &Switch{enabled: enabled}
	if !enabled {
		start = nil
	}
	s.global.Store(&start)
	return s
}

// FromEnv builds the switch from TRACELAB_FAULTS_ENABLED (true unless set to false: a
// landscape that strangers can reach runs with it off) and TRACELAB_FAULTS (the faults on
// from the start, in Parse's syntax; an unknown name is an error).
func FromEnv(getenv func(string) string) (*Switch, error) {
	enabled := true
	if v := getenv("TRACELAB_FAULTS_ENABLED"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("TRACELAB_FAULTS_ENABLED=%q: want true or false", v)
		}
		enabled = b
	}
	start, err := checkSyntax(getenv("TRACELAB_FAULTS"))
	if err != nil {
		return nil, fmt.Errorf("TRACELAB_FAULTS: %w", err)
	}
	if len(start) > 0 && !enabled {
		return nil, fmt.Errorf("TRACELAB_FAULTS=%q but TRACELAB_FAULTS_ENABLED=false: leave one out", getenv("TRACELAB_FAULTS"))
	}
	return NewSwitch(enabled, start), nil
}

// Enabled reports whether faults can be switched on at all.
func (s *Switch) Enabled() bool { return s.enabled }

// Active returns the faults on for everyone.
func (s *Switch) Active() Set { return *s.global.Load() }

// Ignored counts the baggage items that named no fault since the start.
func (s *Switch) Ignored() int64 { return s.ignored.Load() }

// Set switches the faults of spec on for everyone (beside those already on).
func (s *Switch) Set(spec string) error {
	if !s.enabled {
		return errDisabled
	}
	add, err := checkSyntax(spec)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.Active().merge(add)
	s.global.Store(&next)
	return nil
}

// Clear switches off the faults named in spec for everyone, or every one for "all".
func (s *Switch) Clear(spec string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.TrimSpace(spec) == "all" {
		s.global.Store(new(Set))
		return nil
	}
	remove, err := checkSyntax(spec)
	if err != nil {
		return err
	}
	next := Set{}
	for name, v := range s.Active() {
		if _, off := remove[name]; !off {
			next[name] = v
		}
	}
	if _, mystery := remove[Mystery]; mystery {
		next = Set{} // the picked fault goes with its mystery
	}
	s.global.Store(&next)
	return nil
}

var errDisabled = fmt.Errorf("faults are switched off here (TRACELAB_FAULTS_ENABLED=false)")

// Health is what /healthz says about faults.
type Health struct {
	Enabled bool   `json:"enabled"`
	Active  string `json:"active"`  // in Parse's syntax; "" when none
	Ignored int64  `json:"ignored"` // baggage items that named no fault
}

// Health returns the switch's state for /healthz.
func (s *Switch) Health() Health {
	return Health{Enabled: s.enabled, Active: s.Active().String(), Ignored: s.Ignored()}
}

// Context returns ctx carrying the faults on for this piece of work: those on for
// everyone and those in the fault baggage item of the span in ctx. The tracing middleware
// calls it for each request (instrument.Handler sets that up), and vipservice for each
// message it consumes. Baggage items
// that name no fault are counted and listed on the span (fault.ignored), never an error.
func (s *Switch) Context(ctx context.Context) context.Context {
	if !s.enabled {
		return ctx
	}
	set := s.Active()
	span := opentracing.SpanFromContext(ctx)
	if span != nil {
		if item := span.BaggageItem(BaggageKey); item != "" {
			own, unknown := Parse(item)
			if len(unknown) > 0 {
				s.ignored.Add(int64(len(unknown)))
				span.SetTag(IgnoredTag, strings.Join(unknown, ","))
			}
			set = set.merge(own)
		}
	}
	if len(set) == 0 {
		return ctx // the common case, faults off: nothing added to the request
	}
	_, mystery := set[Mystery]
	return context.WithValue(ctx, activeKey{}, &active{set: set, untagged: mystery})
}

// activeKey is the context key of the faults on for a request.
type activeKey struct{}

// active is the faults on for one request, and which spans were tagged with which.
type active struct {
	set      Set
	untagged bool // a mystery: the learner must find the fault without its name on the spans

	mu     sync.Mutex
	tagged map[opentracing.Span][]Name
}

func activeFrom(ctx context.Context) *active {
	a, _ := ctx.Value(activeKey{}).(*active)
	return a
}

// On reports whether fault name is on for the work in ctx and, when it is, tags the span
// in ctx with its name: code asks On right where the fault acts.
//
//	if faults.On(ctx, faults.SequentialCalls) { ... the planted problem ... }
func On(ctx context.Context, name Name) bool {
	if _, on := valueOf(ctx, name); !on {
		return false
	}
	Mark(ctx, opentracing.SpanFromContext(ctx), name)
	return true
}

// Mark tags span as touched by fault name, for a span the fault's code starts itself
// (On tags the one in ctx). It does nothing when the fault is not on for ctx, or is a mystery.
func Mark(ctx context.Context, span opentracing.Span, name Name) {
	a := activeFrom(ctx)
	if a == nil || span == nil || a.untagged {
		return
	}
	if _, ok := a.set[name]; !ok {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.tagged == nil {
		a.tagged = map[opentracing.Span][]Name{}
	}
	names := a.tagged[span]
	for _, n := range names {
		if n == name {
			return
		}
	}
	names = append(names, name)
	a.tagged[span] = names
	value := make([]string, len(names))
	for i, n := range names {
		value[i] = string(n)
	}
	span.SetTag(Tag, strings.Join(value, ","))
}

// valueOf returns fault name's value for the work in ctx ("" for a fault that takes none),
// and whether the fault is on there.
func valueOf(ctx context.Context, name Name) (string, bool) {
	a := activeFrom(ctx)
	if a == nil {
		return "", false
	}
	v, on := a.set[name]
	return v, on
}

// DurationOf returns fault name's parameter as a duration: the value given, clamped, or
// the default; ok is false when the fault is off or its value is not a duration.
func DurationOf(ctx context.Context, name Name) (d time.Duration, ok bool) {
	v, on := valueOf(ctx, name)
	if !on {
		return 0, false
	}
	d, err := time.ParseDuration(v)
	return d, err == nil
}

// CountOf returns fault name's parameter as a whole number, like DurationOf.
func CountOf(ctx context.Context, name Name) (n int, ok bool) {
	v, on := valueOf(ctx, name)
	if !on {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}
