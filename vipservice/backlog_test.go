package main

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/mocktracer"

	"tracelab/common/faults"
	"tracelab/common/logging"
	"tracelab/common/messaging"
	"tracelab/common/messaging/messagingtest"
	"tracelab/common/tracing/tracingtest"
)

// publishBurst publishes n VIP events at once from one publisher, each from a span of its
// own that carries baggage (the fault item, when not ""), as accountservice's relay does.
func publishBurst(t *testing.T, tracer *tracingtest.Tracer, svc *testService, n int, fault string) {
	t.Helper()
	publisher := &messaging.Publisher{URL: svc.amqpURL, Queue: svc.queue, Tracer: tracer, Log: logging.Discard()}
	messagingtest.Start(t, publisher)
	errs := make(chan error, n)
	for i := range n {
		caller := tracer.StartSpan("read vip account")
		if fault != "" {
			caller.SetBaggageItem(faults.BaggageKey, fault)
		}
		id := "burst-" + strconv.Itoa(i)
		go func() {
			defer caller.Finish()
			ctx := opentracing.ContextWithSpan(context.Background(), caller)
			errs <- publisher.Publish(ctx, messaging.Message{ID: id, Body: eventBody(id, "10000", "vip")})
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("Publish = %v, want nil", err)
		}
	}
}

// TestQueueBacklogFault sends a burst of events with the fault in their baggage: each is
// handled slowly, one at a time, so each waits in the queue longer than the one before,
// and the gap from its producer span's end to its consumer span's start grows. Without
// the fault, no slow span and no fault tag.
func TestQueueBacklogFault(t *testing.T) {
	const burst, delay = 4, 150 * time.Millisecond
	for _, fault := range []string{"", "queue-backlog=150ms"} {
		t.Run("fault="+fault, func(t *testing.T) {
			tracer := tracingtest.New()
			svc := startServiceWith(t, tracer, faults.NewSwitch(true, nil))
			publishBurst(t, tracer, svc, burst, fault)
			waitForVIPs(t, svc.http.URL, "the burst in /vips", func(a vipsAnswer) bool { return a.Processed == burst })
			consumers := spansNamed(tracer, "consume "+svc.queue)
			slow := spansNamed(tracer, "handle vip event slowly")
			if len(consumers) != burst {
				t.Fatalf("consumer spans = %d, want %d", len(consumers), burst)
			}
			if fault == "" {
				if len(slow) != 0 {
					t.Errorf("handle vip event slowly spans = %d, want 0 without the fault", len(slow))
				}
				for _, s := range tracer.FinishedSpans() {
					if v := s.Tag(faults.Tag); v != nil {
						t.Errorf("span %q tag fault = %v, want none", s.OperationName, v)
					}
				}
				return
			}
			if len(slow) != burst {
				t.Fatalf("handle vip event slowly spans = %d, want %d", len(slow), burst)
			}
			producers := map[int]*mocktracer.MockSpan{}
			for _, p := range spansNamed(tracer, "publish "+svc.queue) {
				producers[p.SpanContext.SpanID] = p
			}
			var gaps []time.Duration
			for _, c := range consumers {
				if got := c.Tag(faults.Tag); got != "queue-backlog" {
					t.Errorf("consumer span tag fault = %v, want queue-backlog", got)
				}
				refs := tracer.References(c)
				if len(refs) != 1 || refs[0].Type != opentracing.FollowsFromRef {
					t.Fatalf("consumer span references = %v, want one FollowsFrom", refs)
				}
				p := producers[refs[0].ReferencedContext.(mocktracer.MockSpanContext).SpanID]
				if p == nil {
					t.Fatalf("consumer span follows from no producer span of the burst")
				}
				gaps = append(gaps, c.StartTime.Sub(p.FinishTime))
			}
			for _, s := range slow {
				if got := s.Tag(faults.Tag); got != "queue-backlog" {
					t.Errorf("slow span tag fault = %v, want queue-backlog", got)
				}
				if d := s.FinishTime.Sub(s.StartTime); d < delay {
					t.Errorf("slow span lasted %v, want at least %v", d, delay)
				}
			}
			// The consumer spans are in the order handled: the last waited behind the
			// others' slow handling, at least (burst-1) delays minus a generous margin.
			if last, first := gaps[len(gaps)-1], gaps[0]; last-first < (burst-1)*delay/2 {
				t.Errorf("gaps from publish end to consume start = %v, want the last %v or more above the first", gaps, (burst-1)*delay/2)
			}
		})
	}
}
