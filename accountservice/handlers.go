package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"

	"github.com/opentracing/opentracing-go"

	"tracelab/common/accountid"
	"tracelab/common/faults"
	"tracelab/common/messaging"
	"tracelab/common/respond"
	"tracelab/common/tracing"
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
		acc, ok := readAccount(w, r, log, accounts)
		if !ok {
			return
		}

		// The tag that VIP failures cluster on when you search Jaeger (the vip-errors fault,
		// one of the workshop README's demonstrations).
		if span := opentracing.SpanFromContext(ctx); span != nil {
			span.SetTag("account.vip", acc.VIP)
		}
		// With the vip-errors fault on, a VIP account fails here, and only a VIP account:
		// search Jaeger for error=true and see every failed span say account.vip=true.
		if acc.VIP && faults.On(ctx, faults.VIPErrors) {
			failVIPAccount(ctx, log, w, acc.ID)
			return
		}

		// The event and the quote on goroutines of their own, the image on this one: all
		// at the same time, so the outbox write (a disk commit) adds nothing to the answer.
		resp := AccountResponse{ID: acc.ID, Name: acc.Name, ServedBy: servedBy}
		var wg sync.WaitGroup
		if acc.VIP {
			wg.Go(func() { recordVIPEvent(ctx, log, events, acc.ID) })
		}
		// With the sequential-calls fault on, the quote is fetched before the image instead
		// of beside it: the staircase that lab 3 asks you to find and remove.
		if faults.On(ctx, faults.SequentialCalls) {
			resp.Quote = quoteOrNil(ctx, log, quotes)
			resp.ImageData = imageOrNil(ctx, log, images, acc.ID)
		} else {
			wg.Go(func() { resp.Quote = quoteOrNil(ctx, log, quotes) })
			resp.ImageData = imageOrNil(ctx, log, images, acc.ID)
		}
		wg.Wait()
		respond.JSON(w, http.StatusOK, resp)
	})
}

// readAccount reads the account that the request's {id} names. When it cannot, it answers
// (400 for an id that is no account id, 404 for an unknown one, 500 when bolt fails) and
// reports false.
func readAccount(w http.ResponseWriter, r *http.Request, log *slog.Logger, accounts *store) (Account, bool) {
	ctx := r.Context()
	id := r.PathValue("id")
	if _, err := accountid.Parse(id); err != nil {
		log.InfoContext(ctx, "bad request", "err", err)
		respond.Error(w, http.StatusBadRequest, err.Error())
		return Account{}, false
	}
	acc, err := accounts.Get(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		log.InfoContext(ctx, "account not found", "account.id", id)
		respond.Error(w, http.StatusNotFound, "no account with id "+id)
		return Account{}, false
	case err != nil:
		log.ErrorContext(ctx, "reading account failed", "err", err)
		respond.Error(w, http.StatusInternalServerError, "could not read the account")
		return Account{}, false
	}
	return acc, true
}

// TransactionsResponse is the answer to GET /accounts/{id}/transactions.
type TransactionsResponse struct {
	AccountID    string        `json:"accountId"`
	Transactions []Transaction `json:"transactions"` // newest first; [] when none
	ServedBy     string        `json:"servedBy"`
}

// handleListTransactions answers GET /accounts/{id}/transactions with the account's recent
// transactions, newest first. The account is read first, so that an unknown one is a 404
// like on GET /accounts/{id}. The n-plus-one fault (lab 3) acts in RecentTransactions.
func handleListTransactions(log *slog.Logger, accounts *store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		acc, ok := readAccount(w, r, log, accounts)
		if !ok {
			return
		}
		id := acc.ID
		txs, err := accounts.RecentTransactions(ctx, id)
		if err != nil {
			log.ErrorContext(ctx, "reading transactions failed", "err", err, "account.id", id)
			respond.Error(w, http.StatusInternalServerError, "could not read the transactions")
			return
		}
		if txs == nil {
			txs = []Transaction{}
		}
		respond.JSON(w, http.StatusOK, TransactionsResponse{AccountID: id, Transactions: txs, ServedBy: servedBy})
	})
}

// quoteOrNil asks for the quote; without one the account is served all the same.
func quoteOrNil(ctx context.Context, log *slog.Logger, quotes *quoteClient) *Quote {
	q, err := quotes.Get(ctx)
	if err != nil {
		log.WarnContext(ctx, "quote unavailable", "err", err)
		return nil
	}
	return &q
}

// imageOrNil asks for the account's image; without one the account is served all the same.
// With the retry-storm fault on, a failing call is made again at once, again and again.
func imageOrNil(ctx context.Context, log *slog.Logger, images *imageClient, accountID string) *Image {
	var img Image
	var err error
	if faults.On(ctx, faults.RetryStorm) {
		img, err = images.getRetryingAtOnce(ctx, accountID)
	} else {
		img, err = images.Get(ctx, accountID)
	}
	if err != nil {
		log.WarnContext(ctx, "image unavailable", "err", err)
		return nil
	}
	return &img
}

// errVIPFault is what the vip-errors fault makes of a VIP account read.
var errVIPFault = errors.New("vip account failed on purpose (the vip-errors fault)")

// failVIPAccount answers a VIP account read with a 500, the vip-errors fault's failure. The
// server span gets error=true from the status, and the error event says why.
func failVIPAccount(ctx context.Context, log *slog.Logger, w http.ResponseWriter, accountID string) {
	tracing.SetError(opentracing.SpanFromContext(ctx), errVIPFault)
	log.ErrorContext(ctx, "vip account failed", "err", errVIPFault, "account.id", accountID)
	respond.Error(w, http.StatusInternalServerError, "the account could not be served")
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
