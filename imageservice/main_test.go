package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"tracelab/internal/servicetest"
)

// TestRun starts the whole service the way main does, asks it for an account's picture
// and the picture, and stops it by cancelling ctx.
func TestRun(t *testing.T) {
	addr := servicetest.FreeAddr(t)
	svc := servicetest.StartRun(t, run, nil, map[string]string{
		"IMAGESERVICE_ADDR":       addr,
		"IMAGESERVICE_PUBLIC_URL": "http://images.example:8000/",
		"JAEGER_DISABLED":         "true",
		"LOG_LEVEL":               "debug",
	})
	base := "http://" + addr
	svc.WaitHealthy(base + "/healthz")

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

	svc.Stop()
	logs := svc.Output.String()
	for _, want := range []string{`"message":"listening"`, `"message":"access"`, `"service.name":"imageservice"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("run() logs lack %s; logs:\n%s", want, logs)
		}
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
		{"public url without scheme", map[string]string{"IMAGESERVICE_PUBLIC_URL": "localhost:7777"}, "IMAGESERVICE_PUBLIC_URL"},
		{"public url ftp", map[string]string{"IMAGESERVICE_PUBLIC_URL": "ftp://images.example"}, "IMAGESERVICE_PUBLIC_URL"},
		{"public url with query", map[string]string{"IMAGESERVICE_PUBLIC_URL": "http://images.example/?a=b"}, "IMAGESERVICE_PUBLIC_URL"},
		{"jaeger setting", map[string]string{"JAEGER_SAMPLER_PARAM": "lots"}, "JAEGER_SAMPLER_PARAM"},
		{"address invalid", map[string]string{"IMAGESERVICE_ADDR": "256.0.0.1:1"}, "listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.env["JAEGER_DISABLED"] = "true"
			err := servicetest.StartupError(t, run, nil, tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("run() with %v = %v, want an error about %s", tt.env, err, tt.wantErr)
			}
		})
	}
}
