package messaging_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/mocktracer"
	"github.com/streadway/amqp"

	"tracelab/common/logging"
	"tracelab/common/messaging"
	"tracelab/common/messaging/messagingtest"
	"tracelab/common/tracing/tracingtest"
)

func TestBackoff(t *testing.T) {
	tests := []struct {
		attempt int
		want    time.Duration
	}{
		{0, 100 * time.Millisecond},
		{1, 200 * time.Millisecond},
		{5, 3200 * time.Millisecond},
		{6, 5 * time.Second}, // 6.4s, capped
		{1000, 5 * time.Second},
	}
	for _, tt := range tests {
		if got := messaging.Backoff(tt.attempt); got != tt.want {
			t.Errorf("backoff(%d) = %v, want %v", tt.attempt, got, tt.want)
		}
	}
}

func TestDeclare(t *testing.T) {
	url := messagingtest.URL(t)
	queue := messagingtest.Queue(t, url, "test-declare-") // declares it a first time
	ch := messagingtest.Channel(t, url)

	// Publisher and consumer both declare: the second declaration must be accepted.
	if err := messaging.Declare(ch, queue); err != nil {
		t.Fatalf("Declare(%q) a second time = %v, want nil", queue, err)
	}
	for _, q := range []string{queue, messaging.DeadLetterQueue(queue)} {
		if _, err := ch.QueueDeclarePassive(q, true, false, false, false, nil); err != nil {
			t.Errorf("queue %s after Declare: %v, want it to exist", q, err)
		}
	}
	if got, want := messaging.DeadLetterQueue(queue), queue+".dead"; got != want {
		t.Errorf("DeadLetterQueue(%q) = %q, want %q", queue, got, want)
	}
}

// delivery is what a test handler saw of one message.
type delivery struct {
	msg  amqp.Delivery
	span opentracing.Span // the span in the handler's context
}

// TestPublishConsume sends one message through Publisher and Consumer and checks that the
// trace crosses the broker: producer span child of the caller's span, consumer span in the
// same trace, referring to the producer span, and in the handler's context.
func TestPublishConsume(t *testing.T) {
	url := messagingtest.URL(t)
	queue := messagingtest.Queue(t, url, "test-publish-")
	tracer := mocktracer.New()
	got := make(chan delivery, 1)
	consumer := &messaging.Consumer{
		URL: url, Queue: queue, Tracer: tracer, Log: logging.Discard(),
		Handle: func(ctx context.Context, d amqp.Delivery) error {
			got <- delivery{d, opentracing.SpanFromContext(ctx)}
			return nil
		},
	}
	messagingtest.Start(t, consumer)
	publisher := &messaging.Publisher{URL: url, Queue: queue, Log: logging.Discard()}
	messagingtest.Start(t, publisher)

	caller := tracer.StartSpan("caller")
	body := []byte(`{"hello":"world"}`)
	msg := messaging.Message{ID: "event-1", Body: body}
	if err := publisher.Publish(opentracing.ContextWithSpan(context.Background(), caller), msg); err != nil {
		t.Fatalf("Publish() = %v, want nil", err)
	}
	caller.Finish()
	if published, failed := publisher.Stats(); published != 1 || failed != 0 {
		t.Errorf("publisher.Stats() = %d, %d, want 1, 0", published, failed)
	}

	var d delivery
	select {
	case d = <-got:
	case <-time.After(messagingtest.Patience):
		t.Fatalf("no message handled after %v", messagingtest.Patience)
	}
	if string(d.msg.Body) != string(body) {
		t.Errorf("handled body = %q, want %q", d.msg.Body, body)
	}
	if d.msg.DeliveryMode != amqp.Persistent || d.msg.ContentType != "application/json" || d.msg.MessageId != msg.ID {
		t.Errorf("delivery mode, content type, message id = %d, %q, %q, want %d, %q, %q",
			d.msg.DeliveryMode, d.msg.ContentType, d.msg.MessageId, amqp.Persistent, "application/json", msg.ID)
	}
	messagingtest.WaitFor(t, "processed = 1", func() bool { return consumer.Stats().Processed == 1 })

	producer := finishedSpan(t, tracer, "publish "+queue)
	consume := finishedSpan(t, tracer, "consume "+queue)
	callerCtx := caller.Context().(mocktracer.MockSpanContext)
	if producer.ParentID != callerCtx.SpanID || producer.SpanContext.TraceID != callerCtx.TraceID {
		t.Errorf("producer span parent, trace = %d, %d, want the caller's %d, %d",
			producer.ParentID, producer.SpanContext.TraceID, callerCtx.SpanID, callerCtx.TraceID)
	}
	if consume.ParentID != producer.SpanContext.SpanID || consume.SpanContext.TraceID != callerCtx.TraceID {
		t.Errorf("consumer span parent, trace = %d, %d, want the producer's %d, %d",
			consume.ParentID, consume.SpanContext.TraceID, producer.SpanContext.SpanID, callerCtx.TraceID)
	}
	for _, tag := range []struct {
		span      *mocktracer.MockSpan
		key, want string
	}{
		{producer, "span.kind", "producer"},
		{producer, "message_bus.destination", queue},
		{consume, "span.kind", "consumer"},
		{consume, "message_bus.destination", queue},
	} {
		// span.kind is an ext.SpanKindEnum, not a string: compare what it prints.
		if got := fmt.Sprint(tag.span.Tag(tag.key)); got != tag.want {
			t.Errorf("span %q tag %s = %q, want %q", tag.span.OperationName, tag.key, got, tag.want)
		}
	}
	if hs, ok := d.span.(*mocktracer.MockSpan); !ok || hs.SpanContext.SpanID != consume.SpanContext.SpanID {
		t.Errorf("span in the handler's context = %v, want the consumer span %q", d.span, consume.OperationName)
	}
}

