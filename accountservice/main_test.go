package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"tracelab/common/messaging/messagingtest"
	"tracelab/internal/servicetest"
)

// TestRun drives the whole service as main does: configuration from the environment, a
// real bolt file, the real broker, then a clean stop when the context is cancelled.
func TestRun(t *testing.T) {
	url := messagingtest.URL(t)
	addr := servicetest.FreeAddr(t)
	quotes, images := fakeQuoteService(t, http.StatusOK, 0), fakeImageService(t)
	svc := servicetest.StartRun(t, run, nil, map[string]string{
		"ACCOUNTSERVICE_ADDR": addr,
		"ACCOUNTSERVICE_DB":   filepath.Join(t.TempDir(), "accounts.db"),
		"QUOTESERVICE_URL":    quotes.URL,
		"IMAGESERVICE_URL":    images.URL,
		"AMQP_URL":            url,
		"VIP_QUEUE":           messagingtest.Queue(t, url, "test-accountservice-"),
		"JAEGER_DISABLED":     "true",
	})
	base := "http://" + addr
	svc.WaitHealthy(base + "/healthz")
	resp, err := http.Get(base + "/accounts/10000")
	if err != nil {
		t.Fatal(err)
	}
	var acc AccountResponse
	err = json.NewDecoder(resp.Body).Decode(&acc)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || acc.ID != "10000" || acc.Quote == nil || acc.ImageData == nil {
		t.Errorf("GET /accounts/10000 = %d %+v (%v), want 200 with quote and image", resp.StatusCode, acc, err)
	}

	svc.Stop()
	logs := svc.Output.String()
	for _, want := range []string{`"message":"access"`, `"service.name":"accountservice"`, `"http.route":"GET /accounts/{id}"`, `"log.level":"info"`, `"@timestamp"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, seedName(0)) {
		t.Errorf("logs contain the account holder's name %q: no personal data in logs", seedName(0))
	}
}

func TestRunBadConfig(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"bad timeout", map[string]string{"ACCOUNTSERVICE_CALL_TIMEOUT": "soon"}, "ACCOUNTSERVICE_CALL_TIMEOUT"},
		{"bad log level", map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{"bad jaeger setting", map[string]string{"JAEGER_SAMPLER_PARAM": "all"}, "JAEGER_SAMPLER_PARAM"},
		{"unwritable db", map[string]string{"ACCOUNTSERVICE_DB": "/proc/nope/accounts.db", "JAEGER_DISABLED": "true"}, "bolt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := servicetest.StartupError(t, run, nil, tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run() = %v, want an error mentioning %s", err, tt.want)
			}
		})
	}
}
