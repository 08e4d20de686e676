package main

import (
	"strings"
	"testing"
	"time"

	"tracelab/common/faults"
	"tracelab/internal/jaegerapi"
)

// fakeTrace builds a trace in Go, as Jaeger's API would return it, from spans written as
// "service/op" with a parent index (-1 for the root), a start and a duration in ms.
type fakeSpan struct {
	svc, op string
	parent  int
	ref     string // "" is CHILD_OF
	start   int64  // ms
	dur     int64  // ms
	tags    map[string]string
}

func fakeTrace(id string, spans ...fakeSpan) jaegerapi.Trace {
	t := jaegerapi.Trace{TraceID: id, Processes: map[string]jaegerapi.Process{}}
	base := time.Now().UnixMicro()
	for i, s := range spans {
		t.Processes[s.svc] = jaegerapi.Process{ServiceName: s.svc}
		sp := jaegerapi.Span{TraceID: id, SpanID: id + string(rune('a'+i)), OperationName: s.op,
			StartTime: base + s.start*1000, Duration: s.dur * 1000, ProcessID: s.svc}
		if s.parent >= 0 {
			ref := s.ref
			if ref == "" {
				ref = "CHILD_OF"
			}
			sp.References = []jaegerapi.Reference{{RefType: ref, TraceID: id, SpanID: id + string(rune('a'+s.parent))}}
		}
		for k, v := range s.tags {
			sp.Tags = append(sp.Tags, jaegerapi.KV{Key: k, Type: "string", Value: v})
		}
		t.Spans = append(t.Spans, sp)
	}
	return t
}

func kindTag(k string, more ...string) map[string]string {
	m := map[string]string{"span.kind": k}
	for i := 0; i+1 < len(more); i += 2 {
		m[more[i]] = more[i+1]
	}
	return m
}

// fakeRead is an account read: the quote call from start q, the image call from start i.
func fakeRead(id string, q, i int64, extra ...fakeSpan) jaegerapi.Trace {
	return fakeTrace(id, append([]fakeSpan{
		{"edge", "GET /api/accounts/{id...}", -1, "", 0, 20, kindTag("server")},
		{"accountservice", "GET /accounts/{id}", 0, "", 1, 18, kindTag("server")},
		{"accountservice", "GET quoteservice", 1, "", q, 5, kindTag("client")},
		{"accountservice", "GET imageservice", 1, "", i, 5, kindTag("client")},
	}, extra...)...)
}

// fakeVIP is a VIP read's messaging part: outbox write, producer, consumer (lag ms late).
func fakeVIP(id string, lag int64, consumerTags map[string]string) jaegerapi.Trace {
	tags := kindTag("consumer")
	for k, v := range consumerTags {
		tags[k] = v
	}
	return fakeRead(id, 2, 2,
		fakeSpan{"accountservice", "outbox write", 1, "", 8, 1, nil},
		fakeSpan{"accountservice", "publish vipQueue", 4, "FOLLOWS_FROM", 10, 2, kindTag("producer")},
		fakeSpan{"vipservice", "consume vipQueue", 5, "FOLLOWS_FROM", 12 + lag, 3, tags},
	)
}

func TestGradeReadTrace(t *testing.T) {
	vip := fakeVIP("1", 30, nil) // 7 spans, 2 FOLLOWS_FROM
	tests := []struct {
		answer string
		ok     bool
	}{
		{"7 2", true},
		{"7,2", true},
		{"12 2", false},
		{"7 1", false},
		{"seven", false},
		{"", false},
	}
	for _, tt := range tests {
		if v := gradeReadTrace(vip, tt.answer); v.ok != tt.ok {
			t.Errorf("gradeReadTrace(%q) = %v, want ok %v", tt.answer, v, tt.ok)
		}
	}
	if v := gradeReadTrace(fakeRead("2", 2, 2), "4 0"); v.ok {
		t.Errorf("gradeReadTrace(regular read) = %v, want ✗: no consumer span", v)
	}
	v := gradeReadTrace(vip, "7 2")
	if !strings.Contains(strings.Join(v.figures, " "), "ended 25.0 ms after the root") {
		t.Errorf("gradeReadTrace figures = %q, want the consumer ending 25.0 ms after the root", v.figures)
	}
}

