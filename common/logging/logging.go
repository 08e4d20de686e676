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
	"slices"
	"strings"
	"time"

	"tracelab/common/tracing"
)

// New returns a JSON logger for service writing to w. Records logged with a context
// (log.InfoContext(ctx, ...)) get trace.id and span.id from the span in that context.
func New(service string, w io.Writer, level slog.Level) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: ecsNames})
	return slog.New(newTraceHandler(h)).With("service.name", service)
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

// ecsNames renames slog's built-in keys to their ECS names. ReplaceAttr also sees the
// caller's attributes, so a "time" or "level" of another type (log.Info("x", "time",
// "yesterday")) is left as it is instead of being read as the built-in one.
func ecsNames(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.TimeKey:
		if a.Value.Kind() == slog.KindTime {
			return slog.String("@timestamp", a.Value.Time().UTC().Format(time.RFC3339Nano))
		}
	case slog.LevelKey:
		if l, ok := a.Value.Any().(slog.Level); ok {
			return slog.String("log.level", strings.ToLower(l.String()))
		}
	case slog.MessageKey:
		a.Key = "message"
	}
	return a
}

// traceHandler adds the ids of the span in the record's context, at the top level of the
// line even when the logger has a group open (log.WithGroup("db")), because that is where
// Kibana and Jaeger look for trace.id.
type traceHandler struct {
	slog.Handler // where records go, groups and all

	top    slog.Handler                      // the same before the first WithGroup
	nested []func(slog.Handler) slog.Handler // WithGroup and WithAttrs calls made since
}

func newTraceHandler(h slog.Handler) traceHandler { return traceHandler{Handler: h, top: h} }

func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	traceID, spanID := tracing.IDs(ctx)
	if traceID == "" {
		return h.Handler.Handle(ctx, r)
	}
	ids := []slog.Attr{slog.String("trace.id", traceID), slog.String("span.id", spanID)}
	if len(h.nested) == 0 {
		r.AddAttrs(ids...)
		return h.Handler.Handle(ctx, r)
	}
	// A group is open, and the record's attributes belong in it but the ids do not: add
	// them before the group, then open it again. Rare enough not to be worth a cache.
	out := h.top.WithAttrs(ids)
	for _, with := range h.nested {
		out = with(out)
	}
	return out.Handle(ctx, r)
}

func (h traceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(h.nested) == 0 {
		return newTraceHandler(h.Handler.WithAttrs(attrs))
	}
	return h.with(func(out slog.Handler) slog.Handler { return out.WithAttrs(attrs) })
}

func (h traceHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h // slog's rule: an empty group is no group
	}
	return h.with(func(out slog.Handler) slog.Handler { return out.WithGroup(name) })
}

func (h traceHandler) with(f func(slog.Handler) slog.Handler) traceHandler {
	return traceHandler{Handler: f(h.Handler), top: h.top, nested: append(slices.Clip(h.nested), f)}
}

// Discard is a logger that writes nothing, for tests that do not read logs.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
