package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/opentracing/opentracing-go"

	"tracelab/common/messaging"
)

// eventPublisher is the part of messaging.Publisher the relay needs.
type eventPublisher interface {
	Publish(ctx context.Context, m messaging.Message) error
	State() messaging.State
}

// relay publishes the outbox's events, oldest first, and deletes each one once the broker
// confirmed it. An event whose publish failed (broker away, blocked, no confirm in time)
// stays and is tried again on the next round; it may then reach the queue twice, which
// vipservice's deduplication absorbs.
type relay struct {
	outbox    *outbox
	publisher eventPublisher
	tracer    opentracing.Tracer // to read back the outbox write's span context
	log       *slog.Logger

	failing bool // the last round left events behind: say so once, not every second
}

const (
	// relayRetry is the wait before the next round after one that could not publish
	// everything, or when nothing has woken the relay.
	relayRetry = time.Second
	// relayGather is how long the relay waits, once an event woke it, for more to join the
	// round. A round ends in one delete, a bolt commit with its fsync; a round per event
	// doubled the commits, which delayed the requests' own outbox writes: a VIP read at 100
	// a second took 2.5 ms (p50) and 4.5 ms (p90) that way, 2.0 and 2.6 ms with the wait,
	// against 1.8 and 2.3 ms for a regular read (loadgen -d 10s -rate 100 -ids 10000, and
	// -ids 10001, on 2 cores). The event reaches vipservice 20 ms later; nobody waits.
	relayGather = 20 * time.Millisecond
	// brokerPoll is how often the relay looks whether the publisher is back, while the
	// broker is away or blocks publishing: the outbox starts draining this soon after.
	brokerPoll = 100 * time.Millisecond
	// relayPublishTimeout bounds the wait for one confirm.
	relayPublishTimeout = 5 * time.Second
	// DrainTimeout bounds what the relay still publishes once run is stopping. What is
	// left after it stays in the outbox for the next start.
	DrainTimeout = 5 * time.Second
)

// Run publishes until ctx is done, then drains: it goes on publishing what is pending for
// up to DrainTimeout, as long as the broker takes it. run cancels ctx once the HTTP server
// has stopped, so no new event arrives meanwhile. A round in progress when ctx ends is
// finished (its publishes have their own timeout), not abandoned, so that the events it
// sent are deleted instead of sent again at the next start.
func (r *relay) Run(ctx context.Context) {
	for ctx.Err() == nil {
		if r.publisher.State() != messaging.Connected {
			// Nothing would go out: wait for the broker without reading the outbox.
			select {
			case <-ctx.Done():
			case <-time.After(brokerPoll):
			}
			continue
		}
		more, ok := r.round(context.WithoutCancel(ctx))
		switch {
		case !ok:
			select {
			case <-ctx.Done():
			case <-time.After(relayRetry):
			}
		case more:
		default: // the outbox is empty: until the next event
			select {
			case <-ctx.Done():
			case <-r.outbox.added:
				select { // let the events of the next moments join this one's round
				case <-ctx.Done():
				case <-time.After(relayGather):
				}
			case <-time.After(relayRetry):
			}
		}
	}
	r.drain()
}

// drain publishes what is left, for up to DrainTimeout; it gives up at once when the
// broker is away or blocks: waiting would only delay the stop.
func (r *relay) drain() {
	ctx, cancel := context.WithTimeout(context.Background(), DrainTimeout)
	defer cancel()
	for r.outbox.Depth() > 0 && ctx.Err() == nil && r.publisher.State() == messaging.Connected {
		if _, ok := r.round(ctx); !ok {
			select {
			case <-ctx.Done():
			case <-time.After(relayRetry / 10):
			}
		}
	}
	if left := r.outbox.Depth(); left > 0 {
		r.log.Warn("vip events left in the outbox for the next start", "outbox.depth", left, "amqp", r.publisher.State().String())
	}
}

// round publishes up to MaxInFlight of the oldest events at once (the publisher's bound)
// and deletes those the broker confirmed. ok reports that every event it took was
// confirmed; more, that it took a full batch, so more may wait.
func (r *relay) round(ctx context.Context) (more, ok bool) {
	events, unreadable, err := r.outbox.Oldest(messaging.MaxInFlight)
	if err != nil {
		r.log.Error("reading the outbox failed", "err", err)
		return false, false
	}
	if len(unreadable) > 0 {
		r.log.Error("unreadable outbox entries deleted", "count", len(unreadable))
		if err := r.outbox.Delete(unreadable); err != nil {
			r.log.Error("deleting unreadable outbox entries failed", "err", err)
		}
	}
	if len(events) == 0 {
		return false, true
	}
	var (
		mu        sync.Mutex
		confirmed []pendingEvent
		lastErr   error
		wg        sync.WaitGroup
	)
	for _, e := range events {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, relayPublishTimeout)
			defer cancel()
			err := r.publisher.Publish(ctx, r.message(e))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				lastErr = err
				return
			}
			confirmed = append(confirmed, e)
		})
	}
	wg.Wait()
	if err := r.outbox.Delete(confirmed); err != nil {
		// The events were published: they go out again at the next round, a duplicate.
		r.log.Error("deleting published events from the outbox failed", "err", err)
		return false, false
	}
	if lastErr != nil {
		level := slog.LevelWarn
		if r.failing {
			level = slog.LevelDebug
		}
		r.failing = true
		r.log.Log(ctx, level, "vip events not published, kept in the outbox", "err", lastErr,
			"failed", len(events)-len(confirmed), "outbox.depth", r.outbox.Depth())
		return false, false
	}
	if r.failing {
		r.failing = false
		r.log.Info("vip events published again", "outbox.depth", r.outbox.Depth())
	}
	return len(events) == messaging.MaxInFlight, true
}

// message is the AMQP message of an outbox event, its producer span to follow from the
// outbox write.
func (r *relay) message(e pendingEvent) messaging.Message {
	m := messaging.Message{ID: e.ID, Body: e.Body}
	if len(e.Trace) > 0 && r.tracer != nil {
		if cause, err := r.tracer.Extract(opentracing.TextMap, opentracing.TextMapCarrier(e.Trace)); err == nil {
			m.Cause = cause
		}
	}
	return m
}
