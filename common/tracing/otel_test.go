package tracing

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/streadway/amqp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	oteltrace "go.opentelemetry.io/otel/trace"
)

// newTestOTel is the otel mode's tracer with an in-memory exporter, and a function that
// closes the tracer and returns the spans it exported and the log it wrote.
func newTestOTel(t *testing.T) (opentracing.Tracer, func() ([]tracetest.SpanStub, string)) {
	t.Helper()
	return newTestOTelEnv(t, map[string]string{})
}

// newTestOTelEnv is newTestOTel with more of the environment given.
func newTestOTelEnv(t *testing.T, env map[string]string) (opentracing.Tracer, func() ([]tracetest.SpanStub, string)) {
	t.Helper()
	env["TRACING_SDK"] = "otel"
	s, err := SettingsFromEnv("otelsvc", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	exporter := keptSpans{tracetest.NewInMemoryExporter()}
	tracer, closer, err := newOTelTracer(s, []otelDestination{{otlpDestination, exporter}}, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = closer.Close() })
	return tracer, func() ([]tracetest.SpanStub, string) {
		if err := closer.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		return exporter.GetSpans(), logs.String()
	}
}

// keptSpans keeps its spans past Shutdown, which the in-memory exporter's would forget.
type keptSpans struct{ *tracetest.InMemoryExporter }

func (keptSpans) Shutdown(context.Context) error { return nil }

func spanNamed(t *testing.T, spans []tracetest.SpanStub, name string) tracetest.SpanStub {
	t.Helper()
	for _, s := range spans {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no span %q among %d", name, len(spans))
	return tracetest.SpanStub{}
}

func TestSettingsFromEnvSDK(t *testing.T) {
	for _, tt := range []struct {
		env     map[string]string
		sdk     string
		wantErr string
	}{
		{env: map[string]string{}, sdk: ""},
		{env: map[string]string{"TRACING_SDK": "jaeger"}, sdk: ""},
		{env: map[string]string{"TRACING_SDK": "otel"}, sdk: SDKOTel},
		{env: map[string]string{"TRACING_SDK": "zipkin"}, wantErr: `TRACING_SDK="zipkin": want jaeger (the default) or otel`},
		{env: map[string]string{"TRACING_SDK": "otel", "OTEL_TRACES_SAMPLER": "xray"}, wantErr: `OTEL_TRACES_SAMPLER="xray"`},
		{env: map[string]string{"TRACING_SDK": "otel", "JAEGER_SAMPLER_TYPE": "remote"}, wantErr: `JAEGER_SAMPLER_TYPE="remote"`},
	} {
		s, err := SettingsFromEnv("svc", func(k string) string { return tt.env[k] })
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%v: err %v, want one with %q", tt.env, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("%v: %v", tt.env, err)
		case s.SDK != tt.sdk || (s.SDK == SDKOTel) != (s.OTelSampler != nil):
			t.Errorf("%v: SDK %q sampler %v, want SDK %q", tt.env, s.SDK, s.OTelSampler, tt.sdk)
		}
	}
}

// TestOTelSampler: the OTEL_ variables first, else the JAEGER_ ones mapped.
func TestOTelSampler(t *testing.T) {
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "ParentBased{root:AlwaysOnSampler"},
		{map[string]string{"JAEGER_SAMPLER_PARAM": "0"}, "ParentBased{root:AlwaysOffSampler"},
		{map[string]string{"JAEGER_SAMPLER_TYPE": "probabilistic", "JAEGER_SAMPLER_PARAM": "0.5"}, "TraceIDRatioBased{0.5}"},
		{map[string]string{"JAEGER_SAMPLER_PARAM": "0", "OTEL_TRACES_SAMPLER": "always_on"}, "ParentBased{root:AlwaysOnSampler"},
		{map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"}, "TraceIDRatioBased{0.25}"},
	} {
		tt.env["TRACING_SDK"] = "otel"
		s, err := SettingsFromEnv("svc", func(k string) string { return tt.env[k] })
		if err != nil {
			t.Fatalf("%v: %v", tt.env, err)
		}
		if got := s.OTelSampler.Description(); !strings.Contains(got, tt.want) {
			t.Errorf("%v: sampler %s, want %s", tt.env, got, tt.want)
		}
	}
}

