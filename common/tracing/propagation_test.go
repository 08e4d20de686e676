package tracing

import (
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/uber/jaeger-client-go"
)

// TestInject: the Jaeger dialect with its baggage, and B3's ids beside it, but no second
// copy of the baggage as B3's baggage-* (every item would travel twice).
func TestInject(t *testing.T) {
	tracer := newRealTracer(t, nil)
	span := tracer.StartSpan("caller")
	defer span.Finish()
	span.SetBaggageItem("user", "ann b")
	span.SetBaggageItem("bad key", "v") // no header name can hold it: it stays in this process
	sc := jaegerContext(t, span)

	h := injected(t, tracer, span.Context())
	want := http.Header{
		"Uber-Trace-Id": {sc.String()},
		"Uberctx-User":  {"ann+b"}, // HTTP header values are query-escaped
		"X-B3-Traceid":  {sc.TraceID().String()},
		"X-B3-Spanid":   {sc.SpanID().String()},
		"X-B3-Sampled":  {"1"},
	}
	if !equalHeaders(h, want) {
		t.Errorf("Inject wrote %v, want %v", h, want)
	}

	t.Run("debug", func(t *testing.T) {
		debug, err := jaeger.ContextFromString("a1b2c3d4e5f60718:a2fb4a1d1a96d312:0000000000000007:3")
		if err != nil {
			t.Fatal(err)
		}
		h := injected(t, tracer, debug)
		want := http.Header{
			"Uber-Trace-Id":     {"a1b2c3d4e5f60718:a2fb4a1d1a96d312:0000000000000007:3"},
			"X-B3-Traceid":      {"a1b2c3d4e5f60718"},
			"X-B3-Spanid":       {"a2fb4a1d1a96d312"},
			"X-B3-Parentspanid": {"0000000000000007"},
			"X-B3-Flags":        {"1"}, // debug implies sampled: no X-B3-Sampled beside it
		}
		if !equalHeaders(h, want) {
			t.Errorf("Inject(debug context) wrote %v, want %v", h, want)
		}
	})
	t.Run("amqp", func(t *testing.T) {
		headers := AMQPHeaders{}
		if err := tracer.Inject(span.Context(), opentracing.TextMap, headers); err != nil {
			t.Fatalf("Inject(TextMap) error: %v", err)
		}
		want := AMQPHeaders{"uber-trace-id": sc.String(), "uberctx-user": "ann b"} // not escaped, no B3
		if !maps.Equal(headers, want) {
			t.Errorf("Inject(TextMap) wrote %v, want %v", headers, want)
		}
	})
}

