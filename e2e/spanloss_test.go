package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Under load, the Jaeger client buffers spans in a queue and drops them when it is full.
// TestNoSpanIsLost sends spanLossRequests requests through the edge, 16 at a time, and then
// counts, trace by trace, that Jaeger holds every span: 11 for a VIP account, 8 otherwise.
const (
	spanLossRequests    = 2000
	spanLossConcurrency = 16
)

func TestNoSpanIsLost(t *testing.T) {
	t.Parallel()
	type sent struct {
		traceID string
		want    int
	}
	results := make([]sent, spanLossRequests)
	var failures sync.Map
	jobs := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range spanLossConcurrency {
		wg.Go(func() {
			for i := range jobs {
				id := 10000 + i%100 // spread over the seeded accounts; every 10th is a VIP
				resp, err := edgeClient.Get(edgeURL + "/api/accounts/" + strconv.Itoa(id))
				if err != nil {
					failures.Store(i, err.Error())
					continue
				}
				_ = readAll(resp)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failures.Store(i, resp.Status)
					continue
				}
				want := regularTrace().count()
				if id%10 == 0 {
					want = vipTrace().count()
				}
				results[i] = sent{resp.Header.Get("X-Trace-Id"), want}
			}
		})
	}
	for i := range spanLossRequests {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	failures.Range(func(k, v any) bool {
		t.Errorf("request %v failed: %v", k, v)
		return true
	})
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("%d requests at concurrency %d in %v (%.0f req/s)", spanLossRequests, spanLossConcurrency,
		elapsed.Round(time.Millisecond), float64(spanLossRequests)/elapsed.Seconds())

	// Every trace, read back until complete or until the deadline: spans arrive a flush
	// interval after they finish.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var (
		mu          sync.Mutex
		incomplete  []string
		missing     int
		wantSpans   int
		checked     = make(chan sent)
		readerGroup sync.WaitGroup
	)
	for range 8 {
		readerGroup.Go(func() {
			for s := range checked {
				got := 0
				for {
					tr, err := jaeger.Trace(ctx, s.traceID)
					if err == nil {
						got = len(tr.Spans)
					}
					if got >= s.want || ctx.Err() != nil {
						break
					}
					time.Sleep(500 * time.Millisecond)
				}
				mu.Lock()
				wantSpans += s.want
				if got != s.want {
					missing += s.want - got
					incomplete = append(incomplete, fmt.Sprintf("%s: %d of %d spans", s.traceID, got, s.want))
				}
				mu.Unlock()
			}
		})
	}
	for _, s := range results {
		checked <- s
	}
	close(checked)
	readerGroup.Wait()

	t.Logf("Jaeger holds %d traces; %d spans expected, %d missing", len(results), wantSpans, missing)
	if len(incomplete) > 0 {
		t.Errorf("%d of %d traces are incomplete (%d spans missing); the first: %v",
			len(incomplete), len(results), missing, incomplete[:min(5, len(incomplete))])
	}
}
