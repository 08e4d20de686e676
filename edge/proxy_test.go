package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/opentracing/opentracing-go/mocktracer"

	"tracelab/common/faults"
	"tracelab/common/logging"
	"tracelab/common/respond"
	"tracelab/common/tracing"
	"tracelab/internal/servicetest"
)

// upstreamRequest is what the fake accountservice saw of a forwarded request.
type upstreamRequest struct {
	method, host, escapedPath, rawQuery string
	header                              http.Header
}

// fakeAccountService stands in for accountservice, which is another program with a
// database: it records what the edge forwarded and answers with answer.
type fakeAccountService struct {
	*httptest.Server
	requests chan upstreamRequest // a channel, so the test reads what the server goroutine wrote
}

func newFakeAccountService(t *testing.T, answer http.Handler) *fakeAccountService {
	t.Helper()
	f := &fakeAccountService{requests: make(chan upstreamRequest, 16)}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests <- upstreamRequest{
			method:      r.Method,
			host:        r.Host,
			escapedPath: r.URL.EscapedPath(),
			rawQuery:    r.URL.RawQuery,
			header:      r.Header.Clone(),
		}
		answer.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

// lastRequest returns the request the fake received; the edge has answered by the time a
// test asks, so the request is there or was never sent.
func (f *fakeAccountService) lastRequest(t *testing.T) upstreamRequest {
	t.Helper()
	select {
	case r := <-f.requests:
		return r
	default:
		t.Fatal("fake accountservice received no request")
		return upstreamRequest{}
	}
}

// answerAccount answers like accountservice: the account named by the last path segment.
func answerAccount() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		respond.JSON(w, http.StatusOK, map[string]string{"id": path.Base(r.URL.Path)})
	})
}

// newTestEdge is the edge's handler with its real route table in front of upstream.
func newTestEdge(t *testing.T, log *slog.Logger, tracer opentracing.Tracer, upstream string, timeout time.Duration) http.Handler {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatalf("url.Parse(%q) = %v", upstream, err)
	}
	return newServer(log, tracer, faults.NewSwitch(true, nil), routeTable(u, u), timeout)
}

// do serves req and returns the answer. The handler has returned, and every span it
// started is finished, when do returns.
func do(h http.Handler, req *http.Request) *http.Response {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

// errorMessage decodes a JSON error body, failing the test on anything else.
func errorMessage(t *testing.T, resp *http.Response) string {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var body struct {
		Error string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decoding error body: %v", err)
	}
	return body.Error
}

// findSpan returns the finished span named op.
func findSpan(t *testing.T, tracer *mocktracer.MockTracer, op string) *mocktracer.MockSpan {
	t.Helper()
	var names []string
	for _, s := range tracer.FinishedSpans() {
		if s.OperationName == op {
			return s
		}
		names = append(names, s.OperationName)
	}
	t.Fatalf("no finished span %q; finished: %q", op, names)
	return nil
}

func TestProxyRewritesRequest(t *testing.T) {
	tests := []struct {
		name      string
		basePath  string // appended to the fake's URL in ACCOUNTSERVICE_URL
		target    string
		wantPath  string
		wantQuery string
	}{
		{"id", "", "/api/accounts/10000", "/accounts/10000", ""},
		{"query kept", "", "/api/accounts/10000?expand=quote&lang=de%20ch", "/accounts/10000", "expand=quote&lang=de%20ch"},
		{"escaped slash stays escaped", "", "/api/accounts/a%2Fb", "/accounts/a%2Fb", ""},
		{"base path of ACCOUNTSERVICE_URL in front", "/v1", "/api/accounts/10000?x=1", "/v1/accounts/10000", "x=1"},
		{"a picture, to imageservice", "", "/api/images/file/sunset.png?filter=grayscale", "/file/sunset.png", "filter=grayscale"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			upstream := newFakeAccountService(t, answerAccount())
			edge := newTestEdge(t, logging.Discard(), mocktracer.New(), upstream.URL+tt.basePath, time.Second)

			req := httptest.NewRequest(http.MethodGet, "https://edge.example"+tt.target, nil)
			req.Header.Set("X-Forwarded-For", "203.0.113.66") // forged by the client
			req.Header.Set("X-Forwarded-Host", "forged.example")
			resp := do(edge, req)

			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: status = %d, want 200", tt.target, resp.StatusCode)
			}
			got := upstream.lastRequest(t)
			if got.escapedPath != tt.wantPath || got.rawQuery != tt.wantQuery {
				t.Errorf("GET %s forwarded as %s?%s, want %s?%s", tt.target, got.escapedPath, got.rawQuery, tt.wantPath, tt.wantQuery)
			}
			upstreamHost := strings.TrimPrefix(upstream.URL, "http://")
			for _, h := range []struct{ name, got, want string }{
				{"method", got.method, http.MethodGet},
				{"Host", got.host, upstreamHost},
				{"X-Forwarded-For", strings.Join(got.header.Values("X-Forwarded-For"), ","), "192.0.2.1"},
				{"X-Forwarded-Host", got.header.Get("X-Forwarded-Host"), "edge.example"},
				{"X-Forwarded-Proto", got.header.Get("X-Forwarded-Proto"), "https"},
			} {
				if h.got != h.want {
					t.Errorf("GET %s: upstream saw %s %q, want %q", tt.target, h.name, h.got, h.want)
				}
			}
		})
	}
}

