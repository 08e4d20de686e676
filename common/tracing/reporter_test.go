package tracing

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uber/jaeger-client-go/thrift-gen/zipkincore"
)

// TestCloserStats: every finished span is accounted for, as reported when the collector
// takes it and as unconfirmed when it does not, and Close says so in one line.
func TestCloserStats(t *testing.T) {
	const n = 2000
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	}))
	defer refusing.Close()
	collector := newFakeCollector(t)
	tests := []struct {
		name      string
		endpoint  string
		wantStats ReporterStats
		wantLevel string
	}{
		{"collector accepts", collector.endpoint(),
			ReporterStats{Started: n, Finished: n, Reported: n, Destinations: []DestinationStats{{Name: "jaeger", Reported: n}}}, "INFO"},
		{"collector answers 503", refusing.URL + "/api/traces",
			ReporterStats{Started: n, Finished: n, Unconfirmed: n, Destinations: []DestinationStats{{Name: "jaeger", Unconfirmed: n}}}, "WARN"},
		{"collector unreachable", "http://" + closedAddr(t) + "/api/traces",
			ReporterStats{Started: n, Finished: n, Unconfirmed: n, Destinations: []DestinationStats{{Name: "jaeger", Unconfirmed: n}}}, "WARN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, lines := jsonLog(t)
			settings, err := SettingsFromEnv("testservice", mapEnv(map[string]string{"JAEGER_ENDPOINT": tt.endpoint}))
			if err != nil {
				t.Fatalf("SettingsFromEnv error: %v", err)
			}
			tracer, closer, err := New(settings, log)
			if err != nil {
				t.Fatalf("New(%+v) error: %v", settings, err)
			}
			var wg sync.WaitGroup
			for g := range 16 {
				wg.Go(func() {
					for i := g; i < n; i += 16 {
						tracer.StartSpan("work").Finish()
					}
				})
			}
			wg.Wait()
			if err := closer.Close(); err != nil {
				t.Errorf("Close() = %v, want nil", err)
			}

			if got := closer.Stats(); !reflect.DeepEqual(got, tt.wantStats) {
				t.Errorf("Stats() after Close =\n%+v\nwant\n%+v", got, tt.wantStats)
			}
			want := fmt.Sprintf("tracer closed: spans reported %d, dropped %d, unconfirmed %d",
				tt.wantStats.Reported, tt.wantStats.Dropped, tt.wantStats.Unconfirmed)
			line := assertCloseLine(t, lines(), tt.wantLevel, want)
			if got := line.Attrs["spans.jaeger.unconfirmed"]; got != float64(tt.wantStats.Unconfirmed) {
				t.Errorf("close line spans.jaeger.unconfirmed = %v, want %d", got, tt.wantStats.Unconfirmed)
			}
			if err := closer.Close(); err != nil {
				t.Errorf("second Close() = %v, want nil", err)
			}
			if got := countMsg(lines(), want); got != 1 {
				t.Errorf("after a second Close: %d lines %q, want 1", got, want)
			}
		})
	}
	t.Run("batches", func(t *testing.T) {
		_, spans := collector.received(t)
		ids := map[int64]bool{}
		for _, s := range spans {
			ids[s.SpanId] = true
		}
		if len(ids) != n {
			t.Errorf("collector got %d distinct spans, want %d", len(ids), n)
		}
		sizes := collector.batchSizes()
		if slices.Max(sizes) != DefaultBatchSize {
			t.Errorf("spans per POST = %v, want at most and at least once %d", sizes, DefaultBatchSize)
		}
	})
}

