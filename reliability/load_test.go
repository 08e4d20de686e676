package reliability

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// result is what one request of a load got.
type result struct {
	id      string // the account read
	vip     bool   // a VIP account: its read publishes an event
	status  int    // 0 when no answer came
	traceID string // X-Trace-Id of the answer
	whole   bool   // a 200 with the quote and the image
	err     error
}

// isVIP tells the seeded VIP accounts: every tenth from 10000 (accountservice's seed).
func isVIP(id int) bool { return (id-10000)%10 == 0 }

// load sends requests through the edge from workers goroutines, each waiting pause between
// its requests, until ctx is done, and returns every result. The ids cycle over the seeded
// accounts, so a tenth of the reads are VIP reads.
func (l *testLandscape) load(ctx context.Context, workers int, pause time.Duration) []result {
	var (
		mu      sync.Mutex
		results []result
		wg      sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			for n := w; ctx.Err() == nil; n += workers {
				id := 10000 + n%100
				r := l.read(id)
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
				select {
				case <-ctx.Done():
				case <-time.After(pause):
				}
			}
		})
	}
	wg.Wait()
	return results
}

// read is one request of a load.
func (l *testLandscape) read(id int) result {
	r := result{id: strconv.Itoa(id), vip: isVIP(id)}
	req, _ := http.NewRequest(http.MethodGet, l.edge+"/api/accounts/"+r.id, nil)
	resp, err := edgeClient.Do(req)
	if err != nil {
		r.err = err
		return r
	}
	defer resp.Body.Close()
	r.status, r.traceID = resp.StatusCode, resp.Header.Get("X-Trace-Id")
	var acc account
	if err := json.NewDecoder(resp.Body).Decode(&acc); err != nil {
		r.err = fmt.Errorf("answer %d is not JSON: %w", resp.StatusCode, err)
		return r
	}
	r.whole = resp.StatusCode == http.StatusOK && acc.Quote != nil && acc.ImageData != nil
	return r
}

// loadSummary counts a load's results for the test's messages and RELIABILITY.md.
type loadSummary struct {
	sent, ok, whole, degraded, failed int
	vipOK                             int            // VIP reads answered 200: events that must arrive
	statuses                          map[int]int    // status -> count (0: no answer)
	vipTraces                         map[string]int // X-Trace-Id of each VIP read answered 200
}

func summarize(results []result) loadSummary {
	s := loadSummary{statuses: map[int]int{}, vipTraces: map[string]int{}}
	for _, r := range results {
		s.sent++
		s.statuses[r.status]++
		switch {
		case r.status == http.StatusOK && r.whole:
			s.ok++
			s.whole++
		case r.status == http.StatusOK:
			s.ok++
			s.degraded++
		default:
			s.failed++
		}
		if r.vip && r.status == http.StatusOK {
			s.vipOK++
			s.vipTraces[r.traceID]++
		}
	}
	return s
}

func (s loadSummary) String() string {
	return fmt.Sprintf("%d sent, %d answered 200 (%d whole, %d degraded), %d not; statuses %v; %d VIP reads answered 200",
		s.sent, s.ok, s.whole, s.degraded, s.failed, s.statuses, s.vipOK)
}

// vipRecords reads, from the landscape's log, how many times vipservice recorded the event
// of each trace: the line "vip event recorded" carries the trace id of the request whose
// VIP read published the event.
func (l *testLandscape) vipRecords(t *testing.T) map[string]int {
	t.Helper()
	f, err := os.Open(l.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		name, js, ok := strings.Cut(sc.Text(), "| ")
		if !ok || strings.TrimSpace(name) != "vipservice" || !strings.Contains(js, `"vip event recorded"`) {
			continue
		}
		var line struct {
			Message string `json:"message"`
			TraceID string `json:"trace.id"`
		}
		if err := json.Unmarshal([]byte(js), &line); err == nil && line.Message == "vip event recorded" {
			records[line.TraceID]++
		}
	}
	return records
}

// vipCounts is vipservice's GET /vips, the part the suite reads.
type vipCounts struct {
	Processed    int64 `json:"processed"`
	Duplicates   int64 `json:"duplicates"`
	DeadLettered int64 `json:"deadLettered"`
}

func (l *testLandscape) vipCounts(t *testing.T) vipCounts {
	t.Helper()
	resp, err := http.Get(l.vips + "/vips")
	if err != nil {
		t.Fatalf("GET /vips: %v", err)
	}
	defer resp.Body.Close()
	var c vipCounts
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatalf("GET /vips: %v", err)
	}
	return c
}

// assertEveryEventOnce waits until vipservice has recorded the event of every VIP read
// answered 200, then checks that none was recorded twice, and that no event appeared that
// no request made (at most the reads that got no answer: the service may have written
// their event before it died). It returns vipservice's counts.
func (l *testLandscape) assertEveryEventOnce(t *testing.T, s loadSummary, unanswered int) vipCounts {
	t.Helper()
	start := time.Now()
	deadline := start.Add(90 * time.Second)
	var missing []string
	for {
		records := l.vipRecords(t)
		missing = missing[:0]
		for trace := range s.vipTraces {
			if records[trace] == 0 {
				missing = append(missing, trace)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d VIP reads answered 200 have no event recorded by vipservice (lost), e.g. trace %s",
			len(missing), len(s.vipTraces), missing[0])
	} else {
		t.Logf("the events of all %d VIP reads answered 200 were recorded %v after the load ended",
			len(s.vipTraces), time.Since(start).Round(100*time.Millisecond))
	}
	// Redeliveries come late, if they come: give them a moment to show up twice.
	time.Sleep(2 * time.Second)
	records := l.vipRecords(t)
	extra := 0
	for trace, n := range records {
		if n > 1 {
			t.Errorf("the event of trace %s was recorded %d times, want once", trace, n)
		}
		if s.vipTraces[trace] == 0 {
			extra++
		}
	}
	if extra > unanswered {
		t.Errorf("%d events recorded that no answered read made, want at most the %d reads that got no answer", extra, unanswered)
	}
	c := l.vipCounts(t)
	if c.Processed != int64(len(records)) {
		t.Errorf("/vips processed = %d, want the %d distinct events recorded", c.Processed, len(records))
	}
	return c
}
