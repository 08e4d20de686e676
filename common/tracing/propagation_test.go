package tracing

import (
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/uber/jaeger-client-go"
)

func TestInjectWritesBothDialects(t *testing.T) {
	tracer := newRealTracer(t, nil)
	span := tracer.StartSpan("caller")
	defer span.Finish()
	span.SetBaggageItem("user", "ann b")
	sc := jaegerContext(t, span)

	h := injected(t, tracer, span.Context())
	want := map[string]string{
		"Uber-Trace-Id": sc.String(),
		"Uberctx-User":  "ann+b", // HTTP header values are query-escaped
		"X-B3-Traceid":  sc.TraceID().String(),
		"X-B3-Spanid":   sc.SpanID().String(),
		"X-B3-Sampled":  "1",
		"Baggage-User":  "ann b",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("Inject: header %s = %q, want %q (all: %v)", k, got, v, h)
		}
	}
}

func TestExtract(t *testing.T) {
	const (
		trace64  = "a1b2c3d4e5f60718"
		trace128 = "463ac35c9f6413ad48485a3953bb6124"
		caller   = "a2fb4a1d1a96d312"
	)
	tests := []struct {
		name        string
		headers     map[string][]string
		wantTrace   string
		wantSampled bool
		wantBaggage map[string]string
	}{
		{"jaeger", hdrs("uber-trace-id", trace64+":"+caller+":0:1"), trace64, true, nil},
		{"jaeger 128-bit", hdrs("uber-trace-id", trace128+":"+caller+":0:1"), trace128, true, nil},
		{"jaeger not sampled", hdrs("uber-trace-id", trace64+":"+caller+":0:0"), trace64, false, nil},
		{"jaeger url-escaped", hdrs("uber-trace-id", trace64+"%3A"+caller+"%3A0%3A1"), trace64, true, nil},
		{"b3 128-bit", hdrs("X-B3-TraceId", trace128, "X-B3-SpanId", caller, "X-B3-Sampled", "1"), trace128, true, nil},
		{"b3 64-bit", hdrs("X-B3-TraceId", trace64, "X-B3-SpanId", caller, "X-B3-Sampled", "1"), trace64, true, nil},
		{"b3 without sampled is recorded", hdrs("X-B3-TraceId", trace128, "X-B3-SpanId", caller), trace128, true, nil},
		{"b3 sampled 0", hdrs("X-B3-TraceId", trace128, "X-B3-SpanId", caller, "X-B3-Sampled", "0"), trace128, false, nil},
		{"b3 debug flag", hdrs("X-B3-TraceId", trace128, "X-B3-SpanId", caller, "X-B3-Flags", "1"), trace128, true, nil},
		{"b3 debug flag wins over sampled 0", hdrs("X-B3-TraceId", trace128, "X-B3-SpanId", caller, "X-B3-Sampled", "0", "X-B3-Flags", "1"), trace128, true, nil},
		{"jaeger baggage", hdrs("uber-trace-id", trace64+":"+caller+":0:1", "uberctx-user", "ann%20b", "jaeger-baggage", "k1=v1, k2=v2"),
			trace64, true, map[string]string{"user": "ann b", "k1": "v1", "k2": "v2"}},
		{"b3 with jaeger baggage", hdrs("X-B3-TraceId", trace128, "X-B3-SpanId", caller, "X-B3-Sampled", "1", "uberctx-user", "ann", "jaeger-baggage", "k1=v1"),
			trace128, true, map[string]string{"user": "ann", "k1": "v1"}},
		{"b3 without sampled keeps baggage", hdrs("X-B3-TraceId", trace128, "X-B3-SpanId", caller, "baggage-tenant", "acme", "uberctx-user", "ann"),
			trace128, true, map[string]string{"tenant": "acme", "user": "ann"}},
		{"jaeger wins over b3", hdrs("uber-trace-id", trace64+":"+caller+":0:1", "X-B3-TraceId", trace128, "X-B3-SpanId", caller), trace64, true, nil},
		{"garbage jaeger falls back to b3", hdrs("uber-trace-id", "garbage", "X-B3-TraceId", trace128, "X-B3-SpanId", caller), trace128, true, nil},
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
			if sc.IsSampled() != tt.wantSampled {
				t.Errorf("server span sampled = %v, want %v", sc.IsSampled(), tt.wantSampled)
			}
			gotBaggage := map[string]string{}
			sc.ForeachBaggageItem(func(k, v string) bool { gotBaggage[k] = v; return true })
			if tt.wantBaggage == nil {
				tt.wantBaggage = map[string]string{}
			}
			if !maps.Equal(gotBaggage, tt.wantBaggage) {
				t.Errorf("server span baggage = %v, want %v", gotBaggage, tt.wantBaggage)
			}
			if got := rec.Header().Get(TraceIDHeader); got != tt.wantTrace {
				t.Errorf("%s = %q, want %q", TraceIDHeader, got, tt.wantTrace)
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
			for k, v := range tt.wantBaggage {
				if got := next.Get("Baggage-" + k); got != v {
					t.Errorf("re-injected baggage-%s = %q, want %q", k, got, v)
				}
			}
		})
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
