package main

import (
	"context"
	"sync"

	"github.com/opentracing/opentracing-go"

	"tracelab/common/faults"
)

// The image-leak fault's bounds: it keeps 1 KiB blocks, and stops growing at 512 MiB. Once
// full, a new block replaces the oldest one: the heap stays at the bound, and every request
// still allocates (and makes garbage of) as much as before.
const (
	leakBlockBytes = 1 << 10
	maxLeakBytes   = 512 << 20
	maxLeakBlocks  = maxLeakBytes / leakBlockBytes
)

// imageLeak is where the image-leak fault keeps what it allocates, for the life of the
// process: a leak, like a cache that nobody empties.
//
// How it shows in a trace (lab 2): the server span of the request is longer, and nothing
// under it says why. There is no child span for the allocations: the time is the span's
// self time (its duration minus its children's), spent in the allocator and in the garbage
// collector's work, which grows with the heap. A profile shows the rest: go tool pprof
// -sample_index=inuse_space on IMAGESERVICE_PPROF_ADDR points at keep.
type imageLeak struct {
	maxBlocks int // maxLeakBlocks; tests set fewer

	mu   sync.Mutex
	kept [][]byte // blocks of leakBlockBytes, at most maxBlocks
	next int      // the oldest block, replaced next once kept is full
}

// keep allocates the fault's parameter in KiB (faults.CountOf, 4096 by default) as many
// small blocks, writes into each one, and keeps them all. The span in ctx, the server
// span, gets the figures as tags; on purpose no child span is started.
func (l *imageLeak) keep(ctx context.Context) {
	kib, _ := faults.CountOf(ctx, faults.ImageLeak)
	blocks := make([][]byte, kib)
	for i := range blocks {
		b := make([]byte, leakBlockBytes)
		for j := 0; j < len(b); j += 64 {
			b[j] = byte(i) // used, as a real buffer would be
		}
		blocks[i] = b
	}

	l.mu.Lock()
	for _, b := range blocks {
		if len(l.kept) < l.maxBlocks {
			l.kept = append(l.kept, b)
			continue
		}
		l.kept[l.next] = b
		l.next = (l.next + 1) % l.maxBlocks
	}
	keptKiB := len(l.kept) * leakBlockBytes >> 10
	l.mu.Unlock()

	if span := opentracing.SpanFromContext(ctx); span != nil {
		span.SetTag("leak.allocated_kib", kib)
		span.SetTag("leak.kept_kib", keptKiB)
	}
}

// keptBytes is how much the leak holds now.
func (l *imageLeak) keptBytes() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.kept) * leakBlockBytes
}