func TestProxyReplacesClientTraceHeaders(t *testing.T) {
	tracer := mocktracer.New()
	upstream := newFakeAccountService(t, answerAccount())
	edge := newTestEdge(t, logging.Discard(), tracer, upstream.URL, time.Second)

	// The caller is traced too: the edge continues its trace. The stale headers of another
	// tracer must not reach accountservice, where they would start a second, wrong trace.
	caller := tracer.StartSpan("caller")
	req := httptest.NewRequest(http.MethodGet, "https://edge.example/api/accounts/10000", nil)
	if err := tracer.Inject(caller.Context(), opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(req.Header)); err != nil {
		t.Fatalf("Inject = %v", err)
	}
	req.Header.Set("Uber-Trace-Id", "1:2:0:1")
	req.Header.Set("X-B3-Traceid", "0000000000000001")
	caller.Finish()
	do(edge, req)

	got := upstream.lastRequest(t)
	server := findSpan(t, tracer, "GET /api/accounts/{id...}")
	client := findSpan(t, tracer, "GET accountservice")
	callerCtx := caller.Context().(mocktracer.MockSpanContext)
	clientCtx := client.Context().(mocktracer.MockSpanContext)

	if server.ParentID != callerCtx.SpanID || server.SpanContext.TraceID != callerCtx.TraceID {
		t.Errorf("server span trace %d parent %d, want the caller's trace %d parent %d",
			server.SpanContext.TraceID, server.ParentID, callerCtx.TraceID, callerCtx.SpanID)
	}
	for _, h := range []struct{ name, want string }{
		{"Mockpfx-Ids-Traceid", strconv.Itoa(callerCtx.TraceID)},
		{"Mockpfx-Ids-Spanid", strconv.Itoa(clientCtx.SpanID)},
	} {
		if vals := got.header.Values(h.name); len(vals) != 1 || vals[0] != h.want {
			t.Errorf("upstream saw %s %q, want [%q] (the edge's client span)", h.name, vals, h.want)
		}
	}
	for _, h := range []string{"Uber-Trace-Id", "X-B3-Traceid"} {
		if v := got.header.Get(h); v != "" {
			t.Errorf("upstream saw the client's %s %q, want it removed", h, v)
		}
	}
}

func TestProxySpans(t *testing.T) {
	tracer := mocktracer.New()
	upstream := newFakeAccountService(t, answerAccount())
	edge := newTestEdge(t, logging.Discard(), tracer, upstream.URL, time.Second)

	resp := do(edge, httptest.NewRequest(http.MethodGet, "https://edge.example/api/accounts/10000", nil))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/accounts/10000: status = %d, want 200", resp.StatusCode)
	}

	server := findSpan(t, tracer, "GET /api/accounts/{id...}")
	client := findSpan(t, tracer, "GET accountservice")
	if client.ParentID != server.SpanContext.SpanID || client.SpanContext.TraceID != server.SpanContext.TraceID {
		t.Errorf("client span trace %d parent %d, want ChildOf server span (trace %d, span %d)",
			client.SpanContext.TraceID, client.ParentID, server.SpanContext.TraceID, server.SpanContext.SpanID)
	}
	tests := []struct {
		span *mocktracer.MockSpan
		tag  string
		want any
	}{
		{server, string(ext.SpanKind), ext.SpanKindRPCServerEnum},
		{server, string(ext.HTTPStatusCode), uint16(http.StatusOK)},
		{client, string(ext.SpanKind), ext.SpanKindRPCClientEnum},
		{client, string(ext.PeerService), "accountservice"},
		{client, string(ext.HTTPStatusCode), uint16(http.StatusOK)},
		{server, string(ext.Error), nil},
		{client, string(ext.Error), nil},
	}
	for _, tt := range tests {
		if got := tt.span.Tag(tt.tag); got != tt.want {
			t.Errorf("span %q tag %s = %v, want %v", tt.span.OperationName, tt.tag, got, tt.want)
		}
	}
}

