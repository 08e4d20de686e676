package main

import (
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"tracelab/internal/jaegerapi"
)

var plain = view{width: 100, loc: time.UTC}

func waterfall(t *testing.T, v view, jt jaegerapi.Trace) string {
	t.Helper()
	var b strings.Builder
	if err := v.render(&b, newTrace(jt)); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// spanLine matches a span's line and captures its label: what comes before the offset.
var spanLine = regexp.MustCompile(`^(.*?) +\+\S+ +\S+ │[█ ]+│$`)

// labels are the labels of the span lines, right-trimmed, in order.
func labels(out string) []string {
	var got []string
	for _, line := range strings.Split(out, "\n") {
		if m := spanLine.FindStringSubmatch(line); m != nil {
			got = append(got, m[1])
		}
	}
	return got
}

// lineOf is the line of the span whose label ends with suffix, and the detail line below it.
func lineOf(t *testing.T, out, suffix string) (line, details string) {
	t.Helper()
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if m := spanLine.FindStringSubmatch(l); m != nil && strings.HasSuffix(m[1], suffix) {
			if i+1 < len(lines) && !spanLine.MatchString(lines[i+1]) {
				return l, lines[i+1]
			}
			return l, ""
		}
	}
	t.Fatalf("no span line ending with %q in:\n%s", suffix, out)
	return "", ""
}

