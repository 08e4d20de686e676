package tracingtest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/opentracing/opentracing-go/log"
	"github.com/opentracing/opentracing-go/mocktracer"
)

// failures is a testing.TB that keeps the failures an assertion reports instead of
// failing the test, so a test can check that an assertion catches a wrong trace.
type failures struct {
	testing.TB
	msgs []string
}

func (f *failures) Helper() {}

func (f *failures) Errorf(format string, args ...any) {
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}

// trace records a small trace: a server span, a ChildOf child and a FollowsFrom consumer,
// and a root of its own.
func trace() (tracer *Tracer, server, child, consumer, root *mocktracer.MockSpan) {
	tracer = New()
	s := tracer.StartSpan("GET /x")
	ext.SpanKindRPCServer.Set(s)
	ext.HTTPStatusCode.Set(s, http.StatusOK)
	c := tracer.StartSpan("child", opentracing.ChildOf(s.Context()))
	f := tracer.StartSpan("consume", opentracing.FollowsFrom(s.Context()))
	r := tracer.StartSpan("root")
	for _, span := range []opentracing.Span{c, f, r, s} {
		span.Finish()
	}
	find := func(op string) *mocktracer.MockSpan {
		span, _ := tracer.Span(op)
		return span
	}
	return tracer, find("GET /x"), find("child"), find("consume"), find("root")
}

func TestAssertionsPass(t *testing.T) {
	tracer, server, child, consumer, root := trace()
	f := &failures{TB: t}
	AssertServerSpan(f, server, http.StatusOK)
	AssertChildOf(f, tracer, child, server)
	AssertFollowsFrom(f, tracer, consumer, server)
	AssertRoot(f, tracer, root)
	AssertRoot(f, tracer, server)
	if len(f.msgs) != 0 {
		t.Errorf("assertions on the right trace failed: %q, want no failures", f.msgs)
	}
}

func TestAssertionsFail(t *testing.T) {
	tracer, server, child, consumer, root := trace()
	tests := []struct {
		name   string
		assert func(testing.TB)
		want   string // in the failure message
	}{
		{"client span as server span", func(t testing.TB) { AssertServerSpan(t, child, http.StatusOK) }, `span "child" tag span.kind = <nil>, want server`},
		{"wrong status", func(t testing.TB) { AssertServerSpan(t, server, http.StatusNotFound) }, `span "GET /x" tag http.status_code = 200, want 404`},
		{"missing server span", func(t testing.TB) { AssertServerSpan(t, nil, http.StatusOK) }, "server span = nil"},
		{"FollowsFrom as ChildOf", func(t testing.TB) { AssertChildOf(t, tracer, consumer, server) }, `span "consume" references = [FollowsFrom(`},
		{"ChildOf as FollowsFrom", func(t testing.TB) { AssertFollowsFrom(t, tracer, child, server) }, `span "child" references = [ChildOf(`},
		{"root as child", func(t testing.TB) { AssertChildOf(t, tracer, root, server) }, `span "root" references = [], want [ChildOf(`},
		{"wrong parent", func(t testing.TB) { AssertChildOf(t, tracer, child, consumer) }, `want parent`},
		{"child as root", func(t testing.TB) { AssertRoot(t, tracer, child) }, `span "child" references = [ChildOf(`},
		{"missing parent", func(t testing.TB) { AssertChildOf(t, tracer, child, nil) }, "parent span = <nil>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &failures{TB: t}
			tt.assert(f)
			if got := strings.Join(f.msgs, "\n"); !strings.Contains(got, tt.want) {
				t.Errorf("failures = %q, want one containing %q", got, tt.want)
			}
		})
	}
}

// TestReferencesKeepsAll: mocktracer keeps only the first reference's parent; References
// must show every reference a span was started with.
func TestReferencesKeepsAll(t *testing.T) {
	tracer := New()
	a, b := tracer.StartSpan("a"), tracer.StartSpan("b")
	both := tracer.StartSpan("both", opentracing.ChildOf(a.Context()), opentracing.FollowsFrom(b.Context()))
	for _, s := range []opentracing.Span{both, a, b} {
		s.Finish()
	}
	span, _ := tracer.Span("both")
	want := fmt.Sprintf("[ChildOf(%d) FollowsFrom(%d)]",
		a.Context().(mocktracer.MockSpanContext).SpanID, b.Context().(mocktracer.MockSpanContext).SpanID)
	if got := describe(tracer.References(span)); got != want {
		t.Errorf("References(both) = %s, want %s", got, want)
	}
	if ref, ok := tracer.Reference(span); !ok || ref != opentracing.ChildOfRef {
		t.Errorf("Reference(both) = %v, %v, want ChildOf, true", ref, ok)
	}
}

func TestEventsAndErrorMessage(t *testing.T) {
	tracer := New()
	span := tracer.StartSpan("call")
	span.LogFields(log.String("event", "retry"))
	span.LogFields(log.String("event", "error"), log.String("message", "peer gone"))
	span.Finish()
	got, _ := tracer.Span("call")
	if events := Events(got); strings.Join(events, ",") != "retry,error" {
		t.Errorf("Events = %q, want [retry error]", events)
	}
	if msg := ErrorMessage(got); msg != "peer gone" {
		t.Errorf("ErrorMessage = %q, want %q", msg, "peer gone")
	}
}
