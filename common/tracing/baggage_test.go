package tracing

import (
	"bytes"
	"fmt"
	"io"
	stdlog "log"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/opentracing/opentracing-go"
)

// TestExtractDropsBadBaggage: items that would break the next call's headers (a key that
// is no token, a value with control characters once unescaped) are dropped and counted;
// the good ones beside them are kept.
func TestExtractDropsBadBaggage(t *testing.T) {
	const trace = "a1b2c3d4e5f60718:a2fb4a1d1a96d312:0:1"
	tests := []struct {
		name        string
		headers     map[string][]string
		wantBaggage map[string]string
		wantDropped int
		wantKeys    []string // quoted, in the log line
	}{
		{"CR LF escaped", hdrs("uberctx-x", "a%0d%0ab", "uberctx-good", "1"), map[string]string{"good": "1"}, 1, []string{`"x"`}},
		{"NUL escaped", hdrs("uberctx-x", "a%00b"), nil, 1, []string{`"x"`}},
		{"tab escaped", hdrs("uberctx-x", "a%09b"), nil, 1, []string{`"x"`}},
		{"DEL escaped", hdrs("uberctx-x", "a%7Fb"), nil, 1, []string{`"x"`}},
		{"bad escape", hdrs("uberctx-x", "%zz"), nil, 1, []string{`"x"`}},
		{"key not a token", hdrs("uberctx-a(b)", "v"), nil, 1, []string{`"a(b)"`}},
		{"jaeger-baggage key with a space", hdrs("jaeger-baggage", "bad key=v, good=1"), map[string]string{"good": "1"}, 1, []string{`"bad key"`}},
		{"jaeger-baggage escaped CR LF", hdrs("jaeger-baggage", "x=a%0D%0Ab"), nil, 1, []string{`"x"`}},
		{"jaeger-baggage without =", hdrs("jaeger-baggage", "novalue, =v, ,"), nil, 2, []string{`"novalue"`, `""`}},
		{"b3 baggage with control characters", hdrs("X-B3-TraceId", "a1b2c3d4e5f60718", "X-B3-SpanId", "a2fb4a1d1a96d312", "baggage-x", "a\x01b"),
			nil, 1, []string{`"x"`}},
		{"a key out of the ordinary, quoted", hdrs("uberctx-\u00e9\x1b[31m", "v"), nil, 1, []string{`"\u00e9\x1b[31m"`}},
		{"UTF-8 is fine", hdrs("uberctx-city", "Z%C3%BCrich"), map[string]string{"city": "Zürich"}, 0, nil},
		{"an empty value is no item", hdrs("uberctx-x", ""), nil, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header(maps.Clone(tt.headers))
			if h.Get("X-B3-Traceid") == "" {
				h.Set("uber-trace-id", trace) // B3's baggage is read only beside B3's ids
			}
			sc, rest, err := httpPropagator.extract(opentracing.HTTPHeadersCarrier(h))
			if err != nil {
				t.Fatalf("extract(%v) error: %v", h, err)
			}
			if tt.wantBaggage == nil {
				tt.wantBaggage = map[string]string{}
			}
			if got := baggageOf(sc); !maps.Equal(got, tt.wantBaggage) {
				t.Errorf("extract(%v) baggage = %q, want %q", tt.headers, got, tt.wantBaggage)
			}
			if got := rest.dropped.count(); got != tt.wantDropped || rest.dropped.invalid != tt.wantDropped {
				t.Errorf("extract(%v) dropped %d (invalid %d), want %d invalid", tt.headers, got, rest.dropped.invalid, tt.wantDropped)
			}
			if !slices.Equal(rest.dropped.keys, tt.wantKeys) {
				t.Errorf("extract(%v) dropped keys %q, want %q", tt.headers, rest.dropped.keys, tt.wantKeys)
			}
		})
	}
}

// TestExtractBoundsBaggage: at most MaxBaggageItems items and MaxBaggageBytes bytes, the
// excess dropped with the keys in sorted order, and the same items kept every time.
func TestExtractBoundsBaggage(t *testing.T) {
	many := hdrs()
	for i := range 1000 {
		many[fmt.Sprintf("Uberctx-K%03d", i)] = []string{"v"}
	}
	firstSixteen := map[string]string{}
	for i := range MaxBaggageItems {
		firstSixteen[fmt.Sprintf("k%03d", i)] = "v"
	}
	kib := strings.Repeat("x", 1<<10)
	tests := []struct {
		name        string
		headers     map[string][]string
		wantBaggage map[string]string
		wantDropped int
	}{
		{"1,000 items", many, firstSixteen, 1000 - MaxBaggageItems},
		{"a 40 KB value costs only itself", hdrs("uberctx-a", strings.Repeat("x", 40<<10), "uberctx-b", "1", "uberctx-c", "2"),
			map[string]string{"b": "1", "c": "2"}, 1},
		{"bytes: what fits, in key order", hdrs("uberctx-a", kib, "uberctx-b", kib, "uberctx-c", "1"),
			map[string]string{"a": kib, "c": "1"}, 1}, // a and b together are 2,050 bytes
		{"exactly the limit", hdrs("uberctx-a", strings.Repeat("x", MaxBaggageBytes-1)),
			map[string]string{"a": strings.Repeat("x", MaxBaggageBytes-1)}, 0},
		{"one byte over", hdrs("uberctx-a", strings.Repeat("x", MaxBaggageBytes)), map[string]string{}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header(hdrs("uber-trace-id", "a1b2c3d4e5f60718:a2fb4a1d1a96d312:0:1"))
			maps.Copy(h, tt.headers)
			for range 5 { // map order differs from run to run; what is kept must not
				sc, rest, err := httpPropagator.extract(opentracing.HTTPHeadersCarrier(h))
				if err != nil {
					t.Fatalf("extract error: %v", err)
				}
				if got := baggageOf(sc); !maps.Equal(got, tt.wantBaggage) {
					t.Fatalf("extract kept %d items %v, want %d: %v", len(got), firstKeys(got),
						len(tt.wantBaggage), firstKeys(tt.wantBaggage))
				}
				if rest.dropped.overLimit != tt.wantDropped || rest.dropped.invalid != 0 {
					t.Fatalf("extract dropped %d over the limits (%d invalid), want %d", rest.dropped.overLimit, rest.dropped.invalid, tt.wantDropped)
				}
				if len(rest.dropped.keys) > maxLoggedKeys {
					t.Fatalf("extract names %d dropped keys, want at most %d for the log", len(rest.dropped.keys), maxLoggedKeys)
				}
			}
		})
	}
}

