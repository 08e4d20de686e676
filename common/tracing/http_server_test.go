package tracing

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"tracelab/common/tracing/tracingtest"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/opentracing/opentracing-go/mocktracer"
	"github.com/uber/jaeger-client-go"
)

// TestMiddlewareHostileHeaders sends malformed and hostile tracing headers over a real
// connection: tracing never fails a request, and it never continues a trace it cannot read.
func TestMiddlewareHostileHeaders(t *testing.T) {
	const valid = "a1b2c3d4e5f60718:a2fb4a1d1a96d312:0:1"
	tests := []struct {
		name    string
		headers map[string][]string
		foreign []string // trace ids the server must not adopt
	}{
		{"uber-trace-id garbage", hdrs("uber-trace-id", "garbage"), []string{"garbage"}},
		{"uber-trace-id zeros", hdrs("uber-trace-id", "0:0:0:0"), []string{"0000000000000000"}},
		{"uber-trace-id too many colons", hdrs("uber-trace-id", "a1b2c3d4e5f60718:a2fb4a1d1a96d312:0:1:7"), []string{"a1b2c3d4e5f60718"}},
		{"uber-trace-id flags out of range", hdrs("uber-trace-id", "a1b2c3d4e5f60718:a2fb4a1d1a96d312:0:999"), []string{"a1b2c3d4e5f60718"}},
		{"uber-trace-id no span id", hdrs("uber-trace-id", "a1b2c3d4e5f60718:0:0:1"), []string{"a1b2c3d4e5f60718"}},
		{"uber-trace-id 10 KB", hdrs("uber-trace-id", strings.Repeat("a", 10<<10)), nil},
		{"uber-trace-id 10 KB of colons", hdrs("uber-trace-id", strings.Repeat(":", 10<<10)), nil},
		{"b3 non-hex trace id", hdrs("X-B3-TraceId", "zzzzzzzzzzzzzzzz", "X-B3-SpanId", "a2fb4a1d1a96d312"), nil},
		{"b3 non-hex span id", hdrs("X-B3-TraceId", "a1b2c3d4e5f60718", "X-B3-SpanId", "not-hex!"), []string{"a1b2c3d4e5f60718"}},
		{"b3 trace id of 40 hex", hdrs("X-B3-TraceId", strings.Repeat("ab", 20), "X-B3-SpanId", "a2fb4a1d1a96d312"),
			[]string{strings.Repeat("ab", 20), strings.Repeat("ab", 16)}},
		{"b3 zero trace id", hdrs("X-B3-TraceId", "00000000000000000000000000000000", "X-B3-SpanId", "a2fb4a1d1a96d312"), nil},
		{"uberctx bad percent-encoding", hdrs("uber-trace-id", "garbage", "uberctx-user", "%zz%", "jaeger-baggage", "%zz"), nil},
		{"duplicated uber-trace-id", hdrs("uber-trace-id", valid, "uber-trace-id", "garbage"), []string{"a1b2c3d4e5f60718"}},
		{"duplicated b3 trace id", hdrs("X-B3-TraceId", "a1b2c3d4e5f60718", "X-B3-TraceId", "xyz", "X-B3-SpanId", "a2fb4a1d1a96d312"),
			[]string{"a1b2c3d4e5f60718"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tracer := newRealTracer(t, nil)
			seen := make(chan string, 1) // trace id of the span the handler got
			srv := httptest.NewServer(Middleware(tracer)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				traceID, _ := IDs(r.Context())
				seen <- traceID
				_, _ = io.WriteString(w, "served")
			})))
			defer srv.Close()

			req, err := http.NewRequest(http.MethodGet, srv.URL+"/accounts/1", nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, vs := range tt.headers {
				req.Header[k] = vs
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatalf("GET with %s: %v", tt.name, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()

			if resp.StatusCode != http.StatusOK || string(body) != "served" {
				t.Fatalf("GET with %s = %d %q, want 200 %q from the handler", tt.name, resp.StatusCode, body, "served")
			}
			got := resp.Header.Get(TraceIDHeader)
			if !hexTraceID.MatchString(got) || strings.Trim(got, "0") == "" {
				t.Errorf("%s = %q, want a fresh trace id", TraceIDHeader, got)
			}
			if handlerTrace := <-seen; handlerTrace != got {
				t.Errorf("handler's span trace id = %q, want the one in %s, %q", handlerTrace, TraceIDHeader, got)
			}
			for _, f := range tt.foreign {
				if strings.Contains(got, f) || strings.Contains(f, got) {
					t.Errorf("%s = %q, want a new trace, not one built from %q", TraceIDHeader, got, f)
				}
			}
		})
	}
}

