package logging

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"tracelab/common/respond"
)

// AccessLog writes one line per request, after it is served, with ECS field names. It sits
// inside tracing.Middleware so the line carries the request's trace id. The path is logged,
// the query string is not (it can hold what people type), and no header is logged.
//
// A handler that panics gets its line too, written in a defer before the panic goes on to
// net/http: httputil.ReverseProxy aborts an answer whose body it could not copy to the end
// with http.ErrAbortHandler (the upstream broke off or timed out mid-body, the client hung
// up). That line has an aborted field saying why, the status only if one was sent, and is
// a warning at least.
func AccessLog(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := respond.NewRecorder(w)
			defer func() {
				aborted := recover()
				logAccess(log, r, rec, time.Since(start), aborted)
				if aborted != nil {
					panic(aborted) // on to net/http, which ends the connection
				}
			}()
			next.ServeHTTP(rec, r)
		})
	}
}

func logAccess(log *slog.Logger, r *http.Request, rec *respond.Recorder, took time.Duration, aborted any) {
	level := slog.LevelInfo
	attrs := make([]slog.Attr, 0, 8)
	attrs = append(attrs,
		slog.String("http.request.method", r.Method),
		slog.String("url.path", r.URL.Path),
		slog.String("http.route", r.Pattern),
	)
	if aborted == nil || rec.Wrote() {
		attrs = append(attrs, slog.Int("http.response.status_code", rec.Status()))
	}
	attrs = append(attrs,
		slog.Int("http.response.body.bytes", rec.Bytes()),
		slog.Int64("event.duration", took.Nanoseconds()),
		slog.String("client.address", r.RemoteAddr),
	)
	if aborted != nil {
		level = slog.LevelWarn
		attrs = append(attrs, slog.String("aborted", fmt.Sprint(aborted)))
	}
	if rec.Status() >= 500 {
		level = slog.LevelError
	}
	log.LogAttrs(r.Context(), level, "access", attrs...)
}
