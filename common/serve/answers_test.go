package serve

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"tracelab/common/logging"
	"tracelab/common/respond"
	"tracelab/internal/servicetest"
)

// startServer runs srv with RunListener on a port of its own until the test ends, and
// returns its address.
func startServer(t *testing.T, srv *http.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- RunListener(ctx, logging.Discard(), srv, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunListener() = %v, want nil", err)
		}
	})
	return ln.Addr().String()
}

// testTLSConfig is a TLS config with httptest's certificate for 127.0.0.1.
func testTLSConfig(t *testing.T) *tls.Config {
	t.Helper()
	ts := httptest.NewUnstartedServer(http.NotFoundHandler())
	ts.StartTLS()
	defer ts.Close()
	return &tls.Config{Certificates: ts.TLS.Certificates, MinVersion: tls.VersionTLS12}
}

// muxWithoutCatchAll has no "/" route, so ServeMux itself answers what matches nothing:
// 404, 405, redirects. A handler of ours writes plain text, which stays as it is.
func muxWithoutCatchAll() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /x", func(w http.ResponseWriter, r *http.Request) { respond.JSON(w, http.StatusOK, "x") })
	mux.HandleFunc("GET /dir/", func(w http.ResponseWriter, r *http.Request) { respond.JSON(w, http.StatusOK, "dir") })
	mux.HandleFunc("GET /text", func(w http.ResponseWriter, r *http.Request) {
		// Looks like net/http's own answer, but it is a body of ours: it must pass as it is.
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "HTTP/1.1 400 Bad Request"+goErrorHeaders+"400 Bad Request")
	})
	return mux
}

// goAnswerTests are raw requests net/http or ServeMux answer on their own, and the JSON
// answer each must get instead of plain text, HTML or nothing.
var goAnswerTests = []struct {
	name, raw    string
	wantStatus   int
	wantError    string
	wantLocation string
}{
	{"missing Host", "GET /x HTTP/1.1\r\n\r\n", 400, "missing required Host header", ""},
	{"malformed Host", "GET /x HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "malformed Host header", ""},
	{"invalid header name", "GET /x HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n", 400, "invalid header name", ""},
	{"garbage request line", "HELLO\r\n\r\n", 400, "malformed request", ""},
	{"two Content-Lengths", "GET /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400, "malformed request", ""},
	{"headers too large", "GET /x HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 80<<10) + "\r\n\r\n", 431, "request header fields too large", ""},
	{"unknown transfer encoding", "GET /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "unsupported transfer encoding", ""},
	{"HTTP/3.0", "GET /x HTTP/3.0\r\nHost: x\r\n\r\n", 505, "unsupported protocol version", ""},
	{"unknown expectation", "GET /x HTTP/1.1\r\nHost: x\r\nExpect: tea\r\n\r\n", 417, "Expect: only 100-continue is supported", ""},
	{"request target *", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400, "the request target * means nothing here", ""},
	{"HTTP/2 preface over HTTP/1", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, "the request target * means nothing here", ""},
	{"method not allowed", "DELETE /x HTTP/1.1\r\nHost: x\r\n\r\n", 405, "Method Not Allowed", ""},
	{"no route", "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 404, "404 page not found", ""},
	{"CONNECT", "CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n", 404, "404 page not found", ""},
	{"path to clean", "GET /a/../x?q=1 HTTP/1.1\r\nHost: x\r\n\r\n", 307, "moved to /x?q=1", "/x?q=1"},
	{"double slash, HEAD", "HEAD //x HTTP/1.1\r\nHost: x\r\n\r\n", 307, "", "/x"},
	{"trailing slash", "GET /dir HTTP/1.1\r\nHost: x\r\n\r\n", 307, "moved to /dir/", "/dir/"},
	{"redirect with a short body", "POST //x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab", 307, "moved to /x", "/x"},
}

// TestGoAnswersAreJSON: what net/http and ServeMux answer on their own, before or instead
// of a handler, goes out as {"error": ...} with the same status, at once.
func TestGoAnswersAreJSON(t *testing.T) {
	addr := startServer(t, NewServer(muxWithoutCatchAll(), logging.Discard()))
	for _, tt := range goAnswerTests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			got := servicetest.SendRaw(t, c, tt.raw)
			checkGoAnswer(t, tt.raw, got, tt.wantStatus, tt.wantError, tt.wantLocation)
			// A server that drained the short body first would answer after its ReadTimeout.
			if got.Elapsed > 2*time.Second {
				t.Errorf("answer to %q took %v, want it at once", tt.raw, got.Elapsed)
			}
		})
	}
}

func checkGoAnswer(t *testing.T, raw string, got servicetest.RawAnswer, wantStatus int, wantError, wantLocation string) {
	t.Helper()
	if got.Status != wantStatus || got.Error != wantError {
		t.Errorf("answer to %.60q = %d %q, want %d {\"error\": %q}", raw, got.Status, got.Body, wantStatus, wantError)
	}
	if ct := got.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("answer to %.60q: Content-Type %q, want application/json", raw, ct)
	}
	if loc := got.Header.Get("Location"); loc != wantLocation {
		t.Errorf("answer to %.60q: Location %q, want %q", raw, loc, wantLocation)
	}
}

// TestHandlerAnswersPassThrough: answers of handlers are never rewritten, not even a body
// that reads like one of net/http's answers, and a keep-alive connection stays usable.
func TestHandlerAnswersPassThrough(t *testing.T) {
	addr := startServer(t, NewServer(muxWithoutCatchAll(), logging.Discard()))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tt := range []struct{ raw, wantBody string }{
		{"GET /x HTTP/1.1\r\nHost: x\r\n\r\n", "\"x\"\n"},
		{"GET /text HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400 Bad Request" + goErrorHeaders + "400 Bad Request"},
		{"GET /dir/ HTTP/1.1\r\nHost: x\r\n\r\n", "\"dir\"\n"},
	} {
		if got := servicetest.SendRaw(t, c, tt.raw); got.Status != http.StatusOK || got.Body != tt.wantBody || got.Close {
			t.Errorf("answer to %q = %d %q (close %v), want 200 %q on a connection kept open", tt.raw, got.Status, got.Body, got.Close, tt.wantBody)
		}
	}
}

// TestRunServesHTTP2AndHTTP1OverTLS: with a TLSConfig, Run does the handshakes itself, so
// that net/http's own answers are rewritten above TLS; HTTP/2 must still be served, and
// handlers must still see the TLS state.
func TestRunServesHTTP2AndHTTP1OverTLS(t *testing.T) {
	srv := NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			respond.Error(w, http.StatusInternalServerError, "no TLS state")
			return
		}
		respond.JSON(w, http.StatusOK, r.Proto)
	}), logging.Discard())
	srv.TLSConfig = testTLSConfig(t)
	addr := startServer(t, srv)

	for _, tt := range []struct {
		name      string
		http2     bool
		wantProto string
	}{
		{"HTTP/2", true, "HTTP/2.0"},
		{"HTTP/1.1", false, "HTTP/1.1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := servicetest.TLSClient(t, tt.http2).Get("https://" + addr + "/")
			if err != nil {
				t.Fatalf("GET over %s: %v", tt.name, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := `"` + tt.wantProto + `"` + "\n"
			if resp.StatusCode != http.StatusOK || resp.Proto != tt.wantProto || string(body) != want {
				t.Errorf("GET over %s = %s %d %q, want %s 200 %q", tt.name, resp.Proto, resp.StatusCode, body, tt.wantProto, want)
			}
		})
	}

	t.Run("net/http's own answer over TLS", func(t *testing.T) {
		raw := "GET / HTTP/1.1\r\n\r\n"
		checkGoAnswer(t, raw, servicetest.SendRaw(t, servicetest.DialTLS(t, addr), raw), http.StatusBadRequest, "missing required Host header", "")
	})
	t.Run("plain HTTP to the TLS port", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		raw := "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
		checkGoAnswer(t, raw, servicetest.SendRaw(t, c, raw), http.StatusBadRequest, "this port speaks HTTPS: use https://", "")
	})
}