func TestMiddlewareSpan(t *testing.T) {
	tests := []struct {
		name, method, target string
		status               int
		wantOp               string
		wantError            bool
	}{
		{"200", http.MethodGet, "/accounts/42?verbose=1&token=s3cret", http.StatusOK, "GET /accounts/{id}", false},
		{"escaped path", http.MethodGet, "/accounts/a%2Fb?q=1", http.StatusOK, "GET /accounts/{id}", false},
		{"404", http.MethodGet, "/accounts/404", http.StatusNotFound, "GET /accounts/{id}", false},
		{"500", http.MethodGet, "/accounts/500", http.StatusInternalServerError, "GET /accounts/{id}", true},
		{"503", http.MethodGet, "/accounts/503", http.StatusServiceUnavailable, "GET /accounts/{id}", true},
		{"catch-all", http.MethodGet, "/nowhere", http.StatusNotFound, "GET /", false},
		{"catch-all post", http.MethodPost, "/nowhere", http.StatusNotFound, "POST /", false},
		{"host pattern", http.MethodGet, "http://admin.example/stats", http.StatusOK, "GET admin.example/stats", false},
		{"method pattern", http.MethodPut, "/accounts/42", http.StatusNoContent, "PUT /accounts/{id}", false},
		{"no body written", http.MethodGet, "/empty", http.StatusOK, "GET /empty", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tracer := mocktracer.New()
			var inCtx opentracing.Span
			mux := http.NewServeMux()
			status := func(w http.ResponseWriter, r *http.Request) {
				inCtx = opentracing.SpanFromContext(r.Context())
				w.WriteHeader(tt.status)
			}
			mux.HandleFunc("GET /accounts/{id}", status)
			mux.HandleFunc("PUT /accounts/{id}", status)
			mux.HandleFunc("admin.example/stats", status)
			mux.HandleFunc("GET /empty", func(w http.ResponseWriter, r *http.Request) { inCtx = opentracing.SpanFromContext(r.Context()) })
			mux.HandleFunc("/", status)

			rec := httptest.NewRecorder()
			Middleware(tracer)(mux).ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, nil))

			spans := tracer.FinishedSpans()
			if len(spans) != 1 {
				t.Fatalf("%s %s: %d finished spans, want 1", tt.method, tt.target, len(spans))
			}
			span := spans[0]
			if inCtx != span {
				t.Errorf("span in the request context = %v, want the server span %v", inCtx, span)
			}
			if span.OperationName != tt.wantOp {
				t.Errorf("%s %s: operation = %q, want %q", tt.method, tt.target, span.OperationName, tt.wantOp)
			}
			if span.ParentID != 0 || span.SpanContext.TraceID == 0 {
				t.Errorf("span trace %d parent %d, want a new trace (no parent)", span.SpanContext.TraceID, span.ParentID)
			}
			// Without the query string, which the access log leaves out too.
			wantURL := "http://example.com" + strings.Split(tt.target, "?")[0]
			if strings.HasPrefix(tt.target, "http://") {
				wantURL = tt.target
			}
			tags := span.Tags()
			want := map[string]any{
				string(ext.SpanKind):       ext.SpanKindRPCServerEnum,
				string(ext.Component):      "net/http",
				string(ext.HTTPMethod):     tt.method,
				string(ext.HTTPUrl):        wantURL,
				string(ext.HTTPStatusCode): uint16(tt.status),
			}
			for k, v := range want {
				if tags[k] != v {
					t.Errorf("tag %s = %#v, want %#v", k, tags[k], v)
				}
			}
			if got, ok := tags[string(ext.Error)]; tt.wantError != ok || (ok && got != true) {
				t.Errorf("status %d: tag error = %v (set %v), want set %v", tt.status, got, ok, tt.wantError)
			}
		})
	}
}

