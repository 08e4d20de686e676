package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"tracelab/internal/servicetest"
)

// TestRun starts the whole service the way main does, asks it for a quote, and stops it
// by cancelling ctx.
func TestRun(t *testing.T) {
	addr := servicetest.FreeAddr(t)
	svc := servicetest.StartRun(t, run, nil, map[string]string{
		"QUOTESERVICE_ADDR": addr,
		"JAEGER_DISABLED":   "true",
		"LOG_LEVEL":         "debug",
	})
	base := "http://" + addr
	svc.WaitHealthy(base + "/healthz")

	resp, err := http.Get(base + "/api/quote?strength=1&language=es")
	if err != nil {
		t.Fatalf("GET /api/quote: %v", err)
	}
	var quote Quote
	err = json.NewDecoder(resp.Body).Decode(&quote)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || quote.Language != "es" || quote.Text == "" {
		t.Errorf("GET /api/quote?strength=1&language=es = %d %+v, %v, want 200 and a Spanish quote",
			resp.StatusCode, quote, err)
	}

	svc.Stop()
	logs := svc.Output.String()
	for _, want := range []string{`"message":"listening"`, `"message":"access"`, `"service.name":"quoteservice"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("run() logs lack %s; logs:\n%s", want, logs)
		}
	}
}

// TestRunFlagOverridesEnv checks the config contract: a flag given on the command line wins
// over the environment variable it mirrors.
func TestRunFlagOverridesEnv(t *testing.T) {
	addr := servicetest.FreeAddr(t)
	svc := servicetest.StartRun(t, run, []string{"-addr", addr},
		map[string]string{"QUOTESERVICE_ADDR": "256.0.0.1:1", "JAEGER_DISABLED": "true"})
	svc.WaitHealthy("http://" + addr + "/healthz")
	svc.Stop()
}

// TestRunBadConfig checks that a wrong setting stops the service at startup with an
// error that names the setting, instead of serving something broken.
func TestRunBadConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"log level", map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{"jaeger setting", map[string]string{"JAEGER_DISABLED": "maybe"}, "JAEGER_DISABLED"},
		{"address invalid", map[string]string{"QUOTESERVICE_ADDR": "256.0.0.1:1", "JAEGER_DISABLED": "true"}, "listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := servicetest.StartupError(t, run, nil, tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("run() with %v = %v, want an error about %s", tt.env, err, tt.wantErr)
			}
		})
	}
}
