package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"tracelab/common/faults"
	"tracelab/common/logging"
	"tracelab/common/tracing/tracingtest"
)

// getWithFaults sends a GET for target through a server whose faults in spec are on for
// everyone, and with ctx as the request's context.
func getWithFaults(t *testing.T, ctx context.Context, tracer *tracingtest.Tracer, spec, target string) *httptest.ResponseRecorder {
	t.Helper()
	set, unknown := faults.Parse(spec)
	if len(unknown) > 0 {
		t.Fatalf("Parse(%q) unknown = %v, want none", spec, unknown)
	}
	h := newServer(logging.Discard(), tracer, faults.NewSwitch(true, set), builtinQuotes)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, target, nil))
	return rec
}

// TestSlowQuote checks both shapes of slow-quote: a latency is self time of the server
// span (no child span), a strength is a "burn cpu" child span; both tagged fault=slow-quote.
func TestSlowQuote(t *testing.T) {
	t.Run("latency", func(t *testing.T) {
		tracer := tracingtest.New()
		start := time.Now()
		rec := getWithFaults(t, context.Background(), tracer, "slow-quote=80ms", "/api/quote")
		if took := time.Since(start); rec.Code != http.StatusOK || took < 80*time.Millisecond {
			t.Fatalf("GET /api/quote with slow-quote=80ms = %d after %v, want 200 after 80ms or more", rec.Code, took)
		}
		if got, want := tracer.Names(), []string{"GET /api/quote"}; !slices.Equal(got, want) {
			t.Errorf("spans = %v, want %v: the latency is self time", got, want)
		}
		server, _ := tracer.Span("GET /api/quote")
		if got := server.Tag(faults.Tag); got != string(faults.SlowQuote) {
			t.Errorf("GET /api/quote tag fault = %v, want %q", got, faults.SlowQuote)
		}
	})
	t.Run("cpu", func(t *testing.T) {
		tracer := tracingtest.New()
		rec := getWithFaults(t, context.Background(), tracer, "slow-quote=3", "/api/quote")
		if rec.Code != http.StatusOK {
			t.Fatalf("GET /api/quote with slow-quote=3 = %d, want 200", rec.Code)
		}
		server, _ := tracer.Span("GET /api/quote")
		burn, ok := tracer.Span("burn cpu")
		if !ok {
			t.Fatalf("spans = %v, want a burn cpu span", tracer.Names())
		}
		tracingtest.AssertChildOf(t, tracer, burn, server)
		checkBurnTags(t, burn, 3)
		for _, span := range []string{"GET /api/quote", "burn cpu"} {
			s, _ := tracer.Span(span)
			if got := s.Tag(faults.Tag); got != string(faults.SlowQuote) {
				t.Errorf("%s tag fault = %v, want %q", span, got, faults.SlowQuote)
			}
		}
	})
	t.Run("off", func(t *testing.T) {
		tracer := tracingtest.New()
		getWithFaults(t, context.Background(), tracer, "", "/api/quote")
		server, _ := tracer.Span("GET /api/quote")
		if got := server.Tag(faults.Tag); got != nil {
			t.Errorf("GET /api/quote tag fault = %v, want none with no fault on", got)
		}
	})
}

// TestQuoteTimeout checks quote-timeout: quoteservice hangs for the fault's duration, then
// answers; or, when the caller gives up first, stops and says so on its span.
func TestQuoteTimeout(t *testing.T) {
	t.Run("hangs, then answers", func(t *testing.T) {
		tracer := tracingtest.New()
		start := time.Now()
		rec := getWithFaults(t, context.Background(), tracer, "quote-timeout=80ms", "/api/quote")
		if took := time.Since(start); rec.Code != http.StatusOK || took < 80*time.Millisecond {
			t.Fatalf("GET /api/quote with quote-timeout=80ms = %d after %v, want 200 after 80ms or more", rec.Code, took)
		}
		server, _ := tracer.Span("GET /api/quote")
		if got := server.Tag(faults.Tag); got != string(faults.QuoteTimeout) {
			t.Errorf("GET /api/quote tag fault = %v, want %q", got, faults.QuoteTimeout)
		}
	})
	t.Run("the caller gives up first", func(t *testing.T) {
		tracer := tracingtest.New()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		rec := getWithFaults(t, ctx, tracer, "quote-timeout", "/api/quote") // 5s by default
		if took := time.Since(start); rec.Code != statusClientClosedRequest || took > 3*time.Second {
			t.Fatalf("GET /api/quote with quote-timeout, caller gone after 100ms = %d after %v, want %d soon after 100ms",
				rec.Code, took, statusClientClosedRequest)
		}
		server, _ := tracer.Span("GET /api/quote")
		if got := server.Tag(faults.Tag); got != string(faults.QuoteTimeout) {
			t.Errorf("GET /api/quote tag fault = %v, want %q", got, faults.QuoteTimeout)
		}
		if got := tracingtest.Events(server); !slices.Contains(got, "the caller gave up") {
			t.Errorf("GET /api/quote events = %v, want \"the caller gave up\"", got)
		}
	})
}
