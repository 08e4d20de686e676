package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/opentracing/opentracing-go"
	otlog "github.com/opentracing/opentracing-go/log"

	"tracelab/common/faults"
	"tracelab/common/respond"
)

// withEdgePool is the edge-pool fault, the edge's planted problem: too few upstream
// connections. A proxied call that carries the fault must first get one of the pool's
// slots (edge-pool=N: N at a time, 1 unless given) and holds it until its answer is
// copied; the others wait their turn. In the trace, the edge's server span starts on time
// but its client span (GET accountservice) starts late: the gap between the two is the
// wait, and a log on the server span says how long it was and how many were ahead
// ("waited 180ms for an upstream connection, 2 ahead"). Calls without the fault never
// touch the pool: they go straight to next.
func withEdgePool(pool *slotPool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if !faults.On(ctx, faults.EdgePool) { // tags the edge's server span
			next.ServeHTTP(w, r)
			return
		}
		size, _ := faults.CountOf(ctx, faults.EdgePool)
		start := time.Now()
		ahead, err := pool.acquire(ctx, size)
		waited := time.Since(start)
		if span := opentracing.SpanFromContext(ctx); span != nil {
			span.LogFields(otlog.String("event", fmt.Sprintf("waited %d ms for an upstream connection, %d ahead",
				waited.Milliseconds(), ahead)), otlog.Int("pool.size", size))
		}
		if err != nil {
			respond.Error(w, http.StatusServiceUnavailable, "edge-pool: no upstream connection came free in time")
			return
		}
		defer pool.release()
		next.ServeHTTP(w, r)
	})
}

// slotPool lets a few calls at a time through, the others waiting in turn (first come,
// first served). Its size is each caller's own (edge-pool=N), so it is a counter and a
// queue rather than a buffered channel.
type slotPool struct {
	mu      sync.Mutex
	inUse   int
	waiting []*slotWaiter
}

type slotWaiter struct {
	size  int
	ready chan struct{} // closed when the slot is the waiter's
}

// acquire takes a slot of a pool of size, waiting while size are in use or others are
// waiting before it; ahead is how many calls held or awaited one when it arrived. It
// gives up when ctx ends.
func (p *slotPool) acquire(ctx context.Context, size int) (ahead int, err error) {
	p.mu.Lock()
	ahead = p.inUse + len(p.waiting)
	if p.inUse < size && len(p.waiting) == 0 {
		p.inUse++
		p.mu.Unlock()
		return ahead, nil
	}
	w := &slotWaiter{size: size, ready: make(chan struct{})}
	p.waiting = append(p.waiting, w)
	p.mu.Unlock()

	select {
	case <-w.ready:
		return ahead, nil
	case <-ctx.Done():
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, other := range p.waiting {
		if other == w {
			p.waiting = append(p.waiting[:i], p.waiting[i+1:]...)
			p.admit()
			return ahead, ctx.Err()
		}
	}
	// The slot was handed over as ctx ended: give it back.
	p.inUse--
	p.admit()
	return ahead, ctx.Err()
}

// release gives a slot back, to the first waiter if it may have it.
func (p *slotPool) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inUse--
	p.admit()
}

// admit hands free slots to the waiters at the front of the queue. p.mu is held.
func (p *slotPool) admit() {
	for len(p.waiting) > 0 && p.inUse < p.waiting[0].size {
		w := p.waiting[0]
		p.waiting = p.waiting[1:]
		p.inUse++
		close(w.ready)
	}
}