func TestGradeMystery(t *testing.T) {
	// Find a seed for two different faults, so the test holds whatever MysteryFault picks.
	seedOf := map[faults.Name]string{}
	for i := 0; len(seedOf) < len(faults.Findable); i++ {
		s := strings.Repeat("s", i%7) + string(rune('a'+i%26)) + string(rune('a'+i/26%26))
		if _, ok := seedOf[faults.MysteryFault(s)]; !ok {
			seedOf[faults.MysteryFault(s)] = s
		}
	}
	for _, name := range faults.Findable {
		seed := seedOf[name]
		f, _ := faults.Lookup(name)
		t.Run(string(name), func(t *testing.T) {
			right := f.Services[0] + " " + string(name)
			if v := gradeMystery(seed, right, 5); !v.ok {
				t.Errorf("gradeMystery(%q, %q) = %v, want ✓", seed, right, v)
			}
			if v := gradeMystery(seed, right, 0); v.ok {
				t.Errorf("gradeMystery(%q, %q) with no request = %v, want ✗", seed, right, v)
			}
			other := faults.SlowQuote
			if name == other {
				other = faults.ImageLeak
			}
			wrong := f.Services[0] + " " + string(other)
			if v := gradeMystery(seed, wrong, 5); v.ok {
				t.Errorf("gradeMystery(%q, %q) = %v, want ✗", seed, wrong, v)
			}
			if v := gradeMystery(seed, "edge "+string(name), 5); v.ok {
				t.Errorf("gradeMystery(%q, edge %s) = %v, want ✗: the service is wrong", seed, name, v)
			}
			if v := gradeMystery(seed, "no idea", 5); v.ok {
				t.Errorf("gradeMystery(%q, no idea) = %v, want ✗", seed, v)
			}
		})
	}
}

func TestGradeStaircase(t *testing.T) {
	var together, staircase []jaegerapi.Trace
	for i := range 20 {
		id := string(rune('a' + i))
		together = append(together, fakeRead(id, 2, 3))
		staircase = append(staircase, fakeRead(id, 2, 8))
	}
	if v := gradeStaircase(together); !v.ok || !strings.Contains(v.figures[0], "overlap in 20 of 20") {
		t.Errorf("gradeStaircase(overlapping) = %v, want ✓ in 20 of 20", v)
	}
	if v := gradeStaircase(staircase); v.ok || !strings.Contains(v.figures[0], "overlap in 0 of 20") {
		t.Errorf("gradeStaircase(staircase) = %v, want ✗ in 0 of 20", v)
	}
	if v := gradeStaircase(append(together[:17:17], staircase[:3]...)); !v.ok {
		t.Errorf("gradeStaircase(17 of 20) = %v, want ✓: a goroutine run late now and then is no staircase", v)
	}
	if v := gradeStaircase(append(together[:9:9], staircase[:11]...)); v.ok {
		t.Errorf("gradeStaircase(9 of 20) = %v, want ✗ (half needed)", v)
	}
	if v := gradeStaircase(nil); v.ok {
		t.Errorf("gradeStaircase(none) = %v, want ✗", v)
	}
}

func TestGradeNPlusOne(t *testing.T) {
	reads := func(n int) jaegerapi.Trace {
		spans := []fakeSpan{
			{"edge", "GET /api/accounts/{id...}", -1, "", 0, 20, kindTag("server")},
			{"accountservice", "GET /accounts/{id}/transactions", 0, "", 1, 18, kindTag("server")},
		}
		for i := range n {
			spans = append(spans, fakeSpan{"accountservice", "bolt get transaction", 1, "", int64(2 + i), 1, nil})
		}
		return fakeTrace("t", spans...)
	}
	if v := gradeNPlusOne([]jaegerapi.Trace{reads(1), reads(1)}); !v.ok {
		t.Errorf("gradeNPlusOne(one read each) = %v, want ✓", v)
	}
	if v := gradeNPlusOne([]jaegerapi.Trace{reads(1), reads(10)}); v.ok || !strings.Contains(v.figures[0], `10 "bolt get transaction"`) {
		t.Errorf("gradeNPlusOne(ten reads) = %v, want ✗ naming 10 bolt get transaction", v)
	}
}

func TestGradeNewSpan(t *testing.T) {
	file := func(extra ...fakeSpan) jaegerapi.Trace {
		return fakeTrace("f", append([]fakeSpan{
			{"edge", "GET /api/images/file/{name}", -1, "", 0, 20, kindTag("server")},
			{"imageservice", "GET /file/{name}", 0, "", 1, 18, kindTag("server")},
			{"imageservice", "png decode", 1, "", 2, 3, nil},
		}, extra...)...)
	}
	before := []string{"GET /file/{name}", "png decode"}
	lookup := fakeSpan{"imageservice", "gallery lookup", 1, "", 1, 1, nil}
	orphan := fakeSpan{"imageservice", "gallery lookup", 0, "", 1, 1, nil} // parent in the edge
	tests := []struct {
		name   string
		traces []jaegerapi.Trace
		ok     bool
	}{
		{"unchanged", []jaegerapi.Trace{file(), file()}, false},
		{"new span", []jaegerapi.Trace{file(lookup), file(lookup)}, true},
		{"in half the traces", []jaegerapi.Trace{file(lookup), file()}, false},
		{"parent outside imageservice", []jaegerapi.Trace{file(orphan), file(orphan)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if v := gradeNewSpan(tt.traces, before); v.ok != tt.ok {
				t.Errorf("gradeNewSpan() = %v, want ok %v", v, tt.ok)
			}
		})
	}
}

