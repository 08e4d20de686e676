package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/streadway/amqp"

	"tracelab/common/logging"
	"tracelab/common/messaging"
	"tracelab/common/messaging/messagingtest"
	"tracelab/common/tracing"
	"tracelab/internal/servicetest"
)

// TestVIPEventCarriesTrace: a VIP read publishes to the real RabbitMQ, and the consumer on
// the other side (the same messaging.Consumer vipservice runs) continues the same trace.
func TestVIPEventCarriesTrace(t *testing.T) {
	url := messagingtest.URL(t)
	queue := messagingtest.Queue(t, url, "test-accountservice-")
	log := logging.Discard()

	tracer := servicetest.JaegerTracer(t, serviceName) // only ids matter here

	publisher := &messaging.Publisher{URL: url, Queue: queue, Tracer: tracer, Log: log}
	messagingtest.Start(t, publisher)

	received := make(chan string, 1)
	consumer := &messaging.Consumer{URL: url, Queue: queue, Tracer: tracer, Log: log,
		Handle: func(ctx context.Context, d amqp.Delivery) error {
			traceID, _ := tracing.IDs(ctx)
			received <- traceID
			return nil
		}}
	messagingtest.Start(t, consumer)

	quotes, images := fakeQuoteService(t, http.StatusOK, 0), fakeImageService(t)
	events := &vipEvents{log: log, publisher: publisher}
	handler := newServer(log, tracer, deps{
		accounts:      newTestStore(t),
		quotes:        &quoteClient{baseURL: quotes.URL, http: newTracedClient("quoteservice", time.Second)},
		images:        &imageClient{baseURL: images.URL, http: newTracedClient("imageservice", time.Second)},
		vips:          events,
		amqpConnected: publisher.Connected,
	})
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/accounts/10000", nil))
	traceID := rec.Header().Get(tracing.TraceIDHeader)
	if rec.Code != http.StatusOK || traceID == "" {
		t.Fatalf("GET /accounts/10000 = %d, X-Trace-Id %q; want 200 and a trace id", rec.Code, traceID)
	}
	events.Wait()
	if published, failed := publisher.Stats(); published != 1 || failed != 0 {
		t.Errorf("publisher.Stats() = %d published, %d failed; want 1, 0", published, failed)
	}
	select {
	case got := <-received:
		if got != traceID {
			t.Errorf("consumer's trace id = %q, want the request's %q", got, traceID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the VIP event did not reach the consumer within 10s")
	}
}
