package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"tracelab/common/accountid"
)

// maxRecentVIPs bounds the events kept in memory: the service runs for weeks in a demo
// cluster, and /vips is for a look at the latest, not for history.
const maxRecentVIPs = 100

// maxSeenEvents bounds the event ids remembered for deduplication. A duplicate comes
// soon after its original: a redelivery of the few unacknowledged messages (prefetch 16)
// when a connection broke, or accountservice's relay publishing again what the broker had
// taken but not confirmed (a batch of at most 128). Ten thousand ids cover hours of the
// demo's VIP events in under a megabyte.
const maxSeenEvents = 10000

// vipEvent is the message accountservice publishes when a VIP account is read. It holds
// ids and no names: messages linger in queues and dead-letter queues, personal data must
// not.
type vipEvent struct {
	ID         string    // unique per event: a second delivery is a duplicate
	AccountID  string    // as common/accountid has it
	Tier       string    // a short lower-case word: vip
	OccurredAt time.Time // when accountservice saw the read
}

// maxEventBytes bounds the message body: an event is about 130 bytes. Anything larger is no
// event of ours, and is not decoded.
const maxEventBytes = 1024

var (
	errTooLarge     = fmt.Errorf("vip event larger than %d bytes", maxEventBytes)
	errBadEvent     = errors.New("vip event is not valid JSON")
	errBadEventID   = errors.New("vip event id: want 1 to 64 letters, digits, - or _")
	errBadAccountID = errors.New("vip event accountId: " + accountid.ErrInvalid.Error())
	errBadTier      = errors.New("vip event tier: want 1 to 16 lower-case letters")
	errBadTime      = errors.New("vip event occurredAt: want an RFC 3339 time")
)

// decodeVIPEvent reads and checks a message body. Fields it does not know are ignored, so
// the publisher can add some without breaking us; a field it knows must have the shape
// above, or the event is refused (and dead-lettered). The errors never quote the body:
// whoever published it chose its size and content, and they end up in a log line.
func decodeVIPEvent(body []byte) (vipEvent, error) {
	if len(body) > maxEventBytes {
		return vipEvent{}, errTooLarge
	}
	var wire struct {
		ID         string `json:"id"`
		AccountID  string `json:"accountId"`
		Tier       string `json:"tier"`
		OccurredAt string `json:"occurredAt"`
	}
	if err := json.Unmarshal(body, &wire); err != nil {
		return vipEvent{}, fmt.Errorf("%w: %s", errBadEvent, bounded(err.Error()))
	}
	if !isToken(wire.ID, 64, func(r rune) bool { return isLower(r) || isUpper(r) || isDigit(r) || r == '-' || r == '_' }) {
		return vipEvent{}, errBadEventID
	}
	if _, err := accountid.Parse(wire.AccountID); err != nil {
		return vipEvent{}, errBadAccountID
	}
	if !isToken(wire.Tier, 16, isLower) {
		return vipEvent{}, errBadTier
	}
	occurred, err := time.Parse(time.RFC3339Nano, wire.OccurredAt)
	if err != nil {
		return vipEvent{}, errBadTime
	}
	return vipEvent{ID: wire.ID, AccountID: wire.AccountID, Tier: wire.Tier, OccurredAt: occurred}, nil
}

// isToken reports whether s is 1 to max runes, each accepted by ok.
func isToken(s string, max int, ok func(rune) bool) bool {
	if s == "" || len(s) > max {
		return false
	}
	for _, r := range s {
		if !ok(r) {
			return false
		}
	}
	return true
}

func isLower(r rune) bool { return 'a' <= r && r <= 'z' }
func isUpper(r rune) bool { return 'A' <= r && r <= 'Z' }
func isDigit(r rune) bool { return '0' <= r && r <= '9' }

// bounded cuts a message from the JSON decoder to a length fit for a log line.
func bounded(s string) string {
	const max = 120
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

// vipRecord is one handled event as /vips shows it: which account, which trace to open in
// Jaeger, and when it arrived here.
type vipRecord struct {
	AccountID  string    `json:"accountId"`
	TraceID    string    `json:"traceId"`
	ReceivedAt time.Time `json:"receivedAt"`
}

// recentVIPs keeps the latest records, up to a bound, and the ids of the events recorded
// lately, to record each event once; the consumer writes while HTTP handlers read. It is
// memory only, as the counts of /vips are: a restarted vipservice forgets the ids, and a
// duplicate arriving right after a restart is recorded a second time.
type recentVIPs struct {
	mu      sync.Mutex
	max     int
	records []vipRecord // oldest first

	seen  map[string]bool // event ids recorded lately
	order []string        // the same ids in a ring, to forget the oldest when it is full
	next  int             // where in order the next id goes
}

func newRecentVIPs(limit, seenLimit int) *recentVIPs {
	return &recentVIPs{max: limit, seen: map[string]bool{}, order: make([]string, seenLimit)}
}

// add records r for the event with id eventID, and reports false, recording nothing,
// when that event was recorded before.
func (v *recentVIPs) add(eventID string, r vipRecord) (added bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seen[eventID] {
		return false
	}
	delete(v.seen, v.order[v.next]) // the oldest, once the ring is full
	v.seen[eventID] = true
	v.order[v.next] = eventID
	v.next = (v.next + 1) % len(v.order)

	if len(v.records) == v.max {
		copy(v.records, v.records[1:])
		v.records = v.records[:v.max-1]
	}
	v.records = append(v.records, r)
	return true
}

// newestFirst returns a copy of the records, the latest first; never nil, so the JSON
// answer has [] rather than null.
func (v *recentVIPs) newestFirst() []vipRecord {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]vipRecord, len(v.records))
	for i, r := range v.records {
		out[len(out)-1-i] = r
	}
	return out
}
