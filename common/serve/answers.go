package serve

// This file exists so that every answer a tracelab service gives is JSON, even the ones
// net/http and ServeMux write on their own, before or instead of our handlers. Nothing in
// a lab needs it; read it only when a raw request got an answer you did not expect.
//
// There are two kinds of such answers:
//
//   - net/http's server writes a plain-text answer straight to the connection when it
//     cannot read a request at all (malformed request line or header, 431 headers too
//     large, 501 unknown Transfer-Encoding, 505 unknown HTTP version, a missing Host
//     header; see "errorHeaders" in net/http's server.go), and an empty 417 when a client
//     expects something other than 100-continue. No handler runs, so only the connection
//     sees them: jsonAnswerConn rewrites them, from the listener Run wraps.
//   - ServeMux answers with text or HTML when it redirects to a cleaned path ("//x",
//     "/a/../b") or to a trailing slash, when a pattern matched the path but not the
//     method (405), when nothing matched a CONNECT request, and with an empty 400 for the
//     request target "*". jsonAnswers, around the server's handler, turns those into
//     JSON with the same status (and any http.Error or http.Redirect a handler calls).

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"

	"tracelab/common/respond"
)

// goErrorHeaders is what net/http writes between the status line and the body of the
// plain-text answers it writes to the connection itself, in one Write.
const goErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// goExpectationFailed is how net/http's empty 417 begins, and goEmptyEnd how it ends; a
// Date header (29 bytes of value) comes between.
const (
	goExpectationFailed = "HTTP/1.1 417 Expectation Failed\r\nConnection: close\r\nDate: "
	goEmptyEnd          = "\r\nContent-Length: 0\r\n\r\n"
	httpDateLen         = len("Mon, 02 Jan 2006 15:04:05 GMT")
)

// jsonAnswerConn is a connection on which net/http's own plain-text answers come out as
// JSON. Everything else passes through untouched.
type jsonAnswerConn struct {
	net.Conn
}

// Write sends p, or the JSON form of p when p is one of net/http's own answers.
func (c *jsonAnswerConn) Write(p []byte) (int, error) {
	if answer, ok := jsonFromGoAnswer(p); ok {
		if _, err := c.Conn.Write(answer); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// CloseWrite passes net/http's half-close through (it sends the 431 that way, so the
// client reads the answer before the connection goes).
func (c *jsonAnswerConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// jsonFromGoAnswer recognises one whole net/http answer in p and returns its JSON form.
// The match is exact (status line, headers and body as net/http writes them), so a
// handler's own bytes are never taken for one: handlers' headers come sorted and with a
// Date, which these answers have not.
func jsonFromGoAnswer(p []byte) ([]byte, bool) {
	if bytes.HasPrefix(p, []byte(goExpectationFailed)) && bytes.HasSuffix(p, []byte(goEmptyEnd)) &&
		len(p) == len(goExpectationFailed)+httpDateLen+len(goEmptyEnd) {
		return jsonAnswer(http.StatusExpectationFailed, "Expect: only 100-continue is supported"), true
	}
	rest, ok := bytes.CutPrefix(p, []byte("HTTP/1.1 "))
	if !ok {
		return nil, false
	}
	status, body, ok := bytes.Cut(rest, []byte(goErrorHeaders))
	if !ok || len(status) < 4 || status[3] != ' ' {
		return nil, false
	}
	code, err := strconv.Atoi(string(status[:3]))
	if err != nil || code < 400 || code > 599 {
		return nil, false
	}
	switch {
	case bytes.Equal(body, status): // "400 Bad Request" or "400 Bad Request: missing required Host header"
		return jsonAnswer(code, goAnswerMessage(code, string(status))), true
	case code == http.StatusNotImplemented && string(body) == "Unsupported transfer encoding":
		return jsonAnswer(code, "unsupported transfer encoding"), true
	}
	return nil, false
}

// goAnswerMessage is the error message for net/http's status text: the detail after the
// colon when there is one ("missing required Host header"), else words of our own.
func goAnswerMessage(code int, status string) string {
	if _, detail, ok := strings.Cut(status, ": "); ok {
		return detail
	}
	if code == http.StatusBadRequest {
		return "malformed request"
	}
	return strings.ToLower(http.StatusText(code))
}

// jsonAnswer is a whole HTTP/1.1 answer with {"error": msg}, for a connection that closes
// after it.
func jsonAnswer(code int, msg string) []byte {
	body, _ := json.Marshal(map[string]string{"error": msg})
	body = append(body, '\n')
	head := "HTTP/1.1 " + strconv.Itoa(code) + " " + http.StatusText(code) + "\r\n" +
		"Content-Type: application/json\r\nConnection: close\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
	return append([]byte(head), body...)
}

// jsonAnswers wraps a server's handler so that ServeMux's text and HTML answers, and any
// http.Error or http.Redirect, go out as {"error": ...} with the same status (and the
// same Location, for a redirect).
func jsonAnswers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.RequestURI == "*" { // ServeMux would answer an empty 400 ("OPTIONS *" never gets here)
			closeIfBody(w, r)
			respond.Error(w, http.StatusBadRequest, "the request target * means nothing here")
			return
		}
		jw := &jsonAnswerWriter{ResponseWriter: w, r: r}
		next.ServeHTTP(jw, r)
		jw.finish()
	})
}

