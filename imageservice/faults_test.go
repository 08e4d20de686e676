package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/opentracing/opentracing-go/mocktracer"

	"tracelab/common/faults"
	"tracelab/common/logging"
	"tracelab/common/tracing/tracingtest"
	"tracelab/internal/servicetest"
)

// The tests of the faults that act in imageservice, each on for everyone here (the
// baggage path is common/faults' and the e2e suite's), and off, where nothing may change.

// faultServer is the whole server with spec switched on for everyone ("" for none).
func faultServer(t *testing.T, tracer *tracingtest.Tracer, spec string) http.Handler {
	t.Helper()
	set, unknown := faults.Parse(spec)
	if len(unknown) > 0 {
		t.Fatalf("Parse(%q) unknown = %v, want none", spec, unknown)
	}
	return newServer(logging.Discard(), tracer, faults.NewSwitch(true, set), testGallery(t), testPublicURL)
}

func serveTo(h http.Handler, target string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func assertNoFaultTag(t *testing.T, tracer *tracingtest.Tracer) {
	t.Helper()
	for _, s := range tracer.FinishedSpans() {
		if v := s.Tag(faults.Tag); v != nil {
			t.Errorf("span %q tag fault = %v, want none (no fault on)", s.OperationName, v)
		}
	}
}

func TestRetryStormFault(t *testing.T) {
	tests := []struct {
		spec       string
		attempt    string // the X-Tracelab-Attempt header; "" for none
		wantStatus int
	}{
		{"", "1", http.StatusOK},
		{"", "", http.StatusOK},
		{"retry-storm=3", "", http.StatusServiceUnavailable}, // no header: a first attempt
		{"retry-storm=3", "1", http.StatusServiceUnavailable},
		{"retry-storm=3", "3", http.StatusServiceUnavailable},
		{"retry-storm=3", "4", http.StatusOK},
		{"retry-storm", "5", http.StatusServiceUnavailable}, // 5 fail by default
		{"retry-storm", "6", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.spec+"/attempt="+tt.attempt, func(t *testing.T) {
			tracer := tracingtest.New()
			h := faultServer(t, tracer, tt.spec)
			header := http.Header{}
			if tt.attempt != "" {
				header.Set(AttemptHeader, tt.attempt)
			}
			rec := serveTo(h, "/accounts/10000", header)
			if rec.Code != tt.wantStatus {
				t.Fatalf("GET /accounts/10000 attempt %q = %d %s, want %d", tt.attempt, rec.Code, rec.Body, tt.wantStatus)
			}
			body := servicetest.DecodeJSON(t, rec)
			server, ok := tracer.Span("GET /accounts/{id}")
			if !ok {
				t.Fatalf("spans = %v, want one GET /accounts/{id}", tracer.Names())
			}
			tracingtest.AssertServerSpan(t, server, tt.wantStatus)
			if tt.spec == "" {
				assertNoFaultTag(t, tracer)
				if got := server.Tag("retry.attempt"); got != nil {
					t.Errorf("server span tag retry.attempt = %v, want none (fault off)", got)
				}
				return
			}
			if got := server.Tag(faults.Tag); got != "retry-storm" {
				t.Errorf("server span tag fault = %v, want retry-storm", got)
			}
			want := max(1, atoiOr(tt.attempt, 1))
			if got := server.Tag("retry.attempt"); got != want {
				t.Errorf("server span tag retry.attempt = %v, want %d", got, want)
			}
			if tt.wantStatus != http.StatusOK {
				if msg, _ := body["error"].(string); !strings.Contains(msg, "retry-storm") {
					t.Errorf("body = %v, want a JSON error naming retry-storm", body)
				}
				if got := server.Tag("error"); got != true {
					t.Errorf("server span tag error = %v, want true", got)
				}
			}
		})
	}
}

func atoiOr(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return def
}

// TestLockContentionFault sends four filter requests at once: with the fault, the filters
// run one after the other, each behind a wait span that says how many were ahead.
func TestLockContentionFault(t *testing.T) {
	name := testGallery(t).names[0]
	for _, spec := range []string{"", "lock-contention=40ms"} {
		t.Run("fault="+spec, func(t *testing.T) {
			tracer := tracingtest.New()
			h := faultServer(t, tracer, spec)
			const requests = 4
			var wg sync.WaitGroup
			codes := make([]int, requests)
			for i := range requests {
				wg.Go(func() { codes[i] = serveTo(h, "/file/"+name+"?filter=sepia", nil).Code })
			}
			wg.Wait()
			for i, c := range codes {
				if c != http.StatusOK {
					t.Errorf("request %d: GET /file/%s = %d, want 200", i, name, c)
				}
			}
			filters := spansNamed(tracer, "apply sepia filter")
			waits := spansNamed(tracer, "wait for filter lock")
			if len(filters) != requests {
				t.Fatalf("filter spans = %d, want %d", len(filters), requests)
			}
			if spec == "" {
				if len(waits) != 0 {
					t.Errorf("wait for filter lock spans = %d, want 0 without the fault", len(waits))
				}
				assertNoFaultTag(t, tracer)
				return
			}
			if len(waits) != requests {
				t.Fatalf("wait for filter lock spans = %d, want %d", len(waits), requests)
			}
			// One at a time: sorted by start, each filter starts after the one before ended.
			slices.SortFunc(filters, func(a, b *mocktracer.MockSpan) int { return a.StartTime.Compare(b.StartTime) })
			for i := 1; i < len(filters); i++ {
				if filters[i].StartTime.Before(filters[i-1].FinishTime) {
					t.Errorf("filter %d started %v before filter %d ended, want one at a time",
						i, filters[i-1].FinishTime.Sub(filters[i].StartTime), i-1)
				}
			}
			maxAhead := 0
			for _, w := range append(waits, filters...) {
				if got := w.Tag(faults.Tag); got != "lock-contention" {
					t.Errorf("span %q tag fault = %v, want lock-contention", w.OperationName, got)
				}
			}
			for _, w := range waits {
				ahead, _ := w.Tag("waiting.ahead").(int)
				maxAhead = max(maxAhead, ahead)
				events := tracingtest.Events(w)
				if len(events) != 2 || events[0] != "waiting for lock behind "+strconv.Itoa(ahead)+" requests" || events[1] != "lock acquired" {
					t.Errorf("wait span events = %q, want waiting for lock behind %d requests, then lock acquired", events, ahead)
				}
			}
			if maxAhead < 1 {
				t.Errorf("most requests ahead of a waiting one = %d, want at least 1 of %d at once", maxAhead, requests)
			}
			for _, s := range tracer.FinishedSpans() {
				if s.OperationName == "GET /file/{name}" && s.Tag(faults.Tag) != "lock-contention" {
					t.Errorf("server span tag fault = %v, want lock-contention", s.Tag(faults.Tag))
				}
			}
		})
	}
}

func spansNamed(tracer *tracingtest.Tracer, op string) []*mocktracer.MockSpan {
	var out []*mocktracer.MockSpan
	for _, s := range tracer.FinishedSpans() {
		if s.OperationName == op {
			out = append(out, s)
		}
	}
	return out
}

func TestImageLeakFault(t *testing.T) {
	for _, spec := range []string{"", "image-leak=64"} {
		for _, target := range []string{"/accounts/10000", "/file/" + testGallery(t).names[0] + "?filter=none"} {
			t.Run(spec+target, func(t *testing.T) {
				tracer := tracingtest.New()
				h := faultServer(t, tracer, spec)
				if rec := serveTo(h, target, nil); rec.Code != http.StatusOK {
					t.Fatalf("GET %s = %d, want 200", target, rec.Code)
				}
				var server *mocktracer.MockSpan
				for _, s := range tracer.FinishedSpans() {
					if s.ParentID == 0 {
						server = s
					}
				}
				if server == nil {
					t.Fatalf("no server span among %v", tracer.Names())
				}
				wantSpans := map[string][]string{ // no child span of the leak's own, ever
					"/accounts/10000": {"GET /accounts/{id}"},
				}[target]
				if wantSpans == nil {
					wantSpans = []string{"png decode", "png encode", "GET /file/{name}"}
				}
				if got := tracer.Names(); !reflect.DeepEqual(got, wantSpans) {
					t.Errorf("spans = %v, want %v", got, wantSpans)
				}
				if spec == "" {
					assertNoFaultTag(t, tracer)
					if got := server.Tag("leak.allocated_kib"); got != nil {
						t.Errorf("server span tag leak.allocated_kib = %v, want none", got)
					}
					return
				}
				if got := server.Tag(faults.Tag); got != "image-leak" {
					t.Errorf("server span tag fault = %v, want image-leak", got)
				}
				if got := server.Tag("leak.allocated_kib"); got != 64 {
					t.Errorf("server span tag leak.allocated_kib = %v, want 64", got)
				}
			})
		}
	}
}

// TestImageLeakBounded: the leak keeps what it allocates up to its bound, then replaces
// its oldest blocks: the memory it holds stops growing.
func TestImageLeakBounded(t *testing.T) {
	set, _ := faults.Parse("image-leak=64")
	ctx := faults.NewSwitch(true, set).Context(context.Background())
	l := &imageLeak{maxBlocks: 150}
	l.keep(ctx)
	if got := l.keptBytes(); got != 64<<10 {
		t.Errorf("keptBytes after one request = %d, want %d", got, 64<<10)
	}
	for range 3 {
		l.keep(ctx)
	}
	if got := l.keptBytes(); got != 150*leakBlockBytes {
		t.Errorf("keptBytes after four requests = %d, want the bound %d", got, 150*leakBlockBytes)
	}
	if maxLeakBlocks*leakBlockBytes != 512<<20 {
		t.Errorf("the leak's bound = %d bytes, want 512 MiB", maxLeakBlocks*leakBlockBytes)
	}
}
