package e2e

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"tracelab/common/logging"
	"tracelab/common/tracing"
)

// TestZipkinFormat: the same tracer reports in Zipkin's format instead of Jaeger's when
// configured so (JAEGER_ENDPOINT=off, ZIPKIN_ENDPOINT=...). The spans go to Jaeger's
// Zipkin-compatible receiver on :9411 here (compose runs the real Zipkin server), and
// Jaeger must hold the same tree as if they had come the Jaeger way.
//
// Two small services built from tracelab's own pieces (middleware, transport, child span)
// stand in for the landscape, whose processes report the Jaeger way in this suite.
func TestZipkinFormat(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"JAEGER_ENDPOINT":       "off",
		"ZIPKIN_ENDPOINT":       "http://localhost:9411/api/v1/spans",
		"JAEGER_TRACEID_128BIT": "true",
	}
	newTracer := func(service string) (*tracing.Closer, func(http.Handler) http.Handler) {
		settings, err := tracing.SettingsFromEnv(service, func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		tracer, closer, err := tracing.New(settings, logging.Discard())
		if err != nil {
			t.Fatal(err)
		}
		return closer, tracing.Middleware(tracer)
	}

	backendCloser, backendMW := newTracer("zipkin-e2e-backend")
	backendMux := http.NewServeMux()
	backendMux.HandleFunc("GET /work", func(w http.ResponseWriter, r *http.Request) {
		span, _ := tracing.StartChild(r.Context(), "compute")
		span.Finish()
	})
	backend := httptest.NewServer(backendMW(backendMux))
	defer backend.Close()

	frontendCloser, frontendMW := newTracer("zipkin-e2e-frontend")
	calls := &http.Client{Transport: tracing.Transport(nil, "zipkin-e2e-backend")}
	frontendMux := http.NewServeMux()
	frontendMux.HandleFunc("GET /start", func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, backend.URL+"/work", nil)
		resp, err := calls.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		resp.Body.Close()
	})
	frontend := httptest.NewServer(frontendMW(frontendMux))
	defer frontend.Close()

	resp, err := http.Get(frontend.URL + "/start")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Header.Get(tracing.TraceIDHeader)
	if resp.StatusCode != http.StatusOK || len(id) != 32 {
		t.Fatalf("GET /start = %d, X-Trace-Id %q; want 200 and a 128-bit id", resp.StatusCode, id)
	}

	// Closing flushes; the counts say every span went out in Zipkin's format.
	for name, c := range map[string]*tracing.Closer{"frontend": frontendCloser, "backend": backendCloser} {
		if err := c.Close(); err != nil {
			t.Errorf("%s Close() = %v", name, err)
		}
		st := c.Stats()
		if len(st.Destinations) != 1 || st.Destinations[0].Name != "zipkin" || st.Reported != 2 || st.Dropped != 0 || st.Unconfirmed != 0 {
			t.Errorf("%s reporter stats = %+v, want 2 spans reported to zipkin only, none dropped or unconfirmed", name, st)
		}
	}

	// Zipkin's v1 format has no span.kind for internal work and no peer.service (it names
	// the peer in an address annotation): the tree is the same, the client tags fewer.
	want := span{service: "zipkin-e2e-frontend", op: "GET /start",
		tags: map[string]string{"span.kind": "server", "http.status_code": "200"}, absent: []string{"error"},
		children: []span{{service: "zipkin-e2e-frontend", op: "GET zipkin-e2e-backend", ref: "CHILD_OF",
			tags: map[string]string{"span.kind": "client", "http.status_code": "200"}, absent: []string{"error"},
			children: []span{server("zipkin-e2e-backend", "GET /work", 200,
				internal("zipkin-e2e-backend", "compute"))}}}}
	assertTrace(t, waitForTrace(t, id, want.count()), want)
}
