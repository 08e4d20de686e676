package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"tracelab/internal/servicetest"
)

// waitForLog waits until run has logged message and returns that line. It fails the test
// when run returns first.
func waitForLog(t *testing.T, svc *servicetest.Service, message string) map[string]any {
	t.Helper()
	var found map[string]any
	svc.WaitFor(fmt.Sprintf("the log line %q", message), func() bool {
		for _, line := range logLines(t, svc.Output.String()) {
			if line["message"] == message {
				found = line
				return true
			}
		}
		return false
	})
	return found
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
				"EDGE_ADMIN_ADDR":    "off", // the admin listener has tests of its own (admin_test.go)
				"ACCOUNTSERVICE_URL": upstream.URL,
				"JAEGER_DISABLED":    "true",
				"LOG_LEVEL":          "debug",
			}
			for k, v := range tt.env {
				env[k] = v
			}
			svc := servicetest.StartRun(t, run, nil, env)
			certLine := waitForLog(t, svc, "tls certificate")
			addr, _ := waitForLog(t, svc, "listening")["server.address"].(string)
			client := &http.Client{
				Transport: &http.Transport{TLSClientConfig: tt.tlsConfig(certLine)},
				Timeout:   10 * time.Second,
			}
			defer client.CloseIdleConnections()

			for _, call := range []struct{ path, wantBody string }{
				{"/healthz", `{"status":"ok","service":"edge","faults":{"enabled":true,"active":"","ignored":0}}`},
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

			svc.Stop()
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
		{"QUOTESERVICE_URL without scheme", map[string]string{"QUOTESERVICE_URL": "localhost:8080"}, nil, "QUOTESERVICE_URL"},
		{"VIPSERVICE_URL without host", map[string]string{"VIPSERVICE_URL": "http://"}, nil, "VIPSERVICE_URL"},
		{"EDGE_ADMIN_ADDR not an address", map[string]string{"EDGE_ADMIN_ADDR": "256.0.0.1:1"}, nil, "EDGE_ADMIN_ADDR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"EDGE_ADDR": "127.0.0.1:0", "EDGE_ADMIN_ADDR": "off", "JAEGER_DISABLED": "true"}
			for k, v := range tt.env {
				env[k] = v
			}
			err := servicetest.StartupError(t, run, nil, env)
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) || (tt.wantIs != nil && !errors.Is(err, tt.wantIs)) {
				t.Errorf("run with %v = %v, want an error naming %s", tt.env, err, tt.wantMsg)
			}
		})
	}
}

// TestRunProfiles: EDGE_PPROF_ADDR serves profiles while the edge runs and frees its port
// when the edge stops, and a run that refuses its settings leaves nothing listening there.
func TestRunProfiles(t *testing.T) {
	upstream := newFakeAccountService(t, answerAccount())
	env := map[string]string{
		"EDGE_ADDR":          "127.0.0.1:0",
		"EDGE_ADMIN_ADDR":    "off", // the admin listener has tests of its own (admin_test.go)
		"ACCOUNTSERVICE_URL": upstream.URL,
		"JAEGER_DISABLED":    "true",
		"EDGE_PPROF_ADDR":    servicetest.FreeAddr(t),
	}
	svc := servicetest.StartRun(t, run, nil, env)
	waitForLog(t, svc, "listening")
	resp, err := http.Get("http://" + env["EDGE_PPROF_ADDR"] + "/debug/pprof/")
	if err != nil {
		t.Fatalf("GET /debug/pprof/ on EDGE_PPROF_ADDR: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /debug/pprof/ on EDGE_PPROF_ADDR = %d, want 200", resp.StatusCode)
	}
	svc.Stop()
	if !servicetest.PortFree(env["EDGE_PPROF_ADDR"]) {
		t.Errorf("EDGE_PPROF_ADDR %s still taken after the edge stopped", env["EDGE_PPROF_ADDR"])
	}

	cert, err := selfSignedCertificate(time.Now())
	if err != nil {
		t.Fatalf("selfSignedCertificate() = %v", err)
	}
	certFile, _ := writeKeyPair(t, cert)
	env["EDGE_TLS_CERT"] = certFile // without EDGE_TLS_KEY: refused after the profiles' address was read
	if err := servicetest.StartupError(t, run, nil, env); !errors.Is(err, errCertWithoutKey) {
		t.Errorf("run with EDGE_TLS_CERT alone = %v, want %v", err, errCertWithoutKey)
	}
	if !servicetest.PortFree(env["EDGE_PPROF_ADDR"]) {
		t.Errorf("EDGE_PPROF_ADDR %s still taken after run refused its settings", env["EDGE_PPROF_ADDR"])
	}
}
