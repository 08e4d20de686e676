package tracing

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/opentracing/opentracing-go"
)

// The tests of this file run the same requests through both modes and compare what each
// records: the jaeger mode reporting to a fakeCollector, the otel mode to an in-memory
// exporter.
var modes = []string{SDKJaeger, SDKOTel}

// recordedSpan is what a test reads of a recorded span, the same in both modes.
type recordedSpan struct {
	name     string
	traceID  string // as the mode prints it: 16 or 32 hex digits in jaeger mode, 32 in otel
	parentID string // 16 hex digits; "" for a root span
	tags     map[string]string
}

// modeTracer is the tracer of mode built from env, and a function that closes it and
// returns the spans it recorded.
func modeTracer(t *testing.T, mode string, env map[string]string) (opentracing.Tracer, func() []recordedSpan) {
	t.Helper()
	env = cloneEnv(env)
	if mode == SDKOTel {
		tracer, finish := newTestOTelEnv(t, env)
		return tracer, func() []recordedSpan {
			stubs, _ := finish()
			var out []recordedSpan
			for _, s := range stubs {
				r := recordedSpan{name: s.Name, traceID: s.SpanContext.TraceID().String(), tags: map[string]string{}}
				if s.Parent.SpanID().IsValid() {
					r.parentID = s.Parent.SpanID().String()
				}
				for _, a := range s.Attributes {
					r.tags[string(a.Key)] = a.Value.Emit()
				}
				out = append(out, r)
			}
			return out
		}
	}
	rt := newRealTracer(t, env)
	return rt, func() []recordedSpan {
		_, spans := rt.recorded(t)
		var out []recordedSpan
		for _, s := range spans {
			r := recordedSpan{name: s.OperationName, traceID: thriftTraceID(s), tags: map[string]string{}}
			if s.ParentSpanId != 0 {
				r.parentID = fmt.Sprintf("%016x", uint64(s.ParentSpanId))
			}
			for _, tag := range s.Tags {
				r.tags[tag.Key], _ = thriftTag(s, tag.Key)
			}
			out = append(out, r)
		}
		return out
	}
}

func cloneEnv(env map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		out[k] = v
	}
	return out
}