func TestExtract(t *testing.T) {
	const (
		trace64  = "a1b2c3d4e5f60718"
		trace128 = "463ac35c9f6413ad48485a3953bb6124"
		caller   = "a2fb4a1d1a96d312"
		parent   = "0020000000000001"
	)
	tests := []struct {
		name        string
		headers     map[string][]string
		wantTrace   string
		wantSampled bool
		wantDebug   bool
		wantBaggage map[string]string
	}{
		{"jaeger", hdrs("uber-trace-id", trace64+":"+caller+":0:1"), trace64, true, false, nil},
		{"jaeger 128-bit", hdrs("uber-trace-id", trace128+":"+caller+":0:1"), trace128, true, false, nil},
		{"jaeger not sampled", hdrs("uber-trace-id", trace64+":"+caller+":0:0"), trace64, false, false, nil},
		{"jaeger debug", hdrs("uber-trace-id", trace64+":"+caller+":0:3"), trace64, true, true, nil},
		{"jaeger debug with baggage", hdrs("uber-trace-id", trace64+":"+caller+":0:3", "uberctx-user", "ann"),
			trace64, true, true, map[string]string{"user": "ann"}},
		{"jaeger url-escaped", hdrs("uber-trace-id", trace64+"%3A"+caller+"%3A0%3A1"), trace64, true, false, nil},
		{"b3 128-bit", hdrs("X-B3-TraceId", trace128, "X-B3-SpanId", caller, "X-B3-Sampled", "1"), trace128, true, false, nil},
		{"b3 64-bit", hdrs("X-B3-TraceId", trace64, "X-B3-SpanId", caller, "X-B3-Sampled", "1"), trace64, true, false, nil},
		{"b3 without sampled is recorded", hdrs("X-B3-TraceId", trace128, "X-B3-SpanId", caller), trace128, true, false, nil},
		{"b3 sampled 0", hdrs("X-B3-TraceId", trace128, "X-B3-SpanId", caller, "X-B3-Sampled", "0"), trace128, false, false, nil},
		{"b3 debug flag stays debug", hdrs("X-B3-TraceId", trace128, "X-B3-SpanId", caller, "X-B3-Flags", "1"), trace128, true, true, nil},
		{"b3 debug flag wins over sampled 0", hdrs("X-B3-TraceId", trace128, "X-B3-SpanId", caller, "X-B3-Sampled", "0", "X-B3-Flags", "1"),
			trace128, true, true, nil},
		{"b3 single 64-bit", hdrs("b3", trace64+"-"+caller+"-1"), trace64, true, false, nil},
		{"b3 single 128-bit", hdrs("b3", trace128+"-"+caller+"-1"), trace128, true, false, nil},
		{"b3 single with parent", hdrs("b3", trace128+"-"+caller+"-1-"+parent), trace128, true, false, nil},
		{"b3 single without sampling state is recorded", hdrs("b3", trace64+"-"+caller), trace64, true, false, nil},
		{"b3 single not sampled", hdrs("b3", trace128+"-"+caller+"-0"), trace128, false, false, nil},
		{"b3 single debug", hdrs("b3", trace128+"-"+caller+"-d"), trace128, true, true, nil},
		{"b3 single wins over b3 multiple", hdrs("b3", trace64+"-"+caller+"-1", "X-B3-TraceId", trace128, "X-B3-SpanId", caller), trace64, true, false, nil},
		{"b3 single with b3 baggage", hdrs("b3", trace64+"-"+caller+"-1", "baggage-tenant", "acme"),
			trace64, true, false, map[string]string{"tenant": "acme"}},
		{"jaeger baggage", hdrs("uber-trace-id", trace64+":"+caller+":0:1", "uberctx-user", "ann%20b", "jaeger-baggage", "k1=v1, k2=v%3D2"),
			trace64, true, false, map[string]string{"user": "ann b", "k1": "v1", "k2": "v=2"}},
		{"uberctx wins over jaeger-baggage", hdrs("uber-trace-id", trace64+":"+caller+":0:1", "uberctx-user", "ann", "jaeger-baggage", "user=bob"),
			trace64, true, false, map[string]string{"user": "ann"}},
		{"keys lower-cased", hdrs("uber-trace-id", trace64+":"+caller+":0:1", "jaeger-baggage", "Tenant=acme"),
			trace64, true, false, map[string]string{"tenant": "acme"}},
		{"b3 with jaeger baggage", hdrs("X-B3-TraceId", trace128, "X-B3-SpanId", caller, "X-B3-Sampled", "1", "uberctx-user", "ann", "jaeger-baggage", "k1=v1"),
			trace128, true, false, map[string]string{"user": "ann", "k1": "v1"}},
		{"b3 without sampled keeps baggage", hdrs("X-B3-TraceId", trace128, "X-B3-SpanId", caller, "baggage-tenant", "acme", "uberctx-user", "ann"),
			trace128, true, false, map[string]string{"tenant": "acme", "user": "ann"}},
		{"b3 baggage ignored beside a jaeger trace", hdrs("uber-trace-id", trace64+":"+caller+":0:1", "uberctx-user", "ann", "baggage-tenant", "acme"),
			trace64, true, false, map[string]string{"user": "ann"}},
		{"jaeger wins over b3", hdrs("uber-trace-id", trace64+":"+caller+":0:1", "X-B3-TraceId", trace128, "X-B3-SpanId", caller), trace64, true, false, nil},
		{"garbage jaeger falls back to b3", hdrs("uber-trace-id", "garbage", "X-B3-TraceId", trace128, "X-B3-SpanId", caller), trace128, true, false, nil},
		{"garbage b3 single falls back to b3 multiple", hdrs("b3", "garbage", "X-B3-TraceId", trace128, "X-B3-SpanId", caller), trace128, true, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tracer := newRealTracer(t, nil)
			rec, sc := serverSpan(t, tracer, tt.headers)

			if got := sc.TraceID().String(); got != tt.wantTrace {
				t.Errorf("server span trace id = %s, want the caller's %s", got, tt.wantTrace)
			}
			if got := sc.ParentID().String(); got != caller {
				t.Errorf("server span parent id = %s, want the caller's span %s", got, caller)
			}
			if sc.IsSampled() != tt.wantSampled || sc.IsDebug() != tt.wantDebug {
				t.Errorf("server span sampled, debug = %v, %v, want %v, %v", sc.IsSampled(), sc.IsDebug(), tt.wantSampled, tt.wantDebug)
			}
			gotBaggage := map[string]string{}
			sc.ForeachBaggageItem(func(k, v string) bool { gotBaggage[k] = v; return true })
			if tt.wantBaggage == nil {
				tt.wantBaggage = map[string]string{}
			}
			if !maps.Equal(gotBaggage, tt.wantBaggage) {
				t.Errorf("server span baggage = %v, want %v", gotBaggage, tt.wantBaggage)
			}
			// X-Trace-Id only for a trace that is recorded: make trace finds no other.
			wantHeader := map[bool]string{true: tt.wantTrace}[tt.wantSampled]
			if got := rec.Header().Get(TraceIDHeader); got != wantHeader {
				t.Errorf("%s = %q, want %q", TraceIDHeader, got, wantHeader)
			}

			// The next hop must see the same trace, all 128 bits of it, in both dialects.
			next := injected(t, tracer, sc)
			if got := next.Get("Uber-Trace-Id"); !strings.HasPrefix(got, tt.wantTrace+":"+sc.SpanID().String()+":") {
				t.Errorf("re-injected uber-trace-id = %q, want trace %s span %s", got, tt.wantTrace, sc.SpanID())
			}
			if got := next.Get("X-B3-Traceid"); got != tt.wantTrace {
				t.Errorf("re-injected X-B3-TraceId = %q, want %q", got, tt.wantTrace)
			}
			if got := next.Get("X-B3-Parentspanid"); got != caller {
				t.Errorf("re-injected X-B3-ParentSpanId = %q, want %q", got, caller)
			}
			if got := next.Get("X-B3-Flags") == "1"; got != tt.wantDebug {
				t.Errorf("re-injected X-B3-Flags = %q, want debug %v", next.Get("X-B3-Flags"), tt.wantDebug)
			}
			for k, v := range tt.wantBaggage {
				if got := next.Get("Uberctx-" + k); got != url.QueryEscape(v) {
					t.Errorf("re-injected uberctx-%s = %q, want %q", k, got, url.QueryEscape(v))
				}
			}
		})
	}
}