// TestCloserStatsDropped fills the queue while the collector holds the reporter's only
// goroutine in a POST: the spans that do not fit are dropped, counted, and Close warns.
func TestCloserStatsDropped(t *testing.T) {
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	var once sync.Once
	defer once.Do(func() { close(release) })
	blocking := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		<-release
		w.WriteHeader(http.StatusAccepted)
	}))
	defer blocking.Close()

	log, lines := jsonLog(t)
	env := map[string]string{
		"JAEGER_ENDPOINT":                blocking.URL + "/api/traces",
		"JAEGER_REPORTER_MAX_QUEUE_SIZE": "1",
		"JAEGER_REPORTER_FLUSH_INTERVAL": "10ms",
	}
	settings, err := SettingsFromEnv("testservice", mapEnv(env))
	if err != nil {
		t.Fatalf("SettingsFromEnv(%v) error: %v", env, err)
	}
	tracer, closer, err := New(settings, log)
	if err != nil {
		t.Fatalf("New(%+v) error: %v", settings, err)
	}

	tracer.StartSpan("first").Finish() // flushed within 10ms, into the blocking collector
	select {
	case <-arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("the reporter sent nothing within 5s, want a POST after the 10ms flush interval")
	}
	for range 10 {
		tracer.StartSpan("while blocked").Finish() // the first fills the queue of 1, nine are dropped
	}
	if got := closer.Stats().Dropped; got != 9 {
		t.Errorf("Stats().Dropped while the collector blocks = %d, want 9", got)
	}
	once.Do(func() { close(release) })
	_ = closer.Close()

	want := ReporterStats{Started: 11, Finished: 11, Reported: 2, Dropped: 9,
		Destinations: []DestinationStats{{Name: "jaeger", Reported: 2, Dropped: 9}}}
	if got := closer.Stats(); !reflect.DeepEqual(got, want) {
		t.Errorf("Stats() after Close =\n%+v\nwant\n%+v", got, want)
	}
	line := assertCloseLine(t, lines(), "WARN", "tracer closed: spans reported 2, dropped 9, unconfirmed 0")
	if got := line.Attrs["spans.jaeger.dropped"]; got != float64(9) {
		t.Errorf("close line spans.jaeger.dropped = %v, want 9", got)
	}
}

// TestZipkinSpanTree sends a request's spans to Zipkin only (JAEGER_ENDPOINT=off) and reads
// the tree back from what Zipkin received: names, parents, the 128-bit trace id, the
// service and its peer, span kinds as Zipkin v1 annotations, and tags.
func TestZipkinSpanTree(t *testing.T) {
	zipkin := newFakeZipkin(t)
	env := map[string]string{
		"JAEGER_ENDPOINT":       "off",
		"ZIPKIN_ENDPOINT":       zipkin.endpoint(),
		"JAEGER_TRACEID_128BIT": "true",
	}
	settings, err := SettingsFromEnv("accountservice", mapEnv(env))
	if err != nil {
		t.Fatalf("SettingsFromEnv(%v) error: %v", env, err)
	}
	log, lines := jsonLog(t)
	tracer, closer, err := New(settings, log)
	if err != nil {
		t.Fatalf("New(%+v) error: %v", settings, err)
	}
	defer closer.Close()

	quotes := httptest.NewServer(respondOK())
	defer quotes.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /accounts/{id}", func(w http.ResponseWriter, r *http.Request) {
		span, _ := StartChild(r.Context(), "bolt get account")
		span.Finish()
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, quotes.URL+"/api/quote", nil)
		resp, err := (&http.Client{Transport: Transport(nil, "quoteservice")}).Do(req)
		if err != nil {
			t.Errorf("GET quoteservice: %v", err)
			return
		}
		resp.Body.Close()
	})
	rec := httptest.NewRecorder()
	Middleware(tracer)(mux).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/accounts/10000", nil))
	traceID := rec.Header().Get(TraceIDHeader)
	if len(traceID) != 32 {
		t.Fatalf("%s = %q, want a 128-bit trace id", TraceIDHeader, traceID)
	}
	_ = closer.Close()

	spans := zipkin.received(t)
	byName := map[string]*zipkincore.Span{}
	for _, s := range spans {
		byName[s.Name] = s
	}
	tests := []struct {
		name, parent string   // parent "" for the root
		annotations  []string // Zipkin v1 core annotations: the span's kind
		peer         string   // service in the "sa" (server address) binary annotation
		tags         map[string]string
	}{
		{"GET /accounts/{id}", "", []string{"sr", "ss"}, "", map[string]string{"http.status_code": "200", "http.method": "GET"}},
		{"bolt get account", "GET /accounts/{id}", nil, "", map[string]string{"lc": "accountservice"}},
		{"GET quoteservice", "GET /accounts/{id}", []string{"cs", "cr"}, "quoteservice", map[string]string{"http.status_code": "200"}},
	}
	if len(spans) != len(tests) {
		t.Errorf("Zipkin received %d spans %v, want %d", len(spans), zipkinNames(spans), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := byName[tt.name]
			if !ok {
				t.Fatalf("Zipkin received %v, want a span %q", zipkinNames(spans), tt.name)
			}
			if got := zipkinTraceID(s); got != traceID {
				t.Errorf("trace id = %s, want %s (high and low halves)", got, traceID)
			}
			switch {
			case tt.parent == "" && s.ParentID != nil:
				t.Errorf("parent id = %x, want none (the root)", *s.ParentID)
			case tt.parent != "" && (s.ParentID == nil || byName[tt.parent] == nil || *s.ParentID != byName[tt.parent].ID):
				t.Errorf("parent id = %v, want the id of %q", s.ParentID, tt.parent)
			}
			var values []string
			for _, a := range s.Annotations {
				values = append(values, a.Value)
				if a.Host == nil || a.Host.ServiceName != "accountservice" {
					t.Errorf("annotation %q host = %+v, want service accountservice", a.Value, a.Host)
				}
			}
			if !slices.Equal(values, tt.annotations) {
				t.Errorf("annotations = %q, want %q", values, tt.annotations)
			}
			peer := ""
			for _, b := range s.BinaryAnnotations {
				if b.Key == "sa" && b.Host != nil {
					peer = b.Host.ServiceName
				}
				if b.Key == "lc" && (b.Host == nil || b.Host.ServiceName != "accountservice") {
					t.Errorf("local component host = %+v, want service accountservice", b.Host)
				}
			}
			if peer != tt.peer {
				t.Errorf("server address (sa) service = %q, want %q", peer, tt.peer)
			}
			for k, v := range tt.tags {
				if got := zipkinTag(s, k); got != v {
					t.Errorf("binary annotation %s = %q, want %q", k, got, v)
				}
			}
		})
	}
	want := ReporterStats{Started: 3, Finished: 3, Reported: 3, Destinations: []DestinationStats{{Name: "zipkin", Reported: 3}}}
	if got := closer.Stats(); !reflect.DeepEqual(got, want) {
		t.Errorf("Stats() =\n%+v\nwant\n%+v", got, want)
	}
	assertCloseLine(t, lines(), "INFO", "tracer closed: spans reported 3, dropped 0, unconfirmed 0")
}

