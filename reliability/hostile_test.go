package reliability

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// hostileCase is one request a hostile or careless client sends to the edge, as raw bytes.
type hostileCase struct {
	name  string
	raw   string // the request, "\n" standing for "\r\n" unless crlf is set
	crlf  bool   // raw already has its own line endings (to send a bare "\n", say)
	plain bool   // sent without TLS: plain HTTP on the HTTPS port

	// status is the status it must get; 0 for any 4xx. Two 5xx are in the table on purpose:
	// 501 (a transfer coding we do not implement) and 505 (an HTTP version we do not speak)
	// are what HTTP prescribes for those requests. They refuse the request as it was sent;
	// nothing failed, and they come as JSON like every other refusal. Any other 5xx is a bug.
	status int
	whole  bool // a 200 that must carry the quote and the image: tracing must not cost them
}

// get builds a GET of path through the edge with extra header lines.
func get(path string, headers ...string) string {
	var b strings.Builder
	b.WriteString("GET " + path + " HTTP/1.1\nHost: localhost\n")
	for _, h := range headers {
		b.WriteString(h + "\n")
	}
	b.WriteString("\n")
	return b.String()
}

// manyHeaders makes n header lines "<prefix><i>: <value>".
func manyHeaders(n int, prefix, value string) []string {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf("%s%d: %s", prefix, i, value)
	}
	return lines
}

