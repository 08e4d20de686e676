package logging

import (
	"log/slog"
	"net/http"
	"time"

	"tracelab/common/respond"
)

// AccessLog writes one line per request, after it is served, with ECS field names. It sits
// inside tracing.Middleware so the line carries the request's trace id. The path is logged,
// the query string is not (it can hold what people type), and no header is logged.
func AccessLog(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := respond.NewRecorder(w)
			next.ServeHTTP(rec, r)
			level := slog.LevelInfo
			if rec.Status() >= 500 {
				level = slog.LevelError
			}
			log.LogAttrs(r.Context(), level, "access",
				slog.String("http.request.method", r.Method),
				slog.String("url.path", r.URL.Path),
				slog.String("http.route", r.Pattern),
				slog.Int("http.response.status_code", rec.Status()),
				slog.Int("http.response.body.bytes", rec.Bytes()),
				slog.Int64("event.duration", time.Since(start).Nanoseconds()),
				slog.String("client.address", r.RemoteAddr),
			)
		})
	}
}
