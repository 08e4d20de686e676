package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	status := func(code int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || r.URL.Path != "/healthz" {
				http.Error(w, "want GET /healthz", http.StatusBadRequest)
				return
			}
			w.WriteHeader(code)
			_, _ = w.Write([]byte(`{"status":"ok"}`))
		})
	}
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	redirect := http.RedirectHandler("/elsewhere", http.StatusFound)

	ok := httptest.NewServer(status(http.StatusOK))
	defer ok.Close()
	noContent := httptest.NewServer(status(http.StatusNoContent))
	defer noContent.Close()
	unavailable := httptest.NewServer(status(http.StatusServiceUnavailable))
	defer unavailable.Close()
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	redirecting := httptest.NewServer(redirect)
	defer redirecting.Close()
	hanging := httptest.NewServer(slow)
	defer hanging.Close()
	selfSigned := httptest.NewTLSServer(status(http.StatusOK)) // like the edge's certificate
	defer selfSigned.Close()
	gone := httptest.NewServer(status(http.StatusOK))
	gone.Close() // connection refused

	tests := []struct {
		name    string
		args    []string
		wantErr string // "" for healthy
		wantOut string
	}{
		{name: "200", args: []string{ok.URL + "/healthz"}, wantOut: "200 OK"},
		{name: "204", args: []string{noContent.URL + "/healthz"}, wantOut: "204 No Content"},
		{name: "503", args: []string{unavailable.URL + "/healthz"}, wantErr: "503 Service Unavailable"},
		{name: "404", args: []string{notFound.URL + "/healthz"}, wantErr: "404 Not Found"},
		{name: "redirect is not followed", args: []string{redirecting.URL + "/healthz"}, wantErr: "302 Found"},
		{name: "slower than the timeout", args: []string{"-timeout", "100ms", hanging.URL + "/healthz"}, wantErr: "deadline exceeded"},
		{name: "connection refused", args: []string{gone.URL + "/healthz"}, wantErr: "connection refused"},
		{name: "self-signed without -insecure", args: []string{selfSigned.URL + "/healthz"}, wantErr: "certificate"},
		{name: "self-signed with -insecure", args: []string{"-insecure", selfSigned.URL + "/healthz"}, wantOut: "200 OK"},
		{name: "no URL", args: nil, wantErr: "want exactly one URL"},
		{name: "two URLs", args: []string{ok.URL, ok.URL}, wantErr: "want exactly one URL"},
		{name: "not http", args: []string{"ftp://127.0.0.1/healthz"}, wantErr: "want an http or https URL"},
		{name: "no host", args: []string{"http:///healthz"}, wantErr: "want an http or https URL"},
		{name: "zero timeout", args: []string{"-timeout", "0s", ok.URL + "/healthz"}, wantErr: "positive duration"},
		{name: "unknown flag", args: []string{"-verbose", ok.URL + "/healthz"}, wantErr: "flag provided but not defined"},
		{name: "help", args: []string{"-h"}, wantOut: "usage: healthcheck"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			start := time.Now()
			err := run(context.Background(), tt.args, &out)
			if elapsed := time.Since(start); elapsed > 3*time.Second {
				t.Errorf("run(%q) took %v, want it bounded by its timeout", tt.args, elapsed)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("run(%q) = %v, want nil (healthy)", tt.args, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("run(%q) = %v, want an error containing %q", tt.args, err, tt.wantErr)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("run(%q) printed %q, want it to contain %q", tt.args, out.String(), tt.wantOut)
			}
		})
	}
}

// TestRunIgnoresProxy: a probe of a container's own port must not go through an HTTP proxy
// that the container's environment may name for its outbound calls. The proxy here would
// answer 200 for anything; the host does not exist, so only a direct request fails.
func TestRunIgnoresProxy(t *testing.T) {
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	defer proxy.Close()
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("http_proxy", proxy.URL)

	const url = "http://healthcheck-test.invalid/healthz" // .invalid never resolves (RFC 2606)
	err := run(context.Background(), []string{"-timeout", "1s", url}, &bytes.Buffer{})
	if err == nil {
		t.Errorf("run(%q) with HTTP_PROXY set = nil, want an error: the probe went through the proxy", url)
	}
}
