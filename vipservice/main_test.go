package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"tracelab/common/messaging/messagingtest"
	"tracelab/internal/servicetest"
)

// TestRun drives the service as main does: it comes up, reports the broker connected,
// records an event, and on cancel stops consuming and serving and returns nil.
func TestRun(t *testing.T) {
	url := messagingtest.URL(t)
	queue := messagingtest.Queue(t, url, "test-vip-")
	addr := servicetest.FreeAddr(t)
	// Started after the queue was declared, run is stopped before the queue is deleted,
	// also when the test fails half-way.
	svc := servicetest.StartRun(t, run, nil, map[string]string{
		"AMQP_URL":        url,
		"VIP_QUEUE":       queue,
		"VIPSERVICE_ADDR": addr,
		"JAEGER_DISABLED": "true",
	})

	base := "http://" + addr
	svc.WaitFor("GET /healthz to say amqp connected", func() bool {
		var health struct{ AMQP string }
		return getJSON(t, base+"/healthz", &health) == http.StatusOK && health.AMQP == "connected"
	})
	publishEvent(context.Background(), t, url, queue, "10000")
	answer := waitForVIPs(t, base, "the event in /vips", func(a vipsAnswer) bool { return a.Processed == 1 })
	if len(answer.Recent) != 1 || answer.Recent[0].AccountID != "10000" || answer.Recent[0].TraceID != "" {
		t.Errorf("GET /vips recent = %+v, want account 10000 without a trace id (tracing disabled)", answer.Recent)
	}

	svc.Stop()
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Errorf("GET /healthz after run returned: answered, want the server closed")
	}
	q, err := messagingtest.Channel(t, url).QueueInspect(queue)
	if err != nil || q.Consumers != 0 {
		t.Errorf("QueueInspect(%q) after run returned = %d consumers, %v, want 0 consumers", queue, q.Consumers, err)
	}

	// The event's log line: info, with the service name and the account id.
	var logged map[string]any
	for line := range strings.Lines(svc.Output.String()) {
		var record map[string]any
		if err := json.Unmarshal([]byte(line), &record); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if record["message"] == "vip event recorded" {
			logged = record
		}
	}
	if logged["log.level"] != "info" || logged["service.name"] != serviceName || logged["account.id"] != "10000" || logged["event.id"] != "event-10000" {
		t.Errorf("log line of the event = %v, want level info, service.name %s, account.id 10000, event.id event-10000", logged, serviceName)
	}
}

// TestRunStartupErrors checks that run reports a configuration it cannot start with, rather
// than starting half a service. The broker URL points nowhere: these runs must not declare
// queues on the shared RabbitMQ.
func TestRunStartupErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
	}{
		{"bad log level", nil, map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{"bad tracing setting", nil, map[string]string{"JAEGER_SAMPLER_PARAM": "all"}, "JAEGER_SAMPLER_PARAM"},
		{"bad listen address", nil, map[string]string{"VIPSERVICE_ADDR": "256.0.0.1:1"}, "listen"},
		{"unknown flag", []string{"-nope"}, nil, "nope"},
		{"bad heartbeat", nil, map[string]string{"AMQP_HEARTBEAT": "often"}, "AMQP_HEARTBEAT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{
				"AMQP_URL":        "amqp://guest:guest@127.0.0.1:1/",
				"VIP_QUEUE":       "test-vip-never-declared",
				"VIPSERVICE_ADDR": servicetest.FreeAddr(t),
				"JAEGER_DISABLED": "true",
			}
			for k, v := range tt.env {
				env[k] = v
			}
			err := servicetest.StartupError(t, run, tt.args, env)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("run(%v) = %v, want an error about %s", tt.args, err, tt.wantErr)
			}
		})
	}
}
