package main

import (
	"errors"
	"log/slog"
	"net/http"
	"sync"

	"tracelab/common/accountid"
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

// handleGetAccount answers GET /accounts/{id}: the account from bolt, a quote and an image
// fetched concurrently, and, for a VIP, an event on the message queue. Only the account is
// essential; a missing quote, image or event is logged and left out, and the spans say why.
func handleGetAccount(log *slog.Logger, accounts *store, quotes *quoteClient, images *imageClient, vips *vipEvents) http.Handler {
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

		if acc.VIP {
			vips.Send(ctx, acc.ID) // in the background: the reader does not wait for the broker
		}
		// The quote on a goroutine of its own, the image on this one: both at the same time.
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
		if img, err := images.Get(ctx, acc.ID); err != nil {
			log.WarnContext(ctx, "image unavailable", "err", err)
		} else {
			resp.ImageData = &img
		}
		wg.Wait()
		respond.JSON(w, http.StatusOK, resp)
	})
}

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
