package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"tracelab/common/respond"
)

// AccountResponse is the answer to GET /accounts/{id}. Quote and ImageData are left out
// when their service did not answer in time: the account is still worth returning.
type AccountResponse struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	ServedBy  string `json:"servedBy"`
	Quote     *Quote `json:"quote,omitempty"`
	ImageData *Image `json:"imageData,omitempty"`
}

// VIPEvent is published for every read of a VIP account. It carries no personal data.
type VIPEvent struct {
	AccountID  string    `json:"accountId"`
	Tier       string    `json:"tier"`
	OccurredAt time.Time `json:"occurredAt"`
}

// vipPublisher is the part of messaging.Publisher the handler needs.
type vipPublisher interface {
	Publish(ctx context.Context, body []byte) error
}

// servedBy names this process in answers, so a load-balanced demo shows who served what.
var servedBy = func() string {
	host, _ := os.Hostname()
	return serviceName + "@" + host
}()

// handleGetAccount answers GET /accounts/{id}: the account from bolt, a quote and an image
// fetched concurrently, and, for a VIP, an event on the message queue. Only the account is
// essential; a missing quote, image or event is logged and left out, and the spans say why.
func handleGetAccount(log *slog.Logger, accounts *store, quotes *quoteClient, images *imageClient, vips vipPublisher) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		id, err := parseID(r.PathValue("id"))
		if err != nil {
			log.InfoContext(ctx, "bad request", "err", err)
			respond.Error(w, http.StatusBadRequest, err.Error())
			return
		}
		acc, err := accounts.Get(ctx, id)
		switch {
		case errors.Is(err, ErrNotFound):
			log.InfoContext(ctx, "account not found", "account.id", id)
			respond.Error(w, http.StatusNotFound, "no account with id "+id)
			return
		case err != nil:
			log.ErrorContext(ctx, "reading account failed", "err", err)
			respond.Error(w, http.StatusInternalServerError, "could not read the account")
			return
		}

		// The quote (and the VIP event) on goroutines of their own, the image on this one:
		// all at the same time, with one goroutine fewer per request.
		resp := AccountResponse{ID: acc.ID, Name: acc.Name, ServedBy: servedBy}
		var wg sync.WaitGroup
		wg.Go(func() {
			q, err := quotes.Get(ctx)
			if err != nil {
				log.WarnContext(ctx, "quote unavailable", "err", err)
				return
			}
			resp.Quote = &q
		})
		if acc.VIP {
			wg.Go(func() { publishVIP(ctx, log, vips, acc.ID) })
		}
		if img, err := images.Get(ctx, acc.ID); err != nil {
			log.WarnContext(ctx, "image unavailable", "err", err)
		} else {
			resp.ImageData = &img
		}
		wg.Wait()
		respond.JSON(w, http.StatusOK, resp)
	})
}

// publishVIP sends the VIP event. A failure is logged and counted by the publisher (and
// marked on its producer span), never turned into a failed request.
func publishVIP(ctx context.Context, log *slog.Logger, vips vipPublisher, accountID string) {
	body, err := json.Marshal(VIPEvent{AccountID: accountID, Tier: "vip", OccurredAt: time.Now().UTC()})
	if err != nil {
		log.ErrorContext(ctx, "encoding vip event failed", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	if err := vips.Publish(ctx, body); err != nil {
		log.WarnContext(ctx, "vip event not published", "err", err, "account.id", accountID)
	}
}

// publishTimeout bounds the wait for the broker's confirm.
const publishTimeout = 2 * time.Second

// handleHealthz answers probes: the bolt file must be readable. The broker state is
// reported but does not fail the probe: accounts are served without it.
func handleHealthz(accounts *store, amqpConnected func() bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		broker := "connected"
		if !amqpConnected() {
			broker = "reconnecting"
		}
		if err := accounts.Ping(); err != nil {
			respond.JSON(w, http.StatusServiceUnavailable, map[string]string{"status": "bolt unavailable", "amqp": broker})
			return
		}
		respond.JSON(w, http.StatusOK, map[string]string{"status": "ok", "service": serviceName, "amqp": broker})
	})
}