func TestGradeLag(t *testing.T) {
	backlog := map[string]string{"baggage.fault": "queue-backlog"}
	traces := []jaegerapi.Trace{fakeVIP("a", 100, backlog), fakeVIP("b", 900, backlog), fakeVIP("c", 5000, nil)}
	tests := []struct {
		answer string
		ok     bool
	}{
		{"900", true},
		{"850ms", true},
		{"100", false},
		{"5000", false}, // that trace was not backlogged: no fault in its baggage
		{"", false},
	}
	for _, tt := range tests {
		if v := gradeLag(traces, tt.answer); v.ok != tt.ok {
			t.Errorf("gradeLag(%q) = %v, want ok %v", tt.answer, v, tt.ok)
		}
	}
	if v := gradeLag([]jaegerapi.Trace{fakeVIP("c", 5000, nil)}, "5000"); v.ok {
		t.Errorf("gradeLag(no backlogged trace) = %v, want ✗", v)
	}
}

func TestGradeDegraded(t *testing.T) {
	failed := fakeRead("00ab", 2, 2)
	failed.Spans[2].Tags = append(failed.Spans[2].Tags, jaegerapi.KV{Key: "error", Type: "bool", Value: true})
	traces := []jaegerapi.Trace{fakeRead("01", 2, 2), failed, fakeRead("02", 2, 2)}
	for answer, ok := range map[string]bool{"00ab": true, "ab": true, "01": false, "": false} {
		if v := gradeDegraded(traces, answer); v.ok != ok {
			t.Errorf("gradeDegraded(%q) = %v, want ok %v", answer, v, ok)
		}
	}
	if v := gradeDegraded(traces[:1], "01"); v.ok {
		t.Errorf("gradeDegraded(no failed quote) = %v, want ✗", v)
	}
}

func TestGradeSampling(t *testing.T) {
	tests := []struct {
		name    string
		stored  int
		debug   bool
		answer  string
		elapsed time.Duration
		ok      bool
	}{
		{"everything kept, answer 0.25", 100, true, "0.25", 4 * time.Second, false},
		{"a quarter kept", 27, true, "0.25", 4 * time.Second, true},
		{"a quarter kept, debug lost", 27, false, "0.25", 4 * time.Second, false},
		{"rate 2/s over 4 s", 10, true, "2/s", 4 * time.Second, true},
		{"rate 2/s but all kept", 100, true, "2/s", 4 * time.Second, false},
		{"answer 1", 100, true, "1", 4 * time.Second, false},
		{"no answer", 27, true, "", 4 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if v := gradeSampling(100, tt.stored, tt.elapsed, tt.debug, tt.answer); v.ok != tt.ok {
				t.Errorf("gradeSampling(100, %d, %v, %v, %q) = %v, want ok %v", tt.stored, tt.elapsed, tt.debug, tt.answer, v, tt.ok)
			}
		})
	}
}

func TestGradeSpanCount(t *testing.T) {
	read := fakeRead("r", 2, 2)
	if v := gradeSpanCount(read, "4"); !v.ok {
		t.Errorf("gradeSpanCount(4) = %v, want ✓", v)
	}
	if v := gradeSpanCount(read, "8"); v.ok {
		t.Errorf("gradeSpanCount(8) = %v, want ✗", v)
	}
}

func TestGradeB3(t *testing.T) {
	setup := time.Now().Add(-time.Minute)
	continued := fakeRead("b3", 2, 2)
	continued.Spans[0].References = []jaegerapi.Reference{{RefType: "CHILD_OF", TraceID: "b3", SpanID: "mine"}}
	if v := gradeB3(continued, setup); !v.ok {
		t.Errorf("gradeB3(continued) = %v, want ✓", v)
	}
	if v := gradeB3(fakeRead("new", 2, 2), setup); v.ok {
		t.Errorf("gradeB3(a trace the edge started) = %v, want ✗", v)
	}
	if v := gradeB3(continued, time.Now().Add(time.Minute)); v.ok {
		t.Errorf("gradeB3(older than the setup) = %v, want ✗", v)
	}
}

