package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// freeAddr finds a port nobody listens on. Another process could take it before run
// does; on a test machine that is rare enough, and the failure would say "listen".
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen on a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestRun starts the whole service the way main does, asks it for a quote, and stops it
// by cancelling ctx.
func TestRun(t *testing.T) {
	addr := freeAddr(t)
	env := map[string]string{
		"QUOTESERVICE_ADDR": addr,
		"JAEGER_DISABLED":   "true",
		"LOG_LEVEL":         "debug",
	}
	var stdout bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, &stdout) }()

	base := "http://" + addr
	waitHealthy(t, base+"/healthz", done)

	resp, err := http.Get(base + "/api/quote?strength=1&language=es")
	if err != nil {
		t.Fatalf("GET /api/quote: %v", err)
	}
	var quote Quote
	err = json.NewDecoder(resp.Body).Decode(&quote)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || quote.Language != "es" || quote.Text == "" {
		t.Errorf("GET /api/quote?strength=1&language=es = %d %+v, %v, want 200 and a Spanish quote",
			resp.StatusCode, quote, err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run() after cancel = %v, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run() did not return within 15s of cancel")
	}
	for _, want := range []string{`"message":"listening"`, `"message":"access"`, `"service.name":"quoteservice"`} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("run() logs lack %s; logs:\n%s", want, stdout.String())
		}
	}
}

// waitHealthy polls url until it answers 200, failing early if run has returned.
func waitHealthy(t *testing.T, url string, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("run() returned before serving: %v", err)
		default:
		}
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("GET %s did not answer 200 within 10s", url)
}

// TestRunFlagOverridesEnv checks the config contract: a flag given on the command line wins
// over the environment variable it mirrors.
func TestRunFlagOverridesEnv(t *testing.T) {
	addr := freeAddr(t)
	env := map[string]string{"QUOTESERVICE_ADDR": "256.0.0.1:1", "JAEGER_DISABLED": "true"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", addr}, func(k string) string { return env[k] }, &bytes.Buffer{})
	}()
	waitHealthy(t, "http://"+addr+"/healthz", done)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run(-addr %s) after cancel = %v, want nil", addr, err)
	}
}

// TestRunBadConfig checks that a wrong setting stops the service at startup with an
// error that names the setting, instead of serving something broken.
func TestRunBadConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"log level", map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{"jaeger setting", map[string]string{"JAEGER_DISABLED": "maybe"}, "JAEGER_DISABLED"},
		{"address invalid", map[string]string{"QUOTESERVICE_ADDR": "256.0.0.1:1", "JAEGER_DISABLED": "true"}, "listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := run(ctx, nil, func(k string) string { return tt.env[k] }, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("run() with %v = %v, want an error about %s", tt.env, err, tt.wantErr)
			}
		})
	}
}
