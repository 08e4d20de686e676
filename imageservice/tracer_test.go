package main

import (
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/opentracing/opentracing-go/mocktracer"

	"tracelab/common/tracing/tracingtest"
)

// checkServerSpan checks the tags the tracing middleware promises on a server span.
func checkServerSpan(t *testing.T, span *mocktracer.MockSpan, wantStatus int) {
	t.Helper()
	if got := span.Tag(string(ext.SpanKind)); got != ext.SpanKindRPCServerEnum {
		t.Errorf("span %q tag span.kind = %v, want %v", span.OperationName, got, ext.SpanKindRPCServerEnum)
	}
	if got := span.Tag(string(ext.HTTPStatusCode)); got != uint16(wantStatus) {
		t.Errorf("span %q tag http.status_code = %v, want %d", span.OperationName, got, wantStatus)
	}
}

// checkChildOf checks that child was started as a ChildOf parent, in parent's trace.
func checkChildOf(t *testing.T, tracer *tracingtest.Tracer, child, parent *mocktracer.MockSpan) {
	t.Helper()
	if ref, ok := tracer.Reference(child); !ok || ref != opentracing.ChildOfRef {
		t.Errorf("span %q reference = %v (found %v), want ChildOf (%v)", child.OperationName, ref, ok, opentracing.ChildOfRef)
	}
	if child.ParentID != parent.SpanContext.SpanID || child.SpanContext.TraceID != parent.SpanContext.TraceID {
		t.Errorf("span %q parent %d trace %d, want parent %d (%q) trace %d", child.OperationName,
			child.ParentID, child.SpanContext.TraceID, parent.SpanContext.SpanID, parent.OperationName, parent.SpanContext.TraceID)
	}
}
