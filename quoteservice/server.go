package main

import (
	"log/slog"
	"net/http"

	"github.com/opentracing/opentracing-go"

	"tracelab/common/instrument"
	"tracelab/common/respond"
)

// newServer lists every route of the service in one place.
func newServer(log *slog.Logger, tracer opentracing.Tracer, quotes *quoteBook) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /api/quote", handleQuote(log, quotes))
	mux.Handle("/", respond.NotFound())
	return instrument.Handler(log, tracer, mux, handleHealthz())
}

// handleHealthz answers liveness and readiness probes.
func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		respond.JSON(w, http.StatusOK, map[string]string{"status": "ok", "service": serviceName})
	})
}
