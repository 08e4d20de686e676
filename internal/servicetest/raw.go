package servicetest

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// RawAnswer is what a server answered to bytes sent as they are (SendRaw).
type RawAnswer struct {
	Status  int
	Header  http.Header
	Close   bool          // the server said Connection: close
	Body    string        // the body, whole
	Error   string        // the "error" of a JSON body, if it has one
	Elapsed time.Duration // from the first byte sent to the answer's last byte read
}

// SendRaw writes raw on c exactly as given and reads one answer. Hostile-input tests need
// it: net/http's client refuses to send most of what they try (a missing Host, a body
// shorter than its Content-Length, a bad chunk size).
func SendRaw(t testing.TB, c net.Conn, raw string) RawAnswer {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(Patience))
	start := time.Now()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatalf("writing %.60q: %v", raw, err)
	}
	var req *http.Request // ReadResponse needs it only to know that HEAD has no body
	if strings.HasPrefix(raw, "HEAD ") {
		req = &http.Request{Method: http.MethodHead}
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		t.Fatalf("answer to %.60q: %v", raw, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("answer to %.60q: reading the body: %v", raw, err)
	}
	a := RawAnswer{Status: resp.StatusCode, Header: resp.Header, Close: resp.Close, Body: string(body), Elapsed: time.Since(start)}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil {
		a.Error = e.Error
	}
	return a
}

// DialTLS connects to the HTTPS server at addr as curl -k does (any certificate),
// offering HTTP/1.1 only, so that raw HTTP/1.1 bytes can follow. The connection is closed
// when the test ends.
func DialTLS(t testing.TB, addr string) *tls.Conn {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatalf("TLS dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TLSClient is an HTTPS client like curl -k (any certificate: the edge's self-signed one,
// httptest's), speaking HTTP/2 when http2 is set and HTTP/1.1 otherwise. Its idle
// connections are closed when the test ends.
func TLSClient(t testing.TB, http2 bool) *http.Client {
	t.Helper()
	transport := &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
		ForceAttemptHTTP2: http2,
	}
	t.Cleanup(transport.CloseIdleConnections)
	return &http.Client{Transport: transport, Timeout: Patience}
}
