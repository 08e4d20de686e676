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

// vipEvent is the message accountservice publishes when an account becomes VIP. It holds an
// id and no names: messages linger in queues and dead-letter queues, personal data must not.
type vipEvent struct {
	AccountID  string    `json:"accountId"`
	Tier       string    `json:"tier"`
	OccurredAt time.Time `json:"occurredAt"`
}

var (
	errBadEvent     = errors.New("vip event is not valid JSON")
	errBadAccountID = errors.New("vip event accountId: " + accountid.ErrInvalid.Error())
)

// decodeVIPEvent reads a message body. Fields it does not know are ignored, so the publisher
// can add some without breaking us; a missing or malformed accountId is an error, since an
// event about nobody cannot be recorded.
func decodeVIPEvent(body []byte) (vipEvent, error) {
	var e vipEvent
	if err := json.Unmarshal(body, &e); err != nil {
		return vipEvent{}, fmt.Errorf("%w: %v", errBadEvent, err)
	}
	if _, err := accountid.Parse(e.AccountID); err != nil {
		return vipEvent{}, errBadAccountID
	}
	return e, nil
}

// vipRecord is one handled event as /vips shows it: which account, which trace to open in
// Jaeger, and when it arrived here.
type vipRecord struct {
	AccountID  string    `json:"accountId"`
	TraceID    string    `json:"traceId"`
	ReceivedAt time.Time `json:"receivedAt"`
}

// recentVIPs keeps the latest records, up to a bound; the consumer writes while HTTP
// handlers read.
type recentVIPs struct {
	mu      sync.Mutex
	max     int
	records []vipRecord // oldest first
}

func newRecentVIPs(limit int) *recentVIPs { return &recentVIPs{max: limit} }

// add appends r, forgetting the oldest record when the list is full.
func (v *recentVIPs) add(r vipRecord) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.records) == v.max {
		copy(v.records, v.records[1:])
		v.records = v.records[:v.max-1]
	}
	v.records = append(v.records, r)
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
