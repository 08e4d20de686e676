package tracing

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/uber/jaeger-client-go"
	"github.com/uber/jaeger-client-go/thrift"
	j "github.com/uber/jaeger-client-go/thrift-gen/jaeger"
)

// fakeCollector stands in for the Jaeger collector's HTTP endpoint (/api/traces), which
// does not run inside `go test`. It decodes the Thrift batches the real reporter posts, so
// a test can see which spans were recorded and which were not.
type fakeCollector struct {
	srv *httptest.Server

	mu      sync.Mutex
	service string
	spans   []*j.Span
	errs    []error
}

func newFakeCollector(t testing.TB) *fakeCollector {
	t.Helper()
	c := &fakeCollector{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var batch j.Batch
		if err == nil {
			buf := thrift.NewTMemoryBuffer()
			_, _ = buf.Write(body)
			err = batch.Read(r.Context(), thrift.NewTBinaryProtocolTransport(buf))
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if err != nil {
			c.errs = append(c.errs, err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if batch.Process != nil {
			c.service = batch.Process.ServiceName
		}
		c.spans = append(c.spans, batch.Spans...)
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// endpoint is the collector URL to put in JAEGER_ENDPOINT.
func (c *fakeCollector) endpoint() string { return c.srv.URL + "/api/traces" }

// received returns what was posted so far, failing the test on a batch it could not decode.
func (c *fakeCollector) received(t testing.TB) (service string, spans []*j.Span) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, err := range c.errs {
		t.Errorf("fakeCollector could not decode a batch: %v", err)
	}
	return c.service, append([]*j.Span(nil), c.spans...)
}

// realTracer is the tracer a service builds (SettingsFromEnv + New), reporting to a
// fakeCollector.
type realTracer struct {
	opentracing.Tracer
	collector *fakeCollector
	closeOnce sync.Once
	closer    io.Closer
}

// newRealTracer builds the service's tracer from env (JAEGER_ENDPOINT is pointed at a
// fakeCollector unless env sets it).
func newRealTracer(t testing.TB, env map[string]string) *realTracer {
	t.Helper()
	c := newFakeCollector(t)
	getenv := func(k string) string {
		if k == "JAEGER_ENDPOINT" && env[k] == "" {
			return c.endpoint()
		}
		return env[k]
	}
	settings, err := SettingsFromEnv("testservice", getenv)
	if err != nil {
		t.Fatalf("SettingsFromEnv(%v) error: %v", env, err)
	}
	tracer, closer, err := New(settings, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("New(%+v) error: %v", settings, err)
	}
	rt := &realTracer{Tracer: tracer, collector: c, closer: closer}
	t.Cleanup(rt.close)
	return rt
}

func (rt *realTracer) close() { rt.closeOnce.Do(func() { _ = rt.closer.Close() }) }

// recorded closes the tracer, which flushes its reporter, and returns what the collector got.
func (rt *realTracer) recorded(t testing.TB) (service string, spans []*j.Span) {
	t.Helper()
	rt.close()
	return rt.collector.received(t)
}

// thriftTraceID prints a recorded span's trace id the way TraceID.String does.
func thriftTraceID(s *j.Span) string {
	return jaeger.TraceID{High: uint64(s.TraceIdHigh), Low: uint64(s.TraceIdLow)}.String()
}

// thriftTag returns a recorded span's tag value as text, and whether it is there.
func thriftTag(s *j.Span, key string) (string, bool) {
	for _, tag := range s.Tags {
		if tag.Key != key {
			continue
		}
		switch {
		case tag.VStr != nil:
			return *tag.VStr, true
		case tag.VBool != nil:
			return fmt.Sprint(*tag.VBool), true
		case tag.VLong != nil:
			return fmt.Sprint(*tag.VLong), true
		case tag.VDouble != nil:
			return fmt.Sprint(*tag.VDouble), true
		}
		return "", true
	}
	return "", false
}

// jaegerContext is the Jaeger span context of span, failing the test if it has another type.
func jaegerContext(t testing.TB, span opentracing.Span) jaeger.SpanContext {
	t.Helper()
	if span == nil {
		t.Fatal("span = nil, want a Jaeger span")
	}
	sc, ok := span.Context().(jaeger.SpanContext)
	if !ok {
		t.Fatalf("span context is %T, want jaeger.SpanContext", span.Context())
	}
	return sc
}

// serverSpan serves one request with header h through Middleware and returns the
// response and the span context the handler saw in its request context.
func serverSpan(t testing.TB, tracer opentracing.Tracer, h http.Header) (*httptest.ResponseRecorder, jaeger.SpanContext) {
	t.Helper()
	var sc jaeger.SpanContext
	handler := Middleware(tracer)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sc = jaegerContext(t, opentracing.SpanFromContext(r.Context()))
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	for k, vs := range h {
		req.Header[k] = vs
	}
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	return rec, sc
}

// injected writes the context of span (or of sc via the tracer) into fresh HTTP headers,
// the way Transport does for the next hop.
func injected(t testing.TB, tracer opentracing.Tracer, sc opentracing.SpanContext) http.Header {
	t.Helper()
	h := http.Header{}
	if err := tracer.Inject(sc, opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(h)); err != nil {
		t.Fatalf("Inject(%v) error: %v", sc, err)
	}
	return h
}

var hexTraceID = regexp.MustCompile(`^([0-9a-f]{16}|[0-9a-f]{32})$`)

// spanFrom is a context holding span, for the instruments that read it.
func spanFrom(span opentracing.Span) context.Context {
	return opentracing.ContextWithSpan(context.Background(), span)
}
