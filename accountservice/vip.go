package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"tracelab/common/messaging"
)

// VIPEvent is published for every read of a VIP account. It carries no personal data.
type VIPEvent struct {
	AccountID  string    `json:"accountId"`
	Tier       string    `json:"tier"`
	OccurredAt time.Time `json:"occurredAt"`
}

// vipPublisher is the part of messaging.Publisher that VIP events need.
type vipPublisher interface {
	Publish(ctx context.Context, m messaging.Message) error
}

// vipEvents sends VIP events in the background. The event is the reader's business only
// as far as it gets sent: the answer does not wait for the broker to confirm it (a disk
// sync on the broker, milliseconds at worst), and a failure is logged and counted by the
// publisher, never turned into a failed request. Its producer span is still a child of the
// request's server span; it may just end after it.
type vipEvents struct {
	log       *slog.Logger
	publisher vipPublisher
	inFlight  sync.WaitGroup
}

// publishTimeout bounds the wait for the broker's confirm.
const publishTimeout = 2 * time.Second

// Send publishes the event for accountID on a goroutine of its own. ctx is the request's:
// its span becomes the producer span's parent, its cancellation (the answer is sent, the
// client hangs up) does not stop the event.
func (v *vipEvents) Send(ctx context.Context, accountID string) {
	ctx = context.WithoutCancel(ctx)
	v.inFlight.Go(func() {
		body, err := json.Marshal(VIPEvent{AccountID: accountID, Tier: "vip", OccurredAt: time.Now().UTC()})
		if err != nil {
			v.log.ErrorContext(ctx, "encoding vip event failed", "err", err)
			return
		}
		ctx, cancel := context.WithTimeout(ctx, publishTimeout)
		defer cancel()
		if err := v.publisher.Publish(ctx, messaging.Message{Body: body}); err != nil {
			v.log.WarnContext(ctx, "vip event not published", "err", err, "account.id", accountID)
		}
	})
}

// Wait returns once every event sent is confirmed or given up on. run calls it after the
// server has drained and before the publisher disconnects.
func (v *vipEvents) Wait() { v.inFlight.Wait() }
