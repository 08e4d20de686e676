package main

import (
	"log/slog"
	"net/http"

	"github.com/opentracing/opentracing-go"

	"tracelab/common/instrument"
	"tracelab/common/messaging"
	"tracelab/common/respond"
)

// deps is everything the routes need, built once in run.
type deps struct {
	accounts *store
	quotes   *quoteClient
	images   *imageClient
	outbox   *outbox
	broker   func() messaging.State // the publisher's, for /healthz
}

// newServer lists every route of the service in one place.
func newServer(log *slog.Logger, tracer opentracing.Tracer, d deps) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /accounts/{id}", handleGetAccount(log, d.accounts, d.quotes, d.images, d.outbox))
	mux.Handle("/", respond.NotFound())
	return instrument.Handler(log, tracer, mux, handleHealthz(d.accounts, d.outbox, d.broker))
}
