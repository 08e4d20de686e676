package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"tracelab/common/messaging/messagingtest"
)

// freeAddr returns a local address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestRun drives the service as main does: it comes up, reports the broker connected,
// records an event, and on cancel stops consuming and serving and returns nil.
func TestRun(t *testing.T) {
	url := messagingtest.URL(t)
	queue := messagingtest.Queue(t, url, "test-vip-")
	addr := freeAddr(t)
	env := map[string]string{
		"AMQP_URL":        url,
		"VIP_QUEUE":       queue,
		"VIPSERVICE_ADDR": addr,
		"JAEGER_DISABLED": "true",
	}
	ctx, cancel := context.WithCancel(context.Background())
	var stdout bytes.Buffer // written by run's logger only; read after run returned
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, nil, func(key string) string { return env[key] }, &stdout) }()
	stopped := false
	t.Cleanup(func() {
		if !stopped { // the test failed half-way: stop run before the queue is deleted
			cancel()
			<-errc
		}
	})

	base := "http://" + addr
	messagingtest.WaitFor(t, "GET /healthz to say amqp connected", func() bool {
		var health map[string]string
		return getJSON(t, base+"/healthz", &health) == http.StatusOK && health["amqp"] == "connected"
	})
	publishEvent(context.Background(), t, url, queue, "10000")
	answer := waitForVIPs(t, base, "the event in /vips", func(a vipsAnswer) bool { return a.Processed == 1 })
	if len(answer.Recent) != 1 || answer.Recent[0].AccountID != "10000" || answer.Recent[0].TraceID != "" {
		t.Errorf("GET /vips recent = %+v, want account 10000 without a trace id (tracing disabled)", answer.Recent)
	}

	cancel()
	select {
	case err := <-errc:
		stopped = true
		if err != nil {
			t.Fatalf("run() after cancel = %v, want nil", err)
		}
	case <-time.After(messagingtest.Patience):
		t.Fatalf("run() still running %v after cancel", messagingtest.Patience)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Errorf("GET /healthz after run returned: answered, want the server closed")
	}
	q, err := messagingtest.Channel(t, url).QueueInspect(queue)
	if err != nil || q.Consumers != 0 {
		t.Errorf("QueueInspect(%q) after run returned = %d consumers, %v, want 0 consumers", queue, q.Consumers, err)
	}

	// The event's log line: info, with the service name and the account id.
	var logged map[string]any
	for line := range strings.Lines(stdout.String()) {
		var record map[string]any
		if err := json.Unmarshal([]byte(line), &record); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if record["message"] == "vip event recorded" {
			logged = record
		}
	}
	if logged["log.level"] != "info" || logged["service.name"] != serviceName || logged["account_id"] != "10000" {
		t.Errorf("log line of the event = %v, want level info, service.name %s, account_id 10000", logged, serviceName)
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{
				"AMQP_URL":        "amqp://guest:guest@127.0.0.1:1/",
				"VIP_QUEUE":       "test-vip-never-declared",
				"VIPSERVICE_ADDR": freeAddr(t),
				"JAEGER_DISABLED": "true",
			}
			for k, v := range tt.env {
				env[k] = v
			}
			ctx, cancel := context.WithTimeout(context.Background(), messagingtest.Patience)
			defer cancel()
			err := run(ctx, tt.args, func(key string) string { return env[key] }, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || ctx.Err() != nil {
				t.Errorf("run() = %v, want an error about %s at once", err, tt.wantErr)
			}
		})
	}
}
