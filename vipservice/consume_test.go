package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/mocktracer"
	"github.com/streadway/amqp"

	"tracelab/common/faults"
	"tracelab/common/logging"
	"tracelab/common/messaging"
	"tracelab/common/messaging/messagingtest"
	"tracelab/common/tracing"
	"tracelab/common/tracing/tracingtest"
	"tracelab/internal/servicetest"
)

// The tests in this file run vipservice's consumer and routes, wired as run() wires them,
// against the real RabbitMQ, each on a queue of its own.

// testService is a running vipservice without its main.
type testService struct {
	amqpURL, queue string
	consumer       *messaging.Consumer
	http           *httptest.Server
	logs           *servicetest.LockedBuffer // its log lines, JSON
}

func startService(t *testing.T, tracer opentracing.Tracer) *testService {
	t.Helper()
	return startServiceWith(t, tracer, faults.NewSwitch(true, nil))
}

// startServiceWith is startService with the faults of sw.
func startServiceWith(t *testing.T, tracer opentracing.Tracer, sw *faults.Switch) *testService {
	t.Helper()
	url := messagingtest.URL(t)
	queue := messagingtest.Queue(t, url, "test-vip-")
	logs := &servicetest.LockedBuffer{}
	log := logging.New(serviceName, logs, slog.LevelDebug)
	recent := newRecentVIPs(maxRecentVIPs, maxSeenEvents)
	consumer := &messaging.Consumer{URL: url, Queue: queue, Tracer: tracer, Log: log, Handle: handleVIPEvent(log, sw, recent)}
	messagingtest.Start(t, consumer)
	srv := httptest.NewServer(newServer(log, tracer, sw, consumer, recent))
	t.Cleanup(srv.Close)
	return &testService{amqpURL: url, queue: queue, consumer: consumer, http: srv, logs: logs}
}

// waitForVIPs polls GET /vips until done holds for its answer, and returns that answer.
func waitForVIPs(t *testing.T, baseURL, what string, done func(vipsAnswer) bool) vipsAnswer {
	t.Helper()
	var answer vipsAnswer
	messagingtest.WaitFor(t, what, func() bool {
		answer = vipsAnswer{}
		return getJSON(t, baseURL+"/vips", &answer) == http.StatusOK && done(answer)
	})
	return answer
}

// getJSON GETs url and decodes its JSON body into v; it returns the status, 0 when the
// request failed.
func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: decode body: %v", url, err)
	}
	return resp.StatusCode
}

// publishEvent publishes a VIP event for account as accountservice does, with the span in
// ctx, under the event id "event-<account>".
func publishEvent(ctx context.Context, t *testing.T, amqpURL, queue, account string) {
	t.Helper()
	publisher := &messaging.Publisher{URL: amqpURL, Queue: queue, Log: logging.Discard()}
	messagingtest.Start(t, publisher)
	id := "event-" + account
	if err := publisher.Publish(ctx, messaging.Message{ID: id, Body: eventBody(id, account, "vip")}); err != nil {
		t.Fatalf("Publish(%s) = %v, want nil", id, err)
	}
}

// eventBody is a VIP event as accountservice writes it.
func eventBody(id, account, tier string) []byte {
	return []byte(`{"id":"` + id + `","accountId":"` + account + `","tier":"` + tier + `","occurredAt":"2024-05-01T12:00:00Z"}`)
}

// TestVIPEventContinuesTrace publishes an event from inside a span and checks the trace
// vipservice makes of it: the consumer span follows from the producer span, in the same
// trace, and the recording span is a child of the consumer span.
func TestVIPEventContinuesTrace(t *testing.T) {
	tracer := tracingtest.New()
	svc := startService(t, tracer)

	caller := tracer.StartSpan("make account vip")
	publishEvent(opentracing.ContextWithSpan(context.Background(), caller), t, svc.amqpURL, svc.queue, "10000")
	caller.Finish()

	answer := waitForVIPs(t, svc.http.URL, "the event in /vips", func(a vipsAnswer) bool { return a.Processed == 1 })
	if len(answer.Recent) != 1 || answer.Recent[0].AccountID != "10000" || answer.Recent[0].ReceivedAt.IsZero() {
		t.Errorf("GET /vips recent = %+v, want account 10000 with its time received", answer.Recent)
	}
	if !answer.Connected || answer.DeadLettered != 0 || answer.Duplicates != 0 {
		t.Errorf("GET /vips connected, duplicates, deadLettered = %v, %d, %d, want true, 0, 0", answer.Connected, answer.Duplicates, answer.DeadLettered)
	}

	producer := finishedSpan(t, tracer, "publish "+svc.queue)
	consumer := finishedSpan(t, tracer, "consume "+svc.queue)
	record := finishedSpan(t, tracer, "record vip event")
	tracingtest.AssertFollowsFrom(t, tracer, consumer, producer)
	tracingtest.AssertChildOf(t, tracer, record, consumer)
	for _, s := range []*mocktracer.MockSpan{producer, consumer, record} {
		if got, want := s.SpanContext.TraceID, caller.Context().(mocktracer.MockSpanContext).TraceID; got != want {
			t.Errorf("span %q trace id = %d, want the caller's %d", s.OperationName, got, want)
		}
	}
}

