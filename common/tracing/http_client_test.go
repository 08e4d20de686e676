package tracing

import (
	"context"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"tracelab/common/tracing/tracingtest"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/opentracing/opentracing-go/mocktracer"
)

// staleHeaders are tracing headers a proxy might forward from its own caller.
var staleHeaders = hdrs(
	"uber-trace-id", "1111111111111111:2222222222222222:0:1",
	"uberctx-user", "mallory",
	"jaeger-baggage", "k=v",
	"jaeger-debug-id", "dbg",
	"X-B3-TraceId", "1111111111111111",
	"X-B3-SpanId", "2222222222222222",
	"X-B3-ParentSpanId", "3333333333333333",
	"X-B3-Sampled", "1",
	"X-B3-Flags", "1",
	"b3", "1111111111111111-2222222222222222-1",
	"baggage-user", "mallory",
)

func TestTransport(t *testing.T) {
	tests := []struct {
		name       string
		status     int // answered by the backend; 0: the connection fails
		wantStatus uint16
		wantError  bool
	}{
		{"200", http.StatusOK, 200, false},
		{"404", http.StatusNotFound, 404, false},
		{"500", http.StatusInternalServerError, 500, true},
		{"503", http.StatusServiceUnavailable, 503, true},
		{"connection refused", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var received http.Header
			backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				received = r.Header.Clone()
				w.WriteHeader(tt.status)
			}))
			defer backend.Close()
			url := backend.URL + "/api/quote?strength=4"
			if tt.status == 0 {
				url = "http://" + closedAddr(t) + "/api/quote"
			}

			tracer := tracingtest.New()
			parent := tracer.StartSpan("GET /accounts/{id}")
			req, err := http.NewRequestWithContext(spanFrom(parent), http.MethodGet, url, nil)
			if err != nil {
				t.Fatal(err)
			}
			maps.Copy(req.Header, staleHeaders)
			req.Header.Set("Accept", "application/json")
			before := req.Header.Clone()

			client := &http.Client{Transport: Transport(nil, "quoteservice")}
			resp, err := client.Do(req)
			if tt.status == 0 {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("GET %s: error = nil, want a connection error", url)
				}
			} else {
				if err != nil {
					t.Fatalf("GET %s: %v", url, err)
				}
				resp.Body.Close()
				if resp.StatusCode != tt.status {
					t.Errorf("GET %s = %d, want %d", url, resp.StatusCode, tt.status)
				}
			}

			if !equalHeaders(req.Header, before) {
				t.Errorf("request headers after RoundTrip = %v, want them unchanged: %v", req.Header, before)
			}
			spans := tracer.FinishedSpans()
			if len(spans) != 1 {
				t.Fatalf("%d finished spans, want 1 client span", len(spans))
			}
			span := spans[0]
			parentCtx := parent.Context().(mocktracer.MockSpanContext)
			if span.OperationName != "GET quoteservice" {
				t.Errorf("client span operation = %q, want %q", span.OperationName, "GET quoteservice")
			}
			if span.ParentID != parentCtx.SpanID || span.SpanContext.TraceID != parentCtx.TraceID {
				t.Errorf("client span parent %d trace %d, want ChildOf %d in trace %d",
					span.ParentID, span.SpanContext.TraceID, parentCtx.SpanID, parentCtx.TraceID)
			}
			if ref, ok := tracer.Reference(span); !ok || ref != opentracing.ChildOfRef {
				t.Errorf("client span reference = %v (set %v), want ChildOf", ref, ok)
			}
			want := map[string]any{
				string(ext.SpanKind):    ext.SpanKindRPCClientEnum,
				string(ext.Component):   "net/http",
				string(ext.PeerService): "quoteservice",
				string(ext.HTTPMethod):  http.MethodGet,
				string(ext.HTTPUrl):     strings.Split(url, "?")[0], // the query can hold what people type
			}
			if tt.status != 0 {
				want[string(ext.HTTPStatusCode)] = tt.wantStatus
			}
			tags := span.Tags()
			for k, v := range want {
				if tags[k] != v {
					t.Errorf("tag %s = %#v, want %#v", k, tags[k], v)
				}
			}
			if _, ok := tags[string(ext.HTTPStatusCode)]; tt.status == 0 && ok {
				t.Errorf("tag %s set on a failed connection, want none", ext.HTTPStatusCode)
			}
			if got, ok := tags[string(ext.Error)]; ok != tt.wantError || (ok && got != true) {
				t.Errorf("tag error = %v (set %v), want set %v", got, ok, tt.wantError)
			}
			if tt.wantError && len(span.Logs()) == 0 {
				t.Errorf("failed call: span has no error log, want one saying why")
			}
			// A 4xx states its status, so OpenTelemetry-based backends (Jaeger v2) do not
			// turn the client's mistake into an error of this call.
			if got, want := tags[otelStatusCode], map[bool]any{true: "UNSET", false: nil}[tt.status >= 400 && tt.status < 500]; got != want {
				t.Errorf("tag %s = %#v, want %#v", otelStatusCode, got, want)
			}
			if tt.status == 0 {
				return
			}

			// The backend sees the client span, and nothing of the stale trace.
			for k := range staleHeaders {
				if v, ok := received[k]; ok {
					t.Errorf("backend received stale header %s: %v", k, v)
				}
			}
			if got, want := received.Get("Mockpfx-Ids-Spanid"), strconv.Itoa(span.SpanContext.SpanID); got != want {
				t.Errorf("backend received span id %q, want the client span's %q", got, want)
			}
			if got := received.Get("Accept"); got != "application/json" {
				t.Errorf("backend received Accept %q, want the caller's header kept", got)
			}
		})
	}
}

