package respond

import "net/http"

// Recorder wraps a ResponseWriter and remembers the status and the number of body bytes
// written, for middleware that reports on the answer (spans, access logs).
type Recorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

// NewRecorder wraps w, unless w is a Recorder already: the tracing middleware and the
// access log both want the status, and one wrapper can tell them both.
func NewRecorder(w http.ResponseWriter) *Recorder {
	if r, ok := w.(*Recorder); ok {
		return r
	}
	return &Recorder{ResponseWriter: w}
}

// WriteHeader records the first final status written. An informational 1xx (103 Early
// Hints) comes before the real answer, so it is passed on but not recorded; 101 Switching
// Protocols is final.
func (r *Recorder) WriteHeader(code int) {
	if r.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *Recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

// Status is the code sent: 200 when the handler wrote a body without one.
func (r *Recorder) Status() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

// Wrote reports whether a final status has been written (explicitly, or by writing a
// body). A handler that panics before it did sends nothing at all: net/http ends the
// connection, so there is no status to report.
func (r *Recorder) Wrote() bool { return r.status != 0 }

// Bytes is the number of body bytes written.
func (r *Recorder) Bytes() int { return r.bytes }

// Flush lets streaming handlers and httputil.ReverseProxy flush through the wrapper.
func (r *Recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the writer underneath.
func (r *Recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