// TestExtractSamplingOnly: B3's single header can carry a sampling decision without ids.
// The request then starts a new trace that follows the decision: 0 is not recorded, d is
// recorded as debug, 1 leaves it to our sampler (which records everything here).
func TestExtractSamplingOnly(t *testing.T) {
	tests := []struct {
		b3                   string
		wantSampled, wantDbg bool
	}{
		{"0", false, false},
		{"1", true, false},
		{"d", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.b3, func(t *testing.T) {
			tracer := newRealTracer(t, nil)
			rec, sc := serverSpan(t, tracer, hdrs("b3", tt.b3, "uberctx-tenant", "acme"))
			if sc.ParentID() != 0 || !sc.IsValid() {
				t.Errorf("b3: %s: server span %s, want the root of a new trace", tt.b3, sc)
			}
			if sc.IsSampled() != tt.wantSampled || sc.IsDebug() != tt.wantDbg {
				t.Errorf("b3: %s: sampled, debug = %v, %v, want %v, %v", tt.b3, sc.IsSampled(), sc.IsDebug(), tt.wantSampled, tt.wantDbg)
			}
			if got := baggageOf(sc)["tenant"]; got != "acme" {
				t.Errorf("b3: %s: baggage tenant = %q, want the caller's acme", tt.b3, got)
			}
			if got := rec.Header().Get(TraceIDHeader); (got != "") != tt.wantSampled {
				t.Errorf("b3: %s: %s = %q, want one only when sampled", tt.b3, TraceIDHeader, got)
			}
		})
	}
}

