package main

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"tracelab/internal/servicetest"
)

// TestRunTrustTraceHeaders drives run with EDGE_TRUST_TRACE_HEADERS unset, on and off, and
// sends what a caller that is traced sends, with a trace id it chose and its decision not
// to sample. Trusted, the edge continues that trace (no X-Trace-Id: nothing is recorded)
// and passes the baggage on; untrusted, it records a trace of its own, and accountservice
// sees that trace and no baggage of the caller's.
func TestRunTrustTraceHeaders(t *testing.T) {
	const callerTrace = "0000000000000003"
	tests := []struct {
		name      string
		env       string
		wantTrust bool
	}{
		{"default", "", true},
		{"on", "true", true},
		{"off", "false", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			upstream := &headerRecorder{}
			accounts := httptest.NewServer(upstream)
			defer accounts.Close()
			collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusAccepted) // spans go somewhere; this test reads headers
			}))
			defer collector.Close()
			svc := servicetest.StartRun(t, run, nil, map[string]string{
				"EDGE_ADDR":                "127.0.0.1:0",
				"EDGE_ADMIN_ADDR":          "off", // the admin listener has tests of its own (admin_test.go)
				"ACCOUNTSERVICE_URL":       accounts.URL,
				"JAEGER_ENDPOINT":          collector.URL + "/api/traces",
				"EDGE_TRUST_TRACE_HEADERS": tt.env,
			})
			addr, _ := waitForLog(t, svc, "listening")["server.address"].(string)
			client := &http.Client{
				Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, // the edge's own certificate
				Timeout:   10 * time.Second,
			}
			defer client.CloseIdleConnections()

			req, _ := http.NewRequest(http.MethodGet, "https://"+addr+"/api/accounts/10000", nil)
			req.Header.Set("uber-trace-id", callerTrace+":0000000000000004:0:0") // flags 0: not sampled
			req.Header.Set("uberctx-tenant", "acme")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("GET /api/accounts/10000: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /api/accounts/10000 = %d, want 200", resp.StatusCode)
			}

			got := upstream.last()
			upstreamTrace, _, _ := strings.Cut(got.Get("Uber-Trace-Id"), ":")
			traceIDHeader := resp.Header.Get("X-Trace-Id")
			if tt.wantTrust {
				if upstreamTrace != callerTrace || traceIDHeader != "" || got.Get("Uberctx-Tenant") != "acme" {
					t.Errorf("trusted: accountservice got trace %q baggage tenant %q, caller got X-Trace-Id %q; "+
						"want the caller's trace %s, its baggage, and no X-Trace-Id for a trace it does not sample",
						upstreamTrace, got.Get("Uberctx-Tenant"), traceIDHeader, callerTrace)
				}
				return
			}
			if upstreamTrace == callerTrace || traceIDHeader == "" || upstreamTrace != traceIDHeader {
				t.Errorf("untrusted: accountservice got trace %q, caller got X-Trace-Id %q; want the edge's own "+
					"sampled trace in both, not the caller's %s", upstreamTrace, traceIDHeader, callerTrace)
			}
			if v := got.Get("Uberctx-Tenant"); v != "" {
				t.Errorf("untrusted: accountservice got the caller's baggage tenant=%q, want none", v)
			}
		})
	}
	t.Run("not a bool", func(t *testing.T) {
		err := servicetest.StartupError(t, run, nil, map[string]string{
			"EDGE_ADDR":       "127.0.0.1:0",
			"EDGE_ADMIN_ADDR": "off", "JAEGER_DISABLED": "true", "EDGE_TRUST_TRACE_HEADERS": "perhaps",
		})
		if err == nil || !strings.Contains(err.Error(), "EDGE_TRUST_TRACE_HEADERS") {
			t.Errorf("run with EDGE_TRUST_TRACE_HEADERS=perhaps = %v, want an error naming it", err)
		}
	})
}

// headerRecorder stands in for accountservice: it answers 200 and keeps the headers of
// the last request.
type headerRecorder struct {
	mu     sync.Mutex
	header http.Header
}

func (h *headerRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.header = r.Header.Clone()
	h.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"id":"10000"}`))
}

func (h *headerRecorder) last() http.Header {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.header
}
