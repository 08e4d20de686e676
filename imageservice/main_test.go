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

// TestRun starts the whole service the way main does, asks it for an account's picture
// and the picture, and stops it by cancelling ctx.
func TestRun(t *testing.T) {
	addr := freeAddr(t)
	env := map[string]string{
		"IMAGESERVICE_ADDR":       addr,
		"IMAGESERVICE_PUBLIC_URL": "http://images.example:8000/",
		"JAEGER_DISABLED":         "true",
		"LOG_LEVEL":               "debug",
	}
	var stdout bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, &stdout) }()

	base := "http://" + addr
	waitHealthy(t, base+"/healthz", done)

	resp, err := http.Get(base + "/accounts/10000")
	if err != nil {
		t.Fatalf("GET /accounts/10000: %v", err)
	}
	var account AccountImage
	err = json.NewDecoder(resp.Body).Decode(&account)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /accounts/10000 = %d, %v, want 200 and JSON", resp.StatusCode, err)
	}
	// The trailing slash of IMAGESERVICE_PUBLIC_URL is dropped, never doubled.
	name, ok := strings.CutPrefix(account.URL, "http://images.example:8000/file/")
	if !ok || strings.Contains(name, "/") {
		t.Fatalf("GET /accounts/10000 url = %q, want http://images.example:8000/file/<name>", account.URL)
	}
	resp, err = http.Get(base + "/file/" + name)
	if err != nil {
		t.Fatalf("GET /file/%s: %v", name, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" {
		t.Errorf("GET /file/%s = %d %q, want 200 image/png", name, resp.StatusCode, resp.Header.Get("Content-Type"))
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
	for _, want := range []string{`"message":"listening"`, `"message":"access"`, `"service.name":"imageservice"`} {
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

// TestRunBadConfig checks that a wrong setting stops the service at startup with an
// error that names the setting, instead of serving something broken.
func TestRunBadConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"log level", map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{"public url without scheme", map[string]string{"IMAGESERVICE_PUBLIC_URL": "localhost:7777"}, "IMAGESERVICE_PUBLIC_URL"},
		{"public url ftp", map[string]string{"IMAGESERVICE_PUBLIC_URL": "ftp://images.example"}, "IMAGESERVICE_PUBLIC_URL"},
		{"public url with query", map[string]string{"IMAGESERVICE_PUBLIC_URL": "http://images.example/?a=b"}, "IMAGESERVICE_PUBLIC_URL"},
		{"jaeger setting", map[string]string{"JAEGER_SAMPLER_PARAM": "lots"}, "JAEGER_SAMPLER_PARAM"},
		{"address invalid", map[string]string{"IMAGESERVICE_ADDR": "256.0.0.1:1"}, "listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.env["JAEGER_DISABLED"] = "true"
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := run(ctx, nil, func(k string) string { return tt.env[k] }, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("run() with %v = %v, want an error about %s", tt.env, err, tt.wantErr)
			}
		})
	}
}
