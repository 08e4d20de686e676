// Package logging writes tracelab's logs: JSON lines on stdout with Elastic Common Schema
// field names, so Logstash and Kibana read them without a mapping of their own, and with
// the trace and span ids of the request, so a log line leads to its trace and back.
//
//	{"@timestamp":"...","log.level":"info","message":"access","service.name":"quoteservice",
//	 "trace.id":"5f1e...","span.id":"9a2c...", ...}
package logging

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"time"

	"tracelab/common/tracing"
)

// New returns a JSON logger for service writing to w. Records logged with a context
// (log.InfoContext(ctx, ...)) get trace.id and span.id from the span in that context.
func New(service string, w io.Writer, level slog.Level) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: ecsNames})
	return slog.New(traceHandler{h}).With("service.name", service)
}

// ParseLevel reads a LOG_LEVEL value (debug, info, warn, error); empty means info.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if s == "" {
		return slog.LevelInfo, nil
	}
	err := l.UnmarshalText([]byte(s))
	return l, err
}

// ecsNames renames slog's built-in keys to their ECS names.
func ecsNames(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.TimeKey:
		return slog.String("@timestamp", a.Value.Time().UTC().Format(time.RFC3339Nano))
	case slog.LevelKey:
		return slog.String("log.level", strings.ToLower(a.Value.String()))
	case slog.MessageKey:
		a.Key = "message"
	}
	return a
}

// traceHandler adds the ids of the span in the record's context.
type traceHandler struct{ slog.Handler }

func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if traceID, spanID := tracing.IDs(ctx); traceID != "" {
		r.AddAttrs(slog.String("trace.id", traceID), slog.String("span.id", spanID))
	}
	return h.Handler.Handle(ctx, r)
}

func (h traceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return traceHandler{h.Handler.WithAttrs(attrs)}
}

func (h traceHandler) WithGroup(name string) slog.Handler {
	return traceHandler{h.Handler.WithGroup(name)}
}

// Discard is a logger that writes nothing, for tests that do not read logs.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
