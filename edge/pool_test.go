package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go/mocktracer"

	"tracelab/common/faults"
	"tracelab/common/logging"
	"tracelab/common/tracing/tracingtest"
)

// concurrencyMeter is an upstream that holds each call for hold and remembers how many
// calls it had at once, at most.
type concurrencyMeter struct {
	hold      time.Duration
	now, most atomic.Int64
}

func (m *concurrencyMeter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := m.now.Add(1)
	for {
		most := m.most.Load()
		if n <= most || m.most.CompareAndSwap(most, n) {
			break
		}
	}
	time.Sleep(m.hold)
	m.now.Add(-1)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"id":"10000"}`))
}

// sendTogether sends n requests for /api/accounts/10000 to h at once and waits for them.
func sendTogether(t *testing.T, h http.Handler, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/accounts/10000", nil))
			if rec.Code != http.StatusOK {
				t.Errorf("GET /api/accounts/10000 = %d %s, want 200", rec.Code, rec.Body)
			}
		})
	}
	wg.Wait()
}

// TestEdgePool: with edge-pool=1, the upstream never has more than one call at a time;
// each server span is tagged fault=edge-pool and logs its wait, and the client span of a
// call that waited starts late. Without the fault the same calls overlap upstream.
func TestEdgePool(t *testing.T) {
	const calls, hold = 4, 100 * time.Millisecond
	t.Run("on", func(t *testing.T) {
		meter := &concurrencyMeter{hold: hold}
		upstream := httptest.NewServer(meter)
		defer upstream.Close()
		tracer := tracingtest.New()
		set, _ := faults.Parse("edge-pool=1")
		h := newTestEdgeWith(t, tracer, faults.NewSwitch(true, set), upstream.URL)
		sendTogether(t, h, calls)

		if got := meter.most.Load(); got != 1 {
			t.Errorf("upstream had %d calls at once with edge-pool=1, want 1", got)
		}
		servers, clients := spansNamed(tracer, "GET /api/accounts/{id...}"), spansNamed(tracer, "GET accountservice")
		if len(servers) != calls || len(clients) != calls {
			t.Fatalf("spans = %v, want %d server and %d client spans", tracer.Names(), calls, calls)
		}
		var longestGap time.Duration
		ahead := 0
		for _, server := range servers {
			if got := server.Tag(faults.Tag); got != string(faults.EdgePool) {
				t.Errorf("server span tag fault = %v, want %q", got, faults.EdgePool)
			}
			events := tracingtest.Events(server)
			if len(events) != 1 || !strings.HasPrefix(events[0], "waited ") || !strings.Contains(events[0], "for an upstream connection") {
				t.Errorf("server span events = %q, want one \"waited N ms for an upstream connection, M ahead\"", events)
			}
			if strings.HasSuffix(events[0], " 3 ahead") {
				ahead++
			}
			client := childOf(clients, server)
			if client == nil {
				t.Fatalf("no client span is a child of server span %d", server.SpanContext.SpanID)
			}
			longestGap = max(longestGap, client.StartTime.Sub(server.StartTime))
		}
		if ahead != 1 {
			t.Errorf("%d server spans say 3 ahead, want the last of the %d calls to", ahead, calls)
		}
		// The last call waited for three others, each holding the slot for 100ms.
		if longestGap < 2*hold {
			t.Errorf("longest gap between a server span's start and its client span's = %v, want %v or more", longestGap, 2*hold)
		}
	})
	t.Run("off", func(t *testing.T) {
		meter := &concurrencyMeter{hold: hold}
		upstream := httptest.NewServer(meter)
		defer upstream.Close()
		tracer := tracingtest.New()
		h := newTestEdgeWith(t, tracer, faults.NewSwitch(true, nil), upstream.URL)
		sendTogether(t, h, calls)
		if got := meter.most.Load(); got < 2 {
			t.Errorf("upstream had at most %d calls at once without the fault, want them to overlap", got)
		}
		for _, server := range spansNamed(tracer, "GET /api/accounts/{id...}") {
			if got := server.Tag(faults.Tag); got != nil || len(server.Logs()) != 0 {
				t.Errorf("server span tag fault = %v, logs %v, want neither without the fault", got, server.Logs())
			}
		}
	})
}

// TestSlotPool checks the pool's bookkeeping: first come, first served, a waiter that
// gives up leaves its place, and a slot comes back with release.
func TestSlotPool(t *testing.T) {
	var p slotPool
	if ahead, err := p.acquire(context.Background(), 1); ahead != 0 || err != nil {
		t.Fatalf("acquire on an empty pool = %d, %v, want 0, nil", ahead, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if ahead, err := p.acquire(ctx, 1); ahead != 1 || err == nil {
		t.Errorf("acquire on a full pool until ctx ends = %d, %v, want 1, an error", ahead, err)
	}
	got := make(chan int)
	go func() {
		ahead, _ := p.acquire(context.Background(), 1)
		got <- ahead
	}()
	time.Sleep(20 * time.Millisecond)
	p.release()
	if ahead := <-got; ahead != 1 {
		t.Errorf("acquire behind one = %d ahead, want 1", ahead)
	}
	p.release()
	if p.inUse != 0 || len(p.waiting) != 0 {
		t.Errorf("pool after every release = %d in use, %d waiting, want 0, 0", p.inUse, len(p.waiting))
	}
}

func newTestEdgeWith(t *testing.T, tracer *tracingtest.Tracer, sw *faults.Switch, upstream string) http.Handler {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatalf("url.Parse(%q) = %v", upstream, err)
	}
	return newServer(logging.Discard(), tracer, sw, routeTable(u, u), 10*time.Second)
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

func childOf(spans []*mocktracer.MockSpan, parent *mocktracer.MockSpan) *mocktracer.MockSpan {
	for _, s := range spans {
		if s.ParentID == parent.SpanContext.SpanID {
			return s
		}
	}
	return nil
}
