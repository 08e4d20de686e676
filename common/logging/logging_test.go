package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"tracelab/common/logging"
	"tracelab/common/respond"
	"tracelab/common/tracing"

	"github.com/opentracing/opentracing-go"
)

func TestNewWritesECSLine(t *testing.T) {
	tests := []struct {
		name      string
		log       func(*slog.Logger)
		wantLevel string
		wantMsg   string
	}{
		{"info", func(l *slog.Logger) { l.Info("quote served", "quote.id", 7) }, "info", "quote served"},
		{"warn", func(l *slog.Logger) { l.Warn("quote unavailable") }, "warn", "quote unavailable"},
		{"error", func(l *slog.Logger) { l.Error("bolt closed") }, "error", "bolt closed"},
		{"debug", func(l *slog.Logger) { l.Debug("detail") }, "debug", "detail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			tt.log(logging.New("quoteservice", &buf, slog.LevelDebug))
			line := onlyLine(t, &buf)
			ts, err := time.Parse(time.RFC3339Nano, str(line["@timestamp"]))
			if err != nil || ts.Location() != time.UTC || time.Since(ts) > time.Minute {
				t.Errorf("@timestamp = %v, want a current RFC 3339 UTC time (parse error %v)", line["@timestamp"], err)
			}
			want := map[string]any{"log.level": tt.wantLevel, "message": tt.wantMsg, "service.name": "quoteservice"}
			for k, v := range want {
				if line[k] != v {
					t.Errorf("%s = %v, want %v (line %v)", k, line[k], v, line)
				}
			}
			for _, k := range []string{"time", "level", "msg", "trace.id", "span.id"} {
				if _, ok := line[k]; ok {
					t.Errorf("line has %q, want only ECS names and no trace ids: %v", k, line)
				}
			}
		})
	}
}

func TestNewLevel(t *testing.T) {
	var buf bytes.Buffer
	log := logging.New("quoteservice", &buf, slog.LevelWarn)
	log.Info("hidden")
	log.Debug("hidden")
	log.Warn("shown")
	if line := onlyLine(t, &buf); line["message"] != "shown" {
		t.Errorf("at level warn got %v, want only the warning", line)
	}
}

// TestNewAttrsNamedLikeBuiltins logs attributes whose keys slog uses for its own fields,
// with values of other types: the line is still written, nothing panics.
func TestNewAttrsNamedLikeBuiltins(t *testing.T) {
	var buf bytes.Buffer
	log := logging.New("quoteservice", &buf, slog.LevelInfo)
	log.Info("odd keys", "time", "yesterday", "level", 3)
	line := onlyLine(t, &buf)
	if line["message"] != "odd keys" || line["log.level"] != "info" {
		t.Errorf("line = %v, want message %q at info", line, "odd keys")
	}
	if line["time"] != "yesterday" || line["level"] != 3.0 {
		t.Errorf("line = %v, want the caller's time and level attributes kept as given", line)
	}
}

func TestTraceIDs(t *testing.T) {
	tracer := realTracer(t)
	span := tracer.StartSpan("GET /accounts/{id}")
	defer span.Finish()
	wantTrace, wantSpan := tracing.SpanIDs(span)
	if wantTrace == "" {
		t.Fatalf("SpanIDs(real span) = empty, want ids")
	}
	withSpan := opentracing.ContextWithSpan(context.Background(), span)

	tests := []struct {
		name      string
		log       func(*slog.Logger)
		wantTrace bool
	}{
		{"InfoContext with span", func(l *slog.Logger) { l.InfoContext(withSpan, "x") }, true},
		{"ErrorContext with span", func(l *slog.Logger) { l.ErrorContext(withSpan, "x") }, true},
		{"With then context", func(l *slog.Logger) { l.With("k", "v").InfoContext(withSpan, "x") }, true},
		{"WithGroup then context", func(l *slog.Logger) { l.WithGroup("g").InfoContext(withSpan, "x", "k", "v") }, true},
		{"LogAttrs with span", func(l *slog.Logger) { l.LogAttrs(withSpan, slog.LevelInfo, "x") }, true},
		{"Info without context", func(l *slog.Logger) { l.Info("x") }, false},
		{"context without span", func(l *slog.Logger) { l.InfoContext(context.Background(), "x") }, false},
		{"nil context", func(l *slog.Logger) { l.InfoContext(nil, "x") }, false}, // a caller's mistake must not panic
		{"noop span", func(l *slog.Logger) {
			l.InfoContext(opentracing.ContextWithSpan(context.Background(), opentracing.NoopTracer{}.StartSpan("x")), "x")
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			tt.log(logging.New("accountservice", &buf, slog.LevelInfo))
			line := onlyLine(t, &buf)
			gotTrace, hasTrace := line["trace.id"]
			gotSpan, hasSpan := line["span.id"]
			if !tt.wantTrace {
				if hasTrace || hasSpan {
					t.Errorf("line has trace.id %v span.id %v, want none: %v", gotTrace, gotSpan, line)
				}
				return
			}
			if gotTrace != wantTrace || gotSpan != wantSpan {
				t.Errorf("trace.id, span.id = %v, %v, want %s, %s (line %v)", gotTrace, gotSpan, wantTrace, wantSpan, line)
			}
		})
	}
}