func TestHints(t *testing.T) {
	readme := "# Lab\n\n## Hints\n\n1. Look at the waterfall.\n2. The quote call\n   starts late.\n3. It is slow-quote.\n\n## Check\n\n1. not a hint\n"
	got := hints(readme)
	want := []string{"Look at the waterfall.", "The quote call\nstarts late.", "It is slow-quote."}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("hints() = %q, want %q", got, want)
	}
}

func TestTraceLogs(t *testing.T) {
	out := `accountservice | {"@timestamp":"2026-01-01T10:00:00.200Z","message":"access","trace.id":"00ab"}
edge           | {"@timestamp":"2026-01-01T10:00:00.100Z","message":"access","trace.id":"ab"}
quoteservice   | {"@timestamp":"2026-01-01T10:00:00.150Z","message":"access","trace.id":"cd"}
landscape      | edge is ready
edge           | {"@timestamp":"2026-01-01T10:00:00.300Z","message":"abab in the text only"}
`
	lines, err := traceLogs(strings.NewReader(out), "ab")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range lines {
		got = append(got, l.service+"@"+l.at[17:23])
	}
	if want := "edge@00.100 accountservice@00.200"; strings.Join(got, " ") != want {
		t.Errorf("traceLogs(ab) = %q, want %q", got, want)
	}
}

func TestGradeNewService(t *testing.T) {
	greeting := func(id string, ledgerParent int) jaegerapi.Trace {
		return fakeTrace(id,
			fakeSpan{"edge", "GET /api/accounts/{id...}", -1, "", 0, 20, kindTag("server")},
			fakeSpan{"accountservice", "GET /accounts/{id}/greeting", 0, "", 1, 18, kindTag("server")},
			fakeSpan{"accountservice", "GET ledger", 1, "", 3, 5, kindTag("client")},
			fakeSpan{"ledger", "GET /api/greeting", ledgerParent, "", 4, 3, kindTag("server")},
			fakeSpan{"ledger", "compose greeting", 3, "", 5, 1, nil},
		)
	}
	edge := []jaegerapi.Dependency{{Parent: "edge", Child: "accountservice", CallCount: 5}, {Parent: "accountservice", Child: "ledger", CallCount: 5}}
	noEdge := edge[:1]
	without := fakeTrace("c1",
		fakeSpan{"edge", "GET /api/accounts/{id...}", -1, "", 0, 20, kindTag("server")},
		fakeSpan{"accountservice", "GET /accounts/{id}", 0, "", 1, 18, kindTag("server")},
	)
	tests := []struct {
		name   string
		traces []jaegerapi.Trace
		deps   []jaegerapi.Dependency
		ok     bool
		want   string
	}{
		{"called through the traced client", []jaegerapi.Trace{greeting("a1", 2), greeting("a2", 2)}, edge, true, "in 2 of 2 fresh traces"},
		{"no ledger at all", []jaegerapi.Trace{without}, edge, false, "no ledger server span"},
		{"a parent other than the client span", []jaegerapi.Trace{greeting("b1", 2), greeting("b2", 1)}, edge, false, "1 of 2 ledger server spans"},
		{"not in the graph", []jaegerapi.Trace{greeting("d1", 2)}, noEdge, false, "no accountservice -> ledger"},
		{"no traces", nil, edge, false, "no trace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := gradeNewService(tt.traces, tt.deps)
			if v.ok != tt.ok || !strings.Contains(strings.Join(v.figures, "; "), tt.want) {
				t.Errorf("gradeNewService = %v %q, want ok=%v and %q", v.ok, v.figures, tt.ok, tt.want)
			}
		})
	}
}

// madeWith gives every process of t the tags of the SDK that reported it, as Jaeger v2
// shows them: sdk, unless the service is in others (service: SDK), and asks the edge for path.
func madeWith(t jaegerapi.Trace, path, sdk string, others map[string]string) jaegerapi.Trace {
	tags := map[string][]jaegerapi.KV{
		"jaeger": {{Key: "client-uuid", Type: "string", Value: "19fdc226e1e05ce0"},
			{Key: "opencensus.exporterversion", Type: "string", Value: "Jaeger-Go-2.30.0"}},
		"otel": {{Key: "telemetry.sdk.language", Type: "string", Value: "go"},
			{Key: "telemetry.sdk.name", Type: "string", Value: "opentelemetry"}},
	}
	procs := map[string]jaegerapi.Process{}
	for id, p := range t.Processes {
		s := sdk
		if o, ok := others[p.ServiceName]; ok {
			s = o
		}
		p.Tags = tags[s]
		procs[id] = p
	}
	t.Processes = procs
	spans := append([]jaegerapi.Span(nil), t.Spans...)
	for i := range spans {
		if len(spans[i].References) == 0 {
			spans[i].Tags = append(append([]jaegerapi.KV(nil), spans[i].Tags...),
				jaegerapi.KV{Key: "http.url", Type: "string", Value: "https://localhost:8765" + path})
		}
	}
	t.Spans = spans
	return t
}

