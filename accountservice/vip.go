package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"time"
)

// VIPEvent is written to the outbox for every read of a VIP account, and published from
// there. It carries no personal data. ID is unique per event: vipservice counts an event
// it has seen before as a duplicate, not again.
type VIPEvent struct {
	ID         string    `json:"id"`
	AccountID  string    `json:"accountId"`
	Tier       string    `json:"tier"`
	OccurredAt time.Time `json:"occurredAt"`
}

// newEventID returns 128 random bits in hex: unique without asking anyone.
func newEventID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// recordVIPEvent writes the event of a VIP read to the outbox. The event is the reader's
// business only as far as it gets recorded: a full or failing outbox is logged (and, when
// full, counted) and the account is served all the same.
func recordVIPEvent(ctx context.Context, log *slog.Logger, events *outbox, accountID string) {
	event := VIPEvent{ID: newEventID(), AccountID: accountID, Tier: "vip", OccurredAt: time.Now().UTC()}
	err := events.Add(ctx, event)
	switch {
	case errors.Is(err, ErrOutboxFull):
		log.WarnContext(ctx, "outbox full: vip event refused", "account.id", accountID,
			"outbox.limit", events.limit, "outbox.refused", events.Refused())
	case err != nil:
		log.ErrorContext(ctx, "vip event not recorded", "err", err, "account.id", accountID)
	}
}