// TestOTelCloseLogsCounts: the same "tracer closed" line as the jaeger mode, every span
// reported.
func TestOTelCloseLogsCounts(t *testing.T) {
	tracer, finish := newTestOTel(t)
	root := tracer.StartSpan("root")
	child := tracer.StartSpan("child", opentracing.ChildOf(root.Context()))
	child.Finish()
	root.Finish()
	spans, logs := finish()
	if len(spans) != 2 {
		t.Errorf("%d spans exported, want 2", len(spans))
	}
	want := "tracer closed: spans reported 2, dropped 0, unconfirmed 0"
	if !strings.Contains(logs, want) || !strings.Contains(logs, "spans.otlp.reported=2") || !strings.Contains(logs, "spans.finished=2") {
		t.Errorf("log %q, want %q with spans.otlp.reported=2 and spans.finished=2", logs, want)
	}
}

// TestOTelIDs: IDs and SpanIDs read the bridge's span context, 32 and 16 hex digits.
func TestOTelIDs(t *testing.T) {
	tracer, _ := newTestOTel(t)
	span := tracer.StartSpan("root")
	defer span.Finish()
	traceID, spanID := IDs(opentracing.ContextWithSpan(context.Background(), span))
	sc := span.Context().(otelSpanContext)
	if traceID != sc.TraceID().String() || len(traceID) != 32 || spanID != sc.SpanID().String() || len(spanID) != 16 {
		t.Errorf("IDs = %q, %q; want %s, %s", traceID, spanID, sc.TraceID(), sc.SpanID())
	}
	if !isSampled(span) {
		t.Error("isSampled = false for a sampled otel span")
	}
}

// TestOTelConsumerKeepsTrace: the consumer span stays in the producer's trace, its parent
// the producer span, with a follows_from link to it, and the baggage rides along.
func TestOTelConsumerKeepsTrace(t *testing.T) {
	tracer, finish := newTestOTel(t)
	root := tracer.StartSpan("root")
	root.SetBaggageItem("tenant", "acme")
	headers := amqp.Table{}
	producer := StartProducer(opentracing.ContextWithSpan(context.Background(), root), "vip", headers)
	producer.Finish()
	consumer, _ := StartConsumer(context.Background(), tracer, "vip", headers)
	consumer.Finish()
	root.Finish()
	spans, _ := finish()

	p, c := spanNamed(t, spans, "publish vip"), spanNamed(t, spans, "consume vip")
	if c.SpanContext.TraceID() != p.SpanContext.TraceID() || c.Parent.SpanID() != p.SpanContext.SpanID() {
		t.Errorf("consumer in trace %s parent %s, want trace %s parent %s",
			c.SpanContext.TraceID(), c.Parent.SpanID(), p.SpanContext.TraceID(), p.SpanContext.SpanID())
	}
	if len(c.Links) != 1 || c.Links[0].SpanContext.SpanID() != p.SpanContext.SpanID() ||
		!hasAttr(c.Links[0].Attributes, "ot-span-reference-type", "follows-from-ref") {
		t.Errorf("consumer links %+v, want one follows_from link to the producer", c.Links)
	}
	if p.SpanKind != oteltrace.SpanKindProducer || c.SpanKind != oteltrace.SpanKindConsumer {
		t.Errorf("kinds %v, %v; want producer, consumer", p.SpanKind, c.SpanKind)
	}
	if !hasAttr(c.Attributes, "baggage.tenant", "acme") {
		t.Errorf("consumer attributes %v, want baggage.tenant=acme", c.Attributes)
	}
}

func hasAttr(attrs []attribute.KeyValue, k string, v any) bool {
	for _, a := range attrs {
		if string(a.Key) == k {
			return a.Value.AsInterface() == v
		}
	}
	return false
}

