package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"tracelab/internal/landscape"
)

func TestBox(t *testing.T) {
	got := box([]string{"short", "a longer line with ü", ""})
	lines := strings.Split(strings.Trim(got, "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("box of 3 lines has %d lines, want 5:\n%s", len(lines), got)
	}
	width := utf8.RuneCountInString(lines[0])
	for _, line := range lines {
		if n := utf8.RuneCountInString(line); n != width {
			t.Errorf("box line %q is %d wide, want %d like the top", line, n, width)
		}
	}
}

func TestSummary(t *testing.T) {
	l := &landscape.Landscape{
		Services: []landscape.Service{
			{Name: "quoteservice", URL: "http://localhost:18080"},
			{Name: "vipservice", URL: "http://localhost:6868"},
			{Name: "edge", URL: "https://localhost:8765"},
		},
		Jaeger:   landscape.JaegerURL,
		Console:  "http://localhost:8088",
		RabbitMQ: "amqp://guest:xxxxx@localhost:5672/",
	}
	got := strings.Join(summary(l), "\n")
	for _, want := range []string{
		"https://localhost:8765",
		"http://localhost:18080/healthz",
		"http://localhost:6868/vips",
		"amqp://guest:xxxxx@localhost:5672/",
		"curl -k https://localhost:8765/api/accounts/10000",
		"curl -ki https://localhost:8765/api/accounts/10000",
		"make trace ID=<X-Trace-Id>",
		"curl -s http://localhost:16686/api/traces/<X-Trace-Id>",
		"no UI",
		"console         http://localhost:8088",
		"http://localhost:8088/trace/<X-Trace-Id>",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}

	if strings.Contains(got, "tracing SDK") {
		t.Errorf("summary with every service on jaeger names an SDK:\n%s", got)
	}
	l.SDK = map[string]string{"quoteservice": "jaeger", "vipservice": "otel", "edge": "otel"}
	if got := strings.Join(summary(l), "\n"); !strings.Contains(got, "tracing SDK     jaeger for quoteservice; otel for vipservice, edge") {
		t.Errorf("summary with two services on otel does not name them:\n%s", got)
	}
	l.SDK["quoteservice"] = "otel"
	if got := strings.Join(summary(l), "\n"); !strings.Contains(got, "tracing SDK     otel for every service") {
		t.Errorf("summary with every service on otel does not say so:\n%s", got)
	}

	l.Console = ""
	if got := strings.Join(summary(l), "\n"); !strings.Contains(got, "console         off (CONSOLE_ADDR=off)") || strings.Contains(got, "8088") {
		t.Errorf("summary with CONSOLE_ADDR=off should say the console is off and link nowhere:\n%s", got)
	}

	l.Jaeger = ""
	got = strings.Join(summary(l), "\n")
	if !strings.Contains(got, "JAEGER_DISABLED=true") || strings.Contains(got, "/api/traces/") || strings.Contains(got, "make trace") {
		t.Errorf("summary without Jaeger should say it is off and not offer a trace:\n%s", got)
	}
}

func TestRunRejectsArguments(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"quoteservice"}, nil, &out)
	if err == nil || !strings.Contains(err.Error(), "environment variables") {
		t.Errorf("run(quoteservice) = %v, want an error pointing to environment variables", err)
	}
}
