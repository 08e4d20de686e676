package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go/mocktracer"

	"tracelab/common/logging"
	"tracelab/internal/servicetest"
)

func TestSelfSignedCertificate(t *testing.T) {
	now := time.Now()
	cert, err := selfSignedCertificate(now)
	if err != nil {
		t.Fatalf("selfSignedCertificate() = %v", err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatalf("x509.ParseCertificate = %v", err)
	}

	if !slices.Equal(leaf.DNSNames, []string{"localhost"}) {
		t.Errorf("DNSNames = %q, want [localhost]", leaf.DNSNames)
	}
	if len(leaf.IPAddresses) != 2 {
		t.Errorf("IPAddresses = %v, want 127.0.0.1 and ::1", leaf.IPAddresses)
	}
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		if err := leaf.VerifyHostname(host); err != nil {
			t.Errorf("VerifyHostname(%q) = %v, want nil", host, err)
		}
	}
	if err := leaf.VerifyHostname("example.com"); err == nil {
		t.Errorf("VerifyHostname(%q) = nil, want an error", "example.com")
	}
	if key, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || key.Curve != elliptic.P256() {
		t.Errorf("public key = %T, want ECDSA P-256", leaf.PublicKey)
	}
	if !leaf.NotBefore.Before(now) || leaf.NotAfter.Sub(now) < 364*24*time.Hour {
		t.Errorf("valid %v to %v, want from before %v for about a year", leaf.NotBefore, leaf.NotAfter, now)
	}
	if !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
		t.Errorf("ExtKeyUsage = %v, want server auth", leaf.ExtKeyUsage)
	}
}

func TestSelfSignedCertificateServesHTTPS(t *testing.T) {
	var logs bytes.Buffer
	cfg, err := newTLSConfig("", "", logging.New(serviceName, &logs, slog.LevelInfo))
	if err != nil {
		t.Fatalf("newTLSConfig(\"\", \"\") = %v", err)
	}
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion = %#x, want TLS 1.2 (%#x)", cfg.MinVersion, tls.VersionTLS12)
	}
	srv := httptest.NewUnstartedServer(newTestEdge(t, logging.Discard(), mocktracer.New(), "http://127.0.0.1:1", time.Second))
	srv.TLS = cfg
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake the stranger aborts
	srv.StartTLS()
	defer srv.Close()

	// A client trusts a self-signed certificate by having it in its pool, and only then.
	der := cfg.Certificates[0].Certificate[0]
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("x509.ParseCertificate = %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer trusting.CloseIdleConnections()
	resp, err := trusting.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz with the certificate in the pool: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz: status = %d, want 200", resp.StatusCode)
	}
	if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("GET /healthz: TLS state %v, want TLS 1.2 or newer", resp.TLS)
	}

	stranger := &http.Client{Transport: &http.Transport{}}
	defer stranger.CloseIdleConnections()
	resp, err = stranger.Get(srv.URL + "/healthz")
	if err == nil {
		resp.Body.Close()
	}
	if unknown := (x509.UnknownAuthorityError{}); !errors.As(err, &unknown) {
		t.Errorf("GET /healthz without the certificate in the pool = %v, want an unknown authority error", err)
	}

	lines := logLines(t, logs.String())
	if len(lines) != 1 || lines[0]["tls.server.hash.sha256"] != fingerprint(der) || lines[0]["self_signed"] != true {
		t.Errorf("logs %v, want one line with self_signed true and tls.server.hash.sha256 %s", lines, fingerprint(der))
	}
}

// writeKeyPair writes cert as the PEM files EDGE_TLS_CERT and EDGE_TLS_KEY name.
func writeKeyPair(t *testing.T, cert tls.Certificate) (certFile, keyFile string) {
	t.Helper()
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatalf("MarshalPKCS8PrivateKey = %v", err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "edge.crt"), filepath.Join(dir, "edge.key")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key})
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestNewTLSConfigFromFiles(t *testing.T) {
	cert, err := selfSignedCertificate(time.Now())
	if err != nil {
		t.Fatalf("selfSignedCertificate() = %v", err)
	}
	certFile, keyFile := writeKeyPair(t, cert)
	missing := filepath.Join(t.TempDir(), "missing.pem")

	tests := []struct {
		name              string
		certFile, keyFile string
		wantErr           bool
		wantIs            error // when set, the error must be this one
	}{
		{"both files", certFile, keyFile, false, nil},
		{"cert without key", certFile, "", true, errCertWithoutKey},
		{"key without cert", "", keyFile, true, errCertWithoutKey},
		{"missing file", missing, keyFile, true, nil},
		{"key file is not a key", certFile, certFile, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := newTLSConfig(tt.certFile, tt.keyFile, logging.Discard())
			if (err != nil) != tt.wantErr || (tt.wantIs != nil && !errors.Is(err, tt.wantIs)) {
				t.Fatalf("newTLSConfig(%q, %q) = %v, want error %v (%v)", tt.certFile, tt.keyFile, err, tt.wantErr, tt.wantIs)
			}
			if !tt.wantErr && !bytes.Equal(cfg.Certificates[0].Certificate[0], cert.Certificate[0]) {
				t.Errorf("newTLSConfig(%q, %q) serves another certificate than the file's", tt.certFile, tt.keyFile)
			}
		})
	}
}

