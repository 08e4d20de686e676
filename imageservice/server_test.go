package main

import (
	"net/http"
	"slices"
	"testing"

	"github.com/opentracing/opentracing-go/ext"

	"tracelab/common/tracing/tracingtest"
	"tracelab/internal/servicetest"
)

// TestServerSpans checks the trace each route leaves: one server span named after the
// route, and the decode, filter and encode steps as its children, only where work was done.
func TestServerSpans(t *testing.T) {
	tests := []struct {
		target       string
		wantOp       string
		wantStatus   int
		wantChildren []string
	}{
		{"/accounts/42", "GET /accounts/{id}", http.StatusOK, nil},
		{"/accounts/x", "GET /accounts/{id}", http.StatusBadRequest, nil},
		{"/file/rainbow.png", "GET /file/{name}", http.StatusOK,
			[]string{"png decode", "apply sepia filter", "png encode"}},
		{"/file/rainbow.png?filter=grayscale", "GET /file/{name}", http.StatusOK,
			[]string{"png decode", "apply grayscale filter", "png encode"}},
		{"/file/rainbow.png?filter=none", "GET /file/{name}", http.StatusOK,
			[]string{"png decode", "png encode"}},
		{"/file/rainbow.png?filter=blur", "GET /file/{name}", http.StatusBadRequest, nil},
		{"/file/nope.png", "GET /file/{name}", http.StatusNotFound, nil},
		{"/nowhere", "GET /", http.StatusNotFound, nil},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			tracer := tracingtest.New()
			if rec := get(t, tracer, tt.target); rec.Code != tt.wantStatus {
				t.Fatalf("GET %s status = %d, want %d", tt.target, rec.Code, tt.wantStatus)
			}
			want := slices.Sorted(slices.Values(append([]string{tt.wantOp}, tt.wantChildren...)))
			if got := slices.Sorted(slices.Values(tracer.Names())); !slices.Equal(got, want) {
				t.Fatalf("GET %s spans = %v, want %v", tt.target, got, want)
			}
			server, _ := tracer.Span(tt.wantOp)
			tracingtest.AssertServerSpan(t, server, tt.wantStatus)
			if got := server.Tag(string(ext.Error)); got != nil {
				t.Errorf("GET %s server span tag error = %v, want none: a client mistake is no server error", tt.target, got)
			}
			for _, name := range tt.wantChildren {
				child, _ := tracer.Span(name)
				tracingtest.AssertChildOf(t, tracer, child, server)
			}
		})
	}
}

// TestFilterSpanTags checks what the filter span tells a reader of the trace.
func TestFilterSpanTags(t *testing.T) {
	tracer := tracingtest.New()
	get(t, tracer, "/file/sunset.png?filter=sepia")
	span, ok := tracer.Span("apply sepia filter")
	if !ok {
		t.Fatalf("GET /file/sunset.png spans = %v, want one %q", tracer.Names(), "apply sepia filter")
	}
	if got := span.Tag("filter"); got != "sepia" {
		t.Errorf("filter span tag filter = %v, want sepia", got)
	}
	if got := span.Tag("pixels"); got != imageSize*imageSize {
		t.Errorf("filter span tag pixels = %v, want %d", got, imageSize*imageSize)
	}
	for _, name := range []string{"png decode", "png encode"} {
		s, _ := tracer.Span(name)
		if n, _ := s.Tag("bytes").(int); n <= 0 {
			t.Errorf("span %q tag bytes = %v, want the size of the PNG", name, s.Tag("bytes"))
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
	for _, target := range []string{"/", "/accounts/", "/accounts/1/2", "/file/"} {
		rec := get(t, tracingtest.New(), target)
		body := servicetest.DecodeJSON(t, rec)
		if rec.Code != http.StatusNotFound || body["error"] == nil {
			t.Errorf("GET %s = %d %v, want 404 {\"error\": ...}", target, rec.Code, body)
		}
	}
}
