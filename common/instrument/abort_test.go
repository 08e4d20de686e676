package instrument

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go/ext"

	"tracelab/common/faults"
	"tracelab/common/logging"
	"tracelab/common/tracing"
	"tracelab/common/tracing/tracingtest"
	"tracelab/internal/servicetest"
)

// TestAbortedProxyAnswer runs an edge-like chain (a client, a traced and logged
// httputil.ReverseProxy, an upstream) in which the answer's body breaks off mid-way.
// ReverseProxy then aborts with http.ErrAbortHandler after having sent a 200. The server
// span must still be named by route, say error with the reason and the status sent; the
// client span must say the body broke off, not 200 and fine; and the access log must have
// its line, with the status sent and an aborted field.
func TestAbortedProxyAnswer(t *testing.T) {
	tests := []struct {
		name            string
		upstream        func(w http.ResponseWriter, r *http.Request)
		timeout         time.Duration // for the proxied call, as EDGE_UPSTREAM_TIMEOUT
		hangUp          bool          // the client leaves after the first bytes
		wantClientError string        // in the client span's error message; "" for no error
	}{
		{"upstream dies mid-body", halfBodyThen(func(w http.ResponseWriter, _ *http.Request) {
			conn, _, _ := http.NewResponseController(w).Hijack()
			conn.Close()
		}), time.Minute, false, "reading the answer of accountservice: unexpected EOF"},
		{"upstream timeout mid-body", halfBodyThen(func(_ http.ResponseWriter, r *http.Request) {
			<-r.Context().Done() // stalls until the proxy gives up
		}), 200 * time.Millisecond, false, "context deadline exceeded"},
		{"client hangs up", halfBodyThen(func(_ http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}), time.Minute, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			upstream := httptest.NewServer(http.HandlerFunc(tt.upstream))
			defer upstream.Close()
			target, _ := url.Parse(upstream.URL)

			tracer := tracingtest.New()
			var logs servicetest.LockedBuffer
			log := logging.New("edge", &logs, slog.LevelInfo)
			proxy := &httputil.ReverseProxy{
				Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
				Transport: tracing.Transport(nil, "accountservice"),
				ErrorLog:  slog.NewLogLogger(slog.DiscardHandler, slog.LevelWarn),
			}
			routes := http.NewServeMux()
			routes.Handle("GET /api/accounts/{id}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ctx, cancel := context.WithTimeout(r.Context(), tt.timeout)
				defer cancel()
				proxy.ServeHTTP(w, r.WithContext(ctx))
			}))
			edge := httptest.NewServer(Handler(log, tracer, faults.NewSwitch(true, nil), routes, http.NotFoundHandler()))
			defer edge.Close()

			resp, err := http.Get(edge.URL + "/api/accounts/10000")
			if err != nil {
				t.Fatalf("GET through the proxy: %v", err)
			}
			if tt.hangUp {
				_, _ = resp.Body.Read(make([]byte, 4))
				resp.Body.Close() // with bytes unread: the connection is closed
			} else if body, err := io.ReadAll(resp.Body); err == nil {
				t.Errorf("GET through the proxy: body %q read to its end, want it cut short", body)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET through the proxy = %d, want the 200 the upstream started with", resp.StatusCode)
			}

			servicetest.WaitFor(t, "the server and client spans", func() bool { return len(tracer.FinishedSpans()) == 2 })
			server, _ := tracer.Span("GET /api/accounts/{id}")
			client, _ := tracer.Span("GET accountservice")
			if server == nil || client == nil {
				t.Fatalf("finished spans %q, want %q and %q", tracer.Names(), "GET /api/accounts/{id}", "GET accountservice")
			}
			tracingtest.AssertServerSpan(t, server, http.StatusOK)
			if got := server.Tag(string(ext.Error)); got != true {
				t.Errorf("server span tag error = %v, want true", got)
			}
			if got := tracingtest.ErrorMessage(server); !strings.Contains(got, "abort") {
				t.Errorf("server span error message = %q, want why the answer was aborted", got)
			}
			if got := client.Tag(string(ext.HTTPStatusCode)); got != uint16(http.StatusOK) {
				t.Errorf("client span tag http.status_code = %v, want 200", got)
			}
			gotErr, failed := client.Tag(string(ext.Error)).(bool)
			if wantFailed := tt.wantClientError != ""; gotErr != wantFailed || failed != wantFailed {
				t.Errorf("client span tag error = %v, want set %v", client.Tag(string(ext.Error)), wantFailed)
			}
			if got := tracingtest.ErrorMessage(client); !strings.Contains(got, tt.wantClientError) {
				t.Errorf("client span error message = %q, want it to contain %q", got, tt.wantClientError)
			}
			if tt.hangUp && !slices.Contains(tracingtest.Events(client), "closed before the end of the body") {
				t.Errorf("client span logs %v, want a note that the body was not read to its end", client.Logs())
			}

			servicetest.WaitFor(t, "the access line", func() bool { return strings.Contains(logs.String(), `"access"`) })
			line := accessLine(t, logs.String())
			for k, want := range map[string]any{
				"http.response.status_code": float64(http.StatusOK),
				"http.route":                "GET /api/accounts/{id}",
				"aborted":                   http.ErrAbortHandler.Error(),
				"log.level":                 "warn",
			} {
				if line[k] != want {
					t.Errorf("access line %s = %#v, want %#v (line %v)", k, line[k], want, line)
				}
			}
		})
	}
}

// halfBodyThen answers 200 with a Content-Length of 128 KiB, sends half of it (more than
// the proxy's write buffer, so the client gets the status and the first bytes), then does rest.
func halfBodyThen(rest func(w http.ResponseWriter, r *http.Request)) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(128<<10))
		_, _ = io.WriteString(w, strings.Repeat("x", 64<<10))
		w.(http.Flusher).Flush()
		rest(w, r)
	}
}

// accessLine is the one access line in out.
func accessLine(t *testing.T, out string) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, raw := range strings.Split(strings.TrimSpace(out), "\n") {
		var line map[string]any
		if err := json.Unmarshal([]byte(raw), &line); err == nil && line["message"] == "access" {
			found = append(found, line)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d access lines, want 1:\n%s", len(found), out)
	}
	return found[0]
}