func TestMiddlewareContinuesTraceAndTagsBaggage(t *testing.T) {
	tracer := mocktracer.New()
	caller := tracer.StartSpan("caller")
	caller.SetBaggageItem("user", "ann b")
	caller.SetBaggageItem("tier", "vip")
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	if err := tracer.Inject(caller.Context(), opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(req.Header)); err != nil {
		t.Fatalf("Inject: %v", err)
	}

	Middleware(tracer)(respondOK()).ServeHTTP(httptest.NewRecorder(), req)

	spans := tracer.FinishedSpans()
	if len(spans) != 1 {
		t.Fatalf("%d finished spans, want 1", len(spans))
	}
	callerCtx := caller.Context().(mocktracer.MockSpanContext)
	if spans[0].SpanContext.TraceID != callerCtx.TraceID || spans[0].ParentID != callerCtx.SpanID {
		t.Errorf("server span trace %d parent %d, want trace %d parent %d",
			spans[0].SpanContext.TraceID, spans[0].ParentID, callerCtx.TraceID, callerCtx.SpanID)
	}
	for k, v := range map[string]string{"baggage.user": "ann b", "baggage.tier": "vip"} {
		if got := spans[0].Tag(k); got != v {
			t.Errorf("tag %s = %v, want %q", k, got, v)
		}
	}
}

func TestOperationName(t *testing.T) {
	tests := []struct{ method, pattern, want string }{
		{"GET", "GET /accounts/{id}", "GET /accounts/{id}"},
		{"GET", "/", "GET /"},
		{"DELETE", "/things/", "DELETE /things/"},
		{"GET", "example.com/", "GET example.com/"},
		{"HEAD", "GET /x", "GET /x"},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			r := &http.Request{Method: tt.method, Pattern: tt.pattern}
			if got := operationName(r); got != tt.want {
				t.Errorf("operationName(%s, %q) = %q, want %q", tt.method, tt.pattern, got, tt.want)
			}
		})
	}
}

func respondOK() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
}

// TestMiddlewareDisabled: with tracing off the middleware adds nothing, not even a no-op
// span, so the transport and StartChild do no work either.
func TestMiddlewareDisabled(t *testing.T) {
	for _, tracer := range []opentracing.Tracer{opentracing.NoopTracer{}, &opentracing.NoopTracer{}} {
		var sawSpan bool
		h := Middleware(tracer)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sawSpan = opentracing.SpanFromContext(r.Context()) != nil
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		if sawSpan || rec.Header().Get(TraceIDHeader) != "" {
			t.Errorf("Middleware(%T): span in context %v, X-Trace-Id %q; want neither", tracer, sawSpan, rec.Header().Get(TraceIDHeader))
		}
	}
}

