package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fakeClock moves only when told to: SleepUntil jumps to the time slept for, Set jumps to
// a later time. Both only ever move it forward, so the order in which the dispatcher and
// the test reach them does not change what it reads afterwards.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) SleepUntil(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Set(t)
	return nil
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
}

// TestOpenModel drives the open model on a fake clock: one slot, 100 requests per second,
// and a first answer that takes 50ms. Requests 1 and 2 fall due while it is out; they
// start late, when the slot frees, and their latency counts from when they were due.
func TestOpenModel(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := &fakeClock{now: t0}
	calls := make(chan string)
	answer := make(chan struct{})
	send := func(ctx context.Context, url string) outcome {
		calls <- url
		<-answer
		return outcome{status: 200, traceID: "trace-" + url}
	}
	g := newGenerator(clk, send, []string{"a", "b", "c"}, 1, 100, 3)
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.run(t.Context(), 3, 0)
	}()

	<-calls                                // request 0 starts on time
	clk.Set(t0.Add(50 * time.Millisecond)) // and takes 50ms
	answer <- struct{}{}
	<-calls // request 1, due at 10ms, starts at 50ms
	answer <- struct{}{}
	<-calls // request 2, due at 20ms
	answer <- struct{}{}
	<-done

	if g.late != 2 || g.missed != 0 || g.sent.Load() != 3 {
		t.Errorf("late %d, missed %d, sent %d; want 2, 0, 3", g.late, g.missed, g.sent.Load())
	}
	var got []string
	for _, s := range g.rec.sortedSlowest() {
		got = append(got, fmt.Sprintf("%s %v", s.url, s.latency))
	}
	want := []string{"a 50ms", "b 40ms", "c 30ms"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("latencies = %q, want %q: counted from each request's due time", got, want)
	}
	if g.elapsed != 50*time.Millisecond {
		t.Errorf("elapsed = %v, want 50ms", g.elapsed)
	}
	if g.lateAfter != 10*time.Millisecond {
		t.Errorf("late after %v, want 10ms: one interval at 100/s", g.lateAfter)
	}
	if got := g.behind.Max(); !g.behind.ValuesAreEquivalent(got, 40000) {
		t.Errorf("furthest behind schedule = %dµs, want 40000µs (request 1)", got)
	}
}

// TestClosedModel: on a fake clock that never moves, each worker's next request starts
// when its last one answered, and every request is sent exactly once.
func TestClosedModel(t *testing.T) {
	clk := &fakeClock{now: time.Unix(0, 0)}
	var mu sync.Mutex
	seen := map[string]int{}
	send := func(ctx context.Context, url string) outcome {
		mu.Lock()
		seen[url]++
		mu.Unlock()
		return outcome{status: 200}
	}
	g := newGenerator(clk, send, []string{"a", "b", "c", "d"}, 3, 0, 0)
	g.run(t.Context(), 40, 0)
	want := map[string]int{"a": 10, "b": 10, "c": 10, "d": 10}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("requests per URL = %v, want %v", seen, want)
	}
	if g.late != 0 || g.missed != 0 {
		t.Errorf("closed model counted %d late and %d missed starts, want none", g.late, g.missed)
	}
}

func TestPacer(t *testing.T) {
	start := time.Unix(1000, 0)
	tests := []struct {
		rate  float64
		after time.Duration
		want  int64
	}{
		{100, 0, 0},
		{100, time.Nanosecond, 1}, // request 0 is due at the start
		{100, 10 * time.Millisecond, 1},
		{100, 10*time.Millisecond + 1, 2},
		{100, time.Second, 100},
		{3, time.Second, 3}, // at 0, 333.3ms, 666.6ms; the 4th is due at 1s, not before
		{0.5, 10 * time.Second, 5},
		{300, 10 * time.Second, 3000},
		{100, -time.Second, 0},
	}
	for _, tt := range tests {
		p := pacer{start: start, rate: tt.rate}
		if got := p.due(start.Add(tt.after)); got != tt.want {
			t.Errorf("pacer{rate %v}.due(start+%v) = %d, want %d", tt.rate, tt.after, got, tt.want)
		}
	}
	p := pacer{start: start, rate: 100}
	if got, want := p.at(3), start.Add(30*time.Millisecond); !got.Equal(want) {
		t.Errorf("pacer{rate 100}.at(3) = %v, want %v", got, want)
	}
	for _, tt := range []struct {
		rate float64
		want time.Duration
	}{
		{100, 10 * time.Millisecond},
		{300, 3333333 * time.Nanosecond},
		{5000, time.Millisecond}, // 200µs is within a busy machine's timer jitter
	} {
		if got := (pacer{start: start, rate: tt.rate}).lateAfter(); got != tt.want {
			t.Errorf("pacer{rate %v}.lateAfter() = %v, want %v", tt.rate, got, tt.want)
		}
	}
}

// TestPacerAgrees checks due against at one request at a time, for rates whose due
// times are not whole nanoseconds: the dispatcher sends by at, the missed count is by due,
// and one off would report a missed start that never was.
func TestPacerAgrees(t *testing.T) {
	start := time.Unix(1000, 0)
	for _, rate := range []float64{7, 299.9, 333, 1e4 / 3} {
		p := pacer{start: start, rate: rate}
		for i := int64(0); i < 2000; i++ {
			at := p.at(i)
			if got := p.due(at); got != i {
				t.Fatalf("rate %v: due(at(%d)) = %d, want %d", rate, i, got, i)
			}
			if got := p.due(at.Add(1)); got != i+1 {
				t.Fatalf("rate %v: due(at(%d)+1ns) = %d, want %d", rate, i, got, i+1)
			}
		}
	}
}

func TestClassify(t *testing.T) {
	refused := &url.Error{Op: "Get", URL: "https://localhost:1/api/accounts/10001", Err: &net.OpError{
		Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	tests := []struct {
		name    string
		err     error
		kind    string
		message string
	}{
		{"refused", refused, "connection", "dial tcp: connect: connection refused"},
		{"deadline", &url.Error{Op: "Get", URL: "u", Err: context.DeadlineExceeded}, "timeout", "context deadline exceeded"},
		{"closed early", &url.Error{Op: "Get", URL: "u", Err: io.ErrUnexpectedEOF}, "connection", "unexpected EOF"},
		{"other", errors.New("something odd"), "other", "something odd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, msg := classify(tt.err)
			if kind != tt.kind || msg != tt.message {
				t.Errorf("classify(%v) = %q, %q; want %q, %q", tt.err, kind, msg, tt.kind, tt.message)
			}
		})
	}
}

func TestRecorderKeepsTheSlowest(t *testing.T) {
	r := newRecorder(3)
	for i, ms := range []int{5, 50, 1, 40, 7, 60, 2, 30} {
		r.record(fmt.Sprint(i), time.Duration(ms)*time.Millisecond, outcome{status: 200})
	}
	var got []string
	for _, s := range r.sortedSlowest() {
		got = append(got, s.url)
	}
	if want := []string{"5", "1", "3"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("slowest = %q, want %q (60ms, 50ms, 40ms)", got, want)
	}
	if r.min != time.Millisecond || r.max != 60*time.Millisecond || r.responses != 8 {
		t.Errorf("min %v, max %v, responses %d; want 1ms, 60ms, 8", r.min, r.max, r.responses)
	}
}
