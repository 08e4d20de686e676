package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeEdge stands in for the edge, which needs the whole landscape: it answers
// GET /api/accounts/{id} over TLS with an X-Trace-Id derived from the id, with the status
// and after the delay that behave gives for that id.
type fakeEdge struct {
	*httptest.Server
	requests atomic.Int64
}

func newFakeEdge(t *testing.T, behave func(id int) (status int, delay time.Duration)) *fakeEdge {
	t.Helper()
	e := &fakeEdge{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/accounts/{id}", func(w http.ResponseWriter, r *http.Request) {
		e.requests.Add(1)
		id, err := strconv.Atoi(r.PathValue("id"))
		if err != nil {
			http.Error(w, `{"error":"bad id"}`, http.StatusBadRequest)
			return
		}
		status, delay := behave(id)
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set(traceIDHeader, traceIDOf(id))
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"id":"%d"}`, id)
	})
	e.Server = httptest.NewTLSServer(mux)
	t.Cleanup(e.Close)
	return e
}

// traceIDOf is the trace id fakeEdge gives every answer for an id.
func traceIDOf(id int) string { return fmt.Sprintf("%x", 0xabc00000+id) }

func ok(int) (int, time.Duration) { return http.StatusOK, 0 }

func (e *fakeEdge) template() string { return e.URL + "/api/accounts/{id}" }

func noEnv(string) string { return "" }

// runJSON runs loadgen with -json and decodes its summary.
func runJSON(t *testing.T, ctx context.Context, args ...string) Summary {
	t.Helper()
	var stdout, stderr bytes.Buffer
	args = append(args, "-json")
	if err := run(ctx, args, noEnv, &stdout, &stderr); err != nil {
		t.Fatalf("run(%q) = %v, want nil", args, err)
	}
	var s Summary
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		t.Fatalf("run(%q) printed %q, not a JSON summary: %v", args, stdout.String(), err)
	}
	if stderr.Len() > 0 {
		t.Errorf("run(%q) wrote %q to a stderr that is no terminal, want nothing", args, stderr.String())
	}
	return s
}

func TestRunCount(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"closed", []string{"-n", "57", "-c", "4"}},
		{"open", []string{"-n", "57", "-c", "4", "-rate", "2000"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			edge := newFakeEdge(t, ok)
			s := runJSON(t, t.Context(), append(tt.args, "-url", edge.template())...)
			if got := edge.requests.Load(); got != 57 {
				t.Errorf("the edge got %d requests, want 57", got)
			}
			if s.Sent != 57 || s.Responses != 57 || s.OK != 57 || s.Status["200"] != 57 || s.Errors != 0 {
				t.Errorf("summary sent %d, responses %d, ok %d, status %v, errors %d; want 57 answered 200",
					s.Sent, s.Responses, s.OK, s.Status, s.Errors)
			}
			if s.Latency.P50 <= 0 || s.Latency.Max < s.Latency.P99 || s.Latency.P99 < s.Latency.P50 {
				t.Errorf("latency = %+v, want 0 < p50 <= p99 <= max", s.Latency)
			}
			if s.Throughput <= 0 || s.Elapsed <= 0 {
				t.Errorf("throughput %v over %vs, want both above 0", s.Throughput, s.Elapsed)
			}
		})
	}
}

func TestRunDefaultsToACount(t *testing.T) {
	edge := newFakeEdge(t, ok)
	s := runJSON(t, t.Context(), "-url", edge.template(), "-c", "16")
	if s.PlannedRequests != defaultCount || s.Responses != defaultCount {
		t.Errorf("without -n or -d: planned %d, answered %d; want %d", s.PlannedRequests, s.Responses, defaultCount)
	}
}

func TestRunSpreadsIDs(t *testing.T) {
	var seen [10]atomic.Int64
	edge := newFakeEdge(t, func(id int) (int, time.Duration) {
		if id >= 20 && id < 30 {
			seen[id-20].Add(1)
		}
		return http.StatusOK, 0
	})
	runJSON(t, t.Context(), "-url", edge.template(), "-ids", "20-29", "-n", "30", "-c", "3")
	for i := range seen {
		if got := seen[i].Load(); got != 3 {
			t.Errorf("id %d got %d requests, want 3 (30 requests over 10 ids)", 20+i, got)
		}
	}
}

func TestRunDuration(t *testing.T) {
	edge := newFakeEdge(t, func(int) (int, time.Duration) { return http.StatusOK, 5 * time.Millisecond })
	s := runJSON(t, t.Context(), "-url", edge.template(), "-d", "200ms", "-c", "2")
	// Only a lower bound: an upper one would fail on a busy machine.
	if s.Elapsed < 0.2 {
		t.Errorf("elapsed = %vs, want at least the 0.2s asked for", s.Elapsed)
	}
	if s.Responses == 0 || s.Responses != s.Sent || s.Responses != edge.requests.Load() {
		t.Errorf("sent %d, answered %d, edge saw %d; want the same number, above 0", s.Sent, s.Responses, edge.requests.Load())
	}
	if s.PlannedDuration != 0.2 || s.PlannedRequests != 0 {
		t.Errorf("planned %v s and %d requests, want 0.2 s and 0", s.PlannedDuration, s.PlannedRequests)
	}
}

func TestRunOpenModelKeepsTheSchedule(t *testing.T) {
	edge := newFakeEdge(t, ok)
	s := runJSON(t, t.Context(), "-url", edge.template(), "-rate", "200", "-n", "21", "-c", "4")
	// Request 20 is due 100ms after the first: the run cannot be shorter, whatever the
	// machine. (That the schedule is right is TestOpenModel's job, on a fake clock.)
	if s.Elapsed < 0.1 {
		t.Errorf("21 requests at 200/s took %vs, want at least 0.1s", s.Elapsed)
	}
	if s.Model != "open" || s.Rate != 200 || s.Responses != 21 || s.MissedStarts != 0 {
		t.Errorf("model %q rate %v: answered %d, missed %d; want open at 200, 21 answered, none missed",
			s.Model, s.Rate, s.Responses, s.MissedStarts)
	}
}

func TestRunOpenModelCountsMissedStarts(t *testing.T) {
	// One slot, answers after 300ms, a run of 200ms at 100/s: the first request takes the
	// slot for the whole run, the other 19 due in it never start.
	edge := newFakeEdge(t, func(int) (int, time.Duration) { return http.StatusOK, 300 * time.Millisecond })
	s := runJSON(t, t.Context(), "-url", edge.template(), "-rate", "100", "-d", "200ms", "-c", "1")
	if s.Sent != 1 || s.Responses != 1 || s.MissedStarts != 19 {
		t.Errorf("sent %d, answered %d, missed %d; want 1, 1, 19", s.Sent, s.Responses, s.MissedStarts)
	}
	if s.Latency.Max < 300 {
		t.Errorf("max latency %vms, want at least the edge's 300ms", s.Latency.Max)
	}
}

func TestRunErrors(t *testing.T) {
	t.Run("status 500", func(t *testing.T) {
		edge := newFakeEdge(t, func(id int) (int, time.Duration) {
			if id%4 == 0 {
				return http.StatusInternalServerError, 0
			}
			return http.StatusOK, 0
		})
		s := runJSON(t, t.Context(), "-url", edge.template(), "-ids", "10000-10007", "-n", "16")
		want := map[string]int64{"200": 12, "500": 4}
		if !reflect.DeepEqual(s.Status, want) || s.OK != 12 || s.Responses != 16 {
			t.Errorf("status %v, ok %d, responses %d; want %v, 12, 16", s.Status, s.OK, s.Responses, want)
		}
	})

	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close() // nothing listens there now
		s := runJSON(t, t.Context(), "-url", "https://"+addr+"/api/accounts/{id}", "-n", "5", "-c", "2")
		if s.Errors != 5 || s.Responses != 0 || len(s.ErrorBreakdown) != 1 {
			t.Fatalf("errors %d, responses %d, breakdown %+v; want 5 errors in one line", s.Errors, s.Responses, s.ErrorBreakdown)
		}
		e := s.ErrorBreakdown[0]
		if e.Kind != "connection" || e.Count != 5 || !strings.Contains(e.Message, "connection refused") {
			t.Errorf("breakdown = %+v, want 5 × connection: ...connection refused", e)
		}
		if strings.Contains(e.Message, "/api/accounts/") {
			t.Errorf("message %q names the URL: one line per id instead of per cause", e.Message)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		edge := newFakeEdge(t, func(int) (int, time.Duration) { return http.StatusOK, 5 * time.Second })
		s := runJSON(t, t.Context(), "-url", edge.template(), "-n", "3", "-c", "3", "-timeout", "50ms")
		if s.Errors != 3 || len(s.ErrorBreakdown) != 1 || s.ErrorBreakdown[0].Kind != "timeout" {
			t.Errorf("errors %d, breakdown %+v; want 3 × timeout", s.Errors, s.ErrorBreakdown)
		}
	})
}

func TestRunSlowest(t *testing.T) {
	delays := map[int]time.Duration{10003: 100 * time.Millisecond, 10007: 150 * time.Millisecond, 10005: 60 * time.Millisecond}
	edge := newFakeEdge(t, func(id int) (int, time.Duration) { return http.StatusOK, delays[id] })
	s := runJSON(t, t.Context(), "-url", edge.template(), "-ids", "10000-10009", "-n", "10", "-c", "10", "-slowest", "2")
	var got []string
	for _, sl := range s.Slowest {
		got = append(got, sl.TraceID)
	}
	want := []string{traceIDOf(10007), traceIDOf(10003)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("slowest trace ids = %q, want %q (ids 10007 then 10003)", got, want)
	}
	if s.Slowest[0].LatencyMs < 150 || s.Slowest[0].URL != edge.URL+"/api/accounts/10007" {
		t.Errorf("slowest = %+v, want 10007 at 150ms or more", s.Slowest[0])
	}
	if want := "make trace ID=" + traceIDOf(10007); s.Slowest[0].Command != want {
		t.Errorf("command = %q, want %q", s.Slowest[0].Command, want)
	}
}

func TestRunWarmupIsNotCounted(t *testing.T) {
	edge := newFakeEdge(t, ok)
	s := runJSON(t, t.Context(), "-url", edge.template(), "-n", "10", "-c", "2", "-warmup", "100ms")
	if s.Responses != 10 || edge.requests.Load() <= 10 {
		t.Errorf("answered %d of the edge's %d requests, want 10 counted of more sent", s.Responses, edge.requests.Load())
	}
}

func TestRunInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// The edge itself presses Ctrl-C at its fifth request.
	var n atomic.Int64
	edge := newFakeEdge(t, func(int) (int, time.Duration) {
		if n.Add(1) == 5 {
			cancel()
		}
		return http.StatusOK, 10 * time.Millisecond
	})
	start := time.Now()
	s := runJSON(t, ctx, "-url", edge.template(), "-d", "1m", "-c", "2")
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("run took %v after Ctrl-C, want it to stop at once", took)
	}
	if !s.Interrupted || s.Responses < 3 {
		t.Errorf("interrupted %v with %d answers, want true with at least 3", s.Interrupted, s.Responses)
	}
	if s.Responses+s.Errors+s.Canceled != s.Sent {
		t.Errorf("answered %d + failed %d + canceled %d != sent %d", s.Responses, s.Errors, s.Canceled, s.Sent)
	}
}

func TestRunText(t *testing.T) {
	edge := newFakeEdge(t, ok)
	var stdout, stderr bytes.Buffer
	args := []string{"-url", edge.template(), "-n", "10", "-rate", "1000", "-slowest", "3"}
	if err := run(t.Context(), args, noEnv, &stdout, &stderr); err != nil {
		t.Fatalf("run(%q) = %v, want nil", args, err)
	}
	for _, want := range []string{"10 requests, open model at 1000 req/s", "p50 ", "p99.9 ", "max ",
		"throughput", "200 × 10", "errors      none", "late", "missed", "3 slowest", "make trace ID=abc"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("run(%q) printed\n%s\nwant it to contain %q", args, stdout.String(), want)
		}
	}
	if stderr.Len() > 0 {
		t.Errorf("stderr = %q, want nothing: it is no terminal, so no progress bar", stderr.String())
	}
}

func TestRunHelp(t *testing.T) {
	var stdout bytes.Buffer
	if err := run(t.Context(), []string{"-h"}, noEnv, &stdout, &stdout); err != nil {
		t.Fatalf("run(-h) = %v, want nil", err)
	}
	for _, want := range []string{"Usage: loadgen", "-rate", "-slowest", "-json"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("run(-h) printed %q, want it to contain %q", stdout.String(), want)
		}
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	edge := newFakeEdge(t, ok)
	u := edge.template()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"count and duration", []string{"-url", u, "-n", "5", "-d", "1s"}, "not both"},
		{"negative count", []string{"-url", u, "-n", "-3"}, "-n -3"},
		{"negative duration", []string{"-url", u, "-d", "-1s"}, "-d -1s"},
		{"negative rate", []string{"-url", u, "-rate", "-1"}, "-rate -1"},
		{"NaN rate", []string{"-url", u, "-rate", "NaN"}, "-rate NaN"},
		{"no concurrency", []string{"-url", u, "-c", "0"}, "-c 0"},
		{"ids reversed", []string{"-url", u, "-ids", "10099-10000"}, "above the last"},
		{"ids not numbers", []string{"-url", u, "-ids", "abc"}, "first-last"},
		{"negative id", []string{"-url", u, "-ids", "-5"}, "first-last"},
		{"no scheme", []string{"-url", "localhost:8765/api/accounts/{id}"}, "http:// or https://"},
		{"negative slowest", []string{"-url", u, "-slowest", "-1"}, "-slowest -1"},
		{"zero timeout", []string{"-url", u, "-timeout", "0s"}, "-timeout"},
		{"unknown flag", []string{"-url", u, "-z"}, "-z"},
		{"arguments", []string{"-url", u, "extra"}, "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout bytes.Buffer
			err := run(t.Context(), tt.args, noEnv, &stdout, &stdout)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%q) = %v, want an error containing %q", tt.args, err, tt.want)
			}
		})
	}
	if got := edge.requests.Load(); got != 0 {
		t.Errorf("the edge got %d requests from rejected runs, want 0", got)
	}
}

func TestEdgeURL(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"", "https://localhost:8765"},
		{":9443", "https://localhost:9443"},
		{"0.0.0.0:9443", "https://localhost:9443"},
		{"127.0.0.1:9443", "https://127.0.0.1:9443"},
		{"nonsense", "https://localhost:8765"},
	}
	for _, tt := range tests {
		getenv := func(k string) string {
			if k == "EDGE_ADDR" {
				return tt.addr
			}
			return ""
		}
		if got := edgeURL(getenv); got != tt.want {
			t.Errorf("edgeURL(EDGE_ADDR=%q) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

// TestJSONFieldsDocumented holds the JSON contract together: every field a run prints is
// listed in the package doc, where `make bench` authors look for it.
func TestJSONFieldsDocumented(t *testing.T) {
	edge := newFakeEdge(t, ok)
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"-url", edge.template(), "-n", "3", "-json"}, noEnv, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(stdout.Bytes(), &fields); err != nil {
		t.Fatalf("-json printed %q: %v", stdout.String(), err)
	}
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	doc, _, _ := strings.Cut(string(src), "package main")
	want := []string{"url", "ids", "model", "concurrency", "rate", "planned_requests", "planned_duration_s",
		"warmup_s", "elapsed_s", "sent", "responses", "ok", "errors", "canceled", "interrupted",
		"throughput_rps", "latency_ms", "status", "error_breakdown", "late_starts", "missed_starts", "slowest"}
	for _, f := range want {
		if _, ok := fields[f]; !ok {
			t.Errorf("-json has no field %q", f)
		}
	}
	for f := range fields {
		if !strings.Contains(doc, f) {
			t.Errorf("field %q is not in the package doc", f)
		}
	}
	var lat map[string]float64
	if err := json.Unmarshal(fields["latency_ms"], &lat); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"min", "mean", "stddev", "p50", "p90", "p99", "p99_9", "max"} {
		if _, ok := lat[f]; !ok {
			t.Errorf("latency_ms has no field %q: %v", f, lat)
		}
	}
}

// TestRunBaggage: every request carries each -baggage item as an uberctx-<key> header,
// its value as the edge's propagator reads it back.
func TestRunBaggage(t *testing.T) {
	var mu sync.Mutex
	got := map[string]int{}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fault, _ := url.QueryUnescape(r.Header.Get("Uberctx-Fault"))
		mu.Lock()
		got[fault+" | "+r.Header.Get("Uberctx-Tenant")]++
		mu.Unlock()
		fmt.Fprint(w, `{}`)
	}))
	defer srv.Close()
	s := runJSON(t, context.Background(), "-url", srv.URL+"/api/accounts/{id}", "-n", "12", "-c", "3",
		"-baggage", "fault=slow-quote=300ms,sequential-calls", "-baggage", "Tenant=acme")
	if s.OK != 12 {
		t.Fatalf("loadgen -baggage: %d ok, want 12", s.OK)
	}
	if want := map[string]int{"slow-quote=300ms,sequential-calls | acme": 12}; !maps.Equal(got, want) {
		t.Errorf("requests carried (fault | tenant) %v, want %v", got, want)
	}
	for _, bad := range []string{"fault", "=x", "fault=", "a b=c"} {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), []string{"-baggage", bad}, noEnv, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "key=value") {
			t.Errorf("loadgen -baggage %q = %v, want an error asking for key=value", bad, err)
		}
	}
}