// hostileCases are the requests of the hostile-input suite: what a room full of people
// typing curl commands, a fuzzer, or a confused proxy send. Each has the answer it must
// get; none may get a 5xx (nothing in the landscape failed), every error is JSON, and the
// edge and the services must go on serving afterwards.
func hostileCases() []hostileCase {
	const account = "/api/accounts/10001"
	return []hostileCase{
		// Tracing headers: whatever the caller sends, the request is served, in full.
		{name: "baggage value with CR LF", raw: get(account, "uberctx-x: a%0d%0ab"), status: 200, whole: true},
		{name: "baggage value with NUL", raw: get(account, "uberctx-x: a%00b"), status: 200, whole: true},
		{name: "baggage value with DEL and bell", raw: get(account, "uberctx-x: %7f%07"), status: 200, whole: true},
		{name: "jaeger-baggage key with a space", raw: get(account, "jaeger-baggage: bad key=v"), status: 200, whole: true},
		{name: "jaeger-baggage malformed", raw: get(account, "jaeger-baggage: novalue,=,a=b=c,%zz"), status: 200, whole: true},
		{name: "jaeger-baggage value with CR LF", raw: get(account, "jaeger-baggage: k=a%0d%0ab"), status: 200, whole: true},
		{name: "B3 baggage with CR LF escaped", raw: get(account, "X-B3-TraceId: 463ac35c9f6413ad", "X-B3-SpanId: a2fb4a1d1a96d312", "baggage-x: a%0d%0ab"), status: 200, whole: true},
		{name: "1000 baggage items", raw: get(account, manyHeaders(1000, "uberctx-k", "v")...), status: 200, whole: true},
		{name: "40 KB baggage value", raw: get(account, "uberctx-big: "+strings.Repeat("a", 40<<10)), status: 200, whole: true},
		{name: "16 baggage items of 2 KB", raw: get(account, manyHeaders(16, "uberctx-k", strings.Repeat("b", 2<<10))...), status: 200, whole: true},
		{name: "uber-trace-id chosen by the caller", raw: get(account, "uber-trace-id: 0000000000000003:1:0:1"), status: 200, whole: true},
		{name: "uber-trace-id unsampled", raw: get(account, "uber-trace-id: 463ac35c9f6413ad:463ac35c9f6413ad:0:0"), status: 200, whole: true},
		{name: "uber-trace-id garbage", raw: get(account, "uber-trace-id: :::::::"), status: 200, whole: true},
		{name: "uber-trace-id 8000 chars", raw: get(account, "uber-trace-id: "+strings.Repeat("f", 8000)), status: 200, whole: true},
		{name: "uber-trace-id twice", raw: get(account, "uber-trace-id: 1:2:0:1", "uber-trace-id: 3:4:0:1"), status: 200, whole: true},
		{name: "uber-trace-id percent-escaped garbage", raw: get(account, "uber-trace-id: %zz%0d%0a"), status: 200, whole: true},
		{name: "jaeger-debug-id with CR LF", raw: get(account, "jaeger-debug-id: a%0d%0ab"), status: 200, whole: true},
		{name: "single b3 header", raw: get(account, "b3: 80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90"), status: 200, whole: true},
		{name: "single b3 header debug", raw: get(account, "b3: 80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-d"), status: 200, whole: true},
		{name: "single b3 header garbage", raw: get(account, "b3: zz-yy-q-!!"), status: 200, whole: true},
		{name: "B3 flags debug without sampled", raw: get(account, "X-B3-TraceId: 463ac35c9f6413ad", "X-B3-SpanId: a2fb4a1d1a96d312", "X-B3-Flags: 1"), status: 200, whole: true},
		{name: "B3 ids non-hex", raw: get(account, "X-B3-TraceId: xyz", "X-B3-SpanId: !!", "X-B3-Sampled: 1"), status: 200, whole: true},
		{name: "hop-by-hop names a tracing header", raw: get(account, "Connection: uber-trace-id", "uber-trace-id: 1:2:0:1"), status: 200, whole: true},

		// Headers net/http refuses before any handler sees them: JSON all the same.
		{name: "headers over 64 KiB", raw: get(account, "X-Big: "+strings.Repeat("a", 70<<10)), status: 431},
		{name: "header name with a parenthesis", raw: get(account, "uberctx-a(b: v"), status: 400},
		{name: "header value with NUL", raw: get(account, "X-A: a\x00b"), status: 400},
		{name: "header without colon", raw: get(account, "NoColonHere"), status: 400},
		{name: "HTTP/1.1 without Host", raw: "GET " + account + " HTTP/1.1\n\n", status: 400},
		{name: "two Host headers", raw: "GET " + account + " HTTP/1.1\nHost: a\nHost: b\n\n", status: 400},
		{name: "malformed request line", raw: "GARBAGE\n\n", status: 400},
		{name: "request line with bare LF", raw: "GET " + account + " HTTP/1.1\nHost: localhost\n\n", crlf: true, status: 200},
		{name: "HTTP version 2.0 on HTTP/1", raw: "GET " + account + " HTTP/2.0\nHost: localhost\n\n", status: 505},
		{name: "HTTP version 9.9", raw: "GET " + account + " HTTP/9.9\nHost: localhost\n\n", status: 505},
		{name: "unsupported transfer encoding", raw: "GET " + account + " HTTP/1.1\nHost: localhost\nTransfer-Encoding: gzip\n\n", status: 501},
		{name: "unknown expectation", raw: get(account, "Expect: tea"), status: 417},
		{name: "HTTP/2 preface on HTTP/1", raw: "PRI * HTTP/2.0\n\nSM\n\n", status: 400},
		{name: "plain HTTP on the HTTPS port", raw: get(account), plain: true, status: 400},

		// Bodies: the edge's routes take none, and a broken one is the client's mistake.
		{name: "GET with a body", raw: "GET " + account + " HTTP/1.1\nHost: localhost\nContent-Length: 5\n\nhello", status: 400},
		{name: "bad chunk size", raw: "GET " + account + " HTTP/1.1\nHost: localhost\nTransfer-Encoding: chunked\n\nzz\nhello\n0\n\n", status: 400},
		{name: "body shorter than Content-Length", raw: "GET " + account + " HTTP/1.1\nHost: localhost\nContent-Length: 10\n\nhello", status: 400},
		{name: "two different Content-Lengths", raw: "GET " + account + " HTTP/1.1\nHost: localhost\nContent-Length: 1\nContent-Length: 2\n\nab", status: 400},
		{name: "Content-Length and chunked", raw: "GET " + account + " HTTP/1.1\nHost: localhost\nContent-Length: 3\nTransfer-Encoding: chunked\n\n0\n\n", status: 0},
		{name: "negative Content-Length", raw: "GET " + account + " HTTP/1.1\nHost: localhost\nContent-Length: -1\n\n", status: 400},
		{name: "Expect 100-continue with a body", raw: "GET " + account + " HTTP/1.1\nHost: localhost\nContent-Length: 5\nExpect: 100-continue\n\n", status: 0},

		// Paths and ids.
		{name: "id with leading zeros", raw: get("/api/accounts/00010000"), status: 400},
		{name: "id of 25 digits", raw: get("/api/accounts/" + strings.Repeat("9", 25)), status: 400},
		{name: "id with a sign", raw: get("/api/accounts/+10000"), status: 400},
		{name: "id with a path after it", raw: get("/api/accounts/10000/extra"), status: 0},
		{name: "id escaped traversal", raw: get("/api/accounts/%2e%2e%2f%2e%2e%2fhealthz"), status: 400},
		{name: "id not UTF-8", raw: get("/api/accounts/%ff%fe"), status: 400},
		{name: "id with a NUL", raw: get("/api/accounts/1%00"), status: 400},
		{name: "unknown account", raw: get("/api/accounts/99"), status: 404},
		{name: "dot-dot traversal", raw: get("/api/accounts/../../etc/passwd"), status: 307}, // ServeMux cleans the path, then 404
		{name: "unknown route", raw: get("/admin"), status: 404},
		{name: "path to be cleaned", raw: get("/api/../api/accounts/10001"), status: 307},
		{name: "doubled slash", raw: get("//api/accounts/10001"), status: 307},
		{name: "huge query string", raw: get(account + "?q=" + strings.Repeat("x", 30<<10)), status: 200, whole: true},
		{name: "absolute-form URI", raw: "GET https://evil.example" + account + " HTTP/1.1\nHost: evil.example\n\n", status: 200, whole: true},
		{name: "image path traversal", raw: get("/api/images/file/..%2f..%2fetc%2fpasswd"), status: 0},
		{name: "image unknown filter", raw: get("/api/images/file/circles.png?filter=%3Cscript%3E"), status: 400},
		{name: "image unknown file", raw: get("/api/images/file/nothing-here.png"), status: 404},

		// Methods.
		{name: "POST to an account", raw: "POST " + account + " HTTP/1.1\nHost: localhost\nContent-Length: 2\n\n{}", status: 0},
		{name: "DELETE an account", raw: "DELETE " + account + " HTTP/1.1\nHost: localhost\n\n", status: 0},
		{name: "lower-case method", raw: "get " + account + " HTTP/1.1\nHost: localhost\n\n", status: 0},
		{name: "CONNECT", raw: "CONNECT localhost:443 HTTP/1.1\nHost: localhost:443\n\n", status: 0},
		{name: "TRACE", raw: "TRACE " + account + " HTTP/1.1\nHost: localhost\n\n", status: 0},
	}
}

