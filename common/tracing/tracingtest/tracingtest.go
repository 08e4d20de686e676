// Package tracingtest is a tracer for tests: opentracing's mocktracer, plus the one thing it
// does not keep, the kind of reference (ChildOf or FollowsFrom) each span was started with.
// Tests assert the shape of a trace with it: names, tags, parents and reference kinds, the
// last two with AssertChildOf, AssertFollowsFrom and AssertRoot.
package tracingtest

import (
	"sync"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/mocktracer"
)

// Tracer records finished spans like mocktracer and remembers each span's reference kind.
type Tracer struct {
	*mocktracer.MockTracer

	mu   sync.Mutex
	refs map[int][]opentracing.SpanReference // by span id
}

// New returns an empty Tracer.
func New() *Tracer {
	return &Tracer{MockTracer: mocktracer.New(), refs: map[int][]opentracing.SpanReference{}}
}

// StartSpan starts a mock span and records its references; mocktracer takes the parent
// from the first one and forgets the rest, and the kind of all of them.
func (t *Tracer) StartSpan(operationName string, opts ...opentracing.StartSpanOption) opentracing.Span {
	var o opentracing.StartSpanOptions
	for _, opt := range opts {
		opt.Apply(&o)
	}
	span := t.MockTracer.StartSpan(operationName, opts...).(*mocktracer.MockSpan)
	// mocktracer's StartSpan calls back into its own method, not ours, so record here.
	if len(o.References) > 0 {
		t.mu.Lock()
		t.refs[span.SpanContext.SpanID] = o.References
		t.mu.Unlock()
	}
	return &recordedSpan{MockSpan: span, tracer: t}
}

// recordedSpan makes Tracer() return the recording tracer, so children started from a span (as
// tracing.StartChild does) are recorded too.
type recordedSpan struct {
	*mocktracer.MockSpan
	tracer *Tracer
}

func (s *recordedSpan) Tracer() opentracing.Tracer { return s.tracer }

// Reference tells how span refers to its parent: ChildOf, FollowsFrom, or ok=false for a root.
func (t *Tracer) Reference(span *mocktracer.MockSpan) (ref opentracing.SpanReferenceType, ok bool) {
	refs := t.References(span)
	if len(refs) == 0 {
		return 0, false
	}
	return refs[0].Type, true
}

// References returns the references span was started with, none for a root.
func (t *Tracer) References(span *mocktracer.MockSpan) []opentracing.SpanReference {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.refs[span.SpanContext.SpanID]
}

// Span returns the finished span named op; ok is false when there is none or several.
func (t *Tracer) Span(op string) (span *mocktracer.MockSpan, ok bool) {
	for _, s := range t.FinishedSpans() {
		if s.OperationName == op {
			if span != nil {
				return nil, false
			}
			span = s
		}
	}
	return span, span != nil
}

// Names lists the operation names of the finished spans, in finishing order.
func (t *Tracer) Names() []string {
	var names []string
	for _, s := range t.FinishedSpans() {
		names = append(names, s.OperationName)
	}
	return names
}
