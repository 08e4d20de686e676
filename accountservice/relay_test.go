package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go"
	bolt "go.etcd.io/bbolt"

	"tracelab/common/logging"
	"tracelab/common/messaging"
	"tracelab/common/tracing/tracingtest"
	"tracelab/internal/servicetest"
)

// fakePublisher stands in for messaging.Publisher in relay tests, where the broker's part
// is what the test decides: it confirms, or fails with fail's error. The real publisher and
// broker are used in vip_test.go and main_test.go.
type fakePublisher struct {
	mu        sync.Mutex
	state     messaging.State
	fail      func(messaging.Message) error
	published []messaging.Message // confirmed, in the order confirmed
}

// newFakePublisher returns a fakePublisher connected to a broker that confirms everything.
func newFakePublisher() *fakePublisher { return &fakePublisher{state: messaging.Connected} }

func (p *fakePublisher) Publish(ctx context.Context, m messaging.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		if err := p.fail(m); err != nil {
			return err
		}
	}
	p.published = append(p.published, m)
	return nil
}

func (p *fakePublisher) State() messaging.State {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state
}

func (p *fakePublisher) set(state messaging.State, fail func(messaging.Message) error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.state, p.fail = state, fail
}

// ids lists the ids of the messages confirmed so far.
func (p *fakePublisher) ids() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ids []string
	for _, m := range p.published {
		ids = append(ids, m.ID)
	}
	return ids
}

// runRelay runs r until the test ends; stop cancels it early and waits for Run to return.
func runRelay(t *testing.T, r *relay) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	stop = func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)
	return stop
}

// addEvents writes n events to o, each in a span of tracer, and returns their ids in order.
func addEvents(t *testing.T, o *outbox, tracer *tracingtest.Tracer, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		span := tracer.StartSpan("GET /accounts/{id}")
		ev := VIPEvent{ID: newEventID(), AccountID: fmt.Sprint(10000 + i), Tier: "vip", OccurredAt: time.Now().UTC()}
		if err := o.Add(contextWithSpan(span), ev); err != nil {
			t.Fatalf("Add(%+v) = %v, want nil", ev, err)
		}
		span.Finish()
		ids = append(ids, ev.ID)
	}
	return ids
}

// TestRelayPublishesOnce: every event is published with its id, oldest first across
// rounds (more than one batch of MaxInFlight), and deleted once confirmed; the producer
// side gets the outbox write's span context as the message's cause.
func TestRelayPublishesOnce(t *testing.T) {
	tracer := tracingtest.New()
	o := newTestOutbox(t, newTestStore(t), DefaultOutboxLimit)
	want := addEvents(t, o, tracer, messaging.MaxInFlight+10)
	publisher := newFakePublisher()
	runRelay(t, &relay{outbox: o, publisher: publisher, tracer: tracer, log: logging.Discard()})

	servicetest.WaitFor(t, "the outbox emptied", func() bool { return o.Depth() == 0 })
	got := publisher.ids()
	if len(got) != len(want) || !sameSet(got, want) {
		t.Fatalf("published %d events, want each of the %d once", len(got), len(want))
	}
	// Within a batch they go out at once; batches go out in order.
	if !sameSet(got[:messaging.MaxInFlight], want[:messaging.MaxInFlight]) {
		t.Errorf("the first %d published are not the %d oldest", messaging.MaxInFlight, messaging.MaxInFlight)
	}
	for _, m := range publisher.published {
		if m.Cause == nil {
			t.Errorf("message %s has no cause: its publish span would not follow from the outbox write", m.ID)
			break
		}
	}
	if events := pending(t, o); len(events) != 0 {
		t.Errorf("%d events left in the bucket, want 0", len(events))
	}
}

// TestRelayKeepsUnconfirmed: an event whose publish fails (no confirm, a nack, the broker
// away) stays in the outbox and is published on a later round; the others are deleted.
func TestRelayKeepsUnconfirmed(t *testing.T) {
	o := newTestOutbox(t, newTestStore(t), DefaultOutboxLimit)
	ids := addEvents(t, o, tracingtest.New(), 3)
	publisher := newFakePublisher()
	publisher.set(messaging.Connected, func(m messaging.Message) error {
		if m.ID == ids[1] {
			return messaging.ErrRefused
		}
		return nil
	})
	runRelay(t, &relay{outbox: o, publisher: publisher, log: logging.Discard()})

	servicetest.WaitFor(t, "two events published", func() bool { return len(publisher.ids()) == 2 })
	time.Sleep(50 * time.Millisecond) // the round's delete
	if events := pending(t, o); len(events) != 1 || events[0].ID != ids[1] {
		t.Fatalf("outbox after a refused publish = %v, want only the refused event %s", events, ids[1])
	}
	publisher.set(messaging.Connected, nil) // the broker takes it now
	servicetest.WaitFor(t, "the refused event published on a later round", func() bool { return o.Depth() == 0 })
	if got := publisher.ids(); !sameSet(got, ids) {
		t.Errorf("published %v, want each of %v once", got, ids)
	}
}

