package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/opentracing/opentracing-go"

	"tracelab/common/faults"
	"tracelab/common/logging"
	"tracelab/common/messaging"
)

// TestServerWithoutBroker serves the routes with a consumer that never ran: the state of a
// service whose broker is down. It must stay healthy and answer /vips.
func TestServerWithoutBroker(t *testing.T) {
	idle := &messaging.Consumer{} // not running: not connected, nothing handled
	srv := newServer(logging.Discard(), opentracing.NoopTracer{}, faults.NewSwitch(true, nil), idle, newRecentVIPs(maxRecentVIPs, maxSeenEvents))

	tests := []struct {
		path       string
		wantStatus int
		wantBody   map[string]any
	}{
		{"/healthz", http.StatusOK, map[string]any{"status": "ok", "service": "vipservice", "amqp": "reconnecting", "faults": map[string]any{"enabled": true, "active": "", "ignored": 0.0}}},
		{"/vips", http.StatusOK, map[string]any{"processed": 0.0, "duplicates": 0.0, "deadLettered": 0.0, "connected": false, "recent": []any{}}},
		{"/nope", http.StatusNotFound, map[string]any{"error": "no route for GET /nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("GET %s body %q: %v", tt.path, rec.Body, err)
			}
			if rec.Code != tt.wantStatus || !sameJSON(body, tt.wantBody) {
				t.Errorf("GET %s = %d %v, want %d %v", tt.path, rec.Code, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

// sameJSON compares two decoded JSON values.
func sameJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
