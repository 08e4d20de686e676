package jaegerapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"
)

// fakeJaegerQuery stands in for Jaeger's query API, answering with a recorded response
// (testdata/vip-trace.json, a VIP request's trace as Jaeger v2 stored it).
func fakeJaegerQuery(t *testing.T) *Client {
	t.Helper()
	raw, err := os.ReadFile("testdata/vip-trace.json")
	if err != nil {
		t.Fatal(err)
	}
	var recorded envelope
	if err := json.Unmarshal(raw, &recorded); err != nil {
		t.Fatal(err)
	}
	newer := recorded.Data[0]
	older := Trace{TraceID: "1111111111111111", Processes: newer.Processes}
	for _, s := range newer.Spans {
		s.StartTime -= 3_600_000_000 // an hour earlier
		older.Spans = append(older.Spans, s)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/traces/"+newer.TraceID:
			_, _ = w.Write(raw)
		case r.URL.Path == "/api/traces" && r.URL.Query().Get("start") == "":
			t.Errorf("search without start: %s (Jaeger would search two days)", r.URL.RawQuery)
		case r.URL.Path == "/api/traces" && r.URL.Query().Get("tags") != "":
			if got, want := r.URL.Query().Get("tags"), `{"baggage.fault":"mystery=abc"}`; got != want {
				t.Errorf("search tags = %s, want %s", got, want)
			}
			if r.URL.Query().Get("operation") != "GET /accounts/{id}" || r.URL.Query().Get("limit") != "100" {
				t.Errorf("search = %s, want operation GET /accounts/{id} and limit 100", r.URL.RawQuery)
			}
			_ = json.NewEncoder(w).Encode(envelope{Data: []Trace{newer, older}})
		case r.URL.Path == "/api/traces" && r.URL.Query().Get("service") == "vipservice":
			// Both traces, the newer second: Latest must not take the first it sees.
			_ = json.NewEncoder(w).Encode(envelope{Data: []Trace{older, newer}})
		case r.URL.Path == "/api/traces":
			_, _ = w.Write([]byte(`{"data":[],"errors":null}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"data":null,"errors":[{"code":404,"msg":"trace not found"}]}`))
		}
	}))
	t.Cleanup(srv.Close)
	return &Client{BaseURL: srv.URL}
}

func TestTrace(t *testing.T) {
	c := fakeJaegerQuery(t)
	tr, err := c.Trace(context.Background(), "461beb633f824bf9")
	if err != nil {
		t.Fatalf("Trace() = %v", err)
	}
	if len(tr.Spans) != 11 {
		t.Errorf("Trace() has %d spans, want 11", len(tr.Spans))
	}
	services := map[string]bool{}
	for _, s := range tr.Spans {
		services[tr.Service(s)] = true
		if s.OperationName == "consume vipQueue" {
			if len(s.References) != 1 || s.References[0].RefType != "FOLLOWS_FROM" {
				t.Errorf("consumer span references = %v, want one FOLLOWS_FROM", s.References)
			}
			if kind, ok := s.Tag("span.kind"); !ok || kind != "consumer" {
				t.Errorf("consumer span.kind = %q, %v", kind, ok)
			}
		}
		if s.OperationName == "GET /accounts/{id}" && tr.Service(s) == "accountservice" {
			if code, _ := s.Tag("http.status_code"); code != "200" {
				t.Errorf("http.status_code reads %q, want 200", code)
			}
		}
	}
	if len(services) != 5 {
		t.Errorf("services = %v, want 5", services)
	}

	if _, err := c.Trace(context.Background(), "0000000000000bad"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Trace(unknown) = %v, want ErrNotFound", err)
	}
}

func TestLatest(t *testing.T) {
	c := fakeJaegerQuery(t)
	tr, err := c.Latest(context.Background(), "vipservice")
	if err != nil {
		t.Fatalf("Latest() = %v", err)
	}
	if tr.TraceID != "461beb633f824bf9" {
		t.Errorf("Latest() = trace %s, want the newer 461beb633f824bf9", tr.TraceID)
	}
	if _, err := c.Latest(context.Background(), "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Latest(nobody) = %v, want ErrNotFound", err)
	}
	unreachable := &Client{BaseURL: "http://127.0.0.1:1"}
	if _, err := unreachable.Trace(context.Background(), "1"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Trace() against a closed port = %v, want a connection error", err)
	}
}

func TestSearch(t *testing.T) {
	c := fakeJaegerQuery(t)
	traces, err := c.Search(context.Background(), Query{
		Service:   "accountservice",
		Operation: "GET /accounts/{id}",
		Tags:      map[string]string{"baggage.fault": "mystery=abc"},
		Start:     time.Now().Add(-2 * time.Hour),
	})
	if err != nil {
		t.Fatalf("Search() = %v", err)
	}
	if len(traces) != 2 || traces[0].TraceID != "1111111111111111" {
		t.Errorf("Search() = %d traces, first %v, want 2, the older first", len(traces), traces)
	}
	if traces, err := c.Search(context.Background(), Query{Service: "nobody", Start: time.Now().Add(-time.Hour)}); err != nil || len(traces) != 0 {
		t.Errorf("Search(nobody) = %v, %v, want none and no error", traces, err)
	}
}

func TestDependencies(t *testing.T) {
	end := time.UnixMilli(1_700_000_000_000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/dependencies" || r.URL.Query().Get("endTs") != "1700000000000" || r.URL.Query().Get("lookback") != "3600000" {
			t.Errorf("GET %s, want /api/dependencies?endTs=1700000000000&lookback=3600000", r.URL)
		}
		_, _ = w.Write([]byte(`{"data":[{"parent":"accountservice","child":"ledger","callCount":3}],"total":1,"errors":null}`))
	}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL}
	got, err := c.Dependencies(context.Background(), end, time.Hour)
	want := []Dependency{{Parent: "accountservice", Child: "ledger", CallCount: 3}}
	if err != nil || len(got) != 1 || got[0] != want[0] {
		t.Errorf("Dependencies() = %v, %v, want %v", got, err, want)
	}
}
