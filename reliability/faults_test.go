package reliability

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tracelab/internal/jaegerapi"
	"tracelab/internal/landscape"
	"tracelab/internal/rabbitnode"
)

// Each fault test runs a landscape against a RabbitMQ node of its own, puts it under a
// steady load through the edge (4 workers, about 80 requests a second, a tenth of them VIP
// reads), does one bad thing to it half-way, undoes it, and then checks what users care
// about. The figures each test logs are the ones RELIABILITY.md quotes.

// faultLoad is the load of every fault test: workers and the pause between two requests
// of one worker.
const (
	faultWorkers = 4
	faultPause   = 50 * time.Millisecond
)

// faultHeartbeat is the AMQP heartbeat of the fault tests' services: the broker gives up
// on a silent client after two missed heartbeats, in seconds here rather than half a
// minute with the default.
const faultHeartbeat = "2s"

// underLoad starts the load, waits before, calls fault, waits after, and returns the
// results once the load has stopped.
func underLoad(l *testLandscape, before, after time.Duration, fault func()) []result {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan []result, 1)
	go func() { done <- l.load(ctx, faultWorkers, faultPause) }()
	time.Sleep(before)
	fault()
	time.Sleep(after)
	cancel()
	return <-done
}

// privateBroker starts a RabbitMQ node of the test's own and the environment that points
// the landscape at it.
func privateBroker(t *testing.T) (*rabbitnode.Node, map[string]string) {
	n := rabbitnode.Start(t)
	return n, map[string]string{"AMQP_URL": n.URL(), "AMQP_HEARTBEAT": faultHeartbeat}
}

// TestBrokerStoppedUnderLoad: RabbitMQ goes away for 10 s while VIP accounts are read.
// Every read is answered, whole, and every VIP event reaches vipservice once the broker is
// back: accountservice keeps them in its outbox meanwhile.
func TestBrokerStoppedUnderLoad(t *testing.T) {
	node, env := privateBroker(t)
	l := startLandscape(t, env)
	var outage, reconnected, drained time.Duration
	var held accountHealth
	results := underLoad(l, 3*time.Second, 5*time.Second, func() {
		start := time.Now()
		node.Stop()
		time.Sleep(10*time.Second - time.Since(start))
		held = l.accountHealth(t)
		node.Restart()
		back := time.Now()
		outage = back.Sub(start)
		l.waitAccountHealth(t, "the publisher reconnected", func(h accountHealth) bool { return h.AMQP == "connected" })
		reconnected = time.Since(back)
		l.waitAccountHealth(t, "the outbox drained", func(h accountHealth) bool { return h.Outbox.Depth == 0 })
		drained = time.Since(back)
	})
	s := summarize(results)
	t.Logf("broker down %v: %v", outage.Round(100*time.Millisecond), s)
	t.Logf("just before the broker came back: amqp %s, outbox depth %d; publisher connected %v after, outbox empty %v after",
		held.AMQP, held.Outbox.Depth, reconnected.Round(10*time.Millisecond), drained.Round(10*time.Millisecond))
	if s.whole != s.sent {
		t.Errorf("%v; want every read answered 200, whole: the broker is not on the reading path", s)
	}
	if held.AMQP != "reconnecting" || held.Outbox.Depth == 0 {
		t.Errorf("accountservice's /healthz with the broker down = amqp %q, outbox depth %d; want reconnecting, and the events of the outage waiting",
			held.AMQP, held.Outbox.Depth)
	}
	c := l.assertEveryEventOnce(t, s, 0)
	t.Logf("vipservice: %+v", c)
}

// accountHealth is accountservice's GET /healthz, the part the suite reads.
type accountHealth struct {
	AMQP   string `json:"amqp"`
	Outbox struct {
		Depth   int   `json:"depth"`
		Refused int64 `json:"refused"`
	} `json:"outbox"`
}

func (l *testLandscape) accountHealth(t *testing.T) accountHealth {
	t.Helper()
	resp, err := http.Get(l.URL("accountservice") + "/healthz")
	if err != nil {
		t.Fatalf("GET accountservice /healthz: %v", err)
	}
	defer resp.Body.Close()
	var h accountHealth
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatalf("GET accountservice /healthz: %v", err)
	}
	return h
}

