package main

import (
	"container/heap"
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// The histogram keeps microseconds from 1µs to an hour with three significant digits:
// every percentile is within 0.1% of the true value, in a fixed ~200 KiB however long
// the run. A latency above an hour is recorded as an hour.
const (
	histMin    = 1
	histMax    = int64(time.Hour / time.Microsecond)
	histDigits = 3
)

// errorKey groups errors for the breakdown.
type errorKey struct {
	kind    string // "timeout", "connection" or "other"
	message string
}

// recorder collects one run's answers. One mutex guards it: recording takes well under a
// microsecond, far below what a request through the landscape costs.
type recorder struct {
	// done and failed are read by the progress bar while the run goes on.
	done   atomic.Int64
	failed atomic.Int64

	mu        sync.Mutex
	hist      *hdrhistogram.Histogram
	min, max  time.Duration
	status    map[int]int64
	errs      map[errorKey]int64
	responses int64
	errors    int64
	canceled  int64
	keep      int
	slowest   slowHeap
}

func newRecorder(keep int) *recorder {
	return &recorder{
		hist:   hdrhistogram.New(histMin, histMax, histDigits),
		status: make(map[int]int64),
		errs:   make(map[errorKey]int64),
		keep:   keep,
	}
}

// record counts one request: an answer goes into the histogram, the status counts and,
// if it is among the slowest so far, the slowest list; an error into the breakdown.
func (r *recorder) record(url string, latency time.Duration, o outcome) {
	defer r.done.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if o.err != nil {
		r.failed.Add(1)
		r.errors++
		kind, msg := classify(o.err)
		r.errs[errorKey{kind, msg}]++
		return
	}
	// Clamped into the histogram's range, so RecordValue cannot fail.
	_ = r.hist.RecordValue(min(max(latency.Microseconds(), histMin), histMax))
	if r.responses == 0 || latency < r.min {
		r.min = latency
	}
	r.max = max(r.max, latency)
	r.responses++
	r.status[o.status]++
	if r.keep > 0 && (len(r.slowest) < r.keep || latency > r.slowest[0].latency) {
		heap.Push(&r.slowest, slow{latency: latency, url: url, status: o.status, traceID: o.traceID})
		if len(r.slowest) > r.keep {
			heap.Pop(&r.slowest)
		}
	}
}

// cancel counts a request cut off by Ctrl-C.
func (r *recorder) cancel() {
	r.mu.Lock()
	r.canceled++
	r.mu.Unlock()
}

// classify names what went wrong with a request that got no answer. The message drops
// the URL, which differs by account id, so that one cause is one line of the breakdown.
func classify(err error) (kind, message string) {
	message = err.Error()
	var uerr *url.Error
	if errors.As(err, &uerr) {
		message = uerr.Err.Error()
	}
	var nerr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &nerr) && nerr.Timeout():
		return "timeout", message
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection", message
	}
	var operr *net.OpError
	if errors.As(err, &operr) {
		return "connection", message
	}
	return "other", message
}

// slow is one of the slowest requests.
type slow struct {
	latency time.Duration
	url     string
	status  int
	traceID string
}

// slowHeap keeps the slowest requests seen so far with the fastest of them on top, so a
// new request only has to beat that one to get in.
type slowHeap []slow

func (h slowHeap) Len() int           { return len(h) }
func (h slowHeap) Less(i, j int) bool { return h[i].latency < h[j].latency }
func (h slowHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *slowHeap) Push(x any)        { *h = append(*h, x.(slow)) }
func (h *slowHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// sortedSlowest returns the slowest requests, slowest first.
func (r *recorder) sortedSlowest() []slow {
	out := append([]slow(nil), r.slowest...)
	sort.Slice(out, func(i, j int) bool { return out[i].latency > out[j].latency })
	return out
}
