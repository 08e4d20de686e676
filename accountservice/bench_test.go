package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go"

	"tracelab/common/faults"
	"tracelab/common/logging"
	"tracelab/common/messaging"
	"tracelab/common/messaging/messagingtest"
	"tracelab/common/tracing/tracingtest"
	"tracelab/internal/rabbitnode"
)

// BenchmarkGetAccount is the cost of an account read through the handler, with real HTTP
// calls to fake quote and image services and a real bolt file, untraced: a regular account
// against a VIP one, whose outbox write (a bolt commit, an fsync) runs beside the two
// calls. One reader at a time is the latency a reader sees; parallel readers show what
// bolt's Batch saves when writes arrive together.
//
//	go test -run '^$' -bench GetAccount -benchtime 2000x ./accountservice
func BenchmarkGetAccount(b *testing.B) {
	quotes, images := fakeQuoteService(b, http.StatusOK, 0), fakeImageService(b)
	accounts := newTestStore(b)
	events := newTestOutbox(b, accounts, 1<<30)
	handler := newServer(logging.Discard(), opentracing.NoopTracer{}, faults.NewSwitch(true, nil), deps{
		accounts: accounts,
		quotes:   &quoteClient{baseURL: quotes.URL, http: newTracedClient("quoteservice", time.Second)},
		images:   &imageClient{baseURL: images.URL, http: newTracedClient("imageservice", time.Second)},
		outbox:   events,
		broker:   func() messaging.State { return messaging.Connected },
	})
	read := func(b *testing.B, path string) {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s = %d", path, rec.Code)
		}
	}
	for _, bm := range []struct{ name, path string }{
		{"regular", "/accounts/10001"},
		{"vip", "/accounts/10000"},
	} {
		b.Run(bm.name, func(b *testing.B) {
			for b.Loop() {
				read(b, bm.path)
			}
		})
		b.Run(bm.name+"/16-readers", func(b *testing.B) {
			b.SetParallelism(8) // per CPU
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					read(b, bm.path)
				}
			})
		})
	}
}

// BenchmarkRelayDrain is how long the relay takes to publish 1,000 events waiting in the
// outbox, each confirmed by the real RabbitMQ and deleted: with the broker there all along
// (the relay's own pace), and after the broker comes back from a stop (a private node;
// the time counts from the moment it answers AMQP again, so the publisher's reconnect
// backoff is in it).
//
//	go test -run '^$' -bench RelayDrain -benchtime 1x ./accountservice
func BenchmarkRelayDrain(b *testing.B) {
	const events = 1000
	drain := func(b *testing.B, brokerURL string, brokerBack func()) {
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			o := newTestOutbox(b, newTestStore(b), DefaultOutboxLimit)
			tracer := tracingtest.New()
			for range events {
				if err := o.Add(context.Background(), VIPEvent{ID: newEventID(), AccountID: "10000", Tier: "vip", OccurredAt: time.Now()}); err != nil {
					b.Fatal(err)
				}
			}
			p := &messaging.Publisher{URL: brokerURL, Queue: "bench-drain-" + strconv.Itoa(i), Tracer: tracer, Log: logging.Discard()}
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Go(func() { p.Run(ctx) })
			if brokerBack == nil {
				messagingtest.WaitFor(b, "the publisher connected", p.Connected)
			}
			r := &relay{outbox: o, publisher: p, tracer: tracer, log: logging.Discard()}
			wg.Go(func() { r.Run(ctx) })
			if brokerBack != nil {
				time.Sleep(2 * time.Second) // the publisher retries meanwhile, backing off
				brokerBack()
			}
			b.StartTimer()
			began := time.Now()
			for o.Depth() > 0 {
				if time.Since(began) > time.Minute {
					b.Fatalf("%d events still in the outbox after a minute", o.Depth())
				}
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(time.Since(began).Milliseconds()), "ms/1000-events")
			cancel()
			wg.Wait()
			deleteQueue(b, brokerURL, p.Queue)
			b.StartTimer()
		}
	}
	b.Run("broker up", func(b *testing.B) { drain(b, messagingtest.URL(b), nil) })
	b.Run("broker back", func(b *testing.B) {
		n := rabbitnode.Start(b)
		n.Stop()
		drain(b, n.URL(), n.Restart)
	})
}

// deleteQueue removes a benchmark's queue and its dead-letter queue.
func deleteQueue(b *testing.B, brokerURL, queue string) {
	ch := messagingtest.Channel(b, brokerURL)
	for _, q := range []string{queue, messaging.DeadLetterQueue(queue)} {
		if _, err := ch.QueueDelete(q, false, false, false); err != nil {
			b.Errorf("delete %s: %v", q, err)
		}
	}
}