// TestVIPEventJaegerTraceID runs the same path with the real Jaeger tracer on both sides, as
// accountservice and vipservice do, and checks that /vips shows the publisher's trace id:
// the id a reader pastes into Jaeger's search box.
func TestVIPEventJaegerTraceID(t *testing.T) {
	publisherTracer := servicetest.JaegerTracer(t, "accountservice")
	svc := startService(t, servicetest.JaegerTracer(t, "vipservice"))

	caller := publisherTracer.StartSpan("make account vip")
	wantTraceID, _ := tracing.SpanIDs(caller)
	publishEvent(opentracing.ContextWithSpan(context.Background(), caller), t, svc.amqpURL, svc.queue, "10001")
	caller.Finish()

	answer := waitForVIPs(t, svc.http.URL, "the event in /vips", func(a vipsAnswer) bool { return a.Processed == 1 })
	if len(answer.Recent) != 1 || answer.Recent[0].TraceID != wantTraceID || wantTraceID == "" {
		t.Errorf("GET /vips recent = %+v, want account 10001 in trace %q", answer.Recent, wantTraceID)
	}
}

// TestPoisonMessageDeadLettered sends a body that is no event, then a good event: the poison
// must land in the dead-letter queue once, and the good one be recorded after it.
func TestPoisonMessageDeadLettered(t *testing.T) {
	svc := startService(t, mocktracer.New())
	ch := messagingtest.Channel(t, svc.amqpURL)
	if err := ch.Publish("", svc.queue, false, false, amqp.Publishing{Body: []byte("garbage{")}); err != nil {
		t.Fatalf("publish the poison: %v", err)
	}
	publishEvent(context.Background(), t, svc.amqpURL, svc.queue, "10002")

	// Had the poison been requeued instead, it would come back before the good event and
	// be counted again and again.
	answer := waitForVIPs(t, svc.http.URL, "the good event in /vips", func(a vipsAnswer) bool { return a.Processed == 1 })
	if answer.DeadLettered != 1 {
		t.Errorf("GET /vips deadLettered = %d, want 1", answer.DeadLettered)
	}
	if len(answer.Recent) != 1 || answer.Recent[0].AccountID != "10002" {
		t.Errorf("GET /vips recent = %+v, want only account 10002", answer.Recent)
	}
	dead := messaging.DeadLetterQueue(svc.queue)
	d, ok, err := ch.Get(dead, true)
	if err != nil || !ok || string(d.Body) != "garbage{" {
		t.Fatalf("Get(%q) = %q, %v, %v, want the poison", dead, d.Body, ok, err)
	}
	if d, ok, _ := ch.Get(dead, true); ok {
		t.Errorf("a second message in %s: %q, want the poison there once", dead, d.Body)
	}
}

// TestNonStringHeadersStartNewTrace sends an event whose headers hold every kind of AMQP
// value but a string, under the very names the tracer reads. It must be handled, without a
// panic, in a new trace.
func TestNonStringHeadersStartNewTrace(t *testing.T) {
	tracer := tracingtest.New()
	svc := startService(t, tracer)
	ch := messagingtest.Channel(t, svc.amqpURL)
	headers := amqp.Table{
		"mockpfx-ids-traceid": int32(7),
		"mockpfx-ids-spanid":  amqp.Table{"nested": amqp.Table{"deeper": true}},
		"mockpfx-ids-sampled": []any{"true", int16(1)},
		"uber-trace-id":       int64(42),
		"x-retries":           float64(1.5),
	}
	err := ch.Publish("", svc.queue, false, false, amqp.Publishing{
		Headers: headers,
		Body:    eventBody("e3", "10003", "vip"),
	})
	if err != nil {
		t.Fatalf("publish: %v", err)
	}

	waitForVIPs(t, svc.http.URL, "the event in /vips", func(a vipsAnswer) bool { return a.Processed == 1 })
	consumer := finishedSpan(t, tracer, "consume "+svc.queue)
	tracingtest.AssertRoot(t, tracer, consumer)
	tracingtest.AssertChildOf(t, tracer, finishedSpan(t, tracer, "record vip event"), consumer)
}

