package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go/mocktracer"

	"tracelab/common/logging"
	"tracelab/internal/servicetest"
)

func TestServerOwnRoutes(t *testing.T) {
	tests := []struct {
		method, target string
		wantStatus     int
		wantBody       map[string]any
	}{
		{http.MethodGet, "/healthz", http.StatusOK, map[string]any{"status": "ok", "service": serviceName, "faults": map[string]any{"enabled": true, "active": "", "ignored": 0.0}}},
		{http.MethodGet, "/nope", http.StatusNotFound, map[string]any{"error": "no route for GET /nope"}},
		{http.MethodGet, "/accounts/10000", http.StatusNotFound, map[string]any{"error": "no route for GET /accounts/10000"}},
		{http.MethodDelete, "/api/accounts/10000", http.StatusNotFound, map[string]any{"error": "no route for DELETE /api/accounts/10000"}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			// Nothing listens upstream: these routes must not need accountservice.
			edge := newTestEdge(t, logging.Discard(), mocktracer.New(), "http://127.0.0.1:1", time.Second)

			resp := do(edge, httptest.NewRequest(tt.method, "https://edge.example"+tt.target, nil))

			var body map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("%s %s: decoding body: %v", tt.method, tt.target, err)
			}
			if resp.StatusCode != tt.wantStatus || !reflect.DeepEqual(body, tt.wantBody) {
				t.Errorf("%s %s = %d %v, want %d %v", tt.method, tt.target, resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("%s %s: Content-Type = %q, want application/json", tt.method, tt.target, ct)
			}
		})
	}
}

// startEdge runs the edge as main does, in front of accountservice at upstream, until the
// test ends, and returns the address it serves HTTPS on.
func startEdge(t *testing.T, upstream string) string {
	t.Helper()
	svc := servicetest.StartRun(t, run, nil, map[string]string{
		"EDGE_ADDR":          "127.0.0.1:0",
		"EDGE_ADMIN_ADDR":    "off", // the admin listener has tests of its own (admin_test.go)
		"ACCOUNTSERVICE_URL": upstream,
		"JAEGER_DISABLED":    "true",
	})
	addr, _ := waitForLog(t, svc, "listening")["server.address"].(string)
	return addr
}

// TestRequestBodiesAreRefusedAtOnce: no route of the edge takes a body, so a request with
// one is the client's mistake: 400 at once, whether the body is whole, short of its
// Content-Length or badly chunked, and accountservice never hears of it. The connection
// closes, since the rest of the body is still on the wire.
func TestRequestBodiesAreRefusedAtOnce(t *testing.T) {
	upstream := newFakeAccountService(t, answerAccount())
	addr := startEdge(t, upstream.URL)
	const refused = "the edge takes no request body: send the request without one"

	tests := []struct{ name, raw string }{
		{"bad chunk size", "GET /api/accounts/10000 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"},
		{"body shorter than Content-Length", "GET /api/accounts/10000 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc"},
		{"chunked body never finished", "GET /api/accounts/10000 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"},
		{"whole body on a GET", "GET /api/accounts/10000 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"},
		{"POST with a body", "POST /api/accounts/10000 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"},
		{"expecting 100-continue", "GET /api/accounts/10000 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n"},
		{"a picture, short body", "GET /api/images/file/a.png HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc"},
		{"no route, short body", "POST /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc"},
		{"health check, short body", "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := servicetest.SendRaw(t, servicetest.DialTLS(t, addr), tt.raw)
			if got.Status != http.StatusBadRequest || got.Error != refused || got.Header.Get("Content-Type") != "application/json" {
				t.Errorf("answer to %q = %d %s %q, want 400 application/json {\"error\": %q}", tt.raw, got.Status, got.Header.Get("Content-Type"), got.Body, refused)
			}
			if !got.Close {
				t.Errorf("answer to %q kept the connection open, want Connection: close", tt.raw)
			}
			// The edge's ReadTimeout is 15s: a 400 that waited for the body would come then.
			if got.Elapsed > 2*time.Second {
				t.Errorf("answer to %q took %v, want it at once", tt.raw, got.Elapsed)
			}
		})
	}
	select {
	case r := <-upstream.requests:
		t.Errorf("accountservice received %s %s, want nothing from requests with a body", r.method, r.escapedPath)
	default:
	}

	// Over HTTP/2 the stream is refused, not the connection: the next request reuses it.
	client := servicetest.TLSClient(t, true)
	req, _ := http.NewRequest(http.MethodGet, "https://"+addr+"/api/accounts/10000", strings.NewReader("abc"))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET with a body over HTTP/2: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.ProtoMajor != 2 {
		t.Errorf("GET with a body over HTTP/2 = %s %d, want HTTP/2.0 400", resp.Proto, resp.StatusCode)
	}
	var reused bool
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused }}
	req, _ = http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, "https://"+addr+"/api/accounts/10000", nil)
	resp, err = client.Do(req)
	if err != nil {
		t.Fatalf("GET after it over HTTP/2: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !reused {
		t.Errorf("GET after it over HTTP/2 = %d, connection reused %v; want 200 on the same connection", resp.StatusCode, reused)
	}
}

// TestNewHTTPServerOutlastsUpstreamTimeout: whatever EDGE_UPSTREAM_TIMEOUT is, the server
// can still write the 504 when it runs out; a WriteTimeout shorter than it would cut the
// connection first.
func TestNewHTTPServerOutlastsUpstreamTimeout(t *testing.T) {
	for _, upstreamTimeout := range []time.Duration{time.Second, defaultUpstreamTimeout, 30 * time.Second, 45 * time.Second, 5 * time.Minute} {
		srv := newHTTPServer(http.NotFoundHandler(), logging.Discard(), upstreamTimeout, nil)
		if srv.WriteTimeout < upstreamTimeout+time.Second {
			t.Errorf("newHTTPServer(EDGE_UPSTREAM_TIMEOUT=%v): WriteTimeout = %v, want at least a second more", upstreamTimeout, srv.WriteTimeout)
		}
	}
}