// The tree of a VIP request is the landscape's showpiece: this is how it must read.
func TestWaterfallTreeOrder(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"trace-10000.json", []string{
			"edge GET /api/accounts/{id...}",
			"  edge GET accountservice",
			"    accountservice GET /accounts/{id}",
			"      accountservice bolt get account", // children by start time
			"      accountservice publish vipQueue",
			"        vipservice consume vipQueue", // follows from the producer
			"          vipservice record vip event",
			"      accountservice GET quoteservice",
			"        quoteservice GET /api/quote",
			"      accountservice GET imageservice",
			"        imageservice GET /accounts/{id}",
		}},
		{"trace-10001.json", []string{
			"edge GET /api/accounts/{id...}",
			"  edge GET accountservice",
			"    accountservice GET /accounts/{id}",
			"      accountservice bolt get account",
			"      accountservice GET imageservice",
			"        imageservice GET /accounts/{id}",
			"      accountservice GET quoteservice",
			"        quoteservice GET /api/quote",
		}},
		{"trace-99.json", []string{
			"edge GET /api/accounts/{id...}",
			"  ✗ edge GET accountservice",
			"    accountservice GET /accounts/{id}",
			"      accountservice bolt get account",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := labels(waterfall(t, plain, loadTrace(t, tt.file)))
			if !slices.Equal(got, tt.want) {
				t.Errorf("labels of %s =\n%s\nwant\n%s", tt.file, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// Jaeger sends spans in no order; the waterfall must not depend on it.
func TestWaterfallIgnoresSpanOrder(t *testing.T) {
	jt := loadTrace(t, "trace-10000.json")
	want := waterfall(t, plain, jt)
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		r.Shuffle(len(jt.Spans), func(i, j int) { jt.Spans[i], jt.Spans[j] = jt.Spans[j], jt.Spans[i] })
		if got := waterfall(t, plain, jt); got != want {
			t.Fatalf("waterfall of shuffled spans =\n%s\nwant\n%s", got, want)
		}
	}
}

func TestWaterfallLines(t *testing.T) {
	out := waterfall(t, plain, loadTrace(t, "trace-10000.json"))
	header := strings.SplitN(out, "\n", 2)[0]
	if want := "trace 461beb633f824bf9 · 11 spans · 5 services · 4.65ms · 2026-11-22 01:02:28.318 UTC"; header != want {
		t.Errorf("header = %q, want %q", header, want)
	}
	tests := []struct {
		suffix, line, details string
	}{
		{"edge GET /api/accounts/{id...}",
			"edge GET /api/accounts/{id...}               +0µs  4.65ms │████████████████████████████████████████│",
			"    server  http.status_code=200"},
		{"accountservice bolt get account",
			"      accountservice bolt get account      +643µs   143µs │     ██                                 │",
			""},
		{"accountservice GET quoteservice",
			"      accountservice GET quoteservice     +1.00ms  1.49ms │        ██████████████                  │",
			"          client  http.status_code=200  peer.service=quoteservice"},
		{"vipservice consume vipQueue",
			"        vipservice consume vipQueue       +1.93ms   329µs │                ████                    │",
			"            consumer  ↳ follows from publish vipQueue  message_bus.destination=vipQueue"},
	}
	for _, tt := range tests {
		line, details := lineOf(t, out, tt.suffix)
		if line != tt.line || details != tt.details {
			t.Errorf("lines of %q =\n%q\n%q\nwant\n%q\n%q", tt.suffix, line, details, tt.line, tt.details)
		}
	}
}

func TestWaterfallErrors(t *testing.T) {
	out := waterfall(t, plain, loadTrace(t, "trace-quote-down.json"))
	if header := strings.SplitN(out, "\n", 2)[0]; !strings.Contains(header, " · ✗ 1 error · ") {
		t.Errorf("header = %q, want it to count 1 error", header)
	}
	line, details := lineOf(t, out, "GET quoteservice")
	if !strings.HasPrefix(line, "  ✗ accountservice GET quoteservice ") {
		t.Errorf("line of the failed call = %q, want it marked ✗", line)
	}
	if want := "      client  peer.service=quoteservice  ✗ error: dial tcp 127.0.0.1:1: connect: connection refused"; details != want {
		t.Errorf("details of the failed call = %q, want %q (the message of its error log)", details, want)
	}
	if line, _ := lineOf(t, out, "GET imageservice"); strings.Contains(line, "✗") {
		t.Errorf("line of a good call = %q, want no ✗", line)
	}

	// Tagged error=true without a log: the mark alone.
	out = waterfall(t, plain, loadTrace(t, "trace-99.json"))
	if _, details := lineOf(t, out, "edge GET accountservice"); !strings.HasSuffix(details, "http.status_code=404  peer.service=accountservice  ✗ error") {
		t.Errorf("details of the edge's 404 call = %q, want its status and the error mark", details)
	}
}

func TestErrorMessages(t *testing.T) {
	s := &span{logs: []jaegerapi.Log{
		{Fields: []jaegerapi.KV{{Key: "event", Value: "retry"}, {Key: "message", Value: "not an error"}}},
		{Fields: []jaegerapi.KV{{Key: "event", Value: "error"}, {Key: "message", Value: "quote unavailable:\n  timeout"}}},
		{Fields: []jaegerapi.KV{{Key: "error.object", Value: "EOF"}}},
		{Fields: []jaegerapi.KV{{Key: "event", Value: "error"}}},
	}}
	want := []string{"quote unavailable: timeout", "EOF", "(no message)"}
	if got := s.errorMessages(); !slices.Equal(got, want) {
		t.Errorf("errorMessages() = %q, want %q", got, want)
	}
}

func TestWaterfallBaggage(t *testing.T) {
	out := waterfall(t, plain, loadTrace(t, "trace-baggage.json"))
	for _, suffix := range []string{"edge GET /api/accounts/{id...}", "quoteservice GET /api/quote", "imageservice GET /accounts/{id}"} {
		if _, details := lineOf(t, out, suffix); !strings.HasSuffix(details, "http.status_code=200  baggage.tenant=acme  baggage.workshop=lab1") {
			t.Errorf("details of %q = %q, want the status, then the baggage", suffix, details)
		}
	}
	// Across AMQP: the consumer's details are too long for one line and wrap under themselves.
	if !strings.Contains(out, "\n            consumer  ↳ follows from publish vipQueue  message_bus.destination=vipQueue\n"+
		"            baggage.tenant=acme  baggage.workshop=lab1\n") {
		t.Errorf("waterfall lacks the consumer's baggage, wrapped:\n%s", out)
	}
	if _, details := lineOf(t, out, "edge GET accountservice"); strings.Contains(details, "baggage") {
		t.Errorf("details of a client span = %q, want no baggage: only servers and consumers record it", details)
	}
}

func TestWaterfallAllTags(t *testing.T) {
	v := plain
	v.allTags = true
	out := waterfall(t, v, loadTrace(t, "trace-10001.json"))
	if _, details := lineOf(t, out, "bolt get account"); details != "          db.instance=accounts  db.type=bolt  found=true" {
		t.Errorf("details of bolt get account with -all-tags = %q, want all its tags", details)
	}
	if !strings.Contains(out, "http.url=http://localhost:6767/accounts/10001") {
		t.Errorf("waterfall with -all-tags lacks http.url:\n%s", out)
	}
}

// withoutSpan is a trace that lost the span with the given id, as when a client's queue
// dropped it.
func withoutSpan(jt jaegerapi.Trace, id string) jaegerapi.Trace {
	jt.Spans = slices.DeleteFunc(slices.Clone(jt.Spans), func(s jaegerapi.Span) bool { return s.SpanID == id })
	return jt
}

func TestWaterfallOrphans(t *testing.T) {
	// accountservice's server span is lost: its four children have no parent in the trace.
	jt := withoutSpan(loadTrace(t, "trace-10000.json"), "4855bf63e10d0407")
	out := waterfall(t, plain, jt)
	want := []string{
		"edge GET /api/accounts/{id...}",
		"  edge GET accountservice",
		"accountservice bolt get account",
		"accountservice publish vipQueue",
		"  vipservice consume vipQueue",
		"    vipservice record vip event",
		"accountservice GET quoteservice",
		"  quoteservice GET /api/quote",
		"accountservice GET imageservice",
		"  imageservice GET /accounts/{id}",
	}
	if got := labels(out); !slices.Equal(got, want) {
		t.Errorf("labels without accountservice's server span =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, details := lineOf(t, out, "accountservice GET quoteservice"); !strings.HasPrefix(details, "    client  (parent missing)  child of span 4855bf63e10d0407  http.status_code=200") {
		t.Errorf("details of an orphan = %q, want it marked (parent missing) with the parent's id", details)
	}

	// The producer lost: the consumer follows from a span that is not there.
	out = waterfall(t, plain, withoutSpan(loadTrace(t, "trace-10000.json"), "736dcb489db9fdbc"))
	if _, details := lineOf(t, out, "vipservice consume vipQueue"); !strings.Contains(details, "(parent missing)  ↳ follows from span 736dcb489db9fdbc") {
		t.Errorf("details of a consumer without its producer = %q, want (parent missing) and the reference", details)
	}
	if line, _ := lineOf(t, out, "vipservice consume vipQueue"); !strings.HasPrefix(line, "vipservice consume vipQueue ") {
		t.Errorf("line of an orphan = %q, want it at the top level", line)
	}
}

// References that loop never happen in a valid trace; each span is still shown once.
func TestWaterfallReferenceCycle(t *testing.T) {
	ref := func(id string) []jaegerapi.Reference { return []jaegerapi.Reference{{RefType: childOf, SpanID: id}} }
	jt := jaegerapi.Trace{
		TraceID:   "abc",
		Processes: map[string]jaegerapi.Process{"p1": {ServiceName: "loop"}},
		Spans: []jaegerapi.Span{
			{SpanID: "abc", OperationName: "root", StartTime: 100, Duration: 50, ProcessID: "p1"},
			{SpanID: "a", OperationName: "a", StartTime: 110, Duration: 10, ProcessID: "p1", References: ref("b")},
			{SpanID: "b", OperationName: "b", StartTime: 120, Duration: 10, ProcessID: "p1", References: ref("a")},
			{SpanID: "self", OperationName: "self", StartTime: 130, Duration: 10, ProcessID: "p1", References: ref("self")},
		},
	}
	out := waterfall(t, plain, jt)
	want := []string{"loop root", "loop self", "loop a", "  loop b"}
	if got := labels(out); !slices.Equal(got, want) {
		t.Errorf("labels of a trace with a cycle = %q, want %q", got, want)
	}
	for _, suffix := range []string{"loop a", "loop self"} {
		if _, details := lineOf(t, out, suffix); details != "    (reference cycle)" {
			t.Errorf("details of %q, in a cycle, = %q, want (reference cycle)", suffix, details)
		}
	}
}

// Every line fits the width, and every timeline has exactly its cells, whatever the width.
func TestWaterfallWidth(t *testing.T) {
	for _, file := range []string{"trace-10000.json", "trace-baggage.json", "trace-quote-down.json", "trace-99.json"} {
		for _, width := range []int{60, 80, 100, 140} {
			v := view{width: width, loc: time.UTC}
			out := waterfall(t, v, loadTrace(t, file))
			spans := 0
			for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
				if n := utf8.RuneCountInString(line); n > width {
					t.Errorf("%s at width %d: line is %d wide: %q", file, width, n, line)
				}
				if i := strings.Index(line, "│"); i >= 0 {
					spans++
					bar := strings.TrimSuffix(line[i+len("│"):], "│")
					if n := utf8.RuneCountInString(bar); n != v.barCells() || !strings.Contains(bar, "█") {
						t.Errorf("%s at width %d: timeline %q has %d cells, want %d with a bar", file, width, bar, n, v.barCells())
					}
				}
			}
			if want := len(loadTrace(t, file).Spans); spans != want {
				t.Errorf("%s at width %d: %d span lines, want %d", file, width, spans, want)
			}
		}
	}
	// At 60 columns the deepest labels are cut, visibly.
	if out := waterfall(t, view{width: 60, loc: time.UTC}, loadTrace(t, "trace-10000.json")); !slices.Contains(labels(out), "          vipservice record v…") {
		t.Errorf("waterfall at width 60 lacks a cut label ending in …:\n%s", out)
	}
}

// Colors are escape codes around the same text: stripped, the output is the plain one.
func TestWaterfallColor(t *testing.T) {
	jt := loadTrace(t, "trace-quote-down.json")
	colored := plain
	colored.color = true
	out := waterfall(t, colored, jt)
	if !strings.Contains(out, "\x1b[1;31m✗ \x1b[0m") {
		t.Errorf("colored waterfall has no red error mark:\n%q", out)
	}
	ansi := regexp.MustCompile("\x1b\\[[0-9;]*m")
	if got, want := ansi.ReplaceAllString(out, ""), waterfall(t, plain, jt); got != want {
		t.Errorf("colored waterfall without its colors =\n%s\nwant the plain one\n%s", got, want)
	}
}

func TestBarSpan(t *testing.T) {
	tests := []struct {
		name                    string
		offset, duration, total int64
		wantFrom, wantTo        int
	}{
		{"whole trace", 0, 1000, 1000, 0, 40},
		{"first half", 0, 500, 1000, 0, 20},
		{"a part of a cell rounds out", 10, 20, 1000, 0, 2},
		{"too short still shows", 500, 0, 1000, 20, 21},
		{"zero at the very end", 1000, 0, 1000, 39, 40},
		{"trace of zero length", 0, 0, 0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from, to := barSpan(tt.offset, tt.duration, tt.total, 40)
			if from != tt.wantFrom || to != tt.wantTo {
				t.Errorf("barSpan(%d, %d, %d, 40) = %d, %d, want %d, %d",
					tt.offset, tt.duration, tt.total, from, to, tt.wantFrom, tt.wantTo)
			}
		})
	}
}

func TestHuman(t *testing.T) {
	tests := []struct {
		us   int64
		want string
	}{
		{0, "0µs"},
		{999, "999µs"},
		{1000, "1.00ms"},
		{4654, "4.65ms"},
		{9996, "10.0ms"},
		{12345, "12.3ms"},
		{999_499, "999ms"},
		{999_500, "1.00s"},
		{1_234_567, "1.23s"},
		{100_000_000, "100s"},
	}
	for _, tt := range tests {
		if got := human(tt.us); got != tt.want {
			t.Errorf("human(%d) = %q, want %q", tt.us, got, tt.want)
		}
	}
}

func TestValue(t *testing.T) {
	tests := []struct {
		value any
		want  string
	}{
		{"vipQueue", "vipQueue"},
		{true, "true"},
		{float64(200), "200"},
		{float64(1234567), "1234567"}, // not 1.234567e+06
		{0.25, "0.25"},
	}
	for _, tt := range tests {
		if got := value(jaegerapi.KV{Key: "k", Value: tt.value}); got != tt.want {
			t.Errorf("value(%#v) = %q, want %q", tt.value, got, tt.want)
		}
	}
}

// TestFaultTagAndEvents: the workshop's fault tag is one of the tags that tell the story,
// and a span's logs other than errors show as events with their fields.
func TestFaultTagAndEvents(t *testing.T) {
	s := &span{
		tags: []jaegerapi.KV{{Key: "http.status_code", Value: 200.0}, {Key: "fault", Value: "edge-pool"}},
		logs: []jaegerapi.Log{
			{Fields: []jaegerapi.KV{{Key: "event", Value: "waited 305 ms for an upstream connection, 3 ahead"}, {Key: "pool.size", Value: 1.0}}},
			{Fields: []jaegerapi.KV{{Key: "event", Value: "error"}, {Key: "message", Value: "not an event"}}},
			{Fields: []jaegerapi.KV{{Key: "message", Value: "no event field"}}},
		},
	}
	var got []string
	for _, p := range plain.details(s) {
		got = append(got, p.text)
	}
	want := []string{"http.status_code=200", "fault=edge-pool", "✗ error: not an event", "• waited 305 ms for an upstream connection, 3 ahead pool.size=1"}
	if !slices.Equal(got, want) {
		t.Errorf("details() = %q, want %q", got, want)
	}
}
