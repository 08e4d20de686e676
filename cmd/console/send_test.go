package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"tracelab/common/logging"
)

// TestSend: POST /api/send goes to the configured edge only, with the fault as the baggage
// item the services read, and answers with the edge's status and X-Trace-Id. The edge here
// is a stand-in (an httptest TLS server with a certificate of its own, as the real edge makes
// one): the real one is in e2e's TestConsoleSend.
func TestSend(t *testing.T) {
	var got *http.Request
	edge := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		w.Header().Set("X-Trace-Id", "4bf92f3577b34da6")
		w.Write([]byte(`{"id":"10000"}`))
	}))
	defer edge.Close()
	cfg := testConfig(t)
	cfg.edge = edge.URL
	h := newServer(logging.Discard(), cfg)

	rec := call(t, h, http.MethodPost, "/api/send", `{"path": "/api/accounts/10000?x=1", "fault": "slow-quote=300ms"}`)
	var out sendAnswer
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("POST /api/send = %d %s (%v), want 200 and JSON", rec.Code, rec.Body, err)
	}
	if out.Status != 200 || out.TraceID != "4bf92f3577b34da6" || out.Body != `{"id":"10000"}` {
		t.Errorf("POST /api/send = %+v, want the edge's status, trace id and body", out)
	}
	if got == nil || got.URL.Path != "/api/accounts/10000" || got.URL.RawQuery != "x=1" {
		t.Fatalf("the edge got %v, want GET /api/accounts/10000?x=1", got)
	}
	if v := got.Header.Get("uberctx-fault"); v != "slow-quote%3D300ms" {
		t.Errorf("uberctx-fault = %q, want the fault URL-escaped, as tracelab's Jaeger baggage is", v)
	}

	for _, tt := range []struct{ body, want string }{
		{`{"path": ""}`, "say what to read"},
		{`{"path": "http://example.com/api/x"}`, "under /api/"},
		{`{"path": "//example.com/api/x"}`, "under /api/"},
		{`{"path": "/healthz"}`, "under /api/"},
		{`{"path": "/api/../faults"}`, "no .."},
		{`{"path": "/api/accounts/1", "fault": "a\nb"}`, "one line"},
		{`[1,2]`, "JSON body"},
		{strings.Repeat("x", maxSendBody+1), "over"},
	} {
		got = nil
		rec := call(t, h, http.MethodPost, "/api/send", tt.body)
		if msg := errorOf(t, rec, http.StatusBadRequest); !strings.Contains(msg, tt.want) {
			t.Errorf("POST /api/send %.40q: %q, want it to say %q", tt.body, msg, tt.want)
		}
		if got != nil {
			t.Errorf("POST /api/send %.40q reached the edge, want it refused before", tt.body)
		}
	}

	cfg.edge = closedURL(t)
	rec = call(t, newServer(logging.Discard(), cfg), http.MethodPost, "/api/send", `{"path": "/api/accounts/10000"}`)
	if msg := errorOf(t, rec, http.StatusBadGateway); !strings.Contains(msg, "did not answer") {
		t.Errorf("POST /api/send with the edge down: %q, want it to say the edge did not answer", msg)
	}
}
