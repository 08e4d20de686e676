package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/opentracing/opentracing-go"
	bolt "go.etcd.io/bbolt"

	"tracelab/common/tracing"
)

// The outbox is how a VIP event survives a broker that is away and an accountservice that
// is killed: the request writes the event to the bolt file it reads accounts from (one
// local write, committed before the answer), and the relay (relay.go) publishes it from
// there and deletes it only once the broker confirmed it. The broker may be down for
// minutes, the process may be killed mid-load: the event waits in the file and goes out
// when both are back. It may go out twice (a confirm lost with a connection), never zero
// times; vipservice deduplicates on the event id.
//
// In the trace, "outbox write" is a child of the request's span, and the relay's publish
// span FOLLOWS_FROM it: the write's span context is kept with the event for that.

var outboxBucket = []byte("outbox")

// DefaultOutboxLimit is how many events the outbox holds at most: at 20 VIP reads a second
// (the demo at 200 req/s), over eight minutes of a broker away. Beyond it, events are
// refused (logged and counted) rather than letting the file grow without end.
const DefaultOutboxLimit = 10000

// ErrOutboxFull is returned by Add when the outbox holds its limit.
var ErrOutboxFull = errors.New("outbox full")

// outbox is the bucket of events waiting to be published, oldest first.
type outbox struct {
	db      *bolt.DB
	limit   int
	depth   atomic.Int64  // events in the bucket, or being added
	refused atomic.Int64  // events not kept because the outbox was full
	added   chan struct{} // wakes the relay; holds one wake-up at most
}

// outboxEntry is one event as the outbox keeps it.
type outboxEntry struct {
	ID    string            `json:"id"`    // the event id, also the AMQP message id
	Body  json.RawMessage   `json:"body"`  // the event, as published
	Trace map[string]string `json:"trace"` // the span context of the outbox write
}

// pendingEvent is an entry read back by the relay, with its key for the delete.
type pendingEvent struct {
	key []byte
	outboxEntry
}

// openOutbox creates the bucket if needed and counts what the last run left in it.
func openOutbox(db *bolt.DB, limit int) (*outbox, error) {
	// Batch would hold a write up to 10 ms for others to join: ten times what the quote and
	// image calls take, so the answer would wait for it. Without the delay a write starts
	// at once, and those that arrive while it runs still share a commit.
	// (BenchmarkGetAccount, fake quote and image answering at once: a VIP read 0.35 to
	// 0.9 ms with no delay, 11.8 ms with bolt's 10 ms; a regular read 0.1 to 0.2 ms.)
	db.MaxBatchDelay = 0
	o := &outbox{db: db, limit: limit, added: make(chan struct{}, 1)}
	err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(outboxBucket)
		if err != nil {
			return err
		}
		o.depth.Store(int64(b.Stats().KeyN))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("open the outbox: %w", err)
	}
	return o, nil
}

// Add writes event to the outbox, in a child span "outbox write" of the span in ctx. It
// returns once the write is committed to disk; bolt's Batch joins the writes of requests
// arriving at the same moment into one commit (one fsync). A full outbox refuses the event
// with ErrOutboxFull, counted.
func (o *outbox) Add(ctx context.Context, event VIPEvent) error {
	span, _ := tracing.StartChild(ctx, "outbox write")
	defer span.Finish()
	span.SetTag("db.type", "bolt")
	span.SetTag("db.instance", "outbox")
	span.SetTag("event.id", event.ID)

	// A place is taken before the write, so that writes at the same moment cannot all slip
	// past the limit together.
	if o.depth.Add(1) > int64(o.limit) {
		o.depth.Add(-1)
		o.refused.Add(1)
		span.SetTag("outbox.full", true)
		return ErrOutboxFull
	}
	body, err := json.Marshal(event)
	if err == nil {
		trace := map[string]string{}
		_ = span.Tracer().Inject(span.Context(), opentracing.TextMap, opentracing.TextMapCarrier(trace))
		var entry []byte
		entry, err = json.Marshal(outboxEntry{ID: event.ID, Body: body, Trace: trace})
		if err == nil {
			err = o.db.Batch(func(tx *bolt.Tx) error {
				b := tx.Bucket(outboxBucket)
				seq, err := b.NextSequence()
				if err != nil {
					return err
				}
				return b.Put(binary.BigEndian.AppendUint64(nil, seq), entry)
			})
		}
	}
	if err != nil {
		o.depth.Add(-1)
		tracing.SetError(span, err)
		return fmt.Errorf("outbox write: %w", err)
	}
	select {
	case o.added <- struct{}{}:
	default: // a wake-up is pending already
	}
	return nil
}

// Oldest returns up to n events, oldest first, and the keys of entries that cannot be read
// (a damaged file, a format of another version): the relay deletes those, rather than
// stopping on them forever.
func (o *outbox) Oldest(n int) (events []pendingEvent, unreadable []pendingEvent, err error) {
	err = o.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(outboxBucket).Cursor()
		for k, v := c.First(); k != nil && len(events) < n; k, v = c.Next() {
			e := pendingEvent{key: append([]byte(nil), k...)} // k lives only as long as tx
			if err := json.Unmarshal(v, &e.outboxEntry); err != nil || e.ID == "" {
				unreadable = append(unreadable, e)
				continue
			}
			events = append(events, e)
		}
		return nil
	})
	return events, unreadable, err
}

// Delete removes the events the broker confirmed, in one transaction.
func (o *outbox) Delete(events []pendingEvent) error {
	if len(events) == 0 {
		return nil
	}
	deleted := 0
	err := o.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(outboxBucket)
		deleted = 0
		for _, e := range events {
			if b.Get(e.key) != nil {
				deleted++
			}
			if err := b.Delete(e.key); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		o.depth.Add(-int64(deleted))
	}
	return err
}

// Depth is how many events wait in the outbox.
func (o *outbox) Depth() int { return int(o.depth.Load()) }

// Refused is how many events a full outbox refused since the start.
func (o *outbox) Refused() int64 { return o.refused.Load() }
