// Package instrument builds the two instruments every tracelab service carries, the JSON
// logger and the tracer, from the environment, in one call, so a new service gets both
// right by copying one line.
package instrument

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/opentracing/opentracing-go"

	"tracelab/common/faults"
	"tracelab/common/logging"
	"tracelab/common/tracing"
)

// New returns the logger (ECS JSON lines on stdout at logLevel, written in batches every
// 100ms: see logging.BufferedWriter) and the tracer (JAEGER_* variables read through getenv)
// of service, and serves profiles when <SERVICE>_PPROF_ADDR is set (see serveProfiles).
// Closing the Closer stops the profiles and flushes the rest: defer it first in run, so
// that it runs last, after the server has drained; run returning early on a bad setting
// then stops them too.
func New(service, logLevel string, getenv func(string) string, stdout io.Writer) (*slog.Logger, opentracing.Tracer, *Closer, error) {
	level, err := logging.ParseLevel(logLevel)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("LOG_LEVEL=%q: %w", logLevel, err)
	}
	logs := logging.NewBufferedWriter(stdout, 64<<10, 100*time.Millisecond)
	log := logging.New(service, logs, level)
	settings, err := tracing.SettingsFromEnv(service, getenv)
	if err != nil {
		_ = logs.Close()
		return nil, nil, nil, err
	}
	tracer, closer, err := tracing.New(settings, log)
	if err != nil {
		_ = logs.Close()
		return nil, nil, nil, err
	}
	// Last, once every other setting New reads has proved good: nothing must be left
	// listening when New fails.
	profiles, err := serveProfiles(log, getenv(strings.ToUpper(service)+"_PPROF_ADDR"))
	if err != nil {
		_ = closer.Close()
		_ = logs.Close()
		return nil, nil, nil, fmt.Errorf("%s_PPROF_ADDR: %w", strings.ToUpper(service), err)
	}
	return log, tracer, &Closer{profiles: profiles, tracer: closer, logs: logs}, nil
}

// Closer ends what New started, in the order that loses nothing: first the profiles side
// server, then the tracer, which sends every buffered span and logs how many were
// reported, dropped or unconfirmed, then the log lines still buffered.
type Closer struct {
	profiles *profileServer // nil when no profiles are served
	tracer   *tracing.Closer
	logs     *logging.BufferedWriter
}

// Close stops serving profiles, then flushes the spans, then the logs.
func (c *Closer) Close() error {
	var profilesErr error
	if c.profiles != nil {
		profilesErr = c.profiles.Close() // a profile being taken is cut: nothing is left to profile
	}
	return errors.Join(profilesErr, c.tracer.Close(), c.logs.Close())
}

// Handler wraps routes in the tracing middleware (outside), which also puts the faults of
// each request in its context (faults.Switch.Context, once the span's baggage is known),
// and the access log (inside, so its lines carry the trace id), and serves GET /healthz beside them,
// neither traced nor logged: orchestrators and `make run` probe it every few seconds, and
// those traces and lines would bury the ones people look for. The tracing middleware logs
// to log too; opts change what it does (the edge's trust policy: tracing.TrustCallers).
// A service adds its untraced admin routes to the mux returned (faults.Admin).
func Handler(log *slog.Logger, tracer opentracing.Tracer, sw *faults.Switch, routes http.Handler, healthz http.Handler, opts ...tracing.MiddlewareOption) *http.ServeMux {
	root := http.NewServeMux()
	root.Handle("GET /healthz", healthz)
	opts = append([]tracing.MiddlewareOption{tracing.WithLogger(log), tracing.WithContext(sw.Context)}, opts...)
	root.Handle("/", tracing.Middleware(tracer, opts...)(logging.AccessLog(log)(routes)))
	return root
}

// serveProfiles serves net/http/pprof on addr, on a listener of its own so the profiles are
// never reachable through the service's port: `go tool pprof http://addr/debug/pprof/profile`.
// It is off (nil, nil) unless <SERVICE>_PPROF_ADDR is set (EDGE_PPROF_ADDR=127.0.0.1:6063,
// say). The address is taken before serveProfiles returns, so one that cannot be listened
// on is a startup error; closing the server frees it.
func serveProfiles(log *slog.Logger, addr string) (*profileServer, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }() // returns when Closer.Close closes srv
	log.Info("profiles served", "pprof.address", ln.Addr().String())
	return &profileServer{srv: srv, ln: ln}, nil
}

// profileServer is the profiles' server and its listener. Close closes both: a server
// closed before its Serve goroutine has started would leave the address taken until then.
type profileServer struct {
	srv *http.Server
	ln  net.Listener
}

func (p *profileServer) Close() error {
	err := p.srv.Close()
	_ = p.ln.Close() // already closed when Serve had started
	return err
}
