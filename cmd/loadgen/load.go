package main

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// minLateAfter is the least a start must be behind schedule to count as late, whatever
// the rate: a timer firing a little after its time on a busy machine is no news.
const minLateAfter = time.Millisecond

// outcome is what one request got: a status and the trace id, or an error.
type outcome struct {
	status  int
	traceID string
	err     error
}

// sendFunc sends one request and reads its answer to the end. The generator times it; in
// tests a fake stands in for the network.
type sendFunc func(ctx context.Context, url string) outcome

// clock is time as the generator sees it. The open model's schedule and its latencies are
// computed from it, so a test can drive it by hand instead of waiting on the wall clock.
type clock interface {
	Now() time.Time
	// SleepUntil returns once t has come, at once if it has, or with ctx's error.
	SleepUntil(ctx context.Context, t time.Time) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) SleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pacer is the open model's schedule: request i is due at start + i/rate. Each due time
// is computed from the start, never from the previous one, so rounding cannot drift.
type pacer struct {
	start time.Time
	rate  float64 // requests per second, > 0
}

// at is when request i is due.
func (p pacer) at(i int64) time.Time {
	return p.start.Add(time.Duration(float64(i) * float64(time.Second) / p.rate))
}

// lateAfter is how far behind schedule a start counts as late: once the next request is
// due as well, the generator is no longer keeping the schedule but catching up with it.
func (p pacer) lateAfter() time.Duration {
	return max(time.Duration(float64(time.Second)/p.rate), minLateAfter)
}

// due is how many requests are due before t: those with at(i) < t.
func (p pacer) due(t time.Time) int64 {
	x := t.Sub(p.start).Seconds() * p.rate
	if x <= 0 {
		return 0
	}
	// Start from the float estimate, then settle by at itself, so that due and at agree
	// exactly where floating point would leave them one apart.
	k := int64(math.Ceil(x))
	for k > 0 && !p.at(k-1).Before(t) {
		k--
	}
	for p.at(k).Before(t) {
		k++
	}
	return k
}

// generator sends one run's load and records what came back.
type generator struct {
	clock       clock
	send        sendFunc
	urls        []string // one per account id; request i goes to urls[i % len]
	concurrency int
	rate        float64 // 0: closed model
	rec         *recorder

	sent        atomic.Int64
	late        int64 // written by the open model's dispatcher only, read after the run
	lateAfter   time.Duration
	missed      int64
	behind      *hdrhistogram.Histogram // how far behind schedule each open-model start was, in µs
	elapsed     time.Duration
	interrupted bool
}

func newGenerator(clk clock, send sendFunc, urls []string, concurrency int, rate float64, slowest int) *generator {
	return &generator{
		clock:       clk,
		send:        send,
		urls:        urls,
		concurrency: concurrency,
		rate:        rate,
		rec:         newRecorder(slowest),
		behind:      hdrhistogram.New(histMin, histMax, histDigits),
	}
}

// run sends n requests, or as many as fit in d, and returns once every request has
// answered. Requests in flight when d ends are awaited and counted; those in flight when
// ctx is cancelled (Ctrl-C) are cut off and counted as canceled.
func (g *generator) run(ctx context.Context, n int, d time.Duration) {
	start := g.clock.Now()
	// Requests run under ctx, starts under dispatch: the end of d stops the starts but
	// lets the last answers arrive, as a user's requests would.
	dispatch, cancel := ctx, context.CancelFunc(func() {})
	var end time.Time
	if d > 0 {
		end = start.Add(d)
		dispatch, cancel = context.WithDeadline(ctx, end)
	}
	defer cancel()
	if g.rate > 0 {
		g.open(ctx, dispatch, start, end, int64(n))
	} else {
		g.closed(ctx, dispatch, start, int64(n))
	}
	g.elapsed = g.clock.Now().Sub(start)
	g.interrupted = ctx.Err() != nil
}

// closed runs the closed model: concurrency workers, each sending its next request as
// soon as its last one answered. Request numbers come from one counter, so the ids are
// spread evenly whatever the workers' speeds.
func (g *generator) closed(ctx, dispatch context.Context, start time.Time, n int64) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range g.concurrency {
		wg.Go(func() {
			for dispatch.Err() == nil {
				i := next.Add(1) - 1
				if n > 0 && i >= n {
					return
				}
				g.sent.Add(1)
				g.do(ctx, i, g.clock.Now())
			}
		})
	}
	wg.Wait()
}

// open runs the open model: request i starts at its due time whatever the answers do,
// with at most concurrency requests in flight. When every slot is taken the start waits
// for one and is counted late; its latency still counts from its due time, because that
// wait is what a user arriving then would have seen. Measuring from the actual start would
// hide exactly the stalls a load test is for (coordinated omission).
func (g *generator) open(ctx, dispatch context.Context, start, end time.Time, n int64) {
	p := pacer{start: start, rate: g.rate}
	g.lateAfter = p.lateAfter()
	slots := make(chan struct{}, g.concurrency)
	var wg sync.WaitGroup
	var sent int64
schedule:
	for i := int64(0); n == 0 || i < n; i++ {
		due := p.at(i)
		if !end.IsZero() && !due.Before(end) {
			break
		}
		if g.clock.SleepUntil(dispatch, due) != nil {
			break
		}
		select {
		case slots <- struct{}{}:
		default:
			select {
			case slots <- struct{}{}:
			case <-dispatch.Done():
				break schedule
			}
		}
		behind := g.clock.Now().Sub(due)
		_ = g.behind.RecordValue(min(max(behind.Microseconds(), histMin), histMax)) // clamped: cannot fail
		if behind > g.lateAfter {
			g.late++
		}
		sent++
		g.sent.Add(1)
		wg.Go(func() {
			defer func() { <-slots }()
			g.do(ctx, i, due)
		})
	}
	// Whatever was due before the starts stopped but never started was missed: the run
	// ended (or was stopped) while every slot was still taken.
	stopped := g.clock.Now()
	if !end.IsZero() && stopped.After(end) {
		stopped = end
	}
	due := p.due(stopped)
	if n > 0 {
		due = min(due, n)
	}
	g.missed = max(due-sent, 0)
	wg.Wait()
}

// do sends request i and records it with its latency from began: its actual start in the
// closed model, its due time in the open one.
func (g *generator) do(ctx context.Context, i int64, began time.Time) {
	url := g.urls[i%int64(len(g.urls))]
	o := g.send(ctx, url)
	latency := g.clock.Now().Sub(began)
	if o.err != nil && ctx.Err() != nil {
		g.rec.cancel() // cut off by Ctrl-C: neither an answer nor the target's fault
		return
	}
	g.rec.record(url, latency, o)
}