// maxHeldText bounds what jsonAnswerWriter keeps of a text answer's body: http.Error's
// message is one short line.
const maxHeldText = 512

// jsonAnswerWriter holds back a text answer (see isTextAnswer) and writes it as JSON once
// the handler is done; any other answer passes through.
type jsonAnswerWriter struct {
	http.ResponseWriter
	r      *http.Request
	held   int    // status of the text answer held back, or 0
	text   []byte // its body, up to maxHeldText bytes
	status bool   // a final status was written or held
}

func (w *jsonAnswerWriter) WriteHeader(code int) {
	if !w.status && code >= 300 && isTextAnswer(code, w.Header()) {
		w.held, w.status = code, true
		return
	}
	if w.held != 0 {
		return // superfluous, after the one held
	}
	if code >= 200 {
		w.status = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *jsonAnswerWriter) Write(p []byte) (int, error) {
	if w.held != 0 {
		w.text = append(w.text, p[:min(len(p), maxHeldText-len(w.text))]...)
		return len(p), nil
	}
	w.status = true
	return w.ResponseWriter.Write(p)
}

// Flush passes through, except while a text answer is held back.
func (w *jsonAnswerWriter) Flush() {
	if w.held == 0 {
		_ = http.NewResponseController(w.ResponseWriter).Flush()
	}
}

// Unwrap lets http.ResponseController reach the writer underneath.
func (w *jsonAnswerWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish writes the held text answer as JSON.
func (w *jsonAnswerWriter) finish() {
	if w.held == 0 {
		return
	}
	msg := strings.TrimSpace(string(w.text))
	if loc := w.Header().Get("Location"); loc != "" {
		msg = "moved to " + loc
	} else if msg == "" {
		msg = strings.ToLower(http.StatusText(w.held))
	}
	closeIfBody(w.ResponseWriter, w.r)
	respond.Error(w.ResponseWriter, w.held, msg)
}

// isTextAnswer recognises http.Error (text/plain with nosniff, which is how ServeMux
// answers 404 and 405) and http.Redirect (a Location, with HTML or, for methods other
// than GET and HEAD, no body) by the headers they set before writing the status.
func isTextAnswer(code int, h http.Header) bool {
	ct := h.Get("Content-Type")
	if ct == "text/plain; charset=utf-8" && h.Get("X-Content-Type-Options") == "nosniff" {
		return true
	}
	return code < 400 && h.Get("Location") != "" && (ct == "text/html; charset=utf-8" || ct == "")
}

// closeIfBody asks net/http to close the connection after this answer when the request
// announced a body nobody read. Otherwise net/http reads (up to 256 KiB of) the body
// before it sends the answer, to keep the connection, and a client that sent less than it
// announced waits for the read timeout instead of getting its answer at once. HTTP/2
// streams need no such thing (and Connection would end the whole HTTP/2 connection).
func closeIfBody(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor == 1 && r.ContentLength != 0 {
		w.Header().Set("Connection", "close")
	}
}