// TestTransportSpanCoversBody: the client span ends when the answer is over, not when its
// headers arrive. A body read to its end is a success, a body that breaks off mid-way is a
// failure of the call (whatever the status said), a body the caller closes early is noted.
func TestTransportSpanCoversBody(t *testing.T) {
	tests := []struct {
		name      string
		read      func(io.ReadCloser) error // what the caller does with the body
		wantError bool
		wantEvent string // the span's last log event
	}{
		{"read to the end", func(b io.ReadCloser) error { _, err := io.ReadAll(b); b.Close(); return err }, false, ""},
		{"closed before the end", func(b io.ReadCloser) error { _, err := b.Read(make([]byte, 2)); b.Close(); return err },
			false, "closed before the end of the body"},
		{"broken off by the peer", nil, true, "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "10")
				_, _ = io.WriteString(w, "half.")
				w.(http.Flusher).Flush()
				if tt.read == nil { // the peer dies mid-body
					conn, _, _ := http.NewResponseController(w).Hijack()
					conn.Close()
					return
				}
				_, _ = io.WriteString(w, "done.")
			}))
			defer backend.Close()
			tracer := tracingtest.New()
			parent := tracer.StartSpan("GET /accounts/{id}")
			req, _ := http.NewRequestWithContext(spanFrom(parent), http.MethodGet, backend.URL, nil)
			resp, err := (&http.Client{Transport: Transport(nil, "quoteservice")}).Do(req)
			if err != nil {
				t.Fatalf("GET: %v", err)
			}
			if n := len(tracer.FinishedSpans()); n != 0 {
				t.Errorf("%d finished spans once the headers arrived, want the client span still open for the body", n)
			}
			read := tt.read
			if read == nil {
				read = func(b io.ReadCloser) error { _, err := io.ReadAll(b); b.Close(); return err }
			}
			readErr := read(resp.Body)
			if (readErr != nil) != tt.wantError {
				t.Fatalf("reading the body: %v, want an error %v", readErr, tt.wantError)
			}
			spans := tracer.FinishedSpans()
			if len(spans) != 1 {
				t.Fatalf("%d finished spans after the body, want the client span", len(spans))
			}
			span := spans[0]
			if got := span.Tag(string(ext.HTTPStatusCode)); got != uint16(200) {
				t.Errorf("tag http.status_code = %v, want 200", got)
			}
			if got, ok := span.Tag(string(ext.Error)).(bool); got != tt.wantError || ok != tt.wantError {
				t.Errorf("tag error = %v, want set %v", span.Tag(string(ext.Error)), tt.wantError)
			}
			if got := lastOf(tracingtest.Events(span)); got != tt.wantEvent {
				t.Errorf("last span event = %q, want %q", got, tt.wantEvent)
			}
			if tt.wantError && !strings.Contains(tracingtest.ErrorMessage(span), "reading the answer of quoteservice") {
				t.Errorf("error message = %q, want it to say the answer broke off", tracingtest.ErrorMessage(span))
			}
		})
	}
}

func TestTransportWithoutSpan(t *testing.T) {
	var received http.Header
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received = r.Header.Clone()
	}))
	defer backend.Close()

	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, backend.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	maps.Copy(req.Header, staleHeaders)
	resp, err := (&http.Client{Transport: Transport(nil, "quoteservice")}).Do(req)
	if err != nil {
		t.Fatalf("GET without a span: %v", err)
	}
	resp.Body.Close()
	for k, v := range staleHeaders {
		if got := received[k]; !slices.Equal(got, v) {
			t.Errorf("backend received %s = %v, want it passed untouched: %v", k, got, v)
		}
	}
}