// TestTraceIDsWithGroup checks that an open group keeps the caller's attributes and the
// ids stay at the top level, where Kibana looks for them.
func TestTraceIDsWithGroup(t *testing.T) {
	span := realTracer(t).StartSpan("bolt get account")
	defer span.Finish()
	wantTrace, _ := tracing.SpanIDs(span)
	ctx := opentracing.ContextWithSpan(context.Background(), span)

	var buf bytes.Buffer
	log := logging.New("accountservice", &buf, slog.LevelInfo).With("top", 1).WithGroup("db").With("table", "accounts")
	log.InfoContext(ctx, "read", "key", "10000")
	log.Info("no span", "key", "10001")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2:\n%s", len(lines), buf.String())
	}
	for i, wantKey := range []string{"10000", "10001"} {
		var line map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &line); err != nil {
			t.Fatalf("line %d is not JSON: %v", i, err)
		}
		db, _ := line["db"].(map[string]any)
		if db["table"] != "accounts" || db["key"] != wantKey || len(db) != 2 {
			t.Errorf("line %d group db = %v, want table=accounts key=%s only", i, line["db"], wantKey)
		}
		if line["top"] != 1.0 || line["service.name"] != "accountservice" {
			t.Errorf("line %d = %v, want top=1 and service.name at the top level", i, line)
		}
		if gotTrace, ok := line["trace.id"]; (i == 0) != ok || (ok && gotTrace != wantTrace) {
			t.Errorf("line %d trace.id = %v (set %v), want %q only on the line logged with the span", i, gotTrace, ok, wantTrace)
		}
	}
}

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in      string
		want    slog.Level
		wantErr bool
	}{
		{"", slog.LevelInfo, false},
		{"debug", slog.LevelDebug, false},
		{"info", slog.LevelInfo, false},
		{"WARN", slog.LevelWarn, false},
		{"error", slog.LevelError, false},
		{"loud", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := logging.ParseLevel(tt.in)
			if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
				t.Errorf("ParseLevel(%q) = %v, %v, want %v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestDiscard(t *testing.T) {
	log := logging.Discard()
	if log.Enabled(context.Background(), slog.LevelError) {
		t.Errorf("Discard().Enabled(error) = true, want false")
	}
	log.Error("nothing") // must not panic
}

func TestAccessLog(t *testing.T) {
	tests := []struct {
		name, target string
		wantStatus   int
		wantRoute    string
		wantLevel    string
	}{
		{"found", "/accounts/42?token=s3cret&q=ann", http.StatusOK, "GET /accounts/{id}", "info"},
		{"not found", "/nowhere?token=s3cret", http.StatusNotFound, "/", "info"},
		{"server error", "/broken?token=s3cret", http.StatusInternalServerError, "GET /broken", "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := logging.New("accountservice", &buf, slog.LevelInfo)
			mux := http.NewServeMux()
			mux.Handle("GET /accounts/{id}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				respond.JSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id")})
			}))
			mux.Handle("GET /broken", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				respond.Error(w, http.StatusInternalServerError, "internal error")
			}))
			mux.Handle("/", respond.NotFound())
			handler := tracing.Middleware(realTracer(t))(logging.AccessLog(log)(mux))

			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.target, nil))

			raw := buf.String()
			line := onlyLine(t, &buf)
			want := map[string]any{
				"message":                   "access",
				"log.level":                 tt.wantLevel,
				"http.request.method":       "GET",
				"url.path":                  strings.Split(tt.target, "?")[0],
				"http.route":                tt.wantRoute,
				"http.response.status_code": float64(tt.wantStatus),
				"http.response.body.bytes":  float64(rec.Body.Len()),
				"trace.id":                  rec.Header().Get(tracing.TraceIDHeader),
				"service.name":              "accountservice",
			}
			for k, v := range want {
				if line[k] != v {
					t.Errorf("%s = %#v, want %#v", k, line[k], v)
				}
			}
			if d, ok := line["event.duration"].(float64); !ok || d < 0 {
				t.Errorf("event.duration = %v, want nanoseconds", line["event.duration"])
			}
			if strings.Contains(raw, "s3cret") || strings.Contains(raw, "token") {
				t.Errorf("access line holds the query string: %s", raw)
			}
		})
	}
}

