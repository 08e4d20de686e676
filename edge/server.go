package main

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"time"

	"github.com/opentracing/opentracing-go"

	"tracelab/common/faults"
	"tracelab/common/instrument"
	"tracelab/common/respond"
	"tracelab/common/serve"
	"tracelab/common/tracing"
)

// newServer lists every route of the edge in one place: the proxied routes of the route
// table, the health check, and a JSON 404 for everything else. Each proxied call may take
// upstreamTimeout. None of them takes a request body (see refuseBody). opts go to the
// tracing middleware: the trust policy for callers' tracing headers (tracing.TrustCallers).
// With faults switched off (TRACELAB_FAULTS_ENABLED=false) a caller's fault baggage item
// is dropped on arrival; with them on, a proxied call may meet the edge-pool fault (pool.go).
func newServer(log *slog.Logger, tracer opentracing.Tracer, sw *faults.Switch, routes []route, upstreamTimeout time.Duration, opts ...tracing.MiddlewareOption) http.Handler {
	pool := newBufferPool()
	conns := &slotPool{} // the edge-pool fault's slots, shared by every route
	mux := http.NewServeMux()
	for _, rt := range routes {
		mux.Handle(rt.pattern, refuseBody(log, handleProxy(withEdgePool(conns, newProxy(log, rt, pool)), upstreamTimeout)))
	}
	mux.Handle("/", refuseBody(log, respond.NotFound()))
	if !sw.Enabled() {
		// Faults are off here: a caller's fault item goes no further than the door, so
		// nobody switches one on in the services behind the edge either.
		opts = append(opts, tracing.RefuseBaggage(faults.BaggageKey))
	}
	return instrument.Handler(log, tracer, sw, mux, refuseBody(log, handleHealthz(sw)), opts...)
}

// newHTTPServer is the edge's server for h, serving HTTPS with tlsConfig. A proxied call
// may take upstreamTimeout, so the server's WriteTimeout is made to outlast it: a slow
// upstream must end in the edge's 504, not in a connection cut before it is written.
func newHTTPServer(h http.Handler, log *slog.Logger, upstreamTimeout time.Duration, tlsConfig *tls.Config) *http.Server {
	srv := serve.NewServer(h, log)
	srv.TLSConfig = tlsConfig
	serve.AllowHandlerTime(srv, upstreamTimeout)
	return srv
}

// refuseBody answers 400 at once to a request that carries a body (a Content-Length above
// zero, a chunked body, an HTTP/2 stream with data to come), and passes the others to
// next. That is the edge's rule: none of its routes takes a body (they are all GET, and
// neither upstream reads one). Forwarded, a body the client never finishes would hold the
// call until the edge's ReadTimeout and end in a 504 blaming accountservice, and a mangled
// one (a bad chunk size) in a 502.
func refuseBody(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength == 0 {
			next.ServeHTTP(w, r)
			return
		}
		log.InfoContext(r.Context(), "bad request", "err", "request body on a route that takes none")
		closeAfterAnswer(w, r)
		respond.Error(w, http.StatusBadRequest, "the edge takes no request body: send the request without one")
	})
}

// closeAfterAnswer closes an HTTP/1 connection after the answer, because the unread rest
// of the request body is still on the wire. Without it net/http would read up to 256 KiB
// of that body before sending the answer, to keep the connection, and a client that sent
// less than it announced would wait for the ReadTimeout instead of getting its 400 at once.
// HTTP/2 needs nothing: the stream is reset, and Connection: close would end every other
// stream of the connection.
func closeAfterAnswer(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor == 1 {
		w.Header().Set("Connection", "close")
	}
}

// handleHealthz answers liveness and readiness probes, and says which faults are on. It
// does not call upstream: a slow accountservice must not get the edge restarted.
func handleHealthz(sw *faults.Switch) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		respond.JSON(w, http.StatusOK, health{Status: "ok", Service: serviceName, Faults: sw.Health()})
	})
}

// health is the body of GET /healthz.
type health struct {
	Status  string        `json:"status"`
	Service string        `json:"service"`
	Faults  faults.Health `json:"faults"`
}
