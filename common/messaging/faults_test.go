package messaging_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/mocktracer"
	"github.com/streadway/amqp"

	"tracelab/common/logging"
	"tracelab/common/messaging"
	"tracelab/common/messaging/messagingtest"
	"tracelab/internal/rabbitnode"
)

// The tests in this file break a broker on purpose: a private RabbitMQ node each
// (internal/rabbitnode), never the shared one.

// runPublisher runs p until the test ends, like messagingtest.Start, and returns a stop
// that cancels Run and says how long Run took to return.
func runPublisher(t *testing.T, p *messaging.Publisher) (stop func() time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx)
	}()
	stop = func() time.Duration {
		began := time.Now()
		cancel()
		<-done
		return time.Since(began)
	}
	t.Cleanup(func() { stop() })
	messagingtest.WaitFor(t, "the publisher to connect", p.Connected)
	return stop
}

// TestPublishRefused: a message the broker refuses (a nack) is an error for its Publish, and
// counted as failed, never as published. The queue's policy (max-length 0, overflow
// reject-publish) makes RabbitMQ refuse every message for real.
func TestPublishRefused(t *testing.T) {
	n := rabbitnode.Start(t)
	if out, err := n.Ctl("set_policy", "refuse-all", "^refused-", `{"max-length":0,"overflow":"reject-publish"}`, "--apply-to", "queues"); err != nil {
		t.Fatalf("set_policy: %v\n%s", err, out)
	}
	tracer := mocktracer.New()
	p := &messaging.Publisher{URL: n.URL(), Queue: "refused-vip", Tracer: tracer, Log: logging.Discard()}
	runPublisher(t, p)

	caller := tracer.StartSpan("caller")
	err := publishGuarded(opentracing.ContextWithSpan(context.Background(), caller), t, p, "refused")
	caller.Finish()
	if !errors.Is(err, messaging.ErrRefused) {
		t.Errorf("Publish() to a queue that rejects publishes = %v, want %v", err, messaging.ErrRefused)
	}
	if published, failed := p.Stats(); published != 0 || failed != 1 {
		t.Errorf("Stats() after a nack = %d published, %d failed, want 0, 1", published, failed)
	}
	if s := finishedSpan(t, tracer, "publish refused-vip"); s.Tag("error") != true {
		t.Errorf("producer span of a refused message: error = %v, want true", s.Tag("error"))
	}
}

// TestPublisherBrokerStopsReading: a broker that stops reading (paused, or blocking
// publishers on a memory alarm) must cost the publisher a bounded number of unconfirmed
// messages and nothing else. Publish returns within its context, State, Connected, Stats
// and Unconfirmed answer at once throughout (they are what /healthz reads), the alarm is
// reported as Blocked, and Run stops promptly. More publishes than MaxInFlight are tried:
// small ones, which the sockets hold, so the bound is reached; large ones, which fill the
// sockets, so a write blocks.
func TestPublisherBrokerStopsReading(t *testing.T) {
	n := rabbitnode.Start(t)
	pause, alarm := []func(){n.Pause, n.Resume}, []func(){func() { n.SetMemoryAlarm(true) }, func() { n.SetMemoryAlarm(false) }}
	tests := []struct {
		name          string
		faultRepair   []func()
		bodySize      int
		wantState     messaging.State // what State says once the fault is seen
		wantBoundHeld bool            // Unconfirmed reaches MaxInFlight
	}{
		{"paused, small messages", pause, 64, messaging.Connected, true},
		{"paused, large messages", pause, 64 << 10, messaging.Connected, false},
		{"memory alarm", alarm, 64, messaging.Blocked, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The node is the test's own: no need for messagingtest.Queue's random names.
			p := &messaging.Publisher{URL: n.URL(), Queue: "stuck-" + strconv.Itoa(i), Log: logging.Discard()}
			stop := runPublisher(t, p)
			fault, repair := tt.faultRepair[0], tt.faultRepair[1]
			fault()
			repaired := false
			defer func() {
				if !repaired {
					repair()
				}
			}()

			const publishes = messaging.MaxInFlight + 32
			const timeout = 3 * time.Second
			body := []byte(`{"padding":"` + strings.Repeat("x", tt.bodySize) + `"}`)
			var wg sync.WaitGroup
			errs := make(chan error, publishes)
			began := time.Now()
			for i := range publishes {
				wg.Go(func() {
					ctx, cancel := context.WithTimeout(context.Background(), timeout)
					defer cancel()
					errs <- p.Publish(ctx, messaging.Message{ID: strconv.Itoa(i), Body: body})
				})
			}
			allReturned := make(chan struct{})
			go func() { wg.Wait(); close(allReturned) }()

			maxUnconfirmed, sawState := 0, false
			for done := false; !done; {
				select {
				case <-allReturned:
					done = true
				case <-time.After(20 * time.Millisecond):
				}
				state, unconfirmed := readHealth(t, p)
				maxUnconfirmed = max(maxUnconfirmed, unconfirmed)
				sawState = sawState || state == tt.wantState
				if time.Since(began) > timeout+messagingtest.Patience {
					t.Fatalf("Publish calls still running %v after their %v timeout", messagingtest.Patience, timeout)
				}
			}
			close(errs)
			for err := range errs {
				if err == nil {
					t.Errorf("Publish() to a broker that does not read = nil, want an error")
				}
			}
			t.Logf("%d publishes, at most %d unconfirmed", publishes, maxUnconfirmed)
			if maxUnconfirmed > messaging.MaxInFlight || tt.wantBoundHeld && maxUnconfirmed != messaging.MaxInFlight {
				t.Errorf("Unconfirmed() reached %d, want at most MaxInFlight = %d (and exactly that: %v)",
					maxUnconfirmed, messaging.MaxInFlight, tt.wantBoundHeld)
			}
			if !sawState {
				t.Errorf("State() never said %v while the broker was %s", tt.wantState, tt.name)
			}
			took := stop()
			t.Logf("Run returned %v after its context was cancelled", took.Round(time.Millisecond))
			if took > 5*time.Second {
				t.Errorf("Run took %v to return after its context was cancelled, want a few seconds at most", took)
			}
			repair()
			repaired = true
		})
	}

	t.Run("publishing again once repaired", func(t *testing.T) {
		p := &messaging.Publisher{URL: n.URL(), Queue: "repaired", Log: logging.Discard()}
		runPublisher(t, p)
		if err := publishBlocking(t, p, "after"); err != nil {
			t.Errorf("Publish() once the broker is repaired = %v, want nil", err)
		}
	})
}

