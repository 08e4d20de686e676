package instrument

import (
	"bytes"
	"strings"
	"testing"

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
			defer closer.Close()
			if _, noop := tracer.(*opentracing.NoopTracer); noop != tt.wantNoop {
				t.Errorf("tracer %T: no-op = %v, want %v", tracer, noop, tt.wantNoop)
			}
			log.Info("hello")
			if !strings.Contains(out.String(), `"service.name":"testservice"`) {
				t.Errorf("log line %q lacks service.name", out.String())
			}
		})
	}
}
