package main

import (
	"cmp"
	"slices"
	"strings"

	"tracelab/internal/jaegerapi"
)

// A trace is what the waterfall shows: every span once, in tree order (a parent, then its
// children by start time, each followed by its own), with its depth in the tree.
type trace struct {
	id       string
	start    int64    // µs since the epoch: when the first span started
	end      int64    // µs: when the last span ended
	services []string // in order of first appearance in tree order
	rows     []row
}

type row struct {
	span  *span
	depth int
}

// A span is a span of Jaeger's answer resolved against its trace: its service named, its
// parent chosen.
type span struct {
	id        string
	service   string
	operation string
	start     int64 // µs since the epoch
	duration  int64 // µs
	tags      []jaegerapi.KV
	logs      []jaegerapi.Log

	parentID string // the span this one hangs under; "" for a root
	refType  string // the kind of the reference to parentID: CHILD_OF or FOLLOWS_FROM
	// parentMissing says the span refers to a parent that is not in the trace: a span that
	// was lost (dropped by a full client queue, never flushed) or is not stored yet.
	parentMissing bool
	// inCycle says the span's references loop back to it, which a valid trace never does;
	// it is shown at the top rather than not at all.
	inCycle bool

	parent   *span // nil for a root
	children []*span
}

const (
	childOf     = "CHILD_OF"
	followsFrom = "FOLLOWS_FROM"
)

// newTrace arranges Jaeger's spans, which come in no particular order, into tree order.
// Every span is shown exactly once, whatever the references say.
func newTrace(jt jaegerapi.Trace) *trace {
	t := &trace{id: jt.TraceID}
	spans := make([]*span, len(jt.Spans))
	byID := make(map[string]*span, len(jt.Spans))
	for i, js := range jt.Spans {
		s := &span{
			id:        js.SpanID,
			service:   cmp.Or(jt.Service(js), "?"),
			operation: js.OperationName,
			start:     js.StartTime,
			duration:  max(js.Duration, 0),
			tags:      js.Tags,
			logs:      js.Logs,
		}
		s.parentID, s.refType = parentRef(jt.TraceID, js.References)
		spans[i] = s
		if _, dup := byID[s.id]; !dup {
			byID[s.id] = s
		}
		if i == 0 || s.start < t.start {
			t.start = s.start
		}
		t.end = max(t.end, s.start+s.duration)
	}

	var roots []*span
	for _, s := range spans {
		p, ok := byID[s.parentID]
		switch {
		case s.parentID == "":
			roots = append(roots, s)
		case p == s:
			s.inCycle = true
			roots = append(roots, s)
		case !ok:
			s.parentMissing = true
			roots = append(roots, s)
		default:
			s.parent = p
			p.children = append(p.children, s)
		}
	}
	for _, s := range spans {
		sortByStart(s.children)
	}
	sortByStart(roots)

	visited := make(map[*span]bool, len(spans))
	for _, r := range roots {
		t.walk(r, 0, visited)
	}
	// Whatever was not reached hangs in a reference cycle: show each cycle from its
	// earliest span, as if that span were a root.
	for len(visited) < len(spans) {
		var first *span
		for _, s := range spans {
			if !visited[s] && (first == nil || s.start < first.start) {
				first = s
			}
		}
		first.inCycle = true
		t.walk(first, 0, visited)
	}
	return t
}

// walk appends s and everything under it in tree order. visited guards against cycles.
func (t *trace) walk(s *span, depth int, visited map[*span]bool) {
	if visited[s] {
		return
	}
	visited[s] = true
	t.rows = append(t.rows, row{span: s, depth: depth})
	if !slices.Contains(t.services, s.service) {
		t.services = append(t.services, s.service)
	}
	for _, c := range s.children {
		t.walk(c, depth+1, visited)
	}
}

// parentRef picks the reference a span hangs under: its CHILD_OF parent, else the span it
// FOLLOWS_FROM (a message consumer follows from its producer). References into another
// trace are links, not parents.
func parentRef(traceID string, refs []jaegerapi.Reference) (id, refType string) {
	for _, kind := range []string{childOf, followsFrom} {
		for _, r := range refs {
			if r.RefType == kind && sameTraceID(r.TraceID, traceID) {
				return r.SpanID, r.RefType
			}
		}
	}
	return "", ""
}

// sameTraceID compares trace ids as numbers: a 64-bit id may be written with or without
// the leading zeros of its 128-bit form.
func sameTraceID(a, b string) bool {
	return a == "" || strings.TrimLeft(strings.ToLower(a), "0") == strings.TrimLeft(strings.ToLower(b), "0")
}

// sortByStart orders spans by start time; the span id breaks ties, so the output is the
// same on every run.
func sortByStart(spans []*span) {
	slices.SortStableFunc(spans, func(a, b *span) int {
		return cmp.Or(cmp.Compare(a.start, b.start), strings.Compare(a.id, b.id))
	})
}
