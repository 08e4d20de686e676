package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is run's stdout: run's goroutines write log lines while the test reads them.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitForLog waits until run has logged message and returns that line. It fails the test
// when run returns first.
func waitForLog(t *testing.T, out *syncBuffer, done <-chan error, message string) map[string]any {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		for _, line := range logLines(t, out.String()) {
			if line["message"] == message {
				return line
			}
		}
		select {
		case err := <-done:
			t.Fatalf("run returned %v before logging %q; logs:\n%s", err, message, out)
		case <-deadline:
			t.Fatalf("run did not log %q within 10s; logs:\n%s", message, out)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// pinFingerprint trusts exactly the certificate whose SHA-256 the edge logged, the way a
// person trusts a self-signed certificate after comparing fingerprints.
func pinFingerprint(want string) *tls.Config {
	return &tls.Config{
		InsecureSkipVerify: true, // replaced by the check below, not skipped
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || fingerprint(raw[0]) != want {
				return fmt.Errorf("edge certificate is not the one it logged (%s)", want)
			}
			return nil
		},
	}
}

func TestRun(t *testing.T) {
	cert, err := selfSignedCertificate(time.Now())
	if err != nil {
		t.Fatalf("selfSignedCertificate() = %v", err)
	}
	certFile, keyFile := writeKeyPair(t, cert)
	pool := x509.NewCertPool()
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatalf("x509.ParseCertificate = %v", err)
	}
	pool.AddCert(leaf)

	tests := []struct {
		name      string
		env       map[string]string
		tlsConfig func(logged map[string]any) *tls.Config
	}{
		{
			name: "self-signed certificate",
			env:  map[string]string{},
			tlsConfig: func(logged map[string]any) *tls.Config {
				sum, _ := logged["tls.server.hash.sha256"].(string)
				return pinFingerprint(sum)
			},
		},
		{
			name: "certificate files",
			env:  map[string]string{"EDGE_TLS_CERT": certFile, "EDGE_TLS_KEY": keyFile},
			tlsConfig: func(map[string]any) *tls.Config {
				return &tls.Config{RootCAs: pool}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			upstream := newFakeAccountService(t, answerAccount())
			env := map[string]string{
				"EDGE_ADDR":          "127.0.0.1:0",
				"ACCOUNTSERVICE_URL": upstream.URL,
				"JAEGER_DISABLED":    "true",
				"LOG_LEVEL":          "debug",
			}
			for k, v := range tt.env {
				env[k] = v
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out := &syncBuffer{}
			done := make(chan error, 1)
			go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, out) }()

			certLine := waitForLog(t, out, done, "tls certificate")
			addr, _ := waitForLog(t, out, done, "listening")["server.address"].(string)
			client := &http.Client{
				Transport: &http.Transport{TLSClientConfig: tt.tlsConfig(certLine)},
				Timeout:   10 * time.Second,
			}
			defer client.CloseIdleConnections()

			for _, call := range []struct{ path, wantBody string }{
				{"/healthz", `{"service":"edge","status":"ok"}`},
				{"/api/accounts/10000", `{"id":"10000"}`},
			} {
				resp, err := client.Get("https://" + addr + call.path)
				if err != nil {
					t.Fatalf("GET %s: %v", call.path, err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != call.wantBody {
					t.Errorf("GET %s = %d %s, want 200 %s", call.path, resp.StatusCode, body, call.wantBody)
				}
			}
			if got := upstream.lastRequest(t).escapedPath; got != "/accounts/10000" {
				t.Errorf("GET /api/accounts/10000 reached accountservice as %q, want /accounts/10000", got)
			}

			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("run after cancel = %v, want nil", err)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("run did not return within 15s of cancel")
			}
		})
	}
}

func TestRunConfigErrors(t *testing.T) {
	cert, err := selfSignedCertificate(time.Now())
	if err != nil {
		t.Fatalf("selfSignedCertificate() = %v", err)
	}
	certFile, keyFile := writeKeyPair(t, cert)

	tests := []struct {
		name    string
		env     map[string]string
		wantIs  error  // when set, the error must be this one
		wantMsg string // the error must name what is wrong
	}{
		{"cert without key", map[string]string{"EDGE_TLS_CERT": certFile}, errCertWithoutKey, "EDGE_TLS_KEY"},
		{"key without cert", map[string]string{"EDGE_TLS_KEY": keyFile}, errCertWithoutKey, "EDGE_TLS_CERT"},
		{"ACCOUNTSERVICE_URL without scheme", map[string]string{"ACCOUNTSERVICE_URL": "localhost:6767"}, nil, "ACCOUNTSERVICE_URL"},
		{"EDGE_UPSTREAM_TIMEOUT not a duration", map[string]string{"EDGE_UPSTREAM_TIMEOUT": "soon"}, nil, "EDGE_UPSTREAM_TIMEOUT"},
		{"EDGE_UPSTREAM_TIMEOUT zero", map[string]string{"EDGE_UPSTREAM_TIMEOUT": "0s"}, nil, "EDGE_UPSTREAM_TIMEOUT"},
		{"LOG_LEVEL unknown", map[string]string{"LOG_LEVEL": "loud"}, nil, "LOG_LEVEL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"EDGE_ADDR": "127.0.0.1:0", "JAEGER_DISABLED": "true"}
			for k, v := range tt.env {
				env[k] = v
			}
			// Were the edge to start anyway, it would serve until this deadline, then return nil.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()

			err := run(ctx, nil, func(k string) string { return env[k] }, io.Discard)

			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) || (tt.wantIs != nil && !errors.Is(err, tt.wantIs)) {
				t.Errorf("run with %v = %v, want an error naming %s", tt.env, err, tt.wantMsg)
			}
		})
	}
}
