package e2e

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"tracelab/common/logging"
	"tracelab/common/tracing"
)

// TestOTLPGRPC: the otel mode with OTEL_EXPORTER_OTLP_PROTOCOL=grpc sends its spans over
// OTLP/gRPC, in plaintext, to Jaeger's :4317 (the default endpoint, as no JAEGER_ENDPOINT
// names another host), and Jaeger holds the trace. A small service built from tracelab's own
// pieces stands in for the landscape, whose processes send OTLP over HTTP.
func TestOTLPGRPC(t *testing.T) {
	t.Parallel()
	env := map[string]string{"TRACING_SDK": "otel", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
	settings, err := tracing.SettingsFromEnv("otlp-grpc-e2e", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	tracer, closer, err := tracing.New(settings, logging.Discard())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /work", func(w http.ResponseWriter, r *http.Request) {
		span, _ := tracing.StartChild(r.Context(), "compute")
		span.Finish()
	})
	srv := httptest.NewServer(tracing.Middleware(tracer)(mux))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/work")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Header.Get(tracing.TraceIDHeader)
	if err := closer.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
	st := closer.Stats()
	if len(st.Destinations) != 1 || st.Destinations[0].Name != "otlp" || st.Reported != 2 || st.Unconfirmed != 0 {
		t.Errorf("stats = %+v, want 2 spans reported to otlp, none unconfirmed", st)
	}
	want := server("otlp-grpc-e2e", "GET /work", 200, internal("otlp-grpc-e2e", "compute"))
	want.ref = "" // the root: this request had no traced caller
	assertTrace(t, waitForTrace(t, id, want.count()), want)
}