func TestProxyUpstreamFailures(t *testing.T) {
	tests := []struct {
		name       string
		upstream   func(t *testing.T) string // the URL of accountservice
		timeout    time.Duration
		wantStatus int
		wantError  string
	}{
		{
			name: "upstream down",
			upstream: func(t *testing.T) string {
				down := newFakeAccountService(t, answerAccount())
				down.Close() // nothing listens there any more: connection refused
				return down.URL
			},
			timeout:    time.Second,
			wantStatus: http.StatusBadGateway,
			wantError:  "accountservice unavailable",
		},
		{
			name: "upstream slower than the timeout",
			upstream: func(t *testing.T) string {
				slow := newFakeAccountService(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					select {
					case <-r.Context().Done(): // the edge gave up and hung up
					case <-time.After(10 * time.Second):
					}
				}))
				return slow.URL
			},
			timeout:    50 * time.Millisecond,
			wantStatus: http.StatusGatewayTimeout,
			wantError:  "accountservice timed out",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tracer := mocktracer.New()
			edge := newTestEdge(t, logging.Discard(), tracer, tt.upstream(t), tt.timeout)

			resp := do(edge, httptest.NewRequest(http.MethodGet, "https://edge.example/api/accounts/10000", nil))

			if resp.StatusCode != tt.wantStatus {
				t.Errorf("GET /api/accounts/10000: status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if got := errorMessage(t, resp); got != tt.wantError {
				t.Errorf("GET /api/accounts/10000: error = %q, want %q", got, tt.wantError)
			}
			for _, op := range []string{"GET accountservice", "GET /api/accounts/{id...}"} {
				if got := findSpan(t, tracer, op).Tag(string(ext.Error)); got != true {
					t.Errorf("span %q tag error = %v, want true", op, got)
				}
			}
		})
	}
}

func TestProxyClientGoneIsNoError(t *testing.T) {
	arrived := make(chan struct{})
	upstream := newFakeAccountService(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	}))
	var logs bytes.Buffer
	tracer := mocktracer.New()
	edge := newTestEdge(t, logging.New(serviceName, &logs, slog.LevelDebug), tracer, upstream.URL, 10*time.Second)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-arrived
		cancel() // the client hangs up while accountservice is still working
	}()
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "https://edge.example/api/accounts/10000", nil)
	resp := do(edge, req)

	if resp.StatusCode != statusClientClosedRequest {
		t.Errorf("GET /api/accounts/10000, client gone: status = %d, want %d", resp.StatusCode, statusClientClosedRequest)
	}
	if got := findSpan(t, tracer, "GET /api/accounts/{id...}").Tag(string(ext.Error)); got != nil {
		t.Errorf("server span tag error = %v, want none", got)
	}
	var sawDebug bool
	for _, line := range logLines(t, logs.String()) {
		if line["log.level"] == "error" || line["log.level"] == "warn" {
			t.Errorf("log line %v, want nothing above info for a client that went away", line)
		}
		sawDebug = sawDebug || (line["message"] == "client went away" && line["log.level"] == "debug")
	}
	if !sawDebug {
		t.Errorf("logs %s, want a debug line \"client went away\"", logs.String())
	}
}

// logLines decodes JSON log lines.
func logLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		lines = append(lines, m)
	}
	return lines
}

func TestProxyAnswersOneTraceID(t *testing.T) {
	// accountservice runs the same middleware as the edge and continues its trace, so it
	// answers with its own X-Trace-Id: the same id, which must not reach the caller twice.
	upstreamTraceID := make(chan string, 1)
	upstream := newFakeAccountService(t, tracing.Middleware(servicetest.JaegerTracer(t, "accountservice"))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			upstreamTraceID <- w.Header().Get(tracing.TraceIDHeader)
			answerAccount().ServeHTTP(w, r)
		})))
	edge := newTestEdge(t, logging.Discard(), servicetest.JaegerTracer(t, serviceName), upstream.URL, time.Second)

	resp := do(edge, httptest.NewRequest(http.MethodGet, "https://edge.example/api/accounts/10000", nil))

	got := resp.Header.Values(tracing.TraceIDHeader)
	fromUpstream := <-upstreamTraceID
	if fromUpstream == "" {
		t.Fatalf("fake accountservice set no %s; the test proves nothing", tracing.TraceIDHeader)
	}
	if len(got) != 1 || got[0] != fromUpstream {
		t.Errorf("%s = %q, want exactly [%q], the trace both services are in", tracing.TraceIDHeader, got, fromUpstream)
	}
	// uber-trace-id is trace:span:parent:flags; the trace part is the id itself.
	uberTraceID := upstream.lastRequest(t).header.Get("Uber-Trace-Id")
	if traceID, _, _ := strings.Cut(uberTraceID, ":"); len(got) == 0 || traceID != got[0] {
		t.Errorf("upstream saw uber-trace-id %q, want it in trace %v", uberTraceID, got)
	}
}