// TestDuplicateEventsCountedOnce: the same event delivered three times (a redelivery after a
// lost ack, the relay publishing again after a lost confirm) is recorded once, counted as
// processed once and as two duplicates, and acknowledged each time: nothing is left in the
// queue or dead-lettered.
func TestDuplicateEventsCountedOnce(t *testing.T) {
	tracer := tracingtest.New()
	svc := startService(t, tracer)
	ch := messagingtest.Channel(t, svc.amqpURL)
	for _, id := range []string{"e1", "e1", "e2", "e1"} {
		if err := ch.Publish("", svc.queue, false, false, amqp.Publishing{MessageId: id, Body: eventBody(id, "10000", "vip")}); err != nil {
			t.Fatalf("publish %s: %v", id, err)
		}
	}
	answer := waitForVIPs(t, svc.http.URL, "4 deliveries handled", func(a vipsAnswer) bool { return a.Processed+a.Duplicates == 4 })
	if answer.Processed != 2 || answer.Duplicates != 2 || answer.DeadLettered != 0 || len(answer.Recent) != 2 {
		t.Errorf("GET /vips = processed %d, duplicates %d, deadLettered %d, %d recent, want 2, 2, 0, 2",
			answer.Processed, answer.Duplicates, answer.DeadLettered, len(answer.Recent))
	}
	for _, q := range []string{svc.queue, messaging.DeadLetterQueue(svc.queue)} {
		if got, err := ch.QueueInspect(q); err != nil || got.Messages != 0 {
			t.Errorf("QueueInspect(%q) = %d messages, %v, want 0", q, got.Messages, err)
		}
	}
	messagingtest.WaitFor(t, "4 record spans", func() bool { return len(spansNamed(tracer, "record vip event")) == 4 })
	duplicates := 0
	for _, s := range spansNamed(tracer, "record vip event") {
		if s.Tag("duplicate") == true {
			duplicates++
		}
	}
	if duplicates != 2 {
		t.Errorf("record spans tagged duplicate = %d, want 2", duplicates)
	}
}

// TestInvalidEventsDeadLettered: events of the wrong shape go to the dead-letter queue, and
// the log lines about them stay short whatever the message held (a 5 MiB tier was once
// logged in full). A good event after them is recorded.
func TestInvalidEventsDeadLettered(t *testing.T) {
	svc := startService(t, mocktracer.New())
	ch := messagingtest.Channel(t, svc.amqpURL)
	bad := [][]byte{
		eventBody("e1", "10000", strings.Repeat("v", 5<<20)),       // 5 MiB tier
		eventBody("e2", "10000", `VIP\n`+strings.Repeat("x", 500)), // an escaped newline, a long tier
		eventBody(strings.Repeat("i", 900), "10000", "vip"),
		[]byte(`{"id":"e4","accountId":"10000","tier":"vip","occurredAt":"` + strings.Repeat("9", 900) + `"}`),
	}
	for _, body := range bad {
		if err := ch.Publish("", svc.queue, false, false, amqp.Publishing{Body: body}); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	publishEvent(context.Background(), t, svc.amqpURL, svc.queue, "10005")

	answer := waitForVIPs(t, svc.http.URL, "the good event recorded", func(a vipsAnswer) bool { return a.Processed == 1 })
	if answer.DeadLettered != int64(len(bad)) || len(answer.Recent) != 1 || answer.Recent[0].AccountID != "10005" {
		t.Errorf("GET /vips = deadLettered %d, recent %+v, want %d and only account 10005", answer.DeadLettered, answer.Recent, len(bad))
	}
	if got, err := ch.QueueInspect(messaging.DeadLetterQueue(svc.queue)); err != nil || got.Messages != len(bad) {
		t.Errorf("QueueInspect(dead-letter queue) = %d messages, %v, want %d", got.Messages, err, len(bad))
	}
	for line := range strings.Lines(svc.logs.String()) {
		if len(line) > 1024 {
			t.Errorf("a log line of %d bytes, want at most 1 KiB: %.200s...", len(line), line)
		}
	}
}

func spansNamed(tracer *tracingtest.Tracer, operation string) []*mocktracer.MockSpan {
	var found []*mocktracer.MockSpan
	for _, s := range tracer.FinishedSpans() {
		if s.OperationName == operation {
			found = append(found, s)
		}
	}
	return found
}

// finishedSpan waits for the finished span called operation and fails unless it is the
// only one: the consumer finishes its span after it acknowledged the message, a moment
// after /vips shows it.
func finishedSpan(t *testing.T, tracer *tracingtest.Tracer, operation string) *mocktracer.MockSpan {
	t.Helper()
	var found []*mocktracer.MockSpan
	messagingtest.WaitFor(t, "span "+operation, func() bool {
		found = nil
		for _, s := range tracer.FinishedSpans() {
			if s.OperationName == operation {
				found = append(found, s)
			}
		}
		return len(found) > 0
	})
	if len(found) != 1 {
		t.Fatalf("%d finished spans %q, want 1", len(found), operation)
	}
	return found[0]
}