// TestMiddlewareTrust: a trusted caller chooses the trace id, the sampling decision and the
// baggage; an untrusted one chooses nothing, and its ids are only kept as tags.
func TestMiddlewareTrust(t *testing.T) {
	const callerTrace, callerSpan = "0000000000000003", "0000000000000004"
	tests := []struct {
		name    string
		headers map[string][]string
	}{
		{"jaeger", hdrs("uber-trace-id", callerTrace+":"+callerSpan+":0:0", "uberctx-tenant", "acme")},
		{"b3", hdrs("X-B3-TraceId", callerTrace, "X-B3-SpanId", callerSpan, "X-B3-Sampled", "0", "baggage-tenant", "acme")},
		{"b3 single", hdrs("b3", callerTrace+"-"+callerSpan+"-0", "baggage-tenant", "acme")},
	}
	for _, tt := range tests {
		t.Run(tt.name+" trusted", func(t *testing.T) {
			tracer := newRealTracer(t, nil)
			rec, sc := serveWith(t, tracer, tt.headers, TrustCallers(true))
			if sc.TraceID().String() != callerTrace || sc.ParentID().String() != callerSpan || sc.IsSampled() {
				t.Errorf("server span %s (sampled %v), want the caller's trace %s, parent %s, not sampled",
					sc, sc.IsSampled(), callerTrace, callerSpan)
			}
			if got := baggageOf(sc); got["tenant"] != "acme" {
				t.Errorf("server span baggage = %v, want the caller's tenant=acme", got)
			}
			if got := rec.Header().Get(TraceIDHeader); got != "" {
				t.Errorf("%s = %q for a trace the caller declined to sample, want none", TraceIDHeader, got)
			}
		})
		t.Run(tt.name+" untrusted", func(t *testing.T) {
			tracer := newRealTracer(t, nil)
			rec, sc := serveWith(t, tracer, tt.headers, TrustCallers(false))
			if sc.TraceID().String() == callerTrace || sc.ParentID() != 0 || !sc.IsSampled() {
				t.Errorf("server span %s (sampled %v), want the root of a new trace, sampled by our sampler", sc, sc.IsSampled())
			}
			if got := baggageOf(sc); len(got) != 0 {
				t.Errorf("server span baggage = %v, want none of the caller's", got)
			}
			if got := rec.Header().Get(TraceIDHeader); got != sc.TraceID().String() {
				t.Errorf("%s = %q, want our own trace %s", TraceIDHeader, got, sc.TraceID())
			}
			_, spans := tracer.recorded(t)
			if len(spans) != 1 {
				t.Fatalf("collector got %d spans, want the server span", len(spans))
			}
			for k, want := range map[string]string{"caller.trace_id": callerTrace, "caller.span_id": callerSpan, "span.kind": "server"} {
				if got, _ := thriftTag(spans[0], k); got != want {
					t.Errorf("tag %s = %q, want %q", k, got, want)
				}
			}
			if got, ok := thriftTag(spans[0], "baggage.tenant"); ok {
				t.Errorf("tag baggage.tenant = %q, want none: the caller's baggage is not ours", got)
			}
		})
	}
	t.Run("untrusted garbage is no caller id", func(t *testing.T) {
		tracer := newRealTracer(t, nil)
		serveWith(t, tracer, hdrs("uber-trace-id", "garbage", "X-B3-TraceId", "zz"), TrustCallers(false))
		_, spans := tracer.recorded(t)
		for _, k := range []string{"caller.trace_id", "caller.span_id"} {
			if got, ok := thriftTag(spans[0], k); ok {
				t.Errorf("tag %s = %q, want none for ids that do not parse", k, got)
			}
		}
	})
}

// TestMiddlewareTraceIDOnlyWhenSampled: X-Trace-Id promises a trace make trace can find.
func TestMiddlewareTraceIDOnlyWhenSampled(t *testing.T) {
	for _, param := range []string{"0", "1"} {
		t.Run("sampler param "+param, func(t *testing.T) {
			tracer := newRealTracer(t, map[string]string{"JAEGER_SAMPLER_PARAM": param})
			rec, sc := serverSpan(t, tracer, nil)
			want := map[bool]string{true: sc.TraceID().String()}[sc.IsSampled()]
			if got := rec.Header().Get(TraceIDHeader); got != want || sc.IsSampled() != (param == "1") {
				t.Errorf("sampled %v: %s = %q, want %q", sc.IsSampled(), TraceIDHeader, got, want)
			}
		})
	}
}

// TestMiddlewareAborted: a handler that aborts its answer with a panic, as
// httputil.ReverseProxy does when it cannot copy a body to its end, still gets its span
// named by route, with the status it sent and the error, and net/http still gets the panic.
func TestMiddlewareAborted(t *testing.T) {
	tests := []struct {
		name       string
		panicWith  any
		writeFirst bool
		wantStatus any // nil: no status was sent
		wantReason string
	}{
		{"ErrAbortHandler mid-body", http.ErrAbortHandler, true, uint16(http.StatusOK), "answer aborted: net/http: abort Handler"},
		{"ErrAbortHandler before the answer", http.ErrAbortHandler, false, nil, "answer aborted: net/http: abort Handler"},
		{"a bug", "index out of range", false, nil, "answer aborted: panic: index out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tracer := mocktracer.New()
			mux := http.NewServeMux()
			mux.HandleFunc("GET /stream/{id}", func(w http.ResponseWriter, r *http.Request) {
				if tt.writeFirst {
					w.Header().Set("Content-Length", "100")
					_, _ = io.WriteString(w, "half")
					w.(http.Flusher).Flush()
				}
				panic(tt.panicWith)
			})
			var repanicked any
			h := Middleware(tracer)(mux)
			func() {
				defer func() { repanicked = recover() }()
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/stream/7", nil))
			}()
			if repanicked != tt.panicWith {
				t.Errorf("panic after the middleware = %v, want %v passed on to net/http", repanicked, tt.panicWith)
			}
			spans := tracer.FinishedSpans()
			if len(spans) != 1 {
				t.Fatalf("%d finished spans, want the server span", len(spans))
			}
			span := spans[0]
			if span.OperationName != "GET /stream/{id}" {
				t.Errorf("span name = %q, want the route %q", span.OperationName, "GET /stream/{id}")
			}
			if got := span.Tag(string(ext.HTTPStatusCode)); got != tt.wantStatus {
				t.Errorf("tag http.status_code = %#v, want %#v", got, tt.wantStatus)
			}
			if got := span.Tag(string(ext.Error)); got != true {
				t.Errorf("tag error = %v, want true", got)
			}
			if got := tracingtest.ErrorMessage(span); got != tt.wantReason {
				t.Errorf("error log message = %q, want %q", got, tt.wantReason)
			}
		})
	}
}