// TestJaegerAndZipkin reports to both: each destination gets every span from its own queue,
// Close flushes both, and Stats tells them apart, so a Jaeger that is down does not hide
// behind a Zipkin that works.
func TestJaegerAndZipkin(t *testing.T) {
	const n = 50
	tests := []struct {
		name       string
		jaegerDown bool
		want       ReporterStats
	}{
		{"both up", false, ReporterStats{Started: n, Finished: n, Reported: 2 * n,
			Destinations: []DestinationStats{{Name: "jaeger", Reported: n}, {Name: "zipkin", Reported: n}}}},
		{"jaeger down", true, ReporterStats{Started: n, Finished: n, Reported: n, Unconfirmed: n,
			Destinations: []DestinationStats{{Name: "jaeger", Unconfirmed: n}, {Name: "zipkin", Reported: n}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			collector, zipkin := newFakeCollector(t), newFakeZipkin(t)
			env := map[string]string{
				"JAEGER_ENDPOINT":                collector.endpoint(),
				"ZIPKIN_ENDPOINT":                zipkin.endpoint(),
				"JAEGER_REPORTER_FLUSH_INTERVAL": "1h", // only Close sends: n is below the batch size
			}
			if tt.jaegerDown {
				env["JAEGER_ENDPOINT"] = "http://" + closedAddr(t) + "/api/traces"
			}
			settings, err := SettingsFromEnv("testservice", mapEnv(env))
			if err != nil {
				t.Fatalf("SettingsFromEnv(%v) error: %v", env, err)
			}
			tracer, closer, err := New(settings, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatalf("New(%+v) error: %v", settings, err)
			}
			want := map[uint64]bool{}
			for range n {
				span := tracer.StartSpan("work")
				want[uint64(jaegerContext(t, span).SpanID())] = true // before Finish: spans are pooled
				span.Finish()
			}
			if _, got := collector.received(t); len(got) != 0 {
				t.Fatalf("Jaeger got %d spans before Close, want none: the test would not show Close flushing", len(got))
			}
			_ = closer.Close()

			zspans := zipkin.received(t)
			got := map[uint64]bool{}
			for _, s := range zspans {
				got[uint64(s.ID)] = true
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Zipkin got %d spans, want the %d finished ones", len(zspans), n)
			}
			if _, jspans := collector.received(t); !tt.jaegerDown && len(jspans) != n {
				t.Errorf("Jaeger got %d spans, want %d", len(jspans), n)
			}
			if got := closer.Stats(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Stats() =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// TestNewLogSpans: JAEGER_REPORTER_LOG_SPANS logs each finished span beside sending it.
func TestNewLogSpans(t *testing.T) {
	collector := newFakeCollector(t)
	env := map[string]string{"JAEGER_ENDPOINT": collector.endpoint(), "JAEGER_REPORTER_LOG_SPANS": "true"}
	settings, err := SettingsFromEnv("testservice", mapEnv(env))
	if err != nil {
		t.Fatalf("SettingsFromEnv(%v) error: %v", env, err)
	}
	log, lines := jsonLog(t)
	tracer, closer, err := New(settings, log)
	if err != nil {
		t.Fatalf("New(%+v) error: %v", settings, err)
	}
	span := tracer.StartSpan("logged work")
	span.Finish()
	_ = closer.Close()
	_, spanID := SpanIDs(span)
	logged := 0
	for _, l := range lines() {
		if l.Level == "DEBUG" && strings.HasPrefix(l.Msg, "jaeger: Reporting span ") && strings.Contains(l.Msg, spanID) {
			logged++
		}
		if strings.Contains(l.Msg, "debug logging disabled") {
			t.Errorf("log line %q, want the reporters' debug lines logged", l.Msg)
		}
	}
	if logged != 1 {
		t.Errorf("debug lines naming the span = %d, want 1: %+v", logged, lines())
	}
	if _, spans := collector.received(t); len(spans) != 1 {
		t.Errorf("collector got %d spans, want 1: logging does not replace sending", len(spans))
	}
}

func TestNewWithoutDestination(t *testing.T) {
	settings := Settings{ServiceName: "svc", SamplerType: "const", SamplerParam: 1}
	_, _, err := New(settings, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "ZIPKIN_ENDPOINT") {
		t.Errorf("New(%+v) error = %v, want one naming the destinations to set", settings, err)
	}
}

// assertCloseLine finds the one line Close logs, checks its level and message, and returns it.
func assertCloseLine(t *testing.T, lines []logLine, level, msg string) logLine {
	t.Helper()
	var found []logLine
	for _, l := range lines {
		if strings.HasPrefix(l.Msg, "tracer closed") {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Fatalf("log has %d lines starting %q, want 1: %+v", len(found), "tracer closed", lines)
	}
	if found[0].Level != level || found[0].Msg != msg {
		t.Errorf("close line = %s %q, want %s %q", found[0].Level, found[0].Msg, level, msg)
	}
	return found[0]
}

func countMsg(lines []logLine, msg string) int {
	n := 0
	for _, l := range lines {
		if l.Msg == msg {
			n++
		}
	}
	return n
}

func zipkinNames(spans []*zipkincore.Span) []string {
	var names []string
	for _, s := range spans {
		names = append(names, s.Name)
	}
	return names
}

// zipkinTraceID prints a Zipkin span's trace id as TraceID.String does.
func zipkinTraceID(s *zipkincore.Span) string {
	high := int64(0)
	if s.TraceIDHigh != nil {
		high = *s.TraceIDHigh
	}
	return fmt.Sprintf("%016x%016x", uint64(high), uint64(s.TraceID))
}

// zipkinTag is a binary annotation's value as text ("true" for a boolean set).
func zipkinTag(s *zipkincore.Span, key string) string {
	for _, b := range s.BinaryAnnotations {
		if b.Key == key {
			if b.AnnotationType == zipkincore.AnnotationType_BOOL {
				return fmt.Sprint(len(b.Value) == 1 && b.Value[0] == 1)
			}
			return string(b.Value)
		}
	}
	return ""
}

func TestNewBadSampler(t *testing.T) {
	settings := Settings{ServiceName: "svc", Endpoint: "http://" + closedAddr(t) + "/api/traces", SamplerType: "sometimes"}
	tracer, closer, err := New(settings, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "sometimes") || tracer != nil || closer != nil {
		t.Errorf("New(%+v) = %v, %v, %v; want nil, nil and an error naming the sampler type", settings, tracer, closer, err)
	}
}