// TestTLSHandshakesDoNotBlockEachOther: a client that connects and never says hello holds
// up nobody, and is cut off after the handshake timeout.
func TestTLSHandshakesDoNotBlockEachOther(t *testing.T) {
	srv := NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		respond.JSON(w, http.StatusOK, "ok")
	}), logging.Discard())
	srv.TLSConfig = testTLSConfig(t)
	srv.ReadHeaderTimeout = 2 * time.Second // the handshake timeout too
	addr := startServer(t, srv)

	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()

	// Shorter than the handshake timeout: a listener waiting on the silent client's
	// handshake before accepting the next one would make this GET time out.
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: time.Second}
	defer client.CloseIdleConnections()
	resp, err := client.Get("https://" + addr + "/")
	if err != nil {
		t.Fatalf("GET while another client stays silent: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET while another client stays silent = %d, want 200", resp.StatusCode)
	}

	_ = silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := silent.Read(make([]byte, 1)); err == nil || isTimeoutErr(err) {
		t.Errorf("silent client: Read = %d, %v, want the server to hang up after its handshake timeout", n, err)
	}
}

func isTimeoutErr(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestAllowHandlerTime: a handler allowed to take longer than the server's WriteTimeout
// still gets its answer to the client.
func TestAllowHandlerTime(t *testing.T) {
	const handlerTime = 300 * time.Millisecond
	srv := NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(handlerTime)
		respond.Error(w, http.StatusGatewayTimeout, "upstream timed out")
	}), logging.Discard())
	srv.WriteTimeout = 100 * time.Millisecond
	AllowHandlerTime(srv, handlerTime)
	if srv.WriteTimeout <= handlerTime {
		t.Errorf("AllowHandlerTime(%v): WriteTimeout = %v, want more", handlerTime, srv.WriteTimeout)
	}
	addr := startServer(t, srv)

	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("GET from a handler taking %v, WriteTimeout 100ms made to allow it: %v", handlerTime, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("GET = %d, want the handler's 504", resp.StatusCode)
	}

	longer := NewServer(http.NotFoundHandler(), logging.Discard())
	AllowHandlerTime(longer, time.Second) // shorter than the default: the default stays
	if longer.WriteTimeout != 30*time.Second {
		t.Errorf("AllowHandlerTime(1s) on WriteTimeout 30s = %v, want 30s kept", longer.WriteTimeout)
	}
}
