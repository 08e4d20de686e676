package main

import (
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/mocktracer"

	"tracelab/common/faults"
	"tracelab/common/logging"
	"tracelab/common/tracing/tracingtest"
	"tracelab/internal/servicetest"
)

// get sends a GET for target through the whole server (routing, middleware and all).
func get(t *testing.T, tracer opentracing.Tracer, target string) *httptest.ResponseRecorder {
	t.Helper()
	h := newServer(logging.Discard(), tracer, faults.NewSwitch(true, nil), builtinQuotes)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

func TestQuote(t *testing.T) {
	tests := []struct {
		target, wantLanguage string
	}{
		{"/api/quote", "en"},
		{"/api/quote?language=", "en"},
		{"/api/quote?strength=0", "en"},
		{"/api/quote?strength=2&language=de", "de"},
		{"/api/quote?language=sv", "sv"},
		{"/api/quote?strength=100&language=fr", "fr"}, // the most CPU a request may burn
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			rec := get(t, opentracing.NoopTracer{}, tt.target)
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s status = %d, want 200; body %s", tt.target, rec.Code, rec.Body)
			}
			body := servicetest.DecodeJSON(t, rec)
			if got, want := slices.Sorted(maps.Keys(body)), []string{"language", "quote", "servedBy"}; !slices.Equal(got, want) {
				t.Errorf("GET %s keys = %v, want %v", tt.target, got, want)
			}
			if body["language"] != tt.wantLanguage {
				t.Errorf("GET %s language = %v, want %q", tt.target, body["language"], tt.wantLanguage)
			}
			if q, _ := body["quote"].(string); !slices.Contains(builtinQuotes.byLanguage[tt.wantLanguage], q) {
				t.Errorf("GET %s quote = %v, want one of the %q quotes", tt.target, body["quote"], tt.wantLanguage)
			}
			if s, _ := body["servedBy"].(string); !strings.HasPrefix(s, "quoteservice@") {
				t.Errorf("GET %s servedBy = %v, want quoteservice@<hostname>", tt.target, body["servedBy"])
			}
		})
	}
}

func TestQuoteBadRequest(t *testing.T) {
	langError := "language must be one of " + strings.Join(builtinQuotes.languages(), ", ")
	tests := []struct {
		name, query, wantError string
	}{
		{"negative strength", "strength=-1", errBadStrength.Error()},
		{"strength above max", "strength=101", errBadStrength.Error()},
		{"strength not a number", "strength=x", errBadStrength.Error()},
		{"fractional strength", "strength=1.5", errBadStrength.Error()},
		{"strength with space", "strength=%205", errBadStrength.Error()},
		{"huge strength", "strength=99999999999999999999999", errBadStrength.Error()},
		{"unknown language", "language=xx", langError},
		{"language in other case", "language=EN", langError},
		{"bad strength wins over language", "strength=x&language=xx", errBadStrength.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := "/api/quote?" + tt.query
			rec := get(t, opentracing.NoopTracer{}, target)
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("GET %s status = %d, want 400; body %s", target, rec.Code, rec.Body)
			}
			body := servicetest.DecodeJSON(t, rec)
			if body["error"] != tt.wantError || len(body) != 1 {
				t.Errorf("GET %s body = %v, want {\"error\": %q}", target, body, tt.wantError)
			}
		})
	}
}

// TestQuoteSpans checks the trace a quote leaves: a server span, and a "burn cpu" child
// span exactly when there is CPU to burn.
func TestQuoteSpans(t *testing.T) {
	tests := []struct {
		target     string
		wantStatus int
		wantBurn   bool
	}{
		{"/api/quote?strength=1", http.StatusOK, true},
		{"/api/quote?strength=0", http.StatusOK, false},
		{"/api/quote", http.StatusOK, false},
		{"/api/quote?strength=101", http.StatusBadRequest, false},
		{"/api/quote?strength=1&language=xx", http.StatusBadRequest, false},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			tracer := tracingtest.New()
			if rec := get(t, tracer, tt.target); rec.Code != tt.wantStatus {
				t.Fatalf("GET %s status = %d, want %d", tt.target, rec.Code, tt.wantStatus)
			}
			want := []string{"GET /api/quote"}
			if tt.wantBurn {
				want = append(want, "burn cpu") // sorted: upper case first
			}
			if got := slices.Sorted(slices.Values(tracer.Names())); !slices.Equal(got, want) {
				t.Fatalf("GET %s spans = %v, want %v", tt.target, got, want)
			}
			server, _ := tracer.Span("GET /api/quote")
			tracingtest.AssertServerSpan(t, server, tt.wantStatus)
			if burn, ok := tracer.Span("burn cpu"); ok {
				tracingtest.AssertChildOf(t, tracer, burn, server)
				checkBurnTags(t, burn, 1)
			}
		})
	}
}

func checkBurnTags(t *testing.T, span *mocktracer.MockSpan, strength int) {
	t.Helper()
	if got := span.Tag("strength"); got != strength {
		t.Errorf("burn cpu tag strength = %v, want %d", got, strength)
	}
	if got, _ := span.Tag("rounds").(int); got <= 0 {
		t.Errorf("burn cpu tag rounds = %v, want a positive count", span.Tag("rounds"))
	}
}

func TestParseStrength(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr error
	}{
		{"", 0, nil},
		{"0", 0, nil},
		{"7", 7, nil},
		{"100", 100, nil},
		{"-1", 0, errBadStrength},
		{"101", 0, errBadStrength},
		{"1e2", 0, errBadStrength},
	}
	for _, tt := range tests {
		got, err := parseStrength(tt.in)
		if got != tt.want || !errors.Is(err, tt.wantErr) {
			t.Errorf("parseStrength(%q) = %d, %v, want %d, %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestHealthz(t *testing.T) {
	rec := get(t, tracingtest.New(), "/healthz")
	body := servicetest.DecodeJSON(t, rec)
	if rec.Code != http.StatusOK || body["status"] != "ok" || body["service"] != serviceName {
		t.Errorf("GET /healthz = %d %v, want 200 {status: ok, service: %s}", rec.Code, body, serviceName)
	}
}

func TestUnknownRouteIsJSON404(t *testing.T) {
	for _, target := range []string{"/", "/api/quotes", "/api/quote/en"} {
		rec := get(t, tracingtest.New(), target)
		body := servicetest.DecodeJSON(t, rec)
		if rec.Code != http.StatusNotFound || body["error"] == nil {
			t.Errorf("GET %s = %d %v, want 404 {\"error\": ...}", target, rec.Code, body)
		}
	}
}

// BenchmarkBurn measures what one unit of strength costs on this machine, the number
// MaxStrength's comment speaks of.
func BenchmarkBurn(b *testing.B) {
	const strength = 10
	span := opentracing.NoopTracer{}.StartSpan("burn cpu")
	for b.Loop() {
		burn(span, strength)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*strength)/1000, "ms/unit")
}
