package tracing

import (
	"context"

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
	sc, ok := span.Context().(jaeger.SpanContext)
	if !ok || !sc.IsValid() {
		return "", ""
	}
	// Formatted as jaeger's TraceID.String and SpanID.String do, without fmt: every log line
	// of a request asks for them.
	var buf [32]byte
	tid := sc.TraceID()
	if tid.High == 0 {
		traceID = string(appendHex16(buf[:0], tid.Low))
	} else {
		traceID = string(appendHex16(appendHex16(buf[:0], tid.High), tid.Low))
	}
	return traceID, string(appendHex16(buf[:0], uint64(sc.SpanID())))
}

// appendHex16 appends x as 16 lower-case hex digits, leading zeros kept.
func appendHex16(b []byte, x uint64) []byte {
	const digits = "0123456789abcdef"
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, digits[(x>>uint(shift))&0xf])
	}
	return b
}

// baggageTags records the baggage a span received as baggage.<key> tags, so a reader of the
// trace sees what rode along without opening the headers.
func baggageTags(span opentracing.Span, received opentracing.SpanContext) {
	if received == nil {
		return
	}
	received.ForeachBaggageItem(func(k, v string) bool {
		span.SetTag("baggage."+k, v)
		return true
	})
}