// TestMiddlewareBaggageNeverFailsTheNextCall sends hostile baggage to a service that calls
// another: every call succeeds, the next hop gets only good baggage, once (no baggage-*
// copies), the span counts what was dropped, and one debug line names the keys, never the
// values. Nothing is printed outside the service's logger (the Jaeger client's own
// jaeger-baggage parser prints to the std log).
func TestMiddlewareBaggageNeverFailsTheNextCall(t *testing.T) {
	var stdLog bytes.Buffer
	defer stdlog.SetOutput(stdlog.Writer())
	stdlog.SetOutput(&stdLog)

	var received http.Header
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received = r.Header.Clone()
	}))
	defer backend.Close()
	client := &http.Client{Transport: Transport(nil, "backend")}

	tracer := newRealTracer(t, nil)
	log, lines := jsonLog(t)
	srv := httptest.NewServer(Middleware(tracer, WithLogger(log))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, backend.URL, nil)
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
	})))
	defer srv.Close()

	const secret = "s3cret-value"
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/accounts/10001", nil)
	req.Header.Set("uber-trace-id", "a1b2c3d4e5f60718:a2fb4a1d1a96d312:0:1")
	req.Header.Set("uberctx-crlf", "a%0d%0ab"+secret)
	req.Header.Set("uberctx-nul", "a%00b")
	req.Header.Set("uberctx-tenant", "acme")
	req.Header.Set("jaeger-baggage", "bad key="+secret+", novalue, %zz=1")
	for i := range 20 {
		req.Header.Set("uberctx-z"+strconv.Itoa(i), "v")
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("GET with hostile baggage: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET with hostile baggage = %d %s, want 200 with the next call made", resp.StatusCode, body)
	}

	var sent []string
	for k := range received {
		if hasPrefixFold(k, b3BaggagePrefix) {
			t.Errorf("next hop received %s: each item went twice", k)
		}
		if hasPrefixFold(k, uberctxPrefix) {
			sent = append(sent, strings.ToLower(k))
		}
	}
	slices.Sort(sent)
	// 16 of the 21 good items, in key order: tenant comes before every z<i>.
	want := []string{"uberctx-tenant", "uberctx-z0", "uberctx-z1", "uberctx-z10", "uberctx-z11", "uberctx-z12",
		"uberctx-z13", "uberctx-z14", "uberctx-z15", "uberctx-z16", "uberctx-z17", "uberctx-z18", "uberctx-z19",
		"uberctx-z2", "uberctx-z3", "uberctx-z4"}
	if !slices.Equal(sent, want) {
		t.Errorf("next hop received baggage %q, want %q", sent, want)
	}

	_, spans := tracer.recorded(t)
	var server []string
	for _, s := range spans {
		if got, ok := thriftTag(s, "baggage.dropped"); ok {
			server = append(server, got)
		}
	}
	// Dropped: crlf, nul, "bad key", novalue and %zz (a bad escape) as invalid, and 5 of the
	// 21 good items over the limit.
	if !slices.Equal(server, []string{"10"}) {
		t.Errorf("spans tagged baggage.dropped = %q, want one span with 10", server)
	}

	var debug []logLine
	for _, l := range lines() {
		if l.Msg == "baggage dropped" {
			debug = append(debug, l)
		}
	}
	if len(debug) != 1 {
		t.Fatalf("log lines %q: %d, want 1 per request", "baggage dropped", len(debug))
	}
	if got := debug[0]; got.Level != "DEBUG" || got.Attrs["baggage.dropped"] != 10.0 ||
		got.Attrs["baggage.invalid"] != 5.0 || got.Attrs["baggage.over_limit"] != 5.0 {
		t.Errorf("baggage dropped line = %v, want debug, 10 dropped: 5 invalid, 5 over the limit", got.Attrs)
	}
	raw := fmt.Sprint(debug[0].Attrs)
	if strings.Contains(raw, secret) || !strings.Contains(raw, `"bad key"`) {
		t.Errorf("baggage dropped line = %s, want the quoted keys and no value", raw)
	}
	if stdLog.Len() > 0 {
		t.Errorf("std log got %q, want nothing outside the service's logger", stdLog.String())
	}
}

// firstKeys lists the first keys of m in sorted order, for a failure message.
func firstKeys(m map[string]string) []string {
	keys := slices.Sorted(maps.Keys(m))
	if len(keys) > 20 {
		keys = append(keys[:20], "...")
	}
	return keys
}
