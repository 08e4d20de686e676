package tracingtest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/opentracing/opentracing-go/mocktracer"
)

// The assertions below are the shape of a trace that tracelab's lessons are about: which
// span is the server's, and how each span hangs off the one before it. Each reports what
// it found against what it wanted, naming the spans, and lets the test go on.

// AssertServerSpan checks the tags tracing.Middleware promises on a server span: the
// server span.kind, and the status the handler answered.
func AssertServerSpan(t testing.TB, span *mocktracer.MockSpan, wantStatus int) {
	t.Helper()
	if span == nil {
		t.Errorf("server span = nil, want one answering %d", wantStatus)
		return
	}
	if got := span.Tag(string(ext.SpanKind)); got != ext.SpanKindRPCServerEnum {
		t.Errorf("span %q tag span.kind = %v, want %v", span.OperationName, got, ext.SpanKindRPCServerEnum)
	}
	if got := span.Tag(string(ext.HTTPStatusCode)); got != uint16(wantStatus) {
		t.Errorf("span %q tag http.status_code = %v, want %d", span.OperationName, got, wantStatus)
	}
}

// AssertChildOf checks that child was started with a single reference, ChildOf parent, in
// parent's trace: work done inside the parent, which waits for it.
func AssertChildOf(t testing.TB, tracer *Tracer, child, parent *mocktracer.MockSpan) {
	t.Helper()
	assertReference(t, tracer, child, opentracing.ChildOfRef, parent)
}

// AssertFollowsFrom checks that child was started with a single reference, FollowsFrom
// parent, in parent's trace: work the parent caused but does not wait for, such as the
// consumer of a message the parent published.
func AssertFollowsFrom(t testing.TB, tracer *Tracer, child, parent *mocktracer.MockSpan) {
	t.Helper()
	assertReference(t, tracer, child, opentracing.FollowsFromRef, parent)
}

// AssertRoot checks that span was started without references: the first span of a new
// trace, as when a request or message carried no tracing headers the tracer could read.
func AssertRoot(t testing.TB, tracer *Tracer, span *mocktracer.MockSpan) {
	t.Helper()
	if span == nil {
		t.Errorf("span = nil, want a root span")
		return
	}
	if refs := tracer.References(span); len(refs) != 0 || span.ParentID != 0 {
		t.Errorf("span %q references = %s, parent %d, want none (the root of a new trace)",
			span.OperationName, describe(refs), span.ParentID)
	}
}

func assertReference(t testing.TB, tracer *Tracer, child *mocktracer.MockSpan, kind opentracing.SpanReferenceType, parent *mocktracer.MockSpan) {
	t.Helper()
	if child == nil || parent == nil {
		t.Errorf("child span = %v, parent span = %v, want two spans to compare", child, parent)
		return
	}
	got := describe(tracer.References(child))
	want := describe([]opentracing.SpanReference{{Type: kind, ReferencedContext: parent.SpanContext}})
	if got != want {
		t.Errorf("span %q references = %s, want %s (%q)", child.OperationName, got, want, parent.OperationName)
	}
	if child.ParentID != parent.SpanContext.SpanID || child.SpanContext.TraceID != parent.SpanContext.TraceID {
		t.Errorf("span %q parent %d trace %d, want parent %d (%q) trace %d", child.OperationName,
			child.ParentID, child.SpanContext.TraceID, parent.SpanContext.SpanID, parent.OperationName, parent.SpanContext.TraceID)
	}
}

// describe prints references as [ChildOf(span id) FollowsFrom(span id)].
func describe(refs []opentracing.SpanReference) string {
	var s []string
	for _, r := range refs {
		kind := fmt.Sprintf("Reference%d", r.Type)
		switch r.Type {
		case opentracing.ChildOfRef:
			kind = "ChildOf"
		case opentracing.FollowsFromRef:
			kind = "FollowsFrom"
		}
		if sc, ok := r.ReferencedContext.(mocktracer.MockSpanContext); ok {
			s = append(s, fmt.Sprintf("%s(%d)", kind, sc.SpanID))
		} else {
			s = append(s, fmt.Sprintf("%s(%T)", kind, r.ReferencedContext))
		}
	}
	return "[" + strings.Join(s, " ") + "]"
}

// Events lists the event field of every log span recorded, in order: "error" for what
// tracing.SetError logged, for one.
func Events(span *mocktracer.MockSpan) []string {
	var events []string
	for _, l := range span.Logs() {
		for _, f := range l.Fields {
			if f.Key == "event" {
				events = append(events, f.ValueString)
			}
		}
	}
	return events
}

// ErrorMessage is the message of the first error event span logged (tracing.SetError logs
// one with the error's text), "" if it logged none.
func ErrorMessage(span *mocktracer.MockSpan) string {
	for _, l := range span.Logs() {
		var event, message string
		for _, f := range l.Fields {
			switch f.Key {
			case "event":
				event = f.ValueString
			case "message":
				message = f.ValueString
			}
		}
		if event == "error" {
			return message
		}
	}
	return ""
}
