package respond_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"tracelab/common/respond"
)

func TestError(t *testing.T) {
	tests := []struct {
		status int
		msg    string
	}{
		{http.StatusBadRequest, "account id must be digits"},
		{http.StatusNotFound, "no account 10000"},
		{http.StatusServiceUnavailable, "quotes unavailable"},
		{http.StatusBadRequest, `quotes "and" <tags> & ünïcode`},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			rec := httptest.NewRecorder()
			respond.Error(rec, tt.status, tt.msg)
			if rec.Code != tt.status {
				t.Errorf("Error(%d, %q): status = %d, want %d", tt.status, tt.msg, rec.Code, tt.status)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("Error(%d, %q): Content-Type = %q, want application/json", tt.status, tt.msg, got)
			}
			var body map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("Error(%d, %q): body %q is not JSON: %v", tt.status, tt.msg, rec.Body, err)
			}
			if len(body) != 1 || body["error"] != tt.msg {
				t.Errorf("Error(%d, %q): body = %v, want {\"error\": %q}", tt.status, tt.msg, body, tt.msg)
			}
		})
	}
}

func TestJSON(t *testing.T) {
	rec := httptest.NewRecorder()
	respond.JSON(rec, http.StatusCreated, map[string]any{"id": "10000", "vip": true})
	if rec.Code != http.StatusCreated || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("JSON(201) = %d %q, want 201 application/json", rec.Code, rec.Header().Get("Content-Type"))
	}
	if got, want := rec.Body.String(), `{"id":"10000","vip":true}`+"\n"; got != want {
		t.Errorf("JSON(201) body = %q, want %q", got, want)
	}
}

func TestNotFound(t *testing.T) {
	rec := httptest.NewRecorder()
	respond.NotFound().ServeHTTP(rec, httptest.NewRequest(http.MethodDelete, "/nowhere?x=1", nil))
	var body map[string]string
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	if rec.Code != http.StatusNotFound || body["error"] != "no route for DELETE /nowhere" {
		t.Errorf("NotFound(DELETE /nowhere) = %d %v, want 404 {\"error\": \"no route for DELETE /nowhere\"}", rec.Code, body)
	}
}

func TestRecorder(t *testing.T) {
	tests := []struct {
		name       string
		handle     func(w http.ResponseWriter)
		wantStatus int
		wantBytes  int
	}{
		{"nothing written", func(w http.ResponseWriter) {}, http.StatusOK, 0},
		{"body only", func(w http.ResponseWriter) { _, _ = w.Write([]byte("hello")) }, http.StatusOK, 5},
		{"status and body", func(w http.ResponseWriter) { respond.Error(w, http.StatusTeapot, "short and stout") }, http.StatusTeapot, 28},
		{"first status wins", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.WriteHeader(http.StatusOK)
		}, http.StatusServiceUnavailable, 0},
		{"early hints then answer", func(w http.ResponseWriter) {
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write([]byte("ok"))
		}, http.StatusAccepted, 2},
		{"early hints then body", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusEarlyHints)
			_, _ = w.Write([]byte("ok"))
		}, http.StatusOK, 2},
		{"two writes", func(w http.ResponseWriter) {
			_, _ = w.Write([]byte("ab"))
			_, _ = w.Write([]byte("cde"))
		}, http.StatusOK, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A real server: httptest.ResponseRecorder takes a 1xx for the final status.
			type result struct{ status, bytes int }
			recorded := make(chan result, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rec := respond.NewRecorder(w)
				tt.handle(rec)
				recorded <- result{rec.Status(), rec.Bytes()}
			}))
			defer srv.Close()
			resp, err := srv.Client().Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := <-recorded
			if got.status != tt.wantStatus || got.bytes != tt.wantBytes {
				t.Errorf("Recorder after %s: Status, Bytes = %d, %d, want %d, %d", tt.name, got.status, got.bytes, tt.wantStatus, tt.wantBytes)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("client got %d, want the recorded %d", resp.StatusCode, tt.wantStatus)
			}
		})
	}
}

func TestRecorderReachesUnderlyingWriter(t *testing.T) {
	under := httptest.NewRecorder()
	rec := respond.NewRecorder(under)
	rec.Flush()
	if !under.Flushed {
		t.Errorf("Recorder.Flush did not flush the writer underneath")
	}
	if rec.Unwrap() != under {
		t.Errorf("Unwrap() = %v, want the wrapped writer", rec.Unwrap())
	}

	// http.ResponseController reaches the server's writer through Unwrap: the deadline
	// is set on the connection, which the Recorder itself knows nothing about.
	deadlineErr := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		deadlineErr <- http.NewResponseController(respond.NewRecorder(w)).SetWriteDeadline(time.Now().Add(time.Minute))
	}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := <-deadlineErr; err != nil {
		t.Errorf("ResponseController(Recorder).SetWriteDeadline = %v, want nil", err)
	}
}

func TestServedBy(t *testing.T) {
	host, _ := os.Hostname()
	if got, want := respond.ServedBy("quoteservice"), "quoteservice@"+host; got != want {
		t.Errorf("ServedBy(quoteservice) = %q, want %q", got, want)
	}
}

// TestNewRecorderReuses: a second middleware gets the recorder the first one made, and both
// see what the handler wrote.
func TestNewRecorderReuses(t *testing.T) {
	outer := respond.NewRecorder(httptest.NewRecorder())
	inner := respond.NewRecorder(outer)
	if inner != outer {
		t.Fatalf("NewRecorder(a Recorder) made a new wrapper, want the same one")
	}
	inner.WriteHeader(http.StatusTeapot)
	_, _ = inner.Write([]byte("short and stout"))
	if outer.Status() != http.StatusTeapot || outer.Bytes() != 15 {
		t.Errorf("outer recorder sees %d, %d bytes; want 418, 15", outer.Status(), outer.Bytes())
	}
}