// waitAccountHealth polls accountservice's /healthz until cond holds.
func (l *testLandscape) waitAccountHealth(t *testing.T, what string, cond func(accountHealth) bool) {
	t.Helper()
	start := time.Now()
	for !cond(l.accountHealth(t)) {
		if time.Since(start) > time.Minute {
			t.Fatalf("waited a minute for %s, gave up: %+v", what, l.accountHealth(t))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestVIPServicePausedPastHeartbeat: vipservice hangs (SIGSTOP) for longer than the broker
// waits for its heartbeats, so RabbitMQ closes its connection and hands the messages it had
// delivered but not seen acknowledged to the queue again. When vipservice wakes up, it
// handles what it held, its acks fail, it reconnects and gets those messages a second time:
// each event must still be recorded once, the repeats counted as duplicates.
func TestVIPServicePausedPastHeartbeat(t *testing.T) {
	_, env := privateBroker(t)
	l := startLandscape(t, env)
	results := underLoad(l, 3*time.Second, 6*time.Second, func() {
		if err := l.Freeze("vipservice"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(8 * time.Second) // four heartbeats of 2 s
		if err := l.Thaw("vipservice"); err != nil {
			t.Fatal(err)
		}
	})
	s := summarize(results)
	t.Logf("vipservice frozen 8 s: %v", s)
	if s.whole != s.sent {
		t.Errorf("%v; want every read answered 200, whole: vipservice is not on the reading path", s)
	}
	c := l.assertEveryEventOnce(t, s, 0)
	t.Logf("vipservice: %+v", c)
}

// TestAccountServiceKilledUnderLoad: accountservice dies (SIGKILL: no drain, no flush) in
// the middle of the load and comes back 2 s later on the same database. The reads it was
// serving fail (the edge answers 502: a real upstream failure), but every VIP read that was
// answered 200 has its event delivered, from the outbox it had written before answering.
func TestAccountServiceKilledUnderLoad(t *testing.T) {
	_, env := privateBroker(t)
	l := startLandscape(t, env)
	results := underLoad(l, 3*time.Second, 5*time.Second, func() {
		if err := l.Kill("accountservice"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		if err := l.Resume(context.Background(), "accountservice"); err != nil {
			t.Fatal(err)
		}
	})
	s := summarize(results)
	t.Logf("accountservice killed, back after 2 s: %v", s)
	unanswered := 0
	for _, r := range results {
		switch {
		case r.status == 200:
		case r.status == 502 || r.status == 504 || r.err != nil:
			if r.vip {
				unanswered++
			}
		default:
			t.Errorf("GET /api/accounts/%s = %d %v while accountservice was down or back, want 200, or 502 while it was down", r.id, r.status, r.err)
		}
	}
	if s.statuses[502] == 0 {
		t.Errorf("no read failed while accountservice was down (%v): the kill did not happen", s)
	}
	c := l.assertEveryEventOnce(t, s, unanswered)
	t.Logf("vipservice: %+v", c)
}

// TestQuoteAndImagePaused: quoteservice and imageservice hang for 5 s. accountservice gives
// each call ACCOUNTSERVICE_CALL_TIMEOUT (2 s) and answers without them: every read is a
// 200, degraded while they hang, whole again afterwards.
func TestQuoteAndImagePaused(t *testing.T) {
	l := startLandscape(t, nil)
	results := underLoad(l, 2*time.Second, 3*time.Second, func() {
		for _, name := range []string{"quoteservice", "imageservice"} {
			if err := l.Freeze(name); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(5 * time.Second)
		for _, name := range []string{"quoteservice", "imageservice"} {
			if err := l.Thaw(name); err != nil {
				t.Fatal(err)
			}
		}
	})
	s := summarize(results)
	t.Logf("quote and image frozen 5 s: %v", s)
	if s.ok != s.sent {
		t.Errorf("%v; want every read answered 200, degraded while quote and image hang", s)
	}
	if s.degraded == 0 {
		t.Errorf("%v; want some degraded answers: the freeze did not happen", s)
	}
	if last := results[len(results)-1]; !last.whole {
		t.Errorf("the last read, after the thaw, = %d whole=%v, want a whole answer again", last.status, last.whole)
	}
	l.assertServes(t, "the freeze")
}

// TestJaegerStalled: the collector hangs for 10 s (a proxy in front of the real Jaeger
// holds every byte). Tracing must never fail a request: every read is answered, whole;
// the spans wait in the reporters' queues and reach Jaeger once it answers again. At the
// end no service may report a dropped span (the landscape's checks read the tracer lines).
func TestJaegerStalled(t *testing.T) {
	proxy := newStallProxy(t, "127.0.0.1:14268")
	l := startLandscape(t, map[string]string{"JAEGER_ENDPOINT": "http://" + proxy.addr + "/api/traces"})
	var during string
	results := underLoad(l, 2*time.Second, 4*time.Second, func() {
		proxy.stall(true)
		time.Sleep(time.Second)
		during = l.read(10001).traceID
		time.Sleep(9 * time.Second)
		proxy.stall(false)
	})
	s := summarize(results)
	t.Logf("Jaeger stalled 10 s: %v", s)
	if s.whole != s.sent {
		t.Errorf("%v; want every read answered 200, whole: tracing never fails a request", s)
	}
	after := l.read(10002).traceID
	jaeger := &jaegerapi.Client{BaseURL: l.Jaeger}
	for _, id := range []string{after, during} {
		if err := waitForTraceIn(jaeger, id); err != nil {
			t.Errorf("trace %s (a read made %s the stall): %v", id, map[bool]string{true: "during", false: "after"}[id == during], err)
		}
	}
	// Stopped, every service has flushed what it still had and logged its counts (Jaeger
	// keeps running: Pause stops one process politely). The reporters count as unconfirmed
	// the batches whose POST timed out during the stall; what was lost is what Jaeger does
	// not have.
	for _, name := range []string{"edge", "accountservice", "vipservice", "imageservice", "quoteservice"} {
		if err := l.Pause(name); err != nil {
			t.Fatal(err)
		}
	}
	finished, counts := tracerTotals(t, readFile(l.logPath))
	traces := []string{during, after}
	for _, r := range results {
		traces = append(traces, r.traceID)
	}
	stored := spansStored(jaeger, traces)
	t.Logf("spans finished %d, stored in Jaeger %d; the reporters said: %s", finished, stored, strings.Join(counts, "; "))
	if stored != finished {
		t.Errorf("Jaeger holds %d spans of the %d the services finished: %d lost while it stalled", stored, finished, finished-stored)
	}
}

// tracerTotals adds up the spans.finished of every service's "tracer closed" line, and
// returns each line's message.
func tracerTotals(t *testing.T, out string) (finished int64, messages []string) {
	t.Helper()
	reports, err := landscape.TracerReports(strings.NewReader(out))
	if err != nil {
		t.Error(err)
	}
	for _, r := range reports {
		finished += r.Finished
		messages = append(messages, r.Service+": "+r.Message)
	}
	if len(reports) != len(landscape.ServiceNames()) {
		t.Errorf("%d tracer lines in the landscape's output, want one per service", len(reports))
	}
	return finished, messages
}

// spansStored counts the spans Jaeger holds for the given traces, eight reads at a time.
func spansStored(jaeger *jaegerapi.Client, traceIDs []string) int64 {
	var stored atomic.Int64
	ids := make(chan string)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for id := range ids {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				if tr, err := jaeger.Trace(ctx, id); err == nil {
					stored.Add(int64(len(tr.Spans)))
				}
				cancel()
			}
		})
	}
	for _, id := range traceIDs {
		if id != "" {
			ids <- id
		}
	}
	close(ids)
	wg.Wait()
	return stored.Load()
}

// waitForTraceIn polls Jaeger until it has the trace, for up to a minute.
func waitForTraceIn(jaeger *jaegerapi.Client, id string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := jaeger.Trace(ctx, id)
		cancel()
		if err == nil {
			return nil
		}
		if !errors.Is(err, jaegerapi.ErrNotFound) && time.Now().After(deadline) {
			return err
		}
		if time.Now().After(deadline) {
			return errors.New("not in Jaeger a minute after the stall ended")
		}
		time.Sleep(500 * time.Millisecond)
	}
}