// TestHostileInput sends every hostile case to the edge over a TLS connection of its own,
// then a plain request: each case gets its answer, as JSON when it is an error, and the
// landscape keeps serving. The logs are checked for panics when the test ends.
func TestHostileInput(t *testing.T) {
	l := startLandscape(t, nil)
	addr := strings.TrimPrefix(l.edge, "https://")
	statuses := map[int]int{}
	defer func() { t.Logf("%d hostile requests, answered %v", len(hostileCases()), statuses) }()
	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			raw := tc.raw
			if !tc.crlf {
				raw = strings.ReplaceAll(raw, "\n", "\r\n")
			}
			got, err := exchange(addr, raw, !tc.plain)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			statuses[got.status]++
			switch {
			case got.status >= 500 && got.status != tc.status:
				t.Errorf("%s: status %d, want < 500: nothing in the landscape failed; body %q", tc.name, got.status, got.body)
			case tc.status == 0 && (got.status < 400 || got.status > 499):
				t.Errorf("%s: status %d, want a 4xx; body %q", tc.name, got.status, got.body)
			case tc.status != 0 && got.status != tc.status:
				t.Errorf("%s: status %d, want %d; body %q", tc.name, got.status, tc.status, got.body)
			}
			if got.status >= 400 {
				assertJSONError(t, tc.name, got)
			}
			if tc.whole && got.status == 200 {
				var acc account
				if err := json.Unmarshal([]byte(got.body), &acc); err != nil || acc.Quote == nil || acc.ImageData == nil {
					t.Errorf("%s: answer %q, want the account with its quote and image: a tracing header must not cost them", tc.name, got.body)
				}
			}
			// The edge's ReadTimeout is 15 s: an answer that took that long waited for bytes
			// that were never coming, instead of telling the client at once.
			if got.elapsed > 5*time.Second {
				t.Errorf("%s: answered after %v, want at once (nothing here needs more than milliseconds)", tc.name, got.elapsed.Round(time.Millisecond))
			}
			l.assertServes(t, tc.name)
		})
	}
}

// answer is what came back for a raw request.
type answer struct {
	status      int
	contentType string
	body        string
	elapsed     time.Duration
}

// exchange sends raw over a new connection to addr, TLS unless told otherwise (HTTP/1.1
// only: the bytes are an HTTP/1 request), and reads one answer.
func exchange(addr, raw string, useTLS bool) (answer, error) {
	start := time.Now()
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	var conn net.Conn
	var err error
	if useTLS {
		conn, err = tls.DialWithDialer(dialer, "tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	} else {
		conn, err = dialer.Dial("tcp", addr)
	}
	if err != nil {
		return answer{}, fmt.Errorf("dial %s: %w", addr, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	// Written in a goroutine: the server may answer and close before it has read it all
	// (a 431), and a blocked write must not keep us from reading that answer.
	go func() { _, _ = io.WriteString(conn, raw) }()
	method, _, _ := strings.Cut(raw, " ")
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method, URL: &url.URL{}})
	if err != nil {
		return answer{}, fmt.Errorf("no answer (%v after sending): %w", time.Since(start).Round(time.Millisecond), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil && resp.StatusCode != http.StatusOK {
		// An error's body is small and whole; a 200 may be cut by the server closing.
		return answer{}, fmt.Errorf("reading the %d answer: %w", resp.StatusCode, err)
	}
	return answer{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: string(body), elapsed: time.Since(start)}, nil
}

// assertJSONError checks that an error answer is {"error": "..."} as JSON, like every
// other error tracelab gives.
func assertJSONError(t *testing.T, name string, got answer) {
	t.Helper()
	if !strings.HasPrefix(got.contentType, "application/json") {
		t.Errorf("%s: %d answer has Content-Type %q, want application/json; body %q", name, got.status, got.contentType, got.body)
		return
	}
	var body struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(got.body), &body); err != nil || body.Error == "" {
		t.Errorf("%s: %d answer body %q, want {\"error\": \"...\"}", name, got.status, got.body)
	}
}
