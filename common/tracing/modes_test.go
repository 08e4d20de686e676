package tracing

import (
	"fmt"
	"io"
	"maps"
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
	env = maps.Clone(env) // newTestOTelEnv writes into it
	if env == nil {
		env = map[string]string{}
	}
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

// TestB3SamplingBothModes: what each B3 sampling state does, the same in both modes. No
// decision (X-B3-* without X-B3-Sampled, b3 with two fields) leaves it to the local sampler,
// which keeps the caller's trace and parent span ids when it records; 0 is never recorded;
// debug always is; b3 alone (0 or d) decides for a new trace.
func TestB3SamplingBothModes(t *testing.T) {
	const trace, span = "463ac35c9f6413ad48485a3953bb6124", "a2fb4a1d1a96d312"
	ids := []string{"X-B3-TraceId", trace, "X-B3-SpanId", span}
	single := trace + "-" + span
	tests := []struct {
		name     string
		headers  map[string][]string
		sampler  string // JAEGER_SAMPLER_PARAM of const: 1 records every trace of our own, 0 none
		recorded bool
		newTrace bool // recorded in a trace of its own, not the caller's
	}{
		{"no X-B3-Sampled, sampler on", hdrs(ids...), "1", true, false},
		{"no X-B3-Sampled, sampler off", hdrs(ids...), "0", false, false},
		{"b3 without sampling state, sampler on", hdrs("b3", single), "1", true, false},
		{"b3 without sampling state, sampler off", hdrs("b3", single), "0", false, false},
		{"X-B3-Sampled 1, sampler off", hdrs(append(ids, "X-B3-Sampled", "1")...), "0", true, false},
		{"X-B3-Sampled 0", hdrs(append(ids, "X-B3-Sampled", "0")...), "1", false, false},
		{"b3 sampled 0", hdrs("b3", single+"-0"), "1", false, false},
		{"b3 0 alone", hdrs("b3", "0"), "1", false, false},
		{"X-B3-Flags 1, sampler off", hdrs(append(ids, "X-B3-Flags", "1")...), "0", true, false},
		{"b3 debug, sampler off", hdrs("b3", single+"-d"), "0", true, false},
		{"b3 d alone, sampler off", hdrs("b3", "d"), "0", true, true},
	}
	for _, tt := range tests {
		for _, mode := range modes {
			t.Run(tt.name+"/"+mode, func(t *testing.T) {
				tracer, finish := modeTracer(t, mode, map[string]string{"JAEGER_SAMPLER_PARAM": tt.sampler})
				serveBaggage(tracer, tt.headers)
				spans := finish()
				if got := len(spans) == 1; got != tt.recorded || len(spans) > 1 {
					t.Fatalf("%d spans recorded, want recorded=%v", len(spans), tt.recorded)
				}
				if !tt.recorded {
					return
				}
				s := spans[0]
				inCallersTrace := s.traceID == trace && s.parentID == span
				if inCallersTrace == tt.newTrace || (tt.newTrace && s.parentID != "") {
					t.Errorf("span in trace %s, parent %q; want new trace %v (caller's: trace %s, parent %s)",
						s.traceID, s.parentID, tt.newTrace, trace, span)
				}
			})
		}
	}
}

// TestB3UndecidedNoteStaysHere: the otel mode's note of an undecided B3 parent is neither
// written to the next call's tracestate nor taken from a caller, whose sampled=0 it would
// overrule.
func TestB3UndecidedNoteStaysHere(t *testing.T) {
	tracer, finish := newTestOTel(t)
	var next http.Header
	handler := Middleware(tracer)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next = http.Header{}
		span := opentracing.SpanFromContext(r.Context())
		_ = tracer.Inject(span.Context(), opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(next))
	}))
	for _, h := range []map[string][]string{
		hdrs("X-B3-TraceId", "463ac35c9f6413ad48485a3953bb6124", "X-B3-SpanId", "a2fb4a1d1a96d312"),
		hdrs("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00", "tracestate", undecidedKey+"=1,other=x"),
	} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		for k, vs := range h {
			req.Header[k] = vs
		}
		handler.ServeHTTP(httptest.NewRecorder(), req)
		if ts := next.Get("Tracestate"); strings.Contains(ts, undecidedKey) {
			t.Errorf("%v: next call's tracestate %q, want no %s", h, ts, undecidedKey)
		}
	}
	spans, _ := finish()
	if len(spans) != 1 || spans[0].SpanContext.TraceID().String() != "463ac35c9f6413ad48485a3953bb6124" {
		t.Errorf("%d spans recorded, want the undecided B3 one only, not the caller's sampled=0", len(spans))
	}
}