// TestTLSOffersOnlyAEADSuites: in TLS 1.2 the edge agrees only to ECDHE with AES-GCM or
// ChaCha20-Poly1305; a client that offers nothing but CBC gets no connection. TLS 1.3 is
// unaffected.
func TestTLSOffersOnlyAEADSuites(t *testing.T) {
	cfg, err := newTLSConfig("", "", logging.Discard())
	if err != nil {
		t.Fatalf("newTLSConfig(\"\", \"\") = %v", err)
	}
	tests := []struct {
		name    string
		version uint16
		suite   uint16 // the only one the client offers; 0 for TLS 1.3's own
		wantOK  bool
	}{
		{"ECDHE-ECDSA AES-128-CBC-SHA", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, false},
		{"ECDHE-ECDSA AES-256-CBC-SHA", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, false},
		{"ECDHE-ECDSA AES-128-GCM", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, true},
		{"ECDHE-ECDSA AES-256-GCM", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, true},
		{"ECDHE-ECDSA ChaCha20-Poly1305", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, true},
		{"TLS 1.3", tls.VersionTLS13, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := &tls.Config{InsecureSkipVerify: true, MinVersion: tt.version, MaxVersion: tt.version}
			if tt.suite != 0 {
				client.CipherSuites = []uint16{tt.suite}
			}
			state, err := handshake(cfg, client)
			if (err == nil) != tt.wantOK {
				t.Fatalf("handshake offering only %s = %v, want success %v", tt.name, err, tt.wantOK)
			}
			if tt.wantOK && tt.suite != 0 && state.CipherSuite != tt.suite {
				t.Errorf("handshake offering only %s agreed on %s", tt.name, tls.CipherSuiteName(state.CipherSuite))
			}
		})
	}
	// The RSA suites, for a certificate of EDGE_TLS_CERT, follow the same rule.
	for _, id := range cfg.CipherSuites {
		name := tls.CipherSuiteName(id)
		if !strings.HasPrefix(name, "TLS_ECDHE_") || !(strings.Contains(name, "_GCM_") || strings.Contains(name, "CHACHA20_POLY1305")) {
			t.Errorf("CipherSuites offers %s, want only ECDHE with AES-GCM or ChaCha20-Poly1305", name)
		}
	}
}

// handshake runs a TLS handshake between a server with config server and a client with
// config client, over an in-memory pipe, and returns what the client agreed on.
func handshake(server, client *tls.Config) (tls.ConnectionState, error) {
	sc, cc := net.Pipe()
	defer sc.Close()
	defer cc.Close()
	go func() { _ = tls.Server(sc, server).Handshake() }()
	c := tls.Client(cc, client)
	if err := c.Handshake(); err != nil {
		return tls.ConnectionState{}, err
	}
	return c.ConnectionState(), nil
}

// TestRunServesHTTP2AndHTTP1: the edge answers over HTTP/2 and HTTP/1.1 alike, tells the
// upstream the request came over HTTPS in both, and net/http's own answers to a request it
// cannot read are JSON, over TLS too.
func TestRunServesHTTP2AndHTTP1(t *testing.T) {
	upstream := newFakeAccountService(t, answerAccount())
	addr := startEdge(t, upstream.URL)

	for _, tt := range []struct {
		name      string
		http2     bool
		wantProto string
	}{
		{"HTTP/2", true, "HTTP/2.0"},
		{"HTTP/1.1", false, "HTTP/1.1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := servicetest.TLSClient(t, tt.http2).Get("https://" + addr + "/api/accounts/10000")
			if err != nil {
				t.Fatalf("GET over %s: %v", tt.name, err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Proto != tt.wantProto {
				t.Errorf("GET over %s = %s %d, want %s 200", tt.name, resp.Proto, resp.StatusCode, tt.wantProto)
			}
			if got := upstream.lastRequest(t).header.Get("X-Forwarded-Proto"); got != "https" {
				t.Errorf("GET over %s reached accountservice with X-Forwarded-Proto %q, want https", tt.name, got)
			}
		})
	}

	for _, tt := range []struct {
		name, raw  string
		wantStatus int
		wantError  string
	}{
		{"missing Host", "GET /api/accounts/10000 HTTP/1.1\r\n\r\n", 400, "missing required Host header"},
		{"headers too large", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 80<<10) + "\r\n\r\n", 431, "request header fields too large"},
		{"unknown transfer encoding", "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "unsupported transfer encoding"},
		{"HTTP/3.0", "GET / HTTP/3.0\r\nHost: x\r\n\r\n", 505, "unsupported protocol version"},
		{"path to clean", "GET /api/../api/accounts/10000 HTTP/1.1\r\nHost: x\r\n\r\n", 307, "moved to /api/accounts/10000"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := servicetest.SendRaw(t, servicetest.DialTLS(t, addr), tt.raw)
			if got.Status != tt.wantStatus || got.Error != tt.wantError || got.Header.Get("Content-Type") != "application/json" {
				t.Errorf("answer to %.60q = %d %s %q, want %d application/json {\"error\": %q}",
					tt.raw, got.Status, got.Header.Get("Content-Type"), got.Body, tt.wantStatus, tt.wantError)
			}
		})
	}
}