// TestConsumerDeadLetters checks that a message whose handler fails or panics goes to the
// dead-letter queue, once, and that the consumer goes on with the next message.
func TestConsumerDeadLetters(t *testing.T) {
	tests := []struct {
		name   string
		refuse func() error
	}{
		{"handler error", func() error { return errors.New("cannot handle this") }},
		{"handler panic", func() error { panic("a bug in the handler") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := messagingtest.URL(t)
			queue := messagingtest.Queue(t, url, "test-deadletter-")
			tracer := mocktracer.New()
			var mu sync.Mutex
			calls := map[string]int{} // by body
			consumer := &messaging.Consumer{
				URL: url, Queue: queue, Tracer: tracer, Log: logging.Discard(),
				Handle: func(ctx context.Context, d amqp.Delivery) error {
					mu.Lock()
					calls[string(d.Body)]++
					mu.Unlock()
					if string(d.Body) == "poison" {
						return tt.refuse()
					}
					return nil
				},
			}
			messagingtest.Start(t, consumer)

			ch := messagingtest.Channel(t, url)
			for _, body := range []string{"poison", "good"} {
				if err := ch.Publish("", queue, false, false, amqp.Publishing{Body: []byte(body)}); err != nil {
					t.Fatalf("publish %q: %v", body, err)
				}
			}
			messagingtest.WaitFor(t, "the good message handled", func() bool { return consumer.Stats().Processed == 1 })
			messagingtest.WaitFor(t, "the poison dead-lettered", func() bool { return consumer.Stats().DeadLettered == 1 })

			dead, ok, err := ch.Get(messaging.DeadLetterQueue(queue), true)
			if err != nil || !ok {
				t.Fatalf("Get(%q) = ok %v, err %v, want the poison message", messaging.DeadLetterQueue(queue), ok, err)
			}
			if string(dead.Body) != "poison" {
				t.Errorf("dead-lettered body = %q, want %q", dead.Body, "poison")
			}
			if reason := deathReason(dead); reason != "rejected" {
				t.Errorf("x-death reason = %q, want %q", reason, "rejected")
			}
			if _, ok, _ := ch.Get(messaging.DeadLetterQueue(queue), true); ok {
				t.Errorf("a second message in %s, want the poison there once", messaging.DeadLetterQueue(queue))
			}
			mu.Lock()
			if calls["poison"] != 1 {
				t.Errorf("handler called %d times with the poison, want 1 (no redelivery)", calls["poison"])
			}
			mu.Unlock()

			messagingtest.WaitFor(t, "2 consumer spans", func() bool { return len(spansNamed(tracer, "consume "+queue)) == 2 })
			failed := 0
			for _, s := range spansNamed(tracer, "consume "+queue) {
				if s.Tag("error") == true {
					failed++
				}
			}
			if failed != 1 {
				t.Errorf("consumer spans tagged error = %d, want 1", failed)
			}
		})
	}
}

// deathReason reads why RabbitMQ dead-lettered a message from its x-death header.
func deathReason(d amqp.Delivery) string {
	deaths, _ := d.Headers["x-death"].([]any)
	if len(deaths) == 0 {
		return ""
	}
	death, _ := deaths[0].(amqp.Table)
	reason, _ := death["reason"].(string)
	return reason
}

// spansNamed returns the finished spans of tracer called op.
func spansNamed(tracer *mocktracer.MockTracer, op string) []*mocktracer.MockSpan {
	var spans []*mocktracer.MockSpan
	for _, s := range tracer.FinishedSpans() {
		if s.OperationName == op {
			spans = append(spans, s)
		}
	}
	return spans
}