// TestTransportBase checks the base transport is the one that sends, and its error is
// the one returned.
func TestTransportBase(t *testing.T) {
	errDown := errors.New("quoteservice down")
	var sent *http.Request
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) { sent = r; return nil, errDown })
	tracer := mocktracer.New()
	parent := tracer.StartSpan("parent")
	req := httptest.NewRequestWithContext(spanFrom(parent), http.MethodGet, "http://user:secret@quotes.local/api/quote", nil)

	_, err := Transport(base, "quoteservice").RoundTrip(req)
	if !errors.Is(err, errDown) {
		t.Errorf("RoundTrip error = %v, want %v", err, errDown)
	}
	if sent == nil || sent == req {
		t.Fatalf("base got request %p, want a clone of %p", sent, req)
	}
	if sent.Header.Get("Mockpfx-Ids-Traceid") == "" {
		t.Errorf("base got headers %v, want the span injected", sent.Header)
	}
	span := tracer.FinishedSpans()[0]
	if got := span.Tag(string(ext.HTTPUrl)); strings.Contains(got.(string), "secret") {
		t.Errorf("tag http.url = %q, want the password redacted", got)
	}
	if got := span.Tag(string(ext.Error)); got != true {
		t.Errorf("tag error = %v, want true", got)
	}
}

func TestRemoveTracingHeaders(t *testing.T) {
	hdr := http.Header{}
	maps.Copy(hdr, staleHeaders)
	hdr["lowercase-uber-trace-id-lookalike"] = []string{"kept"}
	hdr["uber-trace-id"] = []string{"not canonical"}
	hdr.Set("Authorization", "Bearer x")
	RemoveTracingHeaders(hdr)
	want := http.Header{"lowercase-uber-trace-id-lookalike": {"kept"}, "Authorization": {"Bearer x"}}
	if !equalHeaders(hdr, want) {
		t.Errorf("RemoveTracingHeaders left %v, want %v", hdr, want)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// closedAddr is a local address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func equalHeaders(a, b http.Header) bool {
	return maps.EqualFunc(a, b, slices.Equal)
}

// lastOf is the last of ss, "" for none.
func lastOf(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[len(ss)-1]
}

// TestTransportTimeout: a peer that does not answer within the caller's timeout leaves a
// client span that says it was the timeout, not "request canceled", whichever way the
// timeout was set (http.Client.Timeout, as accountservice does, or a context deadline).
func TestTransportTimeout(t *testing.T) {
	const timeout = 200 * time.Millisecond
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // hangs until the caller gives up
	}))
	defer backend.Close()
	tests := []struct {
		name string
		do   func(ctx context.Context) error
	}{
		{"client timeout", func(ctx context.Context) error {
			client := &http.Client{Transport: Transport(nil, "quoteservice"), Timeout: timeout}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, backend.URL+"/api/quote", nil)
			_, err := client.Do(req)
			return err
		}},
		{"context deadline", func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			client := &http.Client{Transport: Transport(nil, "quoteservice")}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, backend.URL+"/api/quote", nil)
			_, err := client.Do(req)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tracer := tracingtest.New()
			parent := tracer.StartSpan("GET /accounts/{id}")
			if err := tt.do(spanFrom(parent)); err == nil {
				t.Fatalf("GET a hanging peer: error = nil, want a timeout")
			}
			span, ok := tracer.Span("GET quoteservice")
			if !ok {
				t.Fatalf("spans = %v, want a GET quoteservice client span", tracer.Names())
			}
			if got := span.Tag("error"); got != true {
				t.Errorf("GET quoteservice tag error = %v, want true", got)
			}
			msg := tracingtest.ErrorMessage(span)
			for _, want := range []string{"timeout after 200ms", context.DeadlineExceeded.Error()} {
				if !strings.Contains(msg, want) {
					t.Errorf("GET quoteservice error message = %q, want it to contain %q", msg, want)
				}
			}
		})
	}
	t.Run("a refused connection is no timeout", func(t *testing.T) {
		tracer := tracingtest.New()
		parent := tracer.StartSpan("GET /accounts/{id}")
		client := &http.Client{Transport: Transport(nil, "quoteservice"), Timeout: timeout}
		req, _ := http.NewRequestWithContext(spanFrom(parent), http.MethodGet, "http://"+closedAddr(t)+"/", nil)
		if _, err := client.Do(req); err == nil {
			t.Fatal("GET a closed port: error = nil, want one")
		}
		span, _ := tracer.Span("GET quoteservice")
		if msg := tracingtest.ErrorMessage(span); strings.Contains(msg, "timeout") {
			t.Errorf("error message = %q, want no timeout for a refused connection", msg)
		}
	})
}
