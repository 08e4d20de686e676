package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"tracelab/internal/jaegerapi"
)

// span is one span a trace must hold, with the spans below it. The builders below (server,
// client, internal, producer, consumer) fill in what every span of that kind carries, so a
// tree reads like the request it records.
type span struct {
	service, op string
	ref         string            // how it refers to its parent: CHILD_OF, FOLLOWS_FROM; "" for a root
	tags        map[string]string // tags it must carry (values as Jaeger prints them)
	absent      []string          // tags it must not carry
	children    []span
}

// server is the span of a service answering an HTTP request, named after the route.
// A status below 500 is no error of the system: the span must not say error.
func server(service, route string, status int, children ...span) span {
	s := span{service: service, op: route, ref: "CHILD_OF", children: children,
		tags: map[string]string{"span.kind": "server", "component": "net/http", "http.status_code": strconv.Itoa(status)}}
	if status >= 500 {
		s.tags["error"] = "true"
	} else {
		s.absent = []string{"error"}
	}
	return s
}

// client is the span of an HTTP call from service to peer, named "GET <peer>".
func client(service, peer string, status int, children ...span) span {
	s := span{service: service, op: "GET " + peer, ref: "CHILD_OF", children: children,
		tags: map[string]string{"span.kind": "client", "peer.service": peer, "http.status_code": strconv.Itoa(status)}}
	if status >= 500 {
		s.tags["error"] = "true"
	} else {
		s.absent = []string{"error"}
	}
	return s
}

// failedClient is a call that got no answer at all: no status, error=true.
func failedClient(service, peer string) span {
	return span{service: service, op: "GET " + peer, ref: "CHILD_OF", absent: []string{"http.status_code"},
		tags: map[string]string{"span.kind": "client", "peer.service": peer, "error": "true"}}
}

// internal is work inside a service: a bolt read, a filter, a CPU burn.
func internal(service, op string, children ...span) span {
	return span{service: service, op: op, ref: "CHILD_OF", children: children, absent: []string{"span.kind", "error"}}
}

// producer is the span of publishing a message to queue.
func producer(service, queue string, children ...span) span {
	return span{service: service, op: "publish " + queue, ref: "CHILD_OF", children: children, absent: []string{"error"},
		tags: map[string]string{"span.kind": "producer", "message_bus.destination": queue}}
}

// consumer is the span of handling a message from queue. It FOLLOWS_FROM the producer:
// the publisher did not wait for it, so it is caused by the request but no part of its time.
func consumer(service, queue string, children ...span) span {
	return span{service: service, op: "consume " + queue, ref: "FOLLOWS_FROM", children: children, absent: []string{"error"},
		tags: map[string]string{"span.kind": "consumer", "message_bus.destination": queue}}
}

// root marks s as the first span of its trace.
func (s span) root() span { s.ref = ""; return s }

// with adds tags s must carry, as "key=value".
func (s span) with(kvs ...string) span {
	tags := map[string]string{}
	for k, v := range s.tags {
		tags[k] = v
	}
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		tags[k] = v
	}
	s.tags = tags
	return s
}

// count is the number of spans in the tree.
func (s span) count() int {
	n := 1
	for _, c := range s.children {
		n += c.count()
	}
	return n
}

