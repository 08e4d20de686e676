package main

import (
	"context"
	"image"
	"log/slog"
	"strconv"
	"sync"
	"time"

	otlog "github.com/opentracing/opentracing-go/log"

	"tracelab/common/faults"
	"tracelab/common/tracing"
)

// sharedLock is the one lock that the lock-contention fault sends every filter through,
// the way HotROD's driver database serializes its queries: a request waits for whoever
// holds it, and whoever waits ahead. Without the fault no request takes it.
//
// It remembers who holds it and how many wait, so that a waiting request's span can say
// what it waits behind: the span log lab 2 points at ("waiting for lock behind 3 requests,
// held by trace 5b2e...").
type sharedLock struct {
	mu sync.Mutex // the lock itself

	state   sync.Mutex // guards held, holder and waiting
	held    bool       // someone holds mu
	holder  string     // trace id of the request holding mu ("" when untraced)
	waiting int        // requests waiting for mu
}

// filterBehindLock applies f to img while holding the shared lock, and holds it for hold
// more (a sleep: the lock-contention fault's stand-in for slow work done under a lock).
// Waiting for the lock is a child span of its own, "wait for filter lock", whose logs say
// how many requests were ahead and which trace held the lock; the filter span that follows
// covers the time the lock is held. Both are tagged fault=lock-contention.
func (l *sharedLock) filterBehindLock(ctx context.Context, log *slog.Logger, img *image.RGBA, f filter, hold time.Duration) {
	l.lock(ctx, log)
	defer l.unlock()
	span, _ := tracing.StartChild(ctx, "apply "+f.name+" filter")
	defer span.Finish()
	faults.Mark(ctx, span, faults.LockContention)
	span.SetTag("filter", f.name)
	span.SetTag("pixels", img.Bounds().Dx()*img.Bounds().Dy())
	f.apply(img)
	time.Sleep(hold)
}

// lock waits for the shared lock in a span of its own, and says what it waits behind.
func (l *sharedLock) lock(ctx context.Context, log *slog.Logger) {
	span, ctx := tracing.StartChild(ctx, "wait for filter lock")
	defer span.Finish()
	faults.Mark(ctx, span, faults.LockContention)

	l.state.Lock()
	ahead, holder := l.waiting, l.holder
	if l.held {
		ahead++ // the holder is ahead too
	}
	l.waiting++
	l.state.Unlock()

	span.SetTag("waiting.ahead", ahead)
	span.LogFields(otlog.String("event", "waiting for lock behind "+strconv.Itoa(ahead)+" requests"),
		otlog.Int("waiting.ahead", ahead), otlog.String("lock.holder", holderOrNone(holder)))
	log.InfoContext(ctx, "waiting for filter lock", "waiting.ahead", ahead, "lock.holder", holderOrNone(holder))

	l.mu.Lock()

	traceID, _ := tracing.IDs(ctx)
	l.state.Lock()
	l.waiting--
	l.held, l.holder = true, traceID
	l.state.Unlock()
	span.LogFields(otlog.String("event", "lock acquired"))
}

func (l *sharedLock) unlock() {
	l.state.Lock()
	l.held, l.holder = false, ""
	l.state.Unlock()
	l.mu.Unlock()
}

// holderOrNone names the lock's holder for a span log: its trace id, or none.
func holderOrNone(traceID string) string {
	if traceID == "" {
		return "none"
	}
	return traceID
}
