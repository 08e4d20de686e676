package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"tracelab/common/messaging/messagingtest"
)

// syncBuffer is a bytes.Buffer safe for the service's log writes and the test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestRun drives the whole service as main does: configuration from the environment, a
// real bolt file, the real broker, then a clean stop when the context is cancelled.
func TestRun(t *testing.T) {
	url := messagingtest.URL(t)
	addr := freeAddr(t)
	quotes, images := fakeQuoteService(t, http.StatusOK, 0), fakeImageService(t)
	env := map[string]string{
		"ACCOUNTSERVICE_ADDR": addr,
		"ACCOUNTSERVICE_DB":   filepath.Join(t.TempDir(), "accounts.db"),
		"QUOTESERVICE_URL":    quotes.URL,
		"IMAGESERVICE_URL":    images.URL,
		"AMQP_URL":            url,
		"VIP_QUEUE":           messagingtest.Queue(t, url, "test-accountservice-"),
		"JAEGER_DISABLED":     "true",
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, &out) }()

	base := "http://" + addr
	messagingtest.WaitFor(t, "healthz", func() bool {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
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

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run() = %v after cancel, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run() did not return within 15s of cancel")
	}

	logs := out.String()
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
			err := run(context.Background(), nil, func(k string) string { return tt.env[k] }, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run() = %v, want an error mentioning %s", err, tt.want)
			}
		})
	}
}