// TestOTelClientAndServerSpans: span.kind reaches OpenTelemetry as the span's kind on both
// sides, the W3C, B3 and Jaeger headers are written, and the server continues the trace.
func TestOTelClientAndServerSpans(t *testing.T) {
	tracer, finish := newTestOTel(t)
	var seen http.Header
	server := httptest.NewServer(Middleware(tracer)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Clone()
		if opentracing.SpanFromContext(r.Context()).BaggageItem("tenant") != "acme" {
			t.Error("server span without the caller's baggage")
		}
		w.WriteHeader(http.StatusNotFound)
	})))
	defer server.Close()

	root := tracer.StartSpan("root")
	root.SetBaggageItem("tenant", "acme")
	ctx := opentracing.ContextWithSpan(context.Background(), root)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, server.URL+"/x", nil)
	resp, err := (&http.Client{Transport: Transport(http.DefaultTransport, "peer")}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	root.Finish()
	server.Close()
	spans, _ := finish()

	for _, h := range []string{"Traceparent", "Baggage", "Uber-Trace-Id", "Uberctx-Tenant", "X-B3-Traceid", "X-B3-Spanid", "X-B3-Sampled"} {
		if seen.Get(h) == "" {
			t.Errorf("request without %s: %v", h, seen)
		}
	}
	client, srv := spanNamed(t, spans, "GET peer"), spanNamed(t, spans, "HTTP GET")
	if client.SpanKind != oteltrace.SpanKindClient || srv.SpanKind != oteltrace.SpanKindServer {
		t.Errorf("kinds %v, %v; want client, server", client.SpanKind, srv.SpanKind)
	}
	if srv.Parent.SpanID() != client.SpanContext.SpanID() || srv.SpanContext.TraceID() != client.SpanContext.TraceID() {
		t.Errorf("server span's parent %s, want the client span %s", srv.Parent.SpanID(), client.SpanContext.SpanID())
	}
	// A 4xx leaves the status unset without a literal otel.status_code attribute.
	if client.Status.Code != codes.Unset || hasAttr(client.Attributes, otelStatusCode, "UNSET") {
		t.Errorf("client span of a 404: status %v, attributes %v", client.Status, client.Attributes)
	}
}

// TestOTelError: error=true, set after start or at start, is the span's Error status,
// which Jaeger shows as error=true; the error event keeps its message.
func TestOTelError(t *testing.T) {
	tracer, finish := newTestOTel(t)
	span := tracer.StartSpan("failing")
	SetError(span, errors.New("boom"))
	span.Finish()
	atStart := tracer.StartSpan("failing at start", opentracing.Tag{Key: "error", Value: true})
	atStart.Finish()
	spans, _ := finish()
	for _, name := range []string{"failing", "failing at start"} {
		if s := spanNamed(t, spans, name); s.Status.Code != codes.Error {
			t.Errorf("%s: status %v, want Error", name, s.Status)
		}
	}
	s := spanNamed(t, spans, "failing")
	if len(s.Events) != 1 || !hasAttr(s.Events[0].Attributes, "message", "boom") {
		t.Errorf("events %+v, want one with message=boom", s.Events)
	}
}

var _ sdktrace.SpanExporter = keptSpans{}

// TestRemoveTracingHeadersW3C: the otel mode's W3C headers go too, in any case.
func TestRemoveTracingHeadersW3C(t *testing.T) {
	hdr := http.Header{"Traceparent": {"00-1-2-01"}, "tracestate": {"a=b"}, "Baggage": {"k=v"}, "Accept": {"*/*"}}
	RemoveTracingHeaders(hdr)
	if len(hdr) != 1 || hdr.Get("Accept") == "" {
		t.Errorf("RemoveTracingHeaders left %v, want Accept only", hdr)
	}
}

// TestFollowsFromOptions: FOLLOWS_FROM only in the jaeger mode, ChildOf beside it in the
// otel mode, where the span then stays in the trace of sc.
func TestFollowsFromOptions(t *testing.T) {
	if got := FollowsFrom(opentracing.NoopTracer{}, nil); len(got) != 1 {
		t.Errorf("jaeger mode: %d options, want FollowsFrom only", len(got))
	}
	tracer, finish := newTestOTel(t)
	cause := tracer.StartSpan("cause")
	cause.Finish()
	later := tracer.StartSpan("later", FollowsFrom(tracer, cause.Context())...)
	later.Finish()
	spans, _ := finish()
	c, l := spanNamed(t, spans, "cause"), spanNamed(t, spans, "later")
	if l.SpanContext.TraceID() != c.SpanContext.TraceID() || l.Parent.SpanID() != c.SpanContext.SpanID() || len(l.Links) != 1 {
		t.Errorf("later: trace %s parent %s links %d; want trace %s parent %s and one link",
			l.SpanContext.TraceID(), l.Parent.SpanID(), len(l.Links), c.SpanContext.TraceID(), c.SpanContext.SpanID())
	}
}