// serveBaggage serves one request with header h through Middleware and returns the
// baggage the handler's span holds.
func serveBaggage(tracer opentracing.Tracer, h http.Header, opts ...MiddlewareOption) map[string]string {
	var got map[string]string
	handler := Middleware(tracer, opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = baggageOf(opentracing.SpanFromContext(r.Context()).Context())
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	for k, vs := range h {
		req.Header[k] = vs
	}
	handler.ServeHTTP(httptest.NewRecorder(), req)
	return got
}

// TestBaggageLimitsBothModes: the otel mode bounds W3C baggage the way the jaeger mode
// bounds uberctx-* (MaxBaggageItems, MaxBaggageBytes, keys in sorted order), and counts what
// it dropped in the same baggage.dropped tag.
func TestBaggageLimitsBothModes(t *testing.T) {
	type item struct{ k, v string }
	many := []item{}
	for i := range MaxBaggageItems + 4 {
		many = append(many, item{fmt.Sprintf("k%02d", i), "v"})
	}
	tests := []struct {
		name  string
		items []item
		kept  []string // keys, sorted
	}{
		{"too many items", many, func() []string {
			var keys []string
			for _, it := range many[:MaxBaggageItems] {
				keys = append(keys, it.k)
			}
			return keys
		}()},
		{"too many bytes", []item{{"big", strings.Repeat("x", MaxBaggageBytes)}, {"small", "v"}, {"tenant", "acme"}}, []string{"small", "tenant"}},
		{"two halves", []item{{"a", strings.Repeat("x", MaxBaggageBytes/2)}, {"b", strings.Repeat("y", MaxBaggageBytes/2)}, {"c", "v"}}, []string{"a", "c"}},
	}
	for _, tt := range tests {
		for _, mode := range modes {
			t.Run(tt.name+"/"+mode, func(t *testing.T) {
				h := http.Header{}
				if mode == SDKOTel { // one W3C header, what an OpenTelemetry caller sends
					var members []string
					for _, it := range tt.items {
						members = append(members, it.k+"="+it.v)
					}
					h.Set("Baggage", strings.Join(members, ","))
				} else {
					for _, it := range tt.items {
						h.Set(uberctxPrefix+it.k, it.v)
					}
				}
				tracer, finish := modeTracer(t, mode, nil)
				got := serveBaggage(tracer, h)
				var keys []string
				for k := range got {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				if !slices.Equal(keys, tt.kept) {
					t.Errorf("baggage kept %v, want %v", keys, tt.kept)
				}
				spans := finish()
				want := fmt.Sprint(len(tt.items) - len(tt.kept))
				if len(spans) != 1 || spans[0].tags[baggageDroppedTag] != want {
					t.Errorf("spans %+v, want one with %s=%s", spans, baggageDroppedTag, want)
				}
			})
		}
	}
}

// TestW3CBaggageRead: W3C's baggage header is read in the otel mode, percent-decoded, its
// properties left out, and checked like the other forms.
func TestW3CBaggageRead(t *testing.T) {
	tracer, _ := newTestOTel(t)
	got := serveBaggage(tracer, hdrs(
		"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		"baggage", "tenant=acme%2Cinc;p=1, fault=slow-quote%3D300ms,bad key=x,crlf=a%0d%0ab, empty=",
		"baggage", "second=header"))
	want := map[string]string{"tenant": "acme,inc", "fault": "slow-quote=300ms", "second": "header"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("baggage %v, want %v", got, want)
	}
}

// TestOTelRefuseBaggage: RefuseBaggage drops the caller's fault item whichever header form
// brought it, with or without a trace, in the otel mode as in the jaeger mode: no span
// records it, and the call downstream carries it in none of its headers.
func TestOTelRefuseBaggage(t *testing.T) {
	const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	tests := []struct {
		name    string
		headers map[string][]string
	}{
		{"w3c", hdrs("traceparent", traceparent, "baggage", "fault=slow-quote,tenant=acme")},
		{"w3c escaped, with properties", hdrs("traceparent", traceparent, "baggage", "FAULT=slow-quote%3D300ms;p=1, tenant=acme")},
		{"w3c without a trace", hdrs("baggage", "fault=slow-quote,tenant=acme")},
		{"uberctx", hdrs("traceparent", traceparent, "uberctx-fault", "slow-quote", "uberctx-tenant", "acme")},
		{"uberctx with uber-trace-id", hdrs("uber-trace-id", "3:4:0:1", "uberctx-fault", "slow-quote", "uberctx-tenant", "acme")},
		{"uberctx without a trace", hdrs("uberctx-fault", "slow-quote", "uberctx-tenant", "acme")},
		{"jaeger-baggage", hdrs("traceparent", traceparent, "jaeger-baggage", "fault=slow-quote, tenant=acme")},
		{"b3 baggage", hdrs("X-B3-TraceId", "0af7651916cd43dd8448eb211c80319c", "X-B3-SpanId", "b7ad6b7169203331",
			"X-B3-Sampled", "1", "baggage-fault", "slow-quote", "baggage-tenant", "acme")},
		{"every form at once", hdrs("traceparent", traceparent, "baggage", "fault=a,tenant=acme", "uberctx-fault", "b",
			"jaeger-baggage", "fault=c")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tracer, finish := newTestOTel(t)
			var downstream http.Header
			var downstreamBaggage map[string]string
			backend := httptest.NewServer(Middleware(tracer)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				downstream = r.Header.Clone()
				downstreamBaggage = baggageOf(opentracing.SpanFromContext(r.Context()).Context())
			})))
			defer backend.Close()
			client := &http.Client{Transport: Transport(http.DefaultTransport, "backend")}
			edge := Middleware(tracer, RefuseBaggage("fault"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, backend.URL+"/", nil)
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			for k, vs := range tt.headers {
				req.Header[k] = vs
			}
			edge.ServeHTTP(httptest.NewRecorder(), req)
			backend.Close()
			spans, _ := finish()

			if downstreamBaggage["fault"] != "" || downstreamBaggage["tenant"] != "acme" {
				t.Errorf("downstream span baggage = %v, want tenant=acme and no fault", downstreamBaggage)
			}
			for k, vs := range downstream {
				if v := strings.ToLower(strings.Join(vs, ",")); strings.Contains(strings.ToLower(k), "fault") || strings.Contains(v, "fault") {
					t.Errorf("downstream request header %s: %v, want no fault", k, vs)
				}
			}
			if !strings.Contains(downstream.Get("Baggage"), "tenant=acme") || downstream.Get("Uberctx-Tenant") != "acme" {
				t.Errorf("downstream headers %v, want tenant=acme in baggage and uberctx-tenant", downstream)
			}
			refused := 0
			for _, s := range spans {
				if hasAttr(s.Attributes, baggageRefusedTag, "fault") {
					refused++
				}
				for _, a := range s.Attributes {
					if string(a.Key) == "baggage.fault" {
						t.Errorf("span %q has baggage.fault=%s, want none: the item was refused", s.Name, a.Value.Emit())
					}
				}
			}
			if refused != 1 {
				t.Errorf("%d spans tagged %s=fault, want the edge's server span", refused, baggageRefusedTag)
			}
			if tt.headers["Traceparent"] != nil {
				for _, s := range spans {
					if s.SpanContext.TraceID().String() != "0af7651916cd43dd8448eb211c80319c" {
						t.Errorf("span %q in trace %s, want the caller's", s.Name, s.SpanContext.TraceID())
					}
				}
			}
		})
	}
}
