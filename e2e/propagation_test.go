package e2e

import (
	"strings"
	"testing"
)

// A caller that is traced itself sends its trace context along; the landscape's spans then
// join the caller's trace instead of starting one. The edge's server span keeps a CHILD_OF
// reference to the caller's span, which Jaeger does not have (the caller reports elsewhere).

func TestCallerJaegerTraceContinues(t *testing.T) {
	t.Parallel()
	traceID, spanID := newID(8), newID(8)
	_, _, id := get(t, "/api/accounts/10001", map[string]string{
		"uber-trace-id": traceID + ":" + spanID + ":0:1", // trace:span:parent:flags (1 = sampled)
	})
	if id != traceID {
		t.Fatalf("X-Trace-Id = %s, want the caller's %s", id, traceID)
	}
	tr := waitForTrace(t, traceID, regularTrace().count())
	assertTrace(t, tr, regularTrace().withRoot("CHILD_OF"))
	assertRootParent(t, tr.Spans, spanID)
}

func TestCallerB3TraceContinues128Bit(t *testing.T) {
	t.Parallel()
	traceID, spanID := newID(16), newID(8) // 128-bit trace id, as Zipkin and OpenTelemetry make them
	_, _, id := get(t, "/api/accounts/10001", map[string]string{
		"X-B3-TraceId": traceID,
		"X-B3-SpanId":  spanID,
		"X-B3-Sampled": "1",
	})
	if id != traceID {
		t.Fatalf("X-Trace-Id = %s, want the caller's 128-bit %s", id, traceID)
	}
	tr := waitForTrace(t, traceID, regularTrace().count())
	assertTrace(t, tr, regularTrace().withRoot("CHILD_OF"))
	assertRootParent(t, tr.Spans, spanID)
	for _, s := range tr.Spans {
		if s.TraceID != traceID {
			t.Errorf("span %q has trace id %s, want all 128 bits of %s", s.OperationName, s.TraceID, traceID)
		}
	}
}

// TestMalformedTracingHeaders: headers that cannot be parsed start a fresh trace; the
// request is served as if they were not there.
func TestMalformedTracingHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		headers map[string]string
	}{
		{"uber-trace-id garbage", map[string]string{"uber-trace-id": "not-a-trace"}},
		{"uber-trace-id zero ids", map[string]string{"uber-trace-id": "0:0:0:1"}},
		{"uber-trace-id too many parts", map[string]string{"uber-trace-id": "1:2:3:4:5:6"}},
		{"uber-trace-id huge", map[string]string{"uber-trace-id": strings.Repeat("f", 8000)}},
		{"B3 non-hex", map[string]string{"X-B3-TraceId": "xyz", "X-B3-SpanId": "!!", "X-B3-Sampled": "1"}},
		{"B3 40 hex digits", map[string]string{"X-B3-TraceId": strings.Repeat("a", 40), "X-B3-SpanId": "1", "X-B3-Sampled": "1"}},
		{"bad baggage escape", map[string]string{"uberctx-x": "%zz", "jaeger-baggage": "=,=,,"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, body, id := get(t, "/api/accounts/10001", tt.headers)
			assertAccount(t, resp, body, "10001", true)
			for _, v := range tt.headers {
				if id == v || strings.HasPrefix(v, id) {
					t.Errorf("X-Trace-Id %s comes from the malformed header %q", id, v)
				}
			}
			assertTrace(t, waitForTrace(t, id, regularTrace().count()), regularTrace())
		})
	}
}

// TestBaggageReachesEverySpan: baggage a caller sends rides along with the trace, over
// HTTP and over AMQP, and every server and consumer span records what it received as a
// baggage.<key> tag. Both of Jaeger's header forms are used.
func TestBaggageReachesEverySpan(t *testing.T) {
	t.Parallel()
	_, _, id := get(t, "/api/accounts/10010", map[string]string{ // 10010 is a VIP: the AMQP hop is in it
		"jaeger-baggage": "workshop=lab1",
		"uberctx-tenant": "acme",
	})
	want := vipTrace()
	assertTrace(t, waitForTrace(t, id, want.count()), withBaggage(want, "workshop=lab1", "tenant=acme"))
}

// withBaggage expects every server and consumer span of s to carry the baggage as tags.
func withBaggage(s span, kvs ...string) span {
	if kind := s.tags["span.kind"]; kind == "server" || kind == "consumer" {
		for _, kv := range kvs {
			s = s.with("baggage." + kv)
		}
	}
	children := make([]span, len(s.children))
	for i, c := range s.children {
		children[i] = withBaggage(c, kvs...)
	}
	s.children = children
	return s
}

// withRoot expects the root span to refer to a parent outside the trace.
func (s span) withRoot(ref string) span { s.ref = ref; return s }