// TestExtractDebugID: jaeger-debug-id without a trace starts a new trace recorded as debug,
// tagged with the id, as the Jaeger client does.
func TestExtractDebugID(t *testing.T) {
	tracer := newRealTracer(t, nil)
	_, sc := serverSpan(t, tracer, hdrs("jaeger-debug-id", "lab-7", "uberctx-user", "ann"))
	if !sc.IsDebug() || sc.ParentID() != 0 || baggageOf(sc)["user"] != "ann" {
		t.Errorf("jaeger-debug-id: server span %s debug %v baggage user %q, want a new debug trace with the baggage",
			sc, sc.IsDebug(), baggageOf(sc)["user"])
	}
	_, spans := tracer.recorded(t)
	if len(spans) != 1 {
		t.Fatalf("collector got %d spans, want 1", len(spans))
	}
	if got, _ := thriftTag(spans[0], "jaeger-debug-id"); got != "lab-7" {
		t.Errorf("tag jaeger-debug-id = %q, want lab-7", got)
	}
}

// TestB3SampledDecisionReachesCollector follows the B3 sampling decision to the collector:
// a span the caller did not decide about is recorded, one the caller declined is not.
func TestB3SampledDecisionReachesCollector(t *testing.T) {
	const trace = "463ac35c9f6413ad48485a3953bb6124"
	tests := []struct {
		name    string
		sampled []string // X-B3-Sampled values sent, none for absent
		want    bool
	}{
		{"absent", nil, true},
		{"1", []string{"1"}, true},
		{"true", []string{"true"}, true},
		{"0", []string{"0"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tracer := newRealTracer(t, nil)
			headers := hdrs("X-B3-TraceId", trace, "X-B3-SpanId", "a2fb4a1d1a96d312")
			if tt.sampled != nil {
				headers["X-B3-Sampled"] = tt.sampled
			}
			serverSpan(t, tracer, headers)
			_, spans := tracer.recorded(t)
			got := false
			for _, s := range spans {
				got = got || thriftTraceID(s) == trace
			}
			if got != tt.want {
				t.Errorf("X-B3-Sampled %v: span recorded = %v, want %v (collector got %d spans)", tt.sampled, got, tt.want, len(spans))
			}
		})
	}
}

// TestExtractCarriers covers the propagator on its own: carriers that are not text maps and
// headers that carry no trace are errors, so the middleware starts a new trace.
func TestExtractCarriers(t *testing.T) {
	tests := []struct {
		name    string
		carrier any
		wantErr error
	}{
		{"no headers", opentracing.HTTPHeadersCarrier(http.Header{}), opentracing.ErrSpanContextNotFound},
		{"not a carrier", 42, opentracing.ErrInvalidCarrier},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := httpPropagator.Extract(tt.carrier)
			if err != tt.wantErr {
				t.Errorf("Extract(%v) error = %v, want %v", tt.carrier, err, tt.wantErr)
			}
		})
	}
	t.Run("inject into a non-carrier", func(t *testing.T) {
		sc := jaeger.NewSpanContext(jaeger.TraceID{Low: 1}, 2, 0, true, nil)
		if err := httpPropagator.Inject(sc, 42); err != opentracing.ErrInvalidCarrier {
			t.Errorf("Inject(42) error = %v, want %v", err, opentracing.ErrInvalidCarrier)
		}
	})
}

// hdrs builds request headers from key, value pairs; a key given twice gets both values.
func hdrs(kv ...string) map[string][]string {
	out := map[string][]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		k := http.CanonicalHeaderKey(kv[i])
		out[k] = append(out[k], kv[i+1])
	}
	return out
}

// baggageOf is the baggage of sc as a map.
func baggageOf(sc opentracing.SpanContext) map[string]string {
	m := map[string]string{}
	sc.ForeachBaggageItem(func(k, v string) bool { m[k] = v; return true })
	return m
}
