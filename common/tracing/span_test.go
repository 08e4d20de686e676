package tracing

import (
	"context"
	"errors"
	"testing"

	"github.com/uber/jaeger-client-go"

	"tracelab/common/tracing/tracingtest"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/opentracing/opentracing-go/mocktracer"
)

func TestStartChild(t *testing.T) {
	tracer := tracingtest.New()
	parent := tracer.StartSpan("GET /accounts/{id}")
	span, ctx := StartChild(spanFrom(parent), "bolt get account")
	span.Finish()

	if got := opentracing.SpanFromContext(ctx); got != span {
		t.Errorf("StartChild ctx holds %v, want the child %v", got, span)
	}
	child, ok := tracer.Span("bolt get account")
	if !ok {
		t.Fatalf("finished spans %v, want one %q started by the parent's tracer", tracer.Names(), "bolt get account")
	}
	parentCtx := parent.Context().(mocktracer.MockSpanContext)
	if child.ParentID != parentCtx.SpanID || child.SpanContext.TraceID != parentCtx.TraceID {
		t.Errorf("StartChild span parent %d trace %d, want parent %d trace %d",
			child.ParentID, child.SpanContext.TraceID, parentCtx.SpanID, parentCtx.TraceID)
	}
	if ref, ok := tracer.Reference(child); !ok || ref != opentracing.ChildOfRef {
		t.Errorf("StartChild reference = %v (set %v), want ChildOf", ref, ok)
	}
}

func TestStartChildWithoutParent(t *testing.T) {
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "v")
	span, got := StartChild(ctx, "bolt get account")
	defer span.Finish()
	if got != ctx {
		t.Errorf("StartChild without a parent returned a new ctx, want the same one")
	}
	if _, ok := span.Tracer().(opentracing.NoopTracer); !ok {
		t.Errorf("StartChild without a parent = span of %T, want a no-op span", span.Tracer())
	}
	if opentracing.SpanFromContext(got) != nil {
		t.Errorf("StartChild without a parent put a span in ctx, want none")
	}
}

func TestStartChildRealTracer(t *testing.T) {
	tracer := newRealTracer(t, nil)
	parent := tracer.StartSpan("parent")
	span, ctx := StartChild(spanFrom(parent), "child")
	span.Finish()
	parent.Finish()

	ps, cs := jaegerContext(t, parent), jaegerContext(t, span)
	if cs.TraceID() != ps.TraceID() || cs.ParentID() != ps.SpanID() {
		t.Errorf("child trace %s parent %s, want trace %s parent %s", cs.TraceID(), cs.ParentID(), ps.TraceID(), ps.SpanID())
	}
	traceID, spanID := IDs(ctx)
	if traceID != ps.TraceID().String() || spanID != cs.SpanID().String() {
		t.Errorf("IDs(child ctx) = %s, %s, want %s, %s", traceID, spanID, ps.TraceID(), cs.SpanID())
	}
	_, spans := tracer.recorded(t)
	if len(spans) != 2 {
		t.Errorf("collector got %d spans, want parent and child", len(spans))
	}
}

func TestIDs(t *testing.T) {
	tests := []struct {
		name string
		ctx  context.Context
	}{
		{"no span", context.Background()},
		{"noop span", spanFrom(opentracing.NoopTracer{}.StartSpan("x"))},
		{"mock span", spanFrom(mocktracer.New().StartSpan("x"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if traceID, spanID := IDs(tt.ctx); traceID != "" || spanID != "" {
				t.Errorf("IDs(%s) = %q, %q, want empty", tt.name, traceID, spanID)
			}
		})
	}
}

func TestSetError(t *testing.T) {
	tracer := mocktracer.New()
	span := tracer.StartSpan("x")
	SetError(span, nil)
	if got := span.(*mocktracer.MockSpan).Tag(string(ext.Error)); got != nil {
		t.Errorf("SetError(span, nil): tag error = %v, want none", got)
	}
	SetError(nil, errors.New("no span")) // must not panic

	SetError(span, errors.New("bolt: database not open"))
	span.Finish()
	ms := tracer.FinishedSpans()[0]
	if got := ms.Tag(string(ext.Error)); got != true {
		t.Errorf("SetError: tag error = %v, want true", got)
	}
	logs := ms.Logs()
	if len(logs) != 1 {
		t.Fatalf("SetError: %d logs, want 1", len(logs))
	}
	fields := map[string]string{}
	for _, f := range logs[0].Fields {
		fields[f.Key] = f.ValueString
	}
	if fields["event"] != "error" || fields["message"] != "bolt: database not open" {
		t.Errorf("SetError: log fields = %v, want event=error message=%q", fields, "bolt: database not open")
	}
}

// TestAppendHex16 pins the id format to jaeger's own (TraceID.String, SpanID.String), which
// Jaeger's API, the X-Trace-Id header and the logs must agree on.
func TestAppendHex16(t *testing.T) {
	for _, x := range []uint64{0, 1, 0xabc, 0x0123456789abcdef, ^uint64(0)} {
		if got, want := string(appendHex16(nil, x)), jaeger.SpanID(x).String(); got != want {
			t.Errorf("appendHex16(%#x) = %q, want %q", x, got, want)
		}
	}
	tid := jaeger.TraceID{High: 0x1f, Low: 0x2}
	if got, want := string(appendHex16(appendHex16(nil, tid.High), tid.Low)), tid.String(); got != want {
		t.Errorf("128-bit id = %q, want %q", got, want)
	}
}