// TestRelayDrainsOnStop: events still in the outbox when run stops are published before
// Run returns, while the broker takes them; with the broker away, Run returns at once and
// leaves them for the next start.
func TestRelayDrainsOnStop(t *testing.T) {
	tests := []struct {
		name     string
		state    messaging.State
		wantLeft int
	}{
		{"broker connected", messaging.Connected, 0},
		{"broker away", messaging.Reconnecting, 5},
		{"broker blocking", messaging.Blocked, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newTestOutbox(t, newTestStore(t), DefaultOutboxLimit)
			publisher := newFakePublisher()
			refuse := func(messaging.Message) error { return messaging.ErrNotConnected }
			publisher.set(messaging.Reconnecting, refuse) // nothing goes out before the stop
			stop := runRelay(t, &relay{outbox: o, publisher: publisher, log: logging.Discard()})
			addEvents(t, o, tracingtest.New(), 5)
			time.Sleep(50 * time.Millisecond) // the relay waits for the broker

			if tt.state == messaging.Connected {
				publisher.set(messaging.Connected, nil)
			} else {
				publisher.set(tt.state, refuse)
			}
			began := time.Now()
			stop()
			if took := time.Since(began); took > DrainTimeout {
				t.Errorf("Run took %v to return, want at most DrainTimeout (%v)", took, DrainTimeout)
			}
			if o.Depth() != tt.wantLeft {
				t.Errorf("outbox depth after the stop = %d, want %d", o.Depth(), tt.wantLeft)
			}
		})
	}
}

// TestOutboxSurvivesRestart: what a run leaves in the outbox is there, and counted, when
// the file is opened again (a SIGKILL leaves it the same way: each Add is committed).
func TestOutboxSurvivesRestart(t *testing.T) {
	path := t.TempDir() + "/accounts.db"
	s, err := openStore(path)
	if err != nil {
		t.Fatal(err)
	}
	ids := addEvents(t, newTestOutbox(t, s, DefaultOutboxLimit), tracingtest.New(), 3)
	s.Close()

	s, err = openStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	o := newTestOutbox(t, s, DefaultOutboxLimit)
	if o.Depth() != 3 {
		t.Errorf("Depth() after reopening = %d, want 3", o.Depth())
	}
	var got []string
	for _, e := range pending(t, o) {
		got = append(got, e.ID)
	}
	if !sameSet(got, ids) {
		t.Errorf("events after reopening = %v, want %v", got, ids)
	}
}

// TestRelaySkipsUnreadableEntries: an entry that cannot be read (a damaged file, another
// version's format) is deleted with an error log, not retried forever in front of the rest.
func TestRelaySkipsUnreadableEntries(t *testing.T) {
	s := newTestStore(t)
	o := newTestOutbox(t, s, DefaultOutboxLimit)
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(outboxBucket).Put([]byte{0, 0, 0, 0, 0, 0, 0, 0}, []byte("not json"))
	})
	if err != nil {
		t.Fatal(err)
	}
	o.depth.Add(1)
	ids := addEvents(t, o, tracingtest.New(), 1)
	publisher := newFakePublisher()
	runRelay(t, &relay{outbox: o, publisher: publisher, log: logging.Discard()})
	servicetest.WaitFor(t, "the outbox emptied", func() bool { return o.Depth() == 0 })
	if got := publisher.ids(); !sameSet(got, ids) {
		t.Errorf("published %v, want the readable event %v only", got, ids)
	}
}

// TestOutboxAddFails: a write that fails (the file closed under it) is an error, marked on
// the span, and does not count in the depth.
func TestOutboxAddFails(t *testing.T) {
	s := newTestStore(t)
	o := newTestOutbox(t, s, DefaultOutboxLimit)
	s.Close()
	tracer := tracingtest.New()
	span := tracer.StartSpan("GET /accounts/{id}")
	err := o.Add(contextWithSpan(span), VIPEvent{ID: newEventID(), AccountID: "10000", Tier: "vip"})
	if err == nil || errors.Is(err, ErrOutboxFull) {
		t.Errorf("Add() on a closed file = %v, want a write error", err)
	}
	if o.Depth() != 0 {
		t.Errorf("Depth() after a failed write = %d, want 0", o.Depth())
	}
	if write, _ := tracer.Span("outbox write"); write == nil || write.Tag("error") != true {
		t.Errorf("outbox write span of a failed write: %v, want error=true", write)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	count := map[string]int{}
	for _, s := range a {
		count[s]++
	}
	for _, s := range b {
		count[s]--
		if count[s] < 0 {
			return false
		}
	}
	return true
}

func contextWithSpan(span opentracing.Span) context.Context {
	return opentracing.ContextWithSpan(context.Background(), span)
}
