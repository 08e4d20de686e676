package instrument

import (
	"bytes"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"tracelab/common/faults"
	"tracelab/common/logging"
	"tracelab/common/tracing/tracingtest"
	"tracelab/internal/servicetest"

	"github.com/opentracing/opentracing-go"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name, level string
		env         map[string]string
		wantErr     string
		wantNoop    bool
	}{
		{name: "defaults", level: "info", env: map[string]string{"JAEGER_ENDPOINT": "http://127.0.0.1:1/api/traces"}},
		{name: "disabled", level: "debug", env: map[string]string{"JAEGER_DISABLED": "true"}, wantNoop: true},
		{name: "bad level", level: "loud", wantErr: "LOG_LEVEL"},
		{name: "bad jaeger variable", level: "info", env: map[string]string{"JAEGER_DISABLED": "perhaps"}, wantErr: "JAEGER_DISABLED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			log, tracer, closer, err := New("testservice", tt.level, func(k string) string { return tt.env[k] }, &out)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New() error = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("New() = %v", err)
			}
			if _, noop := tracer.(*opentracing.NoopTracer); noop != tt.wantNoop {
				t.Errorf("tracer %T: no-op = %v, want %v", tracer, noop, tt.wantNoop)
			}
			log.Info("hello")
			if err := closer.Close(); err != nil { // flushes the buffered lines
				t.Errorf("Close() = %v", err)
			}
			if !strings.Contains(out.String(), `"service.name":"testservice"`) {
				t.Errorf("log line %q lacks service.name", out.String())
			}
		})
	}
}

// TestHandler: routes are traced and logged; /healthz is answered but neither traced nor
// logged, so probes do not bury real traces.
func TestHandler(t *testing.T) {
	tracer := tracingtest.New()
	var logs bytes.Buffer
	log := logging.New("testservice", &logs, slog.LevelInfo)
	routes := http.NewServeMux()
	routes.Handle("GET /work", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if opentracing.SpanFromContext(r.Context()) == nil {
			t.Errorf("GET /work: no span in the request context")
		}
	}))
	healthz := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := Handler(log, tracer, faults.NewSwitch(true, nil), routes, healthz)

	for _, path := range []string{"/healthz", "/work"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if path == "/healthz" && rec.Code != http.StatusTeapot {
			t.Errorf("GET /healthz = %d, want the healthz handler's 418", rec.Code)
		}
	}
	if got := tracer.Names(); len(got) != 1 || got[0] != "GET /work" {
		t.Errorf("spans = %v, want only [GET /work]", got)
	}
	if n := strings.Count(logs.String(), `"message":"access"`); n != 1 || strings.Contains(logs.String(), "/healthz") {
		t.Errorf("access lines = %d (%s), want 1 and none for /healthz", n, logs.String())
	}
}

// TestProfiles: <SERVICE>_PPROF_ADDR serves the profiles until the Closer closes, and a
// New that fails leaves nothing listening.
func TestProfiles(t *testing.T) {
	t.Run("served until Close", func(t *testing.T) {
		addr := servicetest.FreeAddr(t)
		env := map[string]string{"TESTSERVICE_PPROF_ADDR": addr, "JAEGER_DISABLED": "true"}
		_, _, closer, err := New("testservice", "info", func(k string) string { return env[k] }, io.Discard)
		if err != nil {
			t.Fatalf("New() with TESTSERVICE_PPROF_ADDR=%s = %v", addr, err)
		}
		resp, err := http.Get("http://" + addr + "/debug/pprof/")
		if err != nil {
			t.Fatalf("GET /debug/pprof/: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /debug/pprof/ = %d, want 200", resp.StatusCode)
		}
		if err := closer.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
		if !servicetest.PortFree(addr) {
			t.Errorf("after Close, %s is still taken, want it free", addr)
		}
	})

	// New fails on these settings after the profiles' address was read: nothing may be
	// left listening there.
	for _, tt := range []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"bad jaeger variable", map[string]string{"JAEGER_DISABLED": "perhaps"}, "JAEGER_DISABLED"},
		{"bad jaeger endpoint", map[string]string{"JAEGER_ENDPOINT": "off"}, "ZIPKIN_ENDPOINT"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr := servicetest.FreeAddr(t)
			env := map[string]string{"TESTSERVICE_PPROF_ADDR": addr}
			maps.Copy(env, tt.env)
			_, _, _, err := New("testservice", "info", func(k string) string { return env[k] }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New() with %v = %v, want an error naming %s", env, err, tt.wantErr)
			}
			if !servicetest.PortFree(addr) {
				t.Errorf("New() with %v failed but left %s listening", env, addr)
			}
		})
	}

	t.Run("address taken", func(t *testing.T) {
		taken, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer taken.Close()
		env := map[string]string{"JAEGER_DISABLED": "true", "TESTSERVICE_PPROF_ADDR": taken.Addr().String()}
		_, _, _, err = New("testservice", "info", func(k string) string { return env[k] }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "TESTSERVICE_PPROF_ADDR") {
			t.Errorf("New() with %v = %v, want an error naming TESTSERVICE_PPROF_ADDR", env, err)
		}
	})
}
