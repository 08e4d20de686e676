package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"tracelab/common/faults"
	"tracelab/common/tracing"
)

// slowLane is where the queue-backlog fault sends VIP events: each takes long (the fault's
// duration, 500ms by default), and they go through one at a time.
//
// The consumer (common/messaging) hands this service its deliveries one after the other
// already, so with one vipservice the lock is never contended; it is here so that the
// events stay one at a time if handling ever becomes concurrent. Either way the broker
// keeps sending (prefetch 16) and the messages wait, each a little longer than the one
// before it: in a trace, the gap between accountservice's "publish" span and vipservice's
// FOLLOWS_FROM "consume" span grows with every event of a burst. Lab 5 measures that gap.
type slowLane struct {
	mu sync.Mutex
}

// handle spends the fault's duration on an event, in a child span of the consumer span
// ("handle vip event slowly"), and returns early, with ctx's error, when the service stops.
func (s *slowLane) handle(ctx context.Context, log *slog.Logger) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, _ := faults.DurationOf(ctx, faults.QueueBacklog)
	span, ctx := tracing.StartChild(ctx, "handle vip event slowly")
	defer span.Finish()
	faults.Mark(ctx, span, faults.QueueBacklog)
	log.InfoContext(ctx, "vip event handled slowly (queue-backlog)", "delay", d.String())

	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		tracing.SetError(span, ctx.Err())
		return ctx.Err()
	}
}
