package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go/mocktracer"

	"tracelab/common/logging"
)

func TestServerOwnRoutes(t *testing.T) {
	tests := []struct {
		method, target string
		wantStatus     int
		wantBody       map[string]string
	}{
		{http.MethodGet, "/healthz", http.StatusOK, map[string]string{"status": "ok", "service": serviceName}},
		{http.MethodGet, "/nope", http.StatusNotFound, map[string]string{"error": "no route for GET /nope"}},
		{http.MethodGet, "/accounts/10000", http.StatusNotFound, map[string]string{"error": "no route for GET /accounts/10000"}},
		{http.MethodDelete, "/api/accounts/10000", http.StatusNotFound, map[string]string{"error": "no route for DELETE /api/accounts/10000"}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			// Nothing listens upstream: these routes must not need accountservice.
			edge := newTestEdge(t, logging.Discard(), mocktracer.New(), "http://127.0.0.1:1", time.Second)

			resp := do(edge, httptest.NewRequest(tt.method, "https://edge.example"+tt.target, nil))

			var body map[string]string
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("%s %s: decoding body: %v", tt.method, tt.target, err)
			}
			if resp.StatusCode != tt.wantStatus || !reflect.DeepEqual(body, tt.wantBody) {
				t.Errorf("%s %s = %d %v, want %d %v", tt.method, tt.target, resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("%s %s: Content-Type = %q, want application/json", tt.method, tt.target, ct)
			}
		})
	}
}
