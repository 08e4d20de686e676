package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"tracelab/common/messaging/messagingtest"
	"tracelab/internal/rabbitnode"
	"tracelab/internal/servicetest"
)

// TestRun drives the whole service as main does: configuration from the environment, a
// real bolt file, the real broker, then a clean stop when the context is cancelled.
func TestRun(t *testing.T) {
	url := messagingtest.URL(t)
	addr := servicetest.FreeAddr(t)
	quotes, images := fakeQuoteService(t, http.StatusOK, 0), fakeImageService(t)
	svc := servicetest.StartRun(t, run, nil, map[string]string{
		"ACCOUNTSERVICE_ADDR": addr,
		"ACCOUNTSERVICE_DB":   filepath.Join(t.TempDir(), "accounts.db"),
		"QUOTESERVICE_URL":    quotes.URL,
		"IMAGESERVICE_URL":    images.URL,
		"AMQP_URL":            url,
		"VIP_QUEUE":           messagingtest.Queue(t, url, "test-accountservice-"),
		"JAEGER_DISABLED":     "true",
	})
	base := "http://" + addr
	svc.WaitHealthy(base + "/healthz")
	var health map[string]any
	svc.WaitFor("GET /healthz to say amqp connected", func() bool {
		health = getHealth(t, base)
		return health["amqp"] == "connected"
	})
	want := map[string]any{"status": "ok", "service": serviceName, "amqp": "connected",
		"outbox": map[string]any{"depth": 0.0, "limit": float64(DefaultOutboxLimit), "refused": 0.0},
		"faults": map[string]any{"enabled": true, "active": "", "ignored": 0.0}}
	if !reflect.DeepEqual(health, want) {
		t.Errorf("GET /healthz = %v, want %v", health, want)
	}
	resp, err := http.Get(base + "/accounts/10000")
	if err != nil {
		t.Fatal(err)
	}
	var acc AccountResponse
	err = json.NewDecoder(resp.Body).Decode(&acc)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || acc.ID != "10000" || acc.Quote == nil || acc.ImageData == nil {
		t.Errorf("GET /accounts/10000 = %d %+v (%v), want 200 with quote and image", resp.StatusCode, acc, err)
	}

	svc.Stop()
	logs := svc.Output.String()
	for _, want := range []string{`"message":"access"`, `"service.name":"accountservice"`, `"http.route":"GET /accounts/{id}"`, `"log.level":"info"`, `"@timestamp"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, seedName(0)) {
		t.Errorf("logs contain the account holder's name %q: no personal data in logs", seedName(0))
	}
}

func TestRunBadConfig(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"bad timeout", map[string]string{"ACCOUNTSERVICE_CALL_TIMEOUT": "soon"}, "ACCOUNTSERVICE_CALL_TIMEOUT"},
		{"bad log level", map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{"bad jaeger setting", map[string]string{"JAEGER_SAMPLER_PARAM": "all"}, "JAEGER_SAMPLER_PARAM"},
		{"unwritable db", map[string]string{"ACCOUNTSERVICE_DB": "/proc/nope/accounts.db", "JAEGER_DISABLED": "true"}, "bolt"},
		{"outbox limit not a number", map[string]string{"ACCOUNTSERVICE_OUTBOX_LIMIT": "many"}, "ACCOUNTSERVICE_OUTBOX_LIMIT"},
		{"outbox limit 0", map[string]string{"ACCOUNTSERVICE_OUTBOX_LIMIT": "0"}, "ACCOUNTSERVICE_OUTBOX_LIMIT"},
		{"bad heartbeat", map[string]string{"AMQP_HEARTBEAT": "often"}, "AMQP_HEARTBEAT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := servicetest.StartupError(t, run, nil, tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run() = %v, want an error mentioning %s", err, tt.want)
			}
		})
	}
}

// getHealth reads GET /healthz; nil when it does not answer.
func getHealth(t *testing.T, base string) map[string]any {
	t.Helper()
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var h map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	return h
}

// TestRunKeepsEventsOverAStop reads a VIP account and stops accountservice before its event
// is on the broker, then starts it again on the same file: the event must reach the queue
// exactly as one event (possibly as two copies of it, never none). With the broker up, the
// stop publishes it; with the broker down, it waits in the outbox for the next start. The
// broker is a private node, so it can be stopped.
func TestRunKeepsEventsOverAStop(t *testing.T) {
	n := rabbitnode.Start(t)
	quotes, images := fakeQuoteService(t, http.StatusOK, 0), fakeImageService(t)
	tests := []struct {
		name       string
		brokerDown bool
	}{
		{"broker up", false},
		{"broker down until after the stop", true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			queue := "vip-" + strconv.Itoa(i)
			env := map[string]string{
				"ACCOUNTSERVICE_ADDR": servicetest.FreeAddr(t),
				"ACCOUNTSERVICE_DB":   filepath.Join(t.TempDir(), "accounts.db"),
				"QUOTESERVICE_URL":    quotes.URL,
				"IMAGESERVICE_URL":    images.URL,
				"AMQP_URL":            n.URL(),
				"VIP_QUEUE":           queue,
				"JAEGER_DISABLED":     "true",
			}
			base := "http://" + env["ACCOUNTSERVICE_ADDR"]
			first := servicetest.StartRun(t, run, nil, env)
			first.WaitFor("GET /healthz to say amqp connected", func() bool { return getHealth(t, base)["amqp"] == "connected" })
			if tt.brokerDown {
				n.Stop()
				first.WaitFor("GET /healthz to say amqp reconnecting", func() bool { return getHealth(t, base)["amqp"] == "reconnecting" })
			}
			resp, err := http.Get(base + "/accounts/10000")
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /accounts/10000 = %v, %v, want 200", resp, err)
			}
			resp.Body.Close()
			first.Stop()
			if tt.brokerDown {
				if !strings.Contains(first.Output.String(), "left in the outbox for the next start") {
					t.Errorf("the stop with the broker down did not say it left events in the outbox:\n%s", first.Output.String())
				}
				n.Restart()
			} else if ids := eventIDs(t, n.URL(), queue); len(ids) == 0 {
				t.Errorf("no event on the queue after a stop with the broker up: the stop must publish what is pending")
			}

			second := servicetest.StartRun(t, run, nil, env)
			second.WaitFor("the outbox emptied", func() bool {
				h := getHealth(t, base)
				outbox, _ := h["outbox"].(map[string]any)
				return h["amqp"] == "connected" && outbox["depth"] == 0.0
			})
			second.Stop()
			ids := eventIDs(t, n.URL(), queue)
			if len(ids) != 1 {
				t.Errorf("distinct event ids on the queue = %v, want exactly one event", ids)
			}
		})
	}
}

// eventIDs reads every message of queue (and puts them back) and returns the distinct
// event ids, each with how many copies the queue holds.
func eventIDs(t *testing.T, brokerURL, queue string) map[string]int {
	t.Helper()
	ch := messagingtest.Channel(t, brokerURL)
	ids := map[string]int{}
	for {
		d, ok, err := ch.Get(queue, false)
		if err != nil {
			t.Fatalf("Get(%q): %v", queue, err)
		}
		if !ok {
			break
		}
		var ev VIPEvent
		if err := json.Unmarshal(d.Body, &ev); err != nil || ev.ID != d.MessageId || ev.AccountID != "10000" {
			t.Errorf("message %q: %s (%v), want the event of account 10000 under its id", d.MessageId, d.Body, err)
		}
		ids[d.MessageId]++
	}
	_ = ch.Close() // unacknowledged: back to the queue
	return ids
}
