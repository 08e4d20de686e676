package tracing

import (
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Baggage rides along with every call and every message of a trace, and every server and
// consumer span records it as baggage.<key> tags, so what a caller may send is bounded.
// The edge is where callers from outside arrive, but every extraction (every service, the
// AMQP consumer too) applies the same limits. Items beyond them are dropped, taking the
// keys in sorted order, so the same headers always keep the same items; the span says how
// many were dropped (baggage.dropped).
const (
	// MaxBaggageItems is how many baggage items a span context keeps.
	MaxBaggageItems = 16
	// MaxBaggageBytes is how many bytes of baggage, keys and values together, a span
	// context keeps.
	MaxBaggageBytes = 2 << 10
)

// droppedBaggage is the baggage an extraction refused: the span's baggage.dropped tag, and
// one debug line per request.
type droppedBaggage struct {
	invalid   int      // a key that is no HTTP token, a value with control characters or a bad escape
	overLimit int      // beyond MaxBaggageItems or MaxBaggageBytes
	keys      []string // the first few of their keys, quoted and cut short: never a value
}

// count is how many items were dropped.
func (d droppedBaggage) count() int { return d.invalid + d.overLimit }

// A log line names at most maxLoggedKeys keys, each cut to maxLoggedKeyBytes: what a
// caller sends must not make our logs long either.
const (
	maxLoggedKeys     = 8
	maxLoggedKeyBytes = 32
)

func (d *droppedBaggage) add(key string, overLimit bool) {
	if overLimit {
		d.overLimit++
	} else {
		d.invalid++
	}
	if len(d.keys) < maxLoggedKeys {
		if len(key) > maxLoggedKeyBytes {
			key = key[:maxLoggedKeyBytes] + "..."
		}
		d.keys = append(d.keys, strconv.QuoteToASCII(key))
	}
}

// merge adds what another header form dropped.
func (d *droppedBaggage) merge(other droppedBaggage) {
	d.invalid += other.invalid
	d.overLimit += other.overLimit
	for _, quoted := range other.keys { // quoted already
		if len(d.keys) < maxLoggedKeys {
			d.keys = append(d.keys, quoted)
		}
	}
}

// bound deletes from items what is beyond the limits, keys in sorted order: an item is
// kept when it still fits, so one huge value does not cost the small items after it.
func (d *droppedBaggage) bound(items map[string]string) {
	total := 0
	for k, v := range items {
		total += len(k) + len(v)
	}
	if len(items) <= MaxBaggageItems && total <= MaxBaggageBytes {
		return // the common case: nothing to sort
	}
	kept, bytes := 0, 0
	for _, k := range slices.Sorted(maps.Keys(items)) {
		if n := len(k) + len(items[k]); kept < MaxBaggageItems && bytes+n <= MaxBaggageBytes {
			kept, bytes = kept+1, bytes+n
			continue
		}
		delete(items, k)
		d.add(k, true)
	}
}

// baggageItems collects the items of one header form, each checked.
type baggageItems struct {
	items   map[string]string
	dropped droppedBaggage
}

// add takes one item, if its key is a token and its value has no control characters;
// unescaped says whether the value could be unescaped at all. Keys are lower-cased, as
// HTTP header names carry no case. An empty value is no item (it unsets one).
func (b *baggageItems) add(key, value string, unescaped bool) {
	key = strings.ToLower(key)
	switch {
	case !unescaped || !isToken(key) || !validValue(value):
		b.dropped.add(key, false)
	case value != "":
		b.items = setItem(b.items, key, value)
	}
}

// addList reads a jaeger-baggage header, "k1=v1, k2=v2", each key and value URL-escaped.
func (b *baggageItems) addList(list string) {
	for part := range strings.SplitSeq(list, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, hasValue := strings.Cut(part, "=")
		key, keyOK := unescape(strings.TrimSpace(k))
		value, valueOK := unescape(strings.TrimSpace(v))
		b.add(key, value, hasValue && keyOK && valueOK)
	}
}

// addW3C reads a W3C baggage header, "k1=v1,k2=v2;property", values percent-encoded
// (https://www.w3.org/TR/baggage/). Properties are metadata no baggage item of ours can
// hold: they are left out, the item kept.
func (b *baggageItems) addW3C(list string) {
	for member := range strings.SplitSeq(list, ",") {
		member, _, _ = strings.Cut(member, ";")
		member = strings.TrimSpace(member)
		if member == "" {
			continue
		}
		k, v, hasValue := strings.Cut(member, "=")
		value, err := url.PathUnescape(strings.TrimSpace(v)) // percent-encoding, where + is a plus
		b.add(strings.TrimSpace(k), value, hasValue && err == nil)
	}
}

func setItem(items map[string]string, k, v string) map[string]string {
	if items == nil {
		items = map[string]string{}
	}
	items[k] = v
	return items
}

// unescape undoes URL escaping (QueryEscape, which the Jaeger client writes), reporting
// whether v was well escaped.
func unescape(v string) (string, bool) {
	u, err := url.QueryUnescape(v)
	return u, err == nil
}

// isToken reports whether s is an HTTP token (RFC 9110, 5.6.2): what a header name, and so
// the key of a baggage item sent as uberctx-<key>, may be made of.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validValue reports whether v holds no control character (C0, DEL): written into a
// header, a CR, LF or NUL would make the request fail, or worse.
func validValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] == 0x7f {
			return false
		}
	}
	return true
}
