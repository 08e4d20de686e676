package main

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/opentracing/opentracing-go"

	"tracelab/common/instrument"
	"tracelab/common/respond"
)

// newServer lists every route of the edge in one place: the proxied routes of the route
// table, the health check, and a JSON 404 for everything else. Each proxied call may take
// upstreamTimeout.
func newServer(log *slog.Logger, tracer opentracing.Tracer, routes []route, upstreamTimeout time.Duration) http.Handler {
	pool := newBufferPool()
	mux := http.NewServeMux()
	for _, rt := range routes {
		mux.Handle(rt.pattern, handleProxy(newProxy(log, rt, pool), upstreamTimeout))
	}
	mux.Handle("/", respond.NotFound())
	return instrument.Handler(log, tracer, mux, handleHealthz())
}

// handleHealthz answers liveness and readiness probes. It does not call upstream: a slow
// accountservice must not get the edge restarted.
func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		respond.JSON(w, http.StatusOK, map[string]string{"status": "ok", "service": serviceName})
	})
}
