package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"tracelab/internal/servicetest"
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

// TestCallerB3SingleHeaderContinues: OpenTelemetry's B3 propagator writes one b3 header,
// {TraceId}-{SpanId}-{SamplingState}, by default; the trace continues as with X-B3-*.
func TestCallerB3SingleHeaderContinues(t *testing.T) {
	t.Parallel()
	traceID, spanID := newID(16), newID(8)
	_, _, id := get(t, "/api/accounts/10001", map[string]string{"b3": traceID + "-" + spanID + "-1"})
	if id != traceID {
		t.Fatalf("X-Trace-Id = %s, want the caller's %s", id, traceID)
	}
	tr := waitForTrace(t, traceID, regularTrace().count())
	assertTrace(t, tr, regularTrace().withRoot("CHILD_OF"))
	assertRootParent(t, tr.Spans, spanID)
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

// TestHostileBaggage: baggage that would break a call's headers (control characters once
// unescaped, a key that is no header name) and more items than the limit, through the whole
// landscape, HTTP and AMQP. Every call is made (the account comes with its quote and its
// image), the edge keeps the first 16 good items in key order and drops the rest, and the
// items it kept reach vipservice. Only the edge's span counts what was dropped: nothing of
// it went further.
func TestHostileBaggage(t *testing.T) {
	t.Parallel()
	headers := map[string]string{
		"uberctx-tenant": "acme",
		"jaeger-baggage": "workshop=lab1, bad key=x",
		"uberctx-crlf":   "a%0d%0ab",
		"uberctx-nul":    "a%00b",
	}
	kept := []string{"tenant=acme", "workshop=lab1"} // sorted first, before z00...
	for i := range 20 {
		headers[fmt.Sprintf("uberctx-z%02d", i)] = "v"
		if i < 14 {
			kept = append(kept, fmt.Sprintf("z%02d=v", i))
		}
	}
	resp, body, id := get(t, "/api/accounts/10010", headers) // a VIP: the AMQP hop is in it
	assertAccount(t, resp, body, "10010", true)

	want := withBaggage(vipTrace(), kept...)
	tr := waitForTrace(t, id, want.count())
	assertTrace(t, tr, want.with("baggage.dropped=9")) // crlf, nul, "bad key"; z14 to z19
	for _, s := range tr.Spans {
		if got, ok := s.Tag("baggage.dropped"); ok && s.OperationName != want.op {
			t.Errorf("span %s %q has baggage.dropped=%s, want it on the edge's span only", tr.Service(s), s.OperationName, got)
		}
	}
}

// TestUntrustingEdge runs a second edge with EDGE_TRUST_TRACE_HEADERS=false in front of the
// same services. A caller's trace id, its decision not to sample and its baggage count for
// nothing there: the trace is the edge's own, recorded, and keeps the caller's ids as tags.
func TestUntrustingEdge(t *testing.T) {
	t.Parallel()
	edge := startEdge(t, "EDGE_TRUST_TRACE_HEADERS=false")
	callerTrace, callerSpan := newID(8), newID(8)
	req, _ := http.NewRequest(http.MethodGet, edge+"/api/accounts/10001", nil)
	req.Header.Set("uber-trace-id", callerTrace+":"+callerSpan+":0:0") // flags 0: not sampled
	req.Header.Set("uberctx-tenant", "acme")
	resp, err := edgeClient.Do(req)
	if err != nil {
		t.Fatalf("GET through the untrusting edge: %v", err)
	}
	body := readAll(resp)
	resp.Body.Close()
	assertAccount(t, resp, body, "10001", true)
	id := resp.Header.Get("X-Trace-Id")
	if id == "" || id == callerTrace {
		t.Fatalf("X-Trace-Id = %q, want a trace of the edge's own, not the caller's %s", id, callerTrace)
	}
	want := regularTrace().with("caller.trace_id="+callerTrace, "caller.span_id="+callerSpan)
	tr := waitForTrace(t, id, want.count())
	assertTrace(t, tr, want)
	for _, s := range tr.Spans {
		if v, ok := s.Tag("baggage.tenant"); ok {
			t.Errorf("span %s %q has baggage.tenant=%s, want none of the caller's baggage", tr.Service(s), s.OperationName, v)
		}
	}
}

// startEdge starts bin/edge on a port of its own, in front of the suite's accountservice
// and imageservice, with env added, and returns its URL. It is stopped (SIGTERM, so it
// flushes its spans) when the test ends.
func startEdge(t *testing.T, env ...string) string {
	t.Helper()
	addr := servicetest.FreeAddr(t)
	cmd := exec.Command(filepath.Join("..", "bin", "edge"))
	cmd.Env = append(os.Environ(), append([]string{
		"EDGE_ADDR=" + addr,
		"ACCOUNTSERVICE_URL=" + land.URL("accountservice"),
		"IMAGESERVICE_URL=" + land.URL("imageservice"),
		"JAEGER_DISABLED=false",
	}, env...)...)
	var out servicetest.LockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting a second edge: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil || !strings.Contains(out.String(), `"tracer closed`) {
				t.Errorf("second edge stopped with %v and no tracer-closed line; output:\n%s", err, out.String())
			}
		case <-time.After(servicetest.Patience):
			_ = cmd.Process.Kill()
			t.Errorf("second edge did not stop within %v of SIGTERM", servicetest.Patience)
		}
	})
	url := "https://" + addr
	servicetest.WaitFor(t, "the second edge to answer /healthz", servicetest.Answers200(edgeClient, url+"/healthz"))
	return url
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