// serveWith is serverSpan with options for the middleware.
func serveWith(t testing.TB, tracer opentracing.Tracer, h http.Header, opts ...MiddlewareOption) (*httptest.ResponseRecorder, jaeger.SpanContext) {
	t.Helper()
	var sc jaeger.SpanContext
	handler := Middleware(tracer, opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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

// TestMiddlewareRefuseBaggage: the refused item is gone from the span context, whatever
// header form brought it, the other items stay, and the span names what was refused.
func TestMiddlewareRefuseBaggage(t *testing.T) {
	const trace = "0000000000000003-0000000000000004-1"
	tests := []struct {
		name    string
		headers map[string][]string
	}{
		{"uberctx", hdrs("uberctx-fault", "slow-quote", "uberctx-tenant", "acme")},
		{"uberctx upper case", hdrs("Uberctx-Fault", "slow-quote", "uberctx-tenant", "acme")},
		{"uberctx with a trace", hdrs("uber-trace-id", "3:4:0:1", "uberctx-fault", "slow-quote=300ms", "uberctx-tenant", "acme")},
		{"jaeger-baggage list", hdrs("jaeger-baggage", "fault=slow-quote, tenant=acme")},
		{"jaeger-baggage escaped", hdrs("jaeger-baggage", "fault=slow-quote%3D300ms,tenant=acme")},
		{"b3 single", hdrs("b3", trace, "baggage-fault", "slow-quote", "baggage-tenant", "acme")},
		{"b3 multiple", hdrs("X-B3-TraceId", "0000000000000003", "X-B3-SpanId", "0000000000000004", "baggage-fault", "slow-quote", "baggage-tenant", "acme")},
		{"debug id", hdrs("jaeger-debug-id", "dbg", "uberctx-fault", "slow-quote", "uberctx-tenant", "acme")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tracer := newRealTracer(t, nil)
			_, sc := serveWith(t, tracer, tt.headers, RefuseBaggage("fault"))
			if got := baggageOf(sc); got["fault"] != "" || got["tenant"] != "acme" {
				t.Errorf("server span baggage = %v, want tenant=acme and no fault", got)
			}
			_, spans := tracer.recorded(t)
			if len(spans) != 1 {
				t.Fatalf("collector got %d spans, want the server span", len(spans))
			}
			if got, _ := thriftTag(spans[0], "baggage.refused"); got != "fault" {
				t.Errorf("tag baggage.refused = %q, want %q", got, "fault")
			}
			if got, ok := thriftTag(spans[0], "baggage.fault"); ok {
				t.Errorf("tag baggage.fault = %q, want none: the item was refused", got)
			}
		})
	}
	t.Run("without the option the item stays", func(t *testing.T) {
		tracer := newRealTracer(t, nil)
		_, sc := serveWith(t, tracer, hdrs("uberctx-fault", "slow-quote"))
		if got := baggageOf(sc); got["fault"] != "slow-quote" {
			t.Errorf("server span baggage = %v, want fault=slow-quote", got)
		}
	})
	t.Run("nothing refused, no tag", func(t *testing.T) {
		tracer := newRealTracer(t, nil)
		serveWith(t, tracer, hdrs("uberctx-tenant", "acme"), RefuseBaggage("fault"))
		_, spans := tracer.recorded(t)
		if got, ok := thriftTag(spans[0], "baggage.refused"); ok {
			t.Errorf("tag baggage.refused = %q, want none when the caller sent no fault", got)
		}
	})
}