// waitForTrace reads trace id from Jaeger until it holds want spans (spans arrive a
// flush interval after they finish; vipservice's a little later), and returns it.
func waitForTrace(t *testing.T, id string, want int) jaegerapi.Trace {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var tr jaegerapi.Trace
	var err error
	for {
		tr, err = jaeger.Trace(ctx, id)
		if err == nil && len(tr.Spans) >= want {
			// A late span would show as an extra: give stragglers one more flush.
			time.Sleep(1200 * time.Millisecond)
			tr, err = jaeger.Trace(ctx, id)
			if err == nil {
				return tr
			}
		}
		if ctx.Err() != nil {
			if err != nil && !errors.Is(err, jaegerapi.ErrNotFound) {
				t.Fatalf("reading trace %s from Jaeger: %v", id, err)
			}
			return tr // compared below, the difference says what is missing
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// assertTrace checks that trace holds exactly the tree want: the same spans, with the same
// parents, reference kinds and tags. It reports every difference, then the trace as stored.
func assertTrace(t *testing.T, tr jaegerapi.Trace, want span) {
	t.Helper()
	byID := map[string]jaegerapi.Span{}
	for _, s := range tr.Spans {
		byID[s.SpanID] = s
	}
	children := map[string][]jaegerapi.Span{}
	var roots []jaegerapi.Span
	for _, s := range tr.Spans {
		if len(s.References) > 0 {
			if _, ok := byID[s.References[0].SpanID]; ok {
				children[s.References[0].SpanID] = append(children[s.References[0].SpanID], s)
				continue
			}
		}
		roots = append(roots, s)
	}
	var diffs []string
	if len(roots) != 1 {
		diffs = append(diffs, fmt.Sprintf("%d root spans, want 1", len(roots)))
	}
	if len(roots) > 0 {
		diffs = append(diffs, compare(tr, want, roots[0], children, want.service+" "+want.op)...)
	}
	if len(tr.Spans) != want.count() {
		diffs = append(diffs, fmt.Sprintf("%d spans, want %d", len(tr.Spans), want.count()))
	}
	if len(diffs) > 0 {
		t.Errorf("trace %s differs from the expected tree:\n  %s\nas stored in Jaeger:\n%s",
			tr.TraceID, strings.Join(diffs, "\n  "), render(tr, roots, children))
	}
}

func compare(tr jaegerapi.Trace, want span, got jaegerapi.Span, children map[string][]jaegerapi.Span, path string) []string {
	var diffs []string
	if svc := tr.Service(got); svc != want.service || got.OperationName != want.op {
		return []string{fmt.Sprintf("%s: found %s %q", path, svc, got.OperationName)}
	}
	ref := ""
	if len(got.References) > 0 {
		ref = got.References[0].RefType
	}
	if ref != want.ref {
		diffs = append(diffs, fmt.Sprintf("%s: reference %q, want %q", path, ref, want.ref))
	}
	for k, v := range want.tags {
		if gv, ok := got.Tag(k); !ok || gv != v {
			diffs = append(diffs, fmt.Sprintf("%s: tag %s = %q (present %v), want %q", path, k, gv, ok, v))
		}
	}
	for _, k := range want.absent {
		// Jaeger's OTLP translation writes every span's kind, internal work's too: with
		// TRACING_SDK=otel, span.kind=internal is how "no kind" comes out.
		if gv, ok := got.Tag(k); ok && (k != "span.kind" || gv != "internal") {
			diffs = append(diffs, fmt.Sprintf("%s: tag %s = %q, want none", path, k, gv))
		}
	}
	left := append([]jaegerapi.Span(nil), children[got.SpanID]...)
	for _, wc := range want.children {
		cpath := path + " > " + wc.service + " " + wc.op
		i := indexOf(tr, left, wc)
		if i < 0 {
			diffs = append(diffs, cpath+": missing")
			continue
		}
		diffs = append(diffs, compare(tr, wc, left[i], children, cpath)...)
		left = append(left[:i], left[i+1:]...)
	}
	for _, extra := range left {
		diffs = append(diffs, fmt.Sprintf("%s: unexpected child %s %q", path, tr.Service(extra), extra.OperationName))
	}
	return diffs
}

func indexOf(tr jaegerapi.Trace, spans []jaegerapi.Span, want span) int {
	for i, s := range spans {
		if tr.Service(s) == want.service && s.OperationName == want.op {
			return i
		}
	}
	return -1
}

// render prints a stored trace as an indented tree, for failure messages.
func render(tr jaegerapi.Trace, roots []jaegerapi.Span, children map[string][]jaegerapi.Span) string {
	var b strings.Builder
	var walk func(s jaegerapi.Span, depth int)
	walk = func(s jaegerapi.Span, depth int) {
		ref := ""
		if len(s.References) > 0 {
			ref = " [" + s.References[0].RefType + "]"
		}
		var tags []string
		for _, kv := range s.Tags {
			tags = append(tags, fmt.Sprintf("%s=%v", kv.Key, kv.Value))
		}
		sort.Strings(tags)
		fmt.Fprintf(&b, "  %s%s %q%s %s\n", strings.Repeat("  ", depth), tr.Service(s), s.OperationName, ref, strings.Join(tags, " "))
		kids := children[s.SpanID]
		sort.Slice(kids, func(i, j int) bool { return kids[i].StartTime < kids[j].StartTime })
		for _, c := range kids {
			walk(c, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	return b.String()
}

// get sends GET path to the edge with the given headers, and returns the answer, its
// body, and the trace id the edge reported.
func get(t *testing.T, path string, headers map[string]string) (*http.Response, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, edgeURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := edgeClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", path, err)
	}
	traceID := resp.Header.Get("X-Trace-Id")
	if traceID == "" {
		t.Fatalf("GET %s: no X-Trace-Id header", path)
	}
	return resp, string(body), traceID
}

// assertRootParent checks that the trace's first span names the caller's span as parent.
func assertRootParent(t *testing.T, spans []jaegerapi.Span, parentID string) {
	t.Helper()
	for _, s := range spans {
		if s.OperationName == "GET /api/accounts/{id...}" {
			if len(s.References) == 0 || strings.TrimLeft(s.References[0].SpanID, "0") != strings.TrimLeft(parentID, "0") {
				t.Errorf("edge span references %v, want CHILD_OF the caller's span %s", s.References, parentID)
			}
			return
		}
	}
	t.Errorf("no edge server span in the trace")
}

func readAll(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
