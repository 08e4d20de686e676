package main

import (
	"os"
	"strings"
	"testing"
)

func TestTracerCounts(t *testing.T) {
	log := strings.Join([]string{
		`edge           | {"log.level":"info","message":"access","service.name":"edge"}`,
		`edge           | {"log.level":"info","message":"tracer closed: spans reported 20, dropped 0, unconfirmed 0","spans.started":20,"spans.finished":20,"spans.jaeger.reported":20,"spans.jaeger.dropped":0,"spans.jaeger.unconfirmed":0}`,
		`accountservice | {"log.level":"warn","message":"tracer closed: spans reported 7, dropped 2, unconfirmed 1","spans.started":10,"spans.finished":10,"spans.jaeger.reported":7,"spans.jaeger.dropped":2,"spans.jaeger.unconfirmed":1}`,
		`jaeger         | 2026-11-22T01:00:00Z info something`,
	}, "\n")
	got, err := tracerCounts(strings.NewReader(log))
	want := spanCounts{Finished: 30, Reported: 27, Dropped: 2, Unconfirmed: 1}
	if err != nil || got != want {
		t.Errorf("tracerCounts() = %+v, %v; want %+v", got, err, want)
	}
}

func TestLost(t *testing.T) {
	tests := []struct {
		name   string
		counts spanCounts
		want   int64
	}{
		{"dropped, and reported but not accepted", spanCounts{Reported: 27, Dropped: 2, Unconfirmed: 1, JaegerAccepted: 25}, 5},
		{"unconfirmed but stored", spanCounts{Reported: 10, Unconfirmed: 1160, JaegerAccepted: 1170}, 0},
		{"unconfirmed and not stored", spanCounts{Reported: 10, Unconfirmed: 5, JaegerAccepted: 12}, 3},
		{"Jaeger's count unknown", spanCounts{Reported: 27, JaegerAccepted: -1}, 0},
		{"Jaeger's count unknown: unconfirmed is lost", spanCounts{Reported: 27, Dropped: 1, Unconfirmed: 2, JaegerAccepted: -1}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.counts.Lost(); got != tt.want {
				t.Errorf("%+v.Lost() = %d, want %d", tt.counts, got, tt.want)
			}
		})
	}
}

func TestProcReaders(t *testing.T) {
	pid := os.Getpid()
	if kib, err := peakRSS(pid); err != nil || kib <= 0 {
		t.Errorf("peakRSS(self) = %d, %v; want a positive size", kib, err)
	}
	sum := 0
	for i := range 50_000_000 { // some CPU time to see
		sum += i
	}
	_ = sum
	if got := cpuTimes(map[string]int{"self": pid}); got["self"] <= 0 {
		t.Errorf("cpuTimes(self) = %v, want some CPU time", got)
	}
	if got := cpuTimes(map[string]int{"gone": 1 << 30}); len(got) != 0 {
		t.Errorf("cpuTimes(no such process) = %v, want nothing", got)
	}
}

func TestTargets(t *testing.T) {
	load := func(rps, p99 float64) loadSummary {
		return loadSummary{Throughput: rps, Responses: 100, OK: 100, Latency: map[string]float64{"p99": p99}}
	}
	rss := map[string]int64{"edge": 25 << 10, "accountservice": 19 << 10}
	byMode := map[string]result{
		"reference bare":   {Load: load(1000, 10)},
		"off":              {Load: load(900, 12), PeakRSS: rss},
		"reference traced": {Load: load(1000, 10)},
		"on":               {Load: load(700, 20), PeakRSS: map[string]int64{"accountservice": 21 << 10}, Spans: spanCounts{Dropped: 1}},
		"otel":             {Load: load(800, 14), PeakRSS: rss, Spans: spanCounts{Reported: 5, JaegerAccepted: 5}},
	}
	met := map[string]bool{}
	for _, tg := range targets(byMode) {
		met[tg.text] = tg.met
	}
	for text, want := range map[string]bool{
		"tracing off: throughput 0.90 of the reference bare (want >= 0.85)":                                          true,
		"tracing off: p99 1.20 times the reference bare's (want <= 1.50)":                                            true,
		"tracing on: throughput 0.70 of the reference traced (want >= 0.75)":                                         false,
		"tracing on: p99 2.00 times the reference traced's (want <= 1.50)":                                           false,
		"tracing on: 1 spans lost (want 0)":                                                                          false,
		"tracing otel: throughput 0.80 of the reference traced (want >= 0.75)":                                       true,
		"tracing otel: 0 spans lost (want 0)":                                                                        true,
		"tracing off: peak RSS within 20 MiB per service, 30 MiB for the edge (closest: accountservice at 19.0 MiB)": true, // 19 of 20 is closer than 25 of 30
		"tracing on: peak RSS within 20 MiB per service, 30 MiB for the edge (closest: accountservice at 21.0 MiB)":  false,
	} {
		if got, ok := met[text]; !ok || got != want {
			t.Errorf("target %q: met %v (present %v), want %v; all: %v", text, got, ok, want, met)
		}
	}
}