func TestUpstreamErrorIsLoggedWithTraceID(t *testing.T) {
	down := newFakeAccountService(t, answerAccount())
	down.Close()
	var logs bytes.Buffer
	edge := newTestEdge(t, logging.New(serviceName, &logs, slog.LevelInfo), servicetest.JaegerTracer(t, serviceName), down.URL, time.Second)

	resp := do(edge, httptest.NewRequest(http.MethodGet, "https://edge.example/api/accounts/10000", nil))

	traceID := resp.Header.Get(tracing.TraceIDHeader)
	if traceID == "" {
		t.Fatalf("%s missing from a 502", tracing.TraceIDHeader)
	}
	for _, line := range logLines(t, logs.String()) {
		if line["message"] == "upstream unavailable" {
			if line["trace.id"] != traceID || line["log.level"] != "error" {
				t.Errorf("log line %v, want log.level error and trace.id %q", line, traceID)
			}
			if msg, _ := line["err"].(string); !strings.Contains(msg, "connection refused") {
				t.Errorf("log line err = %q, want the cause (connection refused)", msg)
			}
			return
		}
	}
	t.Errorf("logs %s, want a line \"upstream unavailable\"", logs.String())
}

func TestBufferPool(t *testing.T) {
	pool := newBufferPool()
	b := pool.Get()
	if len(b) != bufferSize {
		t.Fatalf("Get() returned %d bytes, want %d", len(b), bufferSize)
	}
	pool.Put(b)
	pool.Put(make([]byte, 10)) // not one of ours: dropped, not a panic
	if b := pool.Get(); len(b) != bufferSize {
		t.Errorf("Get() after Put returned %d bytes, want %d", len(b), bufferSize)
	}
}

// discardWriter is a ResponseWriter that throws the body away, so the benchmark measures
// the proxy and not a recorder growing its buffer.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkProxy shows what the buffer pool saves: run with -benchmem and compare B/op.
func BenchmarkProxy(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 64<<10)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(body)
	}))
	defer upstream.Close()
	u, _ := url.Parse(upstream.URL)
	rt := routeTable(u, u)[0]

	for _, bench := range []struct {
		name string
		pool httputil.BufferPool
	}{{"BufferPool", newBufferPool()}, {"no BufferPool", nil}} {
		b.Run(bench.name, func(b *testing.B) {
			proxy := newProxy(logging.Discard(), rt, bench.pool)
			req := httptest.NewRequest(http.MethodGet, "https://edge.example/api/accounts/10000", nil)
			b.ReportAllocs()
			for b.Loop() {
				proxy.ServeHTTP(&discardWriter{h: http.Header{}}, req)
			}
		})
	}
}

// failingBody is a request body that gives some bytes, then fails with err, as a client's
// body does when it is broken off, mangled or too slow.
type failingBody struct {
	data string
	err  error
}

func (b *failingBody) Read(p []byte) (int, error) {
	if b.data == "" {
		return 0, b.err
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	return n, nil
}

func (b *failingBody) Close() error { return nil }

// TestProxyBlamesTheClientForItsBody: should a route take a body, a body that cannot be
// read is the client's fault, a 400, however the transport reports it: not the 502 or
// 504 that blame the upstream.
func TestProxyBlamesTheClientForItsBody(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{"shorter than its Content-Length", io.ErrUnexpectedEOF},
		{"a bad chunk size", errors.New("invalid byte in chunk length")},
		{"slower than the ReadTimeout", &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// accountservice reads the whole body before it answers, as a route taking one would.
			upstream := newFakeAccountService(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if _, err := io.Copy(io.Discard, r.Body); err != nil {
					return // the edge broke the request off
				}
				answerAccount().ServeHTTP(w, r)
			}))
			u, _ := url.Parse(upstream.URL)
			tracer := mocktracer.New()
			proxy := tracing.Middleware(tracer)(handleProxy(newProxy(logging.Discard(), routeTable(u, u)[0], nil), 10*time.Second))

			req := httptest.NewRequest(http.MethodPost, "https://edge.example/api/accounts/10000", &failingBody{data: "abc", err: tt.err})
			req.ContentLength = 100
			resp := do(proxy, req)

			if got := errorMessage(t, resp); resp.StatusCode != http.StatusBadRequest || got != "the request body could not be read" {
				t.Errorf("POST with a body %s = %d %q, want 400 %q", tt.name, resp.StatusCode, got, "the request body could not be read")
			}
			if got := findSpan(t, tracer, "HTTP POST").Tag(string(ext.Error)); got != nil {
				t.Errorf("server span tag error = %v, want none: the client failed, not the edge", got)
			}
		})
	}
}
