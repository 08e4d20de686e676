package tracing

import (
	"context"
	"encoding/binary"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	otlog "github.com/opentracing/opentracing-go/log"
	"github.com/uber/jaeger-client-go"
)

// StartChild starts a span for internal work (a database read, a filter, a CPU burn) as a
// child of the span in ctx, and returns a context that carries it. The tracer comes from
// the parent span, so deep code needs no tracer argument. Without a span in ctx it returns
// a no-op span and ctx unchanged: internal work never starts a trace of its own.
//
//	span, ctx := tracing.StartChild(ctx, "bolt get account")
//	defer span.Finish()
func StartChild(ctx context.Context, operation string) (opentracing.Span, context.Context) {
	parent := opentracing.SpanFromContext(ctx)
	if parent == nil {
		return noopTracer.StartSpan(operation), ctx
	}
	span := parent.Tracer().StartSpan(operation, opentracing.ChildOf(parent.Context()))
	return span, opentracing.ContextWithSpan(ctx, span)
}

var noopTracer opentracing.NoopTracer

// SetError marks span as failed and logs err on it, the OpenTracing way: the error tag
// plus an "error" event with the message, so Jaeger shows both the red mark and the why.
func SetError(span opentracing.Span, err error) {
	if span == nil || err == nil {
		return
	}
	ext.Error.Set(span, true)
	span.LogFields(otlog.String("event", "error"), otlog.String("message", err.Error()))
}

// IDs returns the trace id and span id of the span in ctx, as Jaeger prints them, or empty
// strings when there is no recorded span (no span, or tracing disabled). Logs and the
// X-Trace-Id header use them to point at the trace.
func IDs(ctx context.Context) (traceID, spanID string) {
	span := opentracing.SpanFromContext(ctx)
	if span == nil {
		return "", ""
	}
	return SpanIDs(span)
}

// SpanIDs is IDs for a span at hand.
func SpanIDs(span opentracing.Span) (traceID, spanID string) {
	switch sc := span.Context().(type) {
	case jaeger.SpanContext:
		if sc.IsValid() {
			return traceIDString(sc.TraceID()), spanIDString(sc.SpanID())
		}
	case otelSpanContext: // the otel mode
		if sc.IsValid() {
			// OpenTelemetry's ids are always 128-bit; one whose high half is zero (a 64-bit
			// id a Jaeger caller sent) is printed in 16 digits, as Jaeger's API prints it.
			t, sp := sc.TraceID(), sc.SpanID()
			id := jaeger.TraceID{High: binary.BigEndian.Uint64(t[:8]), Low: binary.BigEndian.Uint64(t[8:])}
			return traceIDString(id), spanIDString(jaeger.SpanID(binary.BigEndian.Uint64(sp[:])))
		}
	}
	return "", ""
}

// traceIDString and spanIDString format ids as jaeger's TraceID.String and SpanID.String
// do (16 or 32 hex digits, leading zeros kept), without fmt: every log line of a request
// asks for them, and every outbound call writes them.
func traceIDString(id jaeger.TraceID) string {
	var buf [32]byte
	return string(appendTraceID(buf[:0], id))
}

func spanIDString(id jaeger.SpanID) string {
	var buf [16]byte
	return string(appendHex16(buf[:0], uint64(id)))
}

func appendTraceID(b []byte, id jaeger.TraceID) []byte {
	if id.High != 0 {
		b = appendHex16(b, id.High)
	}
	return appendHex16(b, id.Low)
}

// appendHex16 appends x as 16 lower-case hex digits, leading zeros kept.
func appendHex16(b []byte, x uint64) []byte {
	const digits = "0123456789abcdef"
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, digits[(x>>uint(shift))&0xf])
	}
	return b
}

// isSampled reports whether span will be recorded. Only a Jaeger or an OpenTelemetry span
// can say it is not.
func isSampled(span opentracing.Span) bool {
	switch sc := span.Context().(type) {
	case jaeger.SpanContext:
		return sc.IsSampled()
	case otelSpanContext:
		return sc.IsSampled()
	}
	return true
}

// baggageTags records the baggage a span received as baggage.<key> tags, so a reader of the
// trace sees what rode along without opening the headers, and, as baggage.dropped, how many
// items the extraction refused (see MaxBaggageItems).
func baggageTags(span opentracing.Span, received opentracing.SpanContext, dropped droppedBaggage) {
	if received != nil {
		received.ForeachBaggageItem(func(k, v string) bool {
			span.SetTag("baggage."+k, v)
			return true
		})
	}
	if n := dropped.count(); n > 0 {
		span.SetTag(baggageDroppedTag, n)
	}
}

// baggageDroppedTag is the tag that counts the baggage items a server or consumer span did
// not take from its caller: invalid, or beyond MaxBaggageItems and MaxBaggageBytes.
const baggageDroppedTag = "baggage.dropped"