// finishedSpan waits for the one finished span called op. The consumer finishes its span
// after it acknowledged the message, a moment after the handler returned.
func finishedSpan(t *testing.T, tracer *mocktracer.MockTracer, op string) *mocktracer.MockSpan {
	t.Helper()
	messagingtest.WaitFor(t, "span "+op, func() bool { return len(spansNamed(tracer, op)) > 0 })
	spans := spansNamed(tracer, op)
	if len(spans) != 1 {
		t.Fatalf("%d finished spans %q, want 1", len(spans), op)
	}
	return spans[0]
}

// TestConsumerRequeuesOnShutdown stops the consumer while its handler works on a message,
// and the handler gives up with ctx's error: the message must go back to the queue, not to
// the dead-letter queue, since nothing was wrong with it.
func TestConsumerRequeuesOnShutdown(t *testing.T) {
	url := messagingtest.URL(t)
	queue := messagingtest.Queue(t, url, "test-shutdown-")
	handling := make(chan struct{})
	consumer := &messaging.Consumer{
		URL: url, Queue: queue, Tracer: mocktracer.New(), Log: logging.Discard(),
		Handle: func(ctx context.Context, d amqp.Delivery) error {
			close(handling)
			<-ctx.Done() // slow work, cut short
			return ctx.Err()
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		consumer.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})

	ch := messagingtest.Channel(t, url)
	if err := ch.Publish("", queue, false, false, amqp.Publishing{Body: []byte("work")}); err != nil {
		t.Fatalf("publish: %v", err)
	}
	select {
	case <-handling:
	case <-time.After(messagingtest.Patience):
		t.Fatalf("handler not called after %v", messagingtest.Patience)
	}
	cancel()
	<-done

	if got := consumer.Stats(); got != (messaging.ConsumerStats{}) {
		t.Errorf("Stats() = %+v, want all zero", got)
	}
	for _, q := range []struct {
		name string
		want int
	}{{queue, 1}, {messaging.DeadLetterQueue(queue), 0}} {
		got, err := ch.QueueInspect(q.name)
		if err != nil || got.Messages != q.want {
			t.Errorf("QueueInspect(%q) = %d messages, %v, want %d", q.name, got.Messages, err, q.want)
		}
	}
}

// TestPublishWithCause publishes a message made earlier, as a relay publishes from an
// outbox: its producer span FOLLOWS_FROM the span that wrote it (the cause, finished by
// then), in the cause's trace, and the consumer span FOLLOWS_FROM the producer span.
func TestPublishWithCause(t *testing.T) {
	url := messagingtest.URL(t)
	queue := messagingtest.Queue(t, url, "test-cause-")
	tracer := tracingtest.New()
	consumer := &messaging.Consumer{URL: url, Queue: queue, Tracer: tracer, Log: logging.Discard(),
		Handle: func(context.Context, amqp.Delivery) error { return nil }}
	messagingtest.Start(t, consumer)
	publisher := &messaging.Publisher{URL: url, Queue: queue, Tracer: tracer, Log: logging.Discard()}
	messagingtest.Start(t, publisher)

	cause := tracer.StartSpan("outbox write")
	cause.Finish()
	// No span in the context: the relay publishes on a context of its own.
	err := publisher.Publish(context.Background(), messaging.Message{ID: "e1", Body: []byte("{}"), Cause: cause.Context()})
	if err != nil {
		t.Fatalf("Publish() = %v, want nil", err)
	}
	messagingtest.WaitFor(t, "the consumer span", func() bool { _, ok := tracer.Span("consume " + queue); return ok })

	write, _ := tracer.Span("outbox write")
	producer, ok := tracer.Span("publish " + queue)
	if !ok {
		t.Fatalf("no single producer span; spans: %v", tracer.Names())
	}
	consume, _ := tracer.Span("consume " + queue)
	tracingtest.AssertFollowsFrom(t, tracer, producer, write)
	tracingtest.AssertFollowsFrom(t, tracer, consume, producer)
	if producer.SpanContext.TraceID != write.SpanContext.TraceID || consume.SpanContext.TraceID != write.SpanContext.TraceID {
		t.Errorf("trace ids of write, producer, consumer = %d, %d, %d, want one trace",
			write.SpanContext.TraceID, producer.SpanContext.TraceID, consume.SpanContext.TraceID)
	}
	if got := producer.Tag("message_bus.message_id"); got != "e1" {
		t.Errorf("producer span tag message_bus.message_id = %v, want e1", got)
	}
}
