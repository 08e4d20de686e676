package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/streadway/amqp"

	"tracelab/common/logging"
	"tracelab/common/messaging"
	"tracelab/common/tracing"
)

// brokerURL is the RabbitMQ the integration tests use: $AMQP_URL or the local default.
func brokerURL(t *testing.T) string {
	t.Helper()
	url := os.Getenv("AMQP_URL")
	if url == "" {
		url = "amqp://guest:guest@localhost:5672/"
	}
	conn, err := messaging.Dial(url)
	if err != nil {
		t.Fatalf("RabbitMQ not reachable at %s: %v\nstart it with `rabbitmq-server -detached` (the CI script does)", url, err)
	}
	conn.Close()
	return url
}

// testQueue returns a fresh queue name and deletes the queue and its dead-letter queue
// when the test ends, so tests never see each other's messages on the shared broker.
func testQueue(t *testing.T, url string) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	queue := "test-accountservice-" + hex.EncodeToString(b)
	t.Cleanup(func() {
		conn, err := messaging.Dial(url)
		if err != nil {
			return
		}
		defer conn.Close()
		if ch, err := conn.Channel(); err == nil {
			_, _ = ch.QueueDelete(queue, false, false, false)
			_, _ = ch.QueueDelete(messaging.DeadLetterQueue(queue), false, false, false)
		}
	})
	return queue
}

// TestVIPEventCarriesTrace: a VIP read publishes to the real RabbitMQ, and the consumer on
// the other side (the same messaging.Consumer vipservice runs) continues the same trace.
func TestVIPEventCarriesTrace(t *testing.T) {
	url := brokerURL(t)
	queue := testQueue(t, url)
	log := logging.Discard()

	// The real Jaeger tracer, reporting to a port where nothing listens: only ids matter here.
	settings, err := tracing.SettingsFromEnv(serviceName, func(k string) string {
		return map[string]string{"JAEGER_ENDPOINT": "http://127.0.0.1:1/api/traces"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	tracer, closer, err := tracing.New(settings, log)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	publisher := messaging.NewPublisher(url, queue, log)
	go publisher.Run(ctx)
	waitFor(t, "publisher connected", publisher.Connected)

	received := make(chan string, 1)
	consumer := &messaging.Consumer{URL: url, Queue: queue, Tracer: tracer, Log: log,
		Handle: func(ctx context.Context, d amqp.Delivery) error {
			traceID, _ := tracing.IDs(ctx)
			received <- traceID
			return nil
		}}
	go consumer.Run(ctx)

	quotes, images := fakeQuoteService(t, http.StatusOK, 0), fakeImageService(t)
	handler := newServer(log, tracer, deps{
		accounts:      newTestStore(t),
		quotes:        &quoteClient{baseURL: quotes.URL, http: newTracedClient("quoteservice", time.Second)},
		images:        &imageClient{baseURL: images.URL, http: newTracedClient("imageservice", time.Second)},
		vips:          publisher,
		amqpConnected: publisher.Connected,
	})
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/accounts/10000", nil))
	traceID := rec.Header().Get(tracing.TraceIDHeader)
	if rec.Code != http.StatusOK || traceID == "" {
		t.Fatalf("GET /accounts/10000 = %d, X-Trace-Id %q; want 200 and a trace id", rec.Code, traceID)
	}
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

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
