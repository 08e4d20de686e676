package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/streadway/amqp"

	"tracelab/common/faults"
	"tracelab/common/messaging"
	"tracelab/common/respond"
	"tracelab/common/tracing"
)

// handleVIPEvent handles one message of the VIP queue: it is to the queue what an HTTP
// handler is to a route. ctx carries the consumer span, which continues the publisher's
// trace. An event it cannot read is returned as an error, and the consumer moves the message
// to the dead-letter queue, where a person can look at it, instead of retrying it forever.
// An event recorded before (a redelivery, or accountservice publishing it again) is
// returned as messaging.ErrDuplicate: acknowledged, counted apart, not recorded twice.
//
// The faults of the message come with it, in its fault baggage item: sw.Context reads them
// from the consumer span, as instrument.Handler does for an HTTP request. queue-backlog
// acts here (backlog.go).
func handleVIPEvent(log *slog.Logger, sw *faults.Switch, recent *recentVIPs) messaging.Handler {
	slow := &slowLane{}
	return func(ctx context.Context, d amqp.Delivery) error {
		ctx = sw.Context(ctx)
		event, err := decodeVIPEvent(d.Body)
		if err != nil {
			return err // logged by the consumer, with the trace id, and marked on its span
		}
		if faults.On(ctx, faults.QueueBacklog) {
			if err := slow.handle(ctx, log); err != nil {
				return err // the service is stopping: the consumer requeues the message
			}
		}
		span, ctx := tracing.StartChild(ctx, "record vip event")
		defer span.Finish()
		span.SetTag("vip.tier", event.Tier)
		span.SetTag("event.id", event.ID)

		traceID, _ := tracing.IDs(ctx)
		if !recent.add(event.ID, vipRecord{AccountID: event.AccountID, TraceID: traceID, ReceivedAt: time.Now().UTC()}) {
			span.SetTag("duplicate", true)
			return messaging.ErrDuplicate
		}
		// The account id is a number, not personal data; the event carries no names on purpose.
		log.InfoContext(ctx, "vip event recorded", "account.id", event.AccountID, "tier", event.Tier, "event.id", event.ID)
		return nil
	}
}

// vipsAnswer is the body of GET /vips.
type vipsAnswer struct {
	Processed    int64       `json:"processed"`  // distinct events recorded
	Duplicates   int64       `json:"duplicates"` // events that came again, acknowledged, not recorded
	DeadLettered int64       `json:"deadLettered"`
	Connected    bool        `json:"connected"`
	Recent       []vipRecord `json:"recent"` // newest first
}

// handleVIPs answers GET /vips with the consumer's counts and the latest events, so a
// reader of the demo sees an event arrive and can open its trace by the traceId.
func handleVIPs(consumer consumerStatus, recent *recentVIPs) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stats := consumer.Stats()
		respond.JSON(w, http.StatusOK, vipsAnswer{
			Processed:    stats.Processed,
			Duplicates:   stats.Duplicates,
			DeadLettered: stats.DeadLettered,
			Connected:    consumer.Connected(),
			Recent:       recent.newestFirst(),
		})
	})
}
