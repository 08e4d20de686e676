package main

import (
	"log/slog"
	"net/http"

	"github.com/opentracing/opentracing-go"

	"tracelab/common/faults"
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
func newServer(log *slog.Logger, tracer opentracing.Tracer, sw *faults.Switch, d deps) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /accounts/{id}", handleGetAccount(log, d.accounts, d.quotes, d.images, d.outbox))
	mux.Handle("GET /accounts/{id}/transactions", handleListTransactions(log, d.accounts))
	mux.Handle("/", respond.NotFound())
	root := instrument.Handler(log, tracer, sw, mux, handleHealthz(d.accounts, d.outbox, d.broker, sw))
	root.Handle("/faults", faults.Admin(serviceName, sw)) // untraced, and out of the edge's reach
	return root
}