// TestAccessLogAborted: an answer aborted with a panic (httputil.ReverseProxy's
// http.ErrAbortHandler when it cannot copy a body to its end) still gets its line, with the
// status sent, if any, and why it was aborted; the panic goes on to net/http.
func TestAccessLogAborted(t *testing.T) {
	tests := []struct {
		name       string
		writeFirst bool
		wantStatus any // nil: no status was sent, none logged
	}{
		{"mid-body", true, float64(http.StatusOK)},
		{"before the answer", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := logging.New("edge", &buf, slog.LevelInfo)
			mux := http.NewServeMux()
			mux.Handle("GET /api/accounts/{id}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.writeFirst {
					_, _ = io.WriteString(w, "half")
				}
				panic(http.ErrAbortHandler)
			}))
			var repanicked any
			func() {
				defer func() { repanicked = recover() }()
				logging.AccessLog(log)(mux).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/api/accounts/1", nil))
			}()
			if repanicked != http.ErrAbortHandler {
				t.Errorf("panic after the access log = %v, want http.ErrAbortHandler passed on", repanicked)
			}
			line := onlyLine(t, &buf)
			want := map[string]any{
				"message":                   "access",
				"log.level":                 "warn",
				"http.route":                "GET /api/accounts/{id}",
				"http.response.status_code": tt.wantStatus,
				"aborted":                   http.ErrAbortHandler.Error(),
			}
			for k, v := range want {
				if line[k] != v {
					t.Errorf("%s = %#v, want %#v (line %v)", k, line[k], v, line)
				}
			}
		})
	}
}

func TestAccessLogOneLinePerRequest(t *testing.T) {
	var buf bytes.Buffer
	handler := logging.AccessLog(logging.New("quoteservice", &buf, slog.LevelInfo))(http.NotFoundHandler())
	for range 3 {
		handler.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	}
	if n := strings.Count(buf.String(), "\n"); n != 3 {
		t.Errorf("3 requests wrote %d lines, want 3:\n%s", n, buf.String())
	}
}

// realTracer is the tracer the services build, reporting to fakeCollector.
func realTracer(t *testing.T) opentracing.Tracer {
	t.Helper()
	collector := fakeCollector(t)
	env := map[string]string{"JAEGER_ENDPOINT": collector.URL + "/api/traces"}
	settings, err := tracing.SettingsFromEnv("accountservice", func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("SettingsFromEnv(%v) error: %v", env, err)
	}
	tracer, closer, err := tracing.New(settings, logging.Discard())
	if err != nil {
		t.Fatalf("tracing.New error: %v", err)
	}
	t.Cleanup(func() { _ = closer.Close() })
	return tracer
}

// fakeCollector stands in for Jaeger's HTTP collector, which does not run inside `go test`:
// it accepts every batch and keeps nothing, so spans have somewhere to go.
func fakeCollector(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// onlyLine decodes the one JSON line in buf, failing the test if there is not exactly one.
func onlyLine(t *testing.T, buf *bytes.Buffer) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if buf.Len() == 0 {
		lines = nil
	}
	if len(lines) != 1 {
		t.Fatalf("got %d log lines, want 1:\n%s", len(lines), buf.String())
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatalf("log line is not JSON: %v\n%s", err, lines[0])
	}
	return m
}

func str(v any) string { s, _ := v.(string); return s }
