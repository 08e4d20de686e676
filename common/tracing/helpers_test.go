package tracing

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sync"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/uber/jaeger-client-go"
	"github.com/uber/jaeger-client-go/thrift"
	j "github.com/uber/jaeger-client-go/thrift-gen/jaeger"
	"github.com/uber/jaeger-client-go/thrift-gen/zipkincore"
)

// fakeCollector stands in for the Jaeger collector's HTTP endpoint (/api/traces), which
// does not run inside `go test`. It decodes the Thrift batches the real reporter posts, so
// a test can see which spans were recorded and which were not.
type fakeCollector struct {
	srv *httptest.Server

	mu      sync.Mutex
	service string
	spans   []*j.Span
	batches []int // spans per POST
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
		c.batches = append(c.batches, len(batch.Spans))
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
	closer    *Closer
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

// batchSizes returns how many spans each POST carried, in order.
func (c *fakeCollector) batchSizes() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.batches)
}

// fakeZipkin stands in for the Zipkin span endpoints, POST /api/v1/spans and
// /api/v2/spans, which the Zipkin server and Jaeger's Zipkin receiver both serve and which
// do not run inside `go test`. It decodes what the reporters post, Zipkin v1 spans as a
// Thrift list (the jaeger mode) or v2 spans as JSON (the otel mode), and refuses anything
// else the way they would.
type fakeZipkin struct {
	srv *httptest.Server

	mu      sync.Mutex
	spans   []*zipkincore.Span
	v2Spans []zipkinV2Span
	errs    []error
}

// zipkinV2Span is the part of a Zipkin v2 span that the tests read.
type zipkinV2Span struct {
	TraceID       string `json:"traceId"`
	ID            string `json:"id"`
	ParentID      string `json:"parentId"`
	Name          string `json:"name"`
	Kind          string `json:"kind"`
	LocalEndpoint struct {
		ServiceName string `json:"serviceName"`
	} `json:"localEndpoint"`
	Tags map[string]string `json:"tags"`
}

func newFakeZipkin(t testing.TB) *fakeZipkin {
	t.Helper()
	z := &fakeZipkin{}
	z.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var spans []*zipkincore.Span
		var v2 []zipkinV2Span
		var err error
		if r.URL.Path == "/api/v2/spans" {
			v2, err = decodeZipkinV2(r)
		} else {
			spans, err = decodeZipkinV1(r)
		}
		z.mu.Lock()
		defer z.mu.Unlock()
		if err != nil {
			z.errs = append(z.errs, err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		z.spans = append(z.spans, spans...)
		z.v2Spans = append(z.v2Spans, v2...)
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(z.srv.Close)
	return z
}

func decodeZipkinV2(r *http.Request) ([]zipkinV2Span, error) {
	if r.Method != http.MethodPost {
		return nil, fmt.Errorf("%s %s, want POST", r.Method, r.URL.Path)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		return nil, fmt.Errorf("Content-Type %q, want application/json", ct)
	}
	var spans []zipkinV2Span
	if err := json.NewDecoder(r.Body).Decode(&spans); err != nil {
		return nil, err
	}
	return spans, nil
}

// receivedV2 returns the v2 spans posted so far, failing the test on a request it refused.
func (z *fakeZipkin) receivedV2(t testing.TB) []zipkinV2Span {
	t.Helper()
	z.mu.Lock()
	defer z.mu.Unlock()
	for _, err := range z.errs {
		t.Errorf("fakeZipkin refused a POST: %v", err)
	}
	return slices.Clone(z.v2Spans)
}

func decodeZipkinV1(r *http.Request) ([]*zipkincore.Span, error) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/spans" {
		return nil, fmt.Errorf("%s %s, want POST /api/v1/spans", r.Method, r.URL.Path)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-thrift" {
		return nil, fmt.Errorf("Content-Type %q, want application/x-thrift", ct)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	buf := thrift.NewTMemoryBuffer()
	_, _ = buf.Write(body)
	p := thrift.NewTBinaryProtocolTransport(buf)
	_, n, err := p.ReadListBegin(r.Context())
	if err != nil {
		return nil, err
	}
	spans := make([]*zipkincore.Span, n)
	for i := range spans {
		spans[i] = zipkincore.NewSpan()
		if err := spans[i].Read(r.Context(), p); err != nil {
			return nil, fmt.Errorf("span %d of %d: %w", i, n, err)
		}
	}
	return spans, p.ReadListEnd(r.Context())
}

// endpoint is the URL to put in ZIPKIN_ENDPOINT.
func (z *fakeZipkin) endpoint() string { return z.srv.URL + "/api/v1/spans" }

// received returns the spans posted so far, failing the test on a request it refused.
func (z *fakeZipkin) received(t testing.TB) []*zipkincore.Span {
	t.Helper()
	z.mu.Lock()
	defer z.mu.Unlock()
	for _, err := range z.errs {
		t.Errorf("fakeZipkin refused a POST: %v", err)
	}
	return slices.Clone(z.spans)
}

// logLine is one JSON line written by a slog.JSONHandler.
type logLine struct {
	Level, Msg string
	Attrs      map[string]any
}

// jsonLog is a logger writing JSON lines, and a function returning those lines so far.
func jsonLog(t testing.TB) (*slog.Logger, func() []logLine) {
	var mu sync.Mutex
	var buf bytes.Buffer
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return buf.Write(p) })
	lines := func() []logLine {
		mu.Lock()
		defer mu.Unlock()
		var out []logLine
		for _, raw := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
			if len(raw) == 0 {
				continue
			}
			var attrs map[string]any
			if err := json.Unmarshal(raw, &attrs); err != nil {
				t.Fatalf("log line %q is not JSON: %v", raw, err)
			}
			out = append(out, logLine{Level: fmt.Sprint(attrs["level"]), Msg: fmt.Sprint(attrs["msg"]), Attrs: attrs})
		}
		return out
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})), lines
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

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
	return serveWith(t, tracer, h)
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
