// Package tracingtest is a tracer for tests: opentracing's mocktracer, plus the one thing it
// does not keep, the kind of reference (ChildOf or FollowsFrom) each span was started with.
// Tests assert the shape of a trace with it: names, tags, parents and reference kinds.
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
	refs map[int]opentracing.SpanReferenceType // by span id
}

// New returns an empty Tracer.
func New() *Tracer {
	return &Tracer{MockTracer: mocktracer.New(), refs: map[int]opentracing.SpanReferenceType{}}
}

// StartSpan starts a mock span and records the type of its first reference, the one
// mocktracer takes the parent from.
func (t *Tracer) StartSpan(operationName string, opts ...opentracing.StartSpanOption) opentracing.Span {
	var o opentracing.StartSpanOptions
	for _, opt := range opts {
		opt.Apply(&o)
	}
	span := t.MockTracer.StartSpan(operationName, opts...).(*mocktracer.MockSpan)
	// mocktracer's StartSpan calls back into its own method, not ours, so record here.
	if len(o.References) > 0 {
		t.mu.Lock()
		t.refs[span.SpanContext.SpanID] = o.References[0].Type
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
	t.mu.Lock()
	defer t.mu.Unlock()
	ref, ok = t.refs[span.SpanContext.SpanID]
	return ref, ok
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
