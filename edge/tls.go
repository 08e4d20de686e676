package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"time"
)

// errCertWithoutKey is a startup error: half a key pair is a mistake, not a wish for a
// self-signed certificate, and guessing would hide it until a browser complained.
var errCertWithoutKey = errors.New("EDGE_TLS_CERT and EDGE_TLS_KEY go together: set both, or neither for a self-signed certificate")

// selfSignedValidity is how long a generated certificate is valid. It is made anew at every
// start, so it only has to outlive one run of the edge.
const selfSignedValidity = 365 * 24 * time.Hour

// newTLSConfig returns the edge's TLS settings with the certificate in certFile and keyFile
// (PEM), or, when both are empty, with a self-signed certificate generated now, so the edge
// speaks HTTPS on a laptop with no setup. The certificate's SHA-256 fingerprint is logged:
// it is what a person compares before trusting the certificate by hand
// (openssl x509 -noout -fingerprint -sha256 prints the same digits, with colons).
func newTLSConfig(certFile, keyFile string, log *slog.Logger) (*tls.Config, error) {
	var (
		cert       tls.Certificate
		err        error
		selfSigned bool
	)
	switch {
	case certFile != "" && keyFile != "":
		cert, err = tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("EDGE_TLS_CERT/EDGE_TLS_KEY: %w", err)
		}
	case certFile != "" || keyFile != "":
		return nil, errCertWithoutKey
	default:
		cert, err = selfSignedCertificate(time.Now())
		if err != nil {
			return nil, err
		}
		selfSigned = true
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("EDGE_TLS_CERT: %w", err)
	}
	log.Info("tls certificate",
		"tls.server.hash.sha256", fingerprint(leaf.Raw),
		"tls.server.subject", leaf.Subject.String(),
		"tls.server.not_after", leaf.NotAfter.UTC().Format(time.RFC3339),
		"self_signed", selfSigned)
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		CipherSuites: aeadSuites,
	}, nil
}

// aeadSuites are the TLS 1.2 cipher suites the edge offers: an ECDHE key exchange (forward
// secrecy) with an AEAD cipher, AES-GCM or ChaCha20-Poly1305, for an ECDSA certificate
// (the self-signed one) or an RSA one. Go's defaults also offer ECDHE with AES-CBC and
// SHA-1 HMACs, kept for old clients: CBC with MAC-then-encrypt is what padding-oracle and
// timing attacks (Lucky13) go after, and every client of the last decade has an AEAD suite.
// TLS 1.3 ignores this list: all of its suites are AEAD.
var aeadSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// selfSignedCertificate makes an ECDSA P-256 certificate for localhost, 127.0.0.1 and ::1,
// valid from an hour before now (a client whose clock is a little behind still accepts it)
// for selfSignedValidity. It is its own issuer: a client trusts it by putting it in its
// root pool.
func selfSignedCertificate(now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("self-signed certificate: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("self-signed certificate: %w", err)
	}
	template := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"tracelab"}, CommonName: "tracelab edge (self-signed)"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(selfSignedValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("self-signed certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// fingerprint is the SHA-256 of a DER certificate in upper-case hex, as ECS's
// tls.server.hash.sha256 spells it.
func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}