func TestLab11Pair(t *testing.T) {
	const otelID = "4bf92f3577b34da6a3ce929d0e0e4736"
	jaegerVIP := madeWith(fakeVIP("1111111111111111", 10, nil), lab11Path, "jaeger", nil)
	otelVIP := madeWith(fakeVIP(otelID, 10, nil), lab11Path, "otel", nil)
	mixedVIP := madeWith(fakeVIP("3333333333333333", 10, nil), lab11Path, "jaeger", map[string]string{"accountservice": "otel"})
	otelOther := madeWith(fakeRead("5555555555555555", 2, 2), "/api/accounts/10001", "otel", nil)
	tests := []struct {
		name   string
		traces []jaegerapi.Trace
		ok     bool
		hint   string
	}{
		{"nothing", nil, false, "send a request"},
		{"only the Jaeger client", []jaegerapi.Trace{jaegerVIP}, false, "ACCOUNTSERVICE_TRACING_SDK=otel"},
		{"one service moved", []jaegerapi.Trace{jaegerVIP, mixedVIP}, false, "move every service"},
		{"only OpenTelemetry", []jaegerapi.Trace{otelVIP}, false, "with the Jaeger client too"},
		{"another request", []jaegerapi.Trace{jaegerVIP, otelOther}, false, "the same request"},
		{"both", []jaegerapi.Trace{jaegerVIP, mixedVIP, otelOther, otelVIP}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, o, v, ok := lab11Pair(tt.traces)
			if ok != tt.ok || !strings.Contains(v.hint, tt.hint) {
				t.Errorf("lab11Pair = %v, %+v, want %v with a hint saying %q", ok, v, tt.ok, tt.hint)
			}
			if ok && (j.TraceID != jaegerVIP.TraceID || o.TraceID != otelID) {
				t.Errorf("lab11Pair = %s, %s, want %s, %s", j.TraceID, o.TraceID, jaegerVIP.TraceID, otelID)
			}
		})
	}
}

func TestGradeSameTrees(t *testing.T) {
	const otelID = "4bf92f3577b34da6a3ce929d0e0e4736"
	j := madeWith(fakeVIP("1111111111111111", 10, nil), lab11Path, "jaeger", nil)
	o := madeWith(fakeVIP(otelID, 30, nil), lab11Path, "otel", nil) // other timings: the same tree
	// The outbox write, internal work, as OpenTelemetry records it.
	o.Spans[4].Tags = []jaegerapi.KV{
		{Key: "span.kind", Type: "string", Value: "internal"}, {Key: "otel.scope.name", Type: "string", Value: "tracelab/common/tracing"}}
	v := gradeSameTrees(j, o)
	text := strings.Join(v.figures, "; ")
	if !v.ok {
		t.Fatalf("gradeSameTrees(the same VIP read) = ✗ %s, want ✓", text)
	}
	for _, want := range []string{"same tree: 7 spans, 3 services", "16 and 32 hex digits", "only with OpenTelemetry: telemetry.sdk.language",
		"span tags only with OpenTelemetry: otel.scope.name, span.kind=internal"} {
		if !strings.Contains(text, want) {
			t.Errorf("gradeSameTrees = %q, want it to say %q", text, want)
		}
	}

	lost := madeWith(fakeVIP(otelID, 10, nil), lab11Path, "otel", nil)
	lost.Spans[6].References[0].RefType = "CHILD_OF" // the consumer no longer FOLLOWS_FROM
	if v := gradeSameTrees(j, lost); v.ok || !strings.Contains(strings.Join(v.figures, ""), "reference FOLLOWS_FROM in jaeger, CHILD_OF in otel") {
		t.Errorf("gradeSameTrees(a consumer turned CHILD_OF) = %+v, want ✗ naming the reference", v)
	}
	mixed := madeWith(fakeVIP(otelID, 10, nil), lab11Path, "otel", map[string]string{"vipservice": "jaeger"})
	if v := gradeSameTrees(j, mixed); v.ok || !strings.Contains(v.hint, "every service") {
		t.Errorf("gradeSameTrees(a mixed trace) = %+v, want ✗ saying to move every service", v)
	}
}
