package main

import (
	"errors"
	"log/slog"
	"net/http"
	"sync"

	"tracelab/common/accountid"
	"tracelab/common/faults"
	"tracelab/common/messaging"
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

// servedBy names this process in answers.
var servedBy = respond.ServedBy(serviceName)

// handleGetAccount answers GET /accounts/{id}: the account from bolt, then at the same
// time a quote, an image and, for a VIP, the event written to the outbox (the relay
// publishes it later). Only the account is essential; a missing quote, image or event is
// logged and left out, and the spans say why.
func handleGetAccount(log *slog.Logger, accounts *store, quotes *quoteClient, images *imageClient, events *outbox) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		id := r.PathValue("id")
		if _, err := accountid.Parse(id); err != nil {
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

		// The event and the quote on goroutines of their own, the image on this one: all
		// at the same time, so the outbox write (a disk commit) adds nothing to the answer.
		resp := AccountResponse{ID: acc.ID, Name: acc.Name, ServedBy: servedBy}
		var wg sync.WaitGroup
		if acc.VIP {
			wg.Go(func() { recordVIPEvent(ctx, log, events, acc.ID) })
		}
		wg.Go(func() {
			q, err := quotes.Get(ctx)
			if err != nil {
				log.WarnContext(ctx, "quote unavailable", "err", err)
				return
			}
			resp.Quote = &q
		})
		if img, err := images.Get(ctx, acc.ID); err != nil {
			log.WarnContext(ctx, "image unavailable", "err", err)
		} else {
			resp.ImageData = &img
		}
		wg.Wait()
		respond.JSON(w, http.StatusOK, resp)
	})
}

// health is the body of GET /healthz.
type health struct {
	Status  string        `json:"status"`
	Service string        `json:"service"`
	AMQP    string        `json:"amqp"` // connected, reconnecting or blocked
	Outbox  outboxHealth  `json:"outbox"`
	Faults  faults.Health `json:"faults"`
}

// outboxHealth tells how far the VIP events are behind: depth is what waits to be
// published, refused what a full outbox turned away since the start.
type outboxHealth struct {
	Depth   int   `json:"depth"`
	Limit   int   `json:"limit"`
	Refused int64 `json:"refused"`
}

// handleHealthz answers probes: the bolt file must be readable. The broker state and the
// outbox are reported but do not fail the probe: accounts are served without the broker,
// and restarting accountservice would not bring it back (the events wait in the outbox).
func handleHealthz(accounts *store, events *outbox, broker func() messaging.State, sw *faults.Switch) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := health{Status: "ok", Service: serviceName, AMQP: broker().String(),
			Outbox: outboxHealth{Depth: events.Depth(), Limit: events.limit, Refused: events.Refused()},
			Faults: sw.Health()}
		status := http.StatusOK
		if err := accounts.Ping(); err != nil {
			h.Status, status = "bolt unavailable", http.StatusServiceUnavailable
		}
		respond.JSON(w, status, h)
	})
}
