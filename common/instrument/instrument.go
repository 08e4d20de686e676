// Package instrument builds the two instruments every tracelab service carries, the JSON
// logger and the tracer, from the environment, in one call, so a new service gets both
// right by copying one line.
package instrument

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/opentracing/opentracing-go"

	"tracelab/common/logging"
	"tracelab/common/tracing"
)

// New returns the logger (ECS JSON lines on stdout at logLevel) and the tracer (JAEGER_*
// variables read through getenv) of service. Closing the tracing.Closer flushes every
// buffered span and logs how many were reported, dropped or failed: defer it first in run,
// so that it runs last, after the server has drained.
func New(service, logLevel string, getenv func(string) string, stdout io.Writer) (*slog.Logger, opentracing.Tracer, *tracing.Closer, error) {
	level, err := logging.ParseLevel(logLevel)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("LOG_LEVEL=%q: %w", logLevel, err)
	}
	log := logging.New(service, stdout, level)
	settings, err := tracing.SettingsFromEnv(service, getenv)
	if err != nil {
		return nil, nil, nil, err
	}
	tracer, closer, err := tracing.New(settings, log)
	if err != nil {
		return nil, nil, nil, err
	}
	return log, tracer, closer, nil
}

// Handler wraps routes in the tracing middleware (outside) and the access log (inside, so
// its lines carry the trace id), and serves GET /healthz beside them, neither traced nor
// logged: orchestrators and `make run` probe it every few seconds, and those traces and
// lines would bury the ones people look for.
func Handler(log *slog.Logger, tracer opentracing.Tracer, routes http.Handler, healthz http.Handler) http.Handler {
	root := http.NewServeMux()
	root.Handle("GET /healthz", healthz)
	root.Handle("/", tracing.Middleware(tracer)(logging.AccessLog(log)(routes)))
	return root
}