// readHealth reads what /healthz reads of p, and fails the test should any of it block.
func readHealth(t *testing.T, p *messaging.Publisher) (messaging.State, int) {
	t.Helper()
	type health struct {
		state       messaging.State
		unconfirmed int
	}
	got := make(chan health, 1)
	go func() {
		_ = p.Connected()
		_, _ = p.Stats()
		got <- health{p.State(), p.Unconfirmed()}
	}()
	select {
	case h := <-got:
		return h.state, h.unconfirmed
	case <-time.After(time.Second):
		t.Fatalf("State, Connected, Stats or Unconfirmed blocked for a second")
		return 0, 0
	}
}

// TestConsumerHeartbeat: with a short heartbeat, a consumer notices a broker that hangs in
// a few seconds (the default would take half a minute), and reconnects once it answers.
func TestConsumerHeartbeat(t *testing.T) {
	n := rabbitnode.Start(t)
	c := &messaging.Consumer{URL: n.URL(), Queue: "heartbeat", Tracer: mocktracer.New(), Log: logging.Discard(),
		Heartbeat: time.Second, Handle: func(context.Context, amqp.Delivery) error { return nil }}
	messagingtest.Start(t, c)
	n.Pause()
	paused := time.Now()
	messagingtest.WaitFor(t, "the consumer to notice the hung broker", func() bool { return !c.Connected() })
	t.Logf("a hung broker noticed after %v with a 1s heartbeat", time.Since(paused).Round(100*time.Millisecond))
	n.Resume()
	messagingtest.WaitFor(t, "the consumer to reconnect", c.Connected)
}

// TestConsumerDuplicates: a message its handler has seen before (ErrDuplicate) is
// acknowledged and counted as a duplicate: neither processed again nor dead-lettered.
func TestConsumerDuplicates(t *testing.T) {
	url := messagingtest.URL(t)
	queue := messagingtest.Queue(t, url, "test-duplicates-")
	var mu sync.Mutex
	seen := map[string]bool{}
	consumer := &messaging.Consumer{
		URL: url, Queue: queue, Tracer: mocktracer.New(), Log: logging.Discard(),
		Handle: func(ctx context.Context, d amqp.Delivery) error {
			mu.Lock()
			defer mu.Unlock()
			if seen[d.MessageId] {
				return messaging.ErrDuplicate
			}
			seen[d.MessageId] = true
			return nil
		},
	}
	messagingtest.Start(t, consumer)
	ch := messagingtest.Channel(t, url)
	for _, id := range []string{"a", "b", "a", "a"} {
		if err := ch.Publish("", queue, false, false, amqp.Publishing{MessageId: id, Body: []byte("{}")}); err != nil {
			t.Fatalf("publish %s: %v", id, err)
		}
	}
	want := messaging.ConsumerStats{Processed: 2, Duplicates: 2}
	messagingtest.WaitFor(t, "4 messages handled", func() bool { return consumer.Stats() == want })
	for _, q := range []string{queue, messaging.DeadLetterQueue(queue)} {
		if got, err := ch.QueueInspect(q); err != nil || got.Messages != 0 {
			t.Errorf("QueueInspect(%q) = %d messages, %v, want 0: duplicates are acknowledged", q, got.Messages, err)
		}
	}
}

// TestStateString: what /healthz prints for each state.
func TestStateString(t *testing.T) {
	for state, want := range map[messaging.State]string{
		messaging.Reconnecting: "reconnecting", messaging.Connected: "connected", messaging.Blocked: "blocked",
	} {
		if got := state.String(); got != want || strings.ToLower(got) != got {
			t.Errorf("State(%d).String() = %q, want %q", state, got, want)
		}
	}
}
