package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/mocktracer"
	"github.com/streadway/amqp"

	"tracelab/common/faults"
	"tracelab/common/logging"
	"tracelab/common/messaging"
	"tracelab/common/messaging/messagingtest"
	"tracelab/common/tracing/tracingtest"
)

// TestVIPEventCarriesTrace: a VIP read writes its event to the outbox, the relay publishes
// it to the real RabbitMQ, and the consumer on the other side (the same messaging.Consumer
// vipservice runs) continues the same trace: the outbox write is a child of the request,
// the publish FOLLOWS_FROM the write, the consumer FOLLOWS_FROM the publish.
func TestVIPEventCarriesTrace(t *testing.T) {
	url := messagingtest.URL(t)
	queue := messagingtest.Queue(t, url, "test-accountservice-")
	log := logging.Discard()
	tracer := tracingtest.New() // both sides: one recorder sees the whole trace

	publisher := &messaging.Publisher{URL: url, Queue: queue, Tracer: tracer, Log: log}
	messagingtest.Start(t, publisher)
	type received struct {
		msg     amqp.Delivery
		traceID int
	}
	got := make(chan received, 1)
	consumer := &messaging.Consumer{URL: url, Queue: queue, Tracer: tracer, Log: log,
		Handle: func(ctx context.Context, d amqp.Delivery) error {
			got <- received{d, spanTraceID(ctx)}
			return nil
		}}
	messagingtest.Start(t, consumer)

	quotes, images := fakeQuoteService(t, http.StatusOK, 0), fakeImageService(t)
	accounts := newTestStore(t)
	events := newTestOutbox(t, accounts, DefaultOutboxLimit)
	runRelay(t, &relay{outbox: events, publisher: publisher, tracer: tracer, log: log})
	handler := newServer(log, tracer, faults.NewSwitch(true, nil), deps{
		accounts: accounts,
		quotes:   &quoteClient{baseURL: quotes.URL, http: newTracedClient("quoteservice", time.Second)},
		images:   &imageClient{baseURL: images.URL, http: newTracedClient("imageservice", time.Second)},
		outbox:   events,
		broker:   publisher.State,
	})
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/accounts/10000", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /accounts/10000 = %d, want 200", rec.Code)
	}

	var r received
	select {
	case r = <-got:
	case <-time.After(messagingtest.Patience):
		t.Fatalf("the VIP event did not reach the consumer within %v", messagingtest.Patience)
	}
	var ev VIPEvent
	if err := json.Unmarshal(r.msg.Body, &ev); err != nil || ev.ID == "" || r.msg.MessageId != ev.ID || ev.AccountID != "10000" {
		t.Errorf("message id %q, body %s (%v), want the event of account 10000 under its own id", r.msg.MessageId, r.msg.Body, err)
	}
	messagingtest.WaitFor(t, "the event deleted from the outbox", func() bool { return events.Depth() == 0 })
	if published, failed := publisher.Stats(); published != 1 || failed != 0 {
		t.Errorf("publisher.Stats() = %d published, %d failed; want 1, 0", published, failed)
	}

	server, _ := tracer.Span("GET /accounts/{id}")
	write, _ := tracer.Span("outbox write")
	producer, _ := tracer.Span("publish " + queue)
	messagingtest.WaitFor(t, "the consumer span", func() bool { _, ok := tracer.Span("consume " + queue); return ok })
	consume, _ := tracer.Span("consume " + queue)
	if server == nil || write == nil || producer == nil {
		t.Fatalf("spans %v, want one each of the request, the outbox write and the publish", tracer.Names())
	}
	tracingtest.AssertChildOf(t, tracer, write, server)
	tracingtest.AssertFollowsFrom(t, tracer, producer, write)
	tracingtest.AssertFollowsFrom(t, tracer, consume, producer)
	if r.traceID != server.SpanContext.TraceID {
		t.Errorf("consumer's trace id = %d, want the request's %d", r.traceID, server.SpanContext.TraceID)
	}
}

// spanTraceID is the mock trace id of the span in ctx, 0 without one.
func spanTraceID(ctx context.Context) int {
	span := opentracing.SpanFromContext(ctx)
	if span == nil {
		return 0
	}
	return span.Context().(mocktracer.MockSpanContext).TraceID
}