// TestOTLPEndpoint: the OTEL_ variables first (the exporter reads them), else
// JAEGER_ENDPOINT's host on Jaeger's OTLP port, else localhost.
func TestOTLPEndpoint(t *testing.T) {
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, DefaultOTLPEndpoint},
		{map[string]string{"JAEGER_ENDPOINT": "http://jaeger:14268/api/traces"}, "http://jaeger:4318/v1/traces"},
		{map[string]string{"JAEGER_ENDPOINT": "http://jaeger:14268/api/traces", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, ""},
	} {
		tt.env["TRACING_SDK"] = "otel"
		s, err := SettingsFromEnv("svc", func(k string) string { return tt.env[k] })
		if err != nil || s.OTLPEndpoint != tt.want {
			t.Errorf("%v: OTLPEndpoint %q (%v), want %q", tt.env, s.OTLPEndpoint, err, tt.want)
		}
	}
}

// TestOTelBaggageWithoutTrace: a request with baggage and no trace starts a new trace that
// keeps the baggage (the bridge alone loses it), checked like any other.
func TestOTelBaggageWithoutTrace(t *testing.T) {
	tracer, finish := newTestOTel(t)
	var got string
	handler := Middleware(tracer)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = opentracing.SpanFromContext(r.Context()).BaggageItem("fault")
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("uberctx-fault", "slow-quote%3D300ms")
	req.Header.Set("uberctx-bad key", "x")
	handler.ServeHTTP(httptest.NewRecorder(), req)
	spans, _ := finish()
	if got != "slow-quote=300ms" {
		t.Errorf("baggage fault = %q, want slow-quote=300ms", got)
	}
	if s := spanNamed(t, spans, "HTTP GET"); !hasAttr(s.Attributes, "baggage.fault", "slow-quote=300ms") {
		t.Errorf("server span attributes %v, want baggage.fault", s.Attributes)
	}
}

// TestOTelIDs64Bit: a 64-bit trace id from a Jaeger caller comes back in 16 digits, as the
// caller and Jaeger's API print it.
func TestOTelIDs64Bit(t *testing.T) {
	tracer, _ := newTestOTel(t)
	parent, err := tracer.Extract(opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(http.Header{"Uber-Trace-Id": {"fa45d87746316159:1:0:1"}}))
	if err != nil {
		t.Fatal(err)
	}
	span := tracer.StartSpan("child", opentracing.ChildOf(parent))
	defer span.Finish()
	if traceID, _ := SpanIDs(span); traceID != "fa45d87746316159" {
		t.Errorf("trace id %q, want fa45d87746316159", traceID)
	}
}

// TestOTelDebugID: jaeger-debug-id records the trace even when the sampler samples nothing.
func TestOTelDebugID(t *testing.T) {
	s, err := SettingsFromEnv("otelsvc", func(k string) string {
		return map[string]string{"TRACING_SDK": "otel", "JAEGER_SAMPLER_PARAM": "0"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	exporter := keptSpans{tracetest.NewInMemoryExporter()}
	tracer, closer, err := newOTelTracer(s, []otelDestination{{otlpDestination, exporter}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	handler := Middleware(tracer)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for _, debug := range []string{"", "lab7"} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		if debug != "" {
			req.Header.Set("jaeger-debug-id", debug)
		}
		handler.ServeHTTP(httptest.NewRecorder(), req)
	}
	_ = closer.Close()
	spans := exporter.GetSpans()
	if len(spans) != 1 || !hasAttr(spans[0].Attributes, "jaeger-debug-id", "lab7") {
		t.Errorf("%d spans recorded, want the debug request's only", len(spans))
	}
}
