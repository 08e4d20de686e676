package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"tracelab/internal/jaegerapi"
)

// The faults of quoteservice and of the edge, as Jaeger stores them: each trace has the
// shape the workshop's labs describe with the fault on (in baggage, or for everyone from
// the edge's admin listener), and none of it without. The assertions look at the spans a
// fault touches, by service and name, so that the rest of an account read may change.

// The account these tests read: not a VIP, so no message is sent beside the request.
const faultAccount = "/api/accounts/10001"

// faultSpans are the spans of tr that service reported under op.
func faultSpans(tr jaegerapi.Trace, service, op string) []jaegerapi.Span {
	var out []jaegerapi.Span
	for _, s := range tr.Spans {
		if tr.Service(s) == service && s.OperationName == op {
			out = append(out, s)
		}
	}
	return out
}

// oneSpan is the span of tr that service reported under op; the test fails unless there
// is exactly one.
func oneSpan(t *testing.T, tr jaegerapi.Trace, service, op string) jaegerapi.Span {
	t.Helper()
	spans := faultSpans(tr, service, op)
	if len(spans) != 1 {
		t.Fatalf("trace %s has %d spans %q of %s, want 1; spans: %v", tr.TraceID, len(spans), op, service, spanNames(tr))
	}
	return spans[0]
}

func spanNames(tr jaegerapi.Trace) []string {
	var names []string
	for _, s := range tr.Spans {
		names = append(names, tr.Service(s)+": "+s.OperationName)
	}
	slices.Sort(names)
	return names
}

// parentID is the span id s is a child of ("" for a root).
func parentID(s jaegerapi.Span) string {
	if len(s.References) == 0 {
		return ""
	}
	return s.References[0].SpanID
}

// children are the spans of tr whose parent is s.
func children(tr jaegerapi.Trace, s jaegerapi.Span) []jaegerapi.Span {
	var out []jaegerapi.Span
	for _, c := range tr.Spans {
		if parentID(c) == s.SpanID {
			out = append(out, c)
		}
	}
	return out
}

// faultTagged lists the spans of tr that carry a fault tag, as "service: op fault=value".
func faultTagged(tr jaegerapi.Trace) []string {
	var out []string
	for _, s := range tr.Spans {
		if v, ok := s.Tag("fault"); ok {
			out = append(out, fmt.Sprintf("%s: %s fault=%s", tr.Service(s), s.OperationName, v))
		}
	}
	return out
}

// logged reports whether one of s's log events contains text.
func logged(s jaegerapi.Span, text string) bool {
	for _, l := range s.Logs {
		for _, f := range l.Fields {
			if strings.Contains(fmt.Sprint(f.Value), text) {
				return true
			}
		}
	}
	return false
}

// ms is a Jaeger duration or offset (µs) as a time.Duration.
func ms(us int64) time.Duration { return time.Duration(us) * time.Microsecond }

// faultTraceSpans is how many spans an account read of faultAccount has (the regular
// trace): waitForTrace waits for them.
var faultTraceSpans = regularTrace().count()

// readWithFault reads faultAccount with the fault item in baggage ("" for none) and
// returns the stored trace and how long the answer took.
func readWithFault(t *testing.T, fault string) (jaegerapi.Trace, string, time.Duration) {
	t.Helper()
	headers := map[string]string{}
	if fault != "" {
		headers["uberctx-fault"] = fault
	}
	start := time.Now()
	resp, body, id := get(t, faultAccount, headers)
	took := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s with fault %q = %d %s, want 200", faultAccount, fault, resp.StatusCode, body)
	}
	return waitForTrace(t, id, faultTraceSpans), body, took
}

// TestFaultSlowQuote: slow-quote=300ms is self time of quoteservice's GET /api/quote, no
// child span, tagged fault=slow-quote; slow-quote=<strength> is a "burn cpu" child span,
// tagged too. Without the fault, no span has a fault tag.
func TestFaultSlowQuote(t *testing.T) {
	t.Parallel()
	t.Run("latency", func(t *testing.T) {
		tr, _, took := readWithFault(t, "slow-quote=300ms")
		quote := oneSpan(t, tr, "quoteservice", "GET /api/quote")
		if v, _ := quote.Tag("fault"); v != "slow-quote" {
			t.Errorf("quoteservice GET /api/quote tag fault = %q, want slow-quote", v)
		}
		if d := ms(quote.Duration); d < 300*time.Millisecond {
			t.Errorf("quoteservice GET /api/quote took %v, want 300ms or more", d)
		}
		if c := children(tr, quote); len(c) != 0 {
			t.Errorf("quoteservice GET /api/quote has %d child spans, want none: the sleep is self time", len(c))
		}
		if got := faultTagged(tr); len(got) != 1 {
			t.Errorf("spans tagged fault = %v, want quoteservice's GET /api/quote alone", got)
		}
		edge := oneSpan(t, tr, "edge", "GET /api/accounts/{id...}")
		if v, _ := edge.Tag("baggage.fault"); v != "slow-quote=300ms" {
			t.Errorf("edge server span tag baggage.fault = %q, want slow-quote=300ms", v)
		}
		if took < 300*time.Millisecond {
			t.Errorf("the answer took %v, want 300ms or more", took)
		}
	})
	t.Run("cpu", func(t *testing.T) {
		tr, _, _ := readWithFault(t, "slow-quote=20")
		quote := oneSpan(t, tr, "quoteservice", "GET /api/quote")
		burn := oneSpan(t, tr, "quoteservice", "burn cpu")
		if parentID(burn) != quote.SpanID {
			t.Errorf("burn cpu's parent is %s, want quoteservice's GET /api/quote %s", parentID(burn), quote.SpanID)
		}
		for _, s := range []jaegerapi.Span{quote, burn} {
			if v, _ := s.Tag("fault"); v != "slow-quote" {
				t.Errorf("quoteservice %s tag fault = %q, want slow-quote", s.OperationName, v)
			}
		}
		if v, _ := burn.Tag("strength"); v != "20" {
			t.Errorf("burn cpu tag strength = %q, want 20", v)
		}
	})
	t.Run("off", func(t *testing.T) {
		tr, _, _ := readWithFault(t, "")
		if got := faultTagged(tr); len(got) != 0 {
			t.Errorf("spans tagged fault = %v, want none without the fault", got)
		}
		quote := oneSpan(t, tr, "quoteservice", "GET /api/quote")
		if c := children(tr, quote); len(c) != 0 {
			t.Errorf("quoteservice GET /api/quote has children %v without the fault, want none", c)
		}
	})
}

// TestFaultQuoteTimeout: quoteservice hangs, accountservice's call timeout (2s) fires, its
// client span says so, and the account comes without a quote.
func TestFaultQuoteTimeout(t *testing.T) {
	t.Parallel()
	tr, body, took := readWithFault(t, "quote-timeout")
	var acc struct {
		ID    string          `json:"id"`
		Quote json.RawMessage `json:"quote"`
	}
	if err := json.Unmarshal([]byte(body), &acc); err != nil || acc.ID != "10001" || acc.Quote != nil {
		t.Errorf("account with quote-timeout = %s (%v), want account 10001 without a quote", body, err)
	}
	if took < 2*time.Second || took > 4500*time.Millisecond {
		t.Errorf("the answer took %v, want about accountservice's call timeout, 2s", took)
	}
	call := oneSpan(t, tr, "accountservice", "GET quoteservice")
	if v, _ := call.Tag("error"); v != "true" {
		t.Errorf("accountservice GET quoteservice tag error = %q, want true", v)
	}
	if !loggedError(call, "timeout after 2s") || !loggedError(call, "context deadline exceeded") {
		t.Errorf("accountservice GET quoteservice logs %v, want an error saying timeout after 2s (context deadline exceeded)", call.Logs)
	}
	if _, ok := call.Tag("http.status_code"); ok {
		t.Errorf("accountservice GET quoteservice has an http.status_code, want none: no answer came")
	}
	quote := oneSpan(t, tr, "quoteservice", "GET /api/quote")
	if v, _ := quote.Tag("fault"); v != "quote-timeout" {
		t.Errorf("quoteservice GET /api/quote tag fault = %q, want quote-timeout", v)
	}
	if !logged(quote, "the caller gave up") {
		t.Errorf("quoteservice GET /api/quote logs %v, want \"the caller gave up\"", quote.Logs)
	}
	if parentID(quote) != call.SpanID {
		t.Errorf("quoteservice's span has parent %s, want accountservice's call %s", parentID(quote), call.SpanID)
	}
	account := oneSpan(t, tr, "accountservice", "GET /accounts/{id}")
	if v, _ := account.Tag("http.status_code"); v != "200" {
		t.Errorf("accountservice GET /accounts/{id} status %q, want 200: the answer is degraded, not failed", v)
	}
	for _, sp := range []jaegerapi.Span{account, oneSpan(t, tr, "edge", "GET /api/accounts/{id...}")} {
		if v, ok := sp.Tag("error"); ok {
			t.Errorf("%s tag error = %q, want none: the account was served", sp.OperationName, v)
		}
	}
}

// TestFaultEdgePool: with edge-pool=1, concurrent calls wait for the edge's one upstream
// slot: every edge server span is tagged fault=edge-pool and logs its wait, and in the
// call that waited longest the client span GET accountservice starts well after the
// server span. slow-quote=200ms rides along, so that each call holds the slot a while.
func TestFaultEdgePool(t *testing.T) {
	t.Parallel()
	const calls = 4
	ids := make([]string, calls)
	var wg sync.WaitGroup
	for i := range calls {
		wg.Go(func() {
			resp, body, id := get(t, faultAccount, map[string]string{"uberctx-fault": "edge-pool=1,slow-quote=200ms"})
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s with edge-pool = %d %s, want 200", faultAccount, resp.StatusCode, body)
			}
			ids[i] = id
		})
	}
	wg.Wait()
	var longestGap time.Duration
	for _, id := range ids {
		tr := waitForTrace(t, id, faultTraceSpans)
		server := oneSpan(t, tr, "edge", "GET /api/accounts/{id...}")
		client := oneSpan(t, tr, "edge", "GET accountservice")
		if v, _ := server.Tag("fault"); v != "edge-pool" {
			t.Errorf("edge server span tag fault = %q, want edge-pool", v)
		}
		if !logged(server, "for an upstream connection") {
			t.Errorf("edge server span logs %v, want \"waited N ms for an upstream connection, M ahead\"", server.Logs)
		}
		if parentID(client) != server.SpanID {
			t.Errorf("edge client span's parent %s, want the edge server span %s", parentID(client), server.SpanID)
		}
		longestGap = max(longestGap, ms(client.StartTime-server.StartTime))
	}
	// The last in line waited for three calls of 200ms or more each: 150ms is generous.
	if longestGap < 150*time.Millisecond {
		t.Errorf("longest gap between the edge server span and its client span = %v, want 150ms or more", longestGap)
	}

	tr, _, _ := readWithFault(t, "")
	server := oneSpan(t, tr, "edge", "GET /api/accounts/{id...}")
	if _, ok := server.Tag("fault"); ok || logged(server, "for an upstream connection") {
		t.Errorf("edge server span without the fault: tags %v, logs %v; want no fault tag and no wait", server.Tags, server.Logs)
	}
}

// adminURL is the suite's edge admin listener.
func adminURL() string { return "http://" + ports["EDGE_ADMIN_ADDR"] + "/faults" }

// putFaults sends PUT /faults?<query> to the edge's admin listener and returns what each
// service has on for everyone afterwards.
func putFaults(t *testing.T, query string) map[string]string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, adminURL()+"?"+query, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PUT /faults?%s: %v", query, err)
	}
	defer resp.Body.Close()
	var answer struct {
		Services []struct {
			Service string `json:"service"`
			Error   string `json:"error"`
			State   *struct {
				Active string `json:"active"`
			} `json:"state"`
		} `json:"services"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT /faults?%s = %d (%v) %+v, want 200 from every service", query, resp.StatusCode, err, answer)
	}
	active := map[string]string{}
	for _, s := range answer.Services {
		if s.State == nil {
			t.Fatalf("PUT /faults?%s: %s answered %q, want its state", query, s.Service, s.Error)
		}
		active[s.Service] = s.State.Active
	}
	return active
}

// TestFaultAdminSwitch is not parallel: a fault switched on for everyone reaches every
// request, and Go runs this test before the parallel ones start. PUT ?set=slow-quote
// through the edge's admin listener reaches every service and every request, with no
// baggage; ?clear=all restores them.
func TestFaultAdminSwitch(t *testing.T) {
	t.Cleanup(func() { putFaults(t, "clear=all") })
	active := putFaults(t, "set=slow-quote")
	want := map[string]string{"edge": "slow-quote=300ms", "accountservice": "slow-quote=300ms",
		"quoteservice": "slow-quote=300ms", "imageservice": "slow-quote=300ms", "vipservice": "slow-quote=300ms"}
	if !mapsEqual(active, want) {
		t.Errorf("PUT /faults?set=slow-quote: active = %v, want %v", active, want)
	}
	for _, svc := range []string{"edge", "quoteservice"} {
		if h := healthFaults(t, svc); h != "slow-quote=300ms" {
			t.Errorf("%s /healthz faults.active = %q, want slow-quote=300ms", svc, h)
		}
	}
	tr, _, took := readWithFault(t, "")
	quote := oneSpan(t, tr, "quoteservice", "GET /api/quote")
	if v, _ := quote.Tag("fault"); v != "slow-quote" || ms(quote.Duration) < 300*time.Millisecond || took < 300*time.Millisecond {
		t.Errorf("with slow-quote on for everyone: quoteservice span fault=%q, %v, answer in %v; want slow-quote, 300ms or more",
			v, ms(quote.Duration), took)
	}
	if _, ok := oneSpan(t, tr, "edge", "GET /api/accounts/{id...}").Tag("baggage.fault"); ok {
		t.Errorf("the edge span has a baggage.fault tag, want none: the fault is on for everyone, not in baggage")
	}

	if active := putFaults(t, "clear=all"); !mapsEqual(active, map[string]string{"edge": "", "accountservice": "",
		"quoteservice": "", "imageservice": "", "vipservice": ""}) {
		t.Errorf("PUT /faults?clear=all: active = %v, want nothing anywhere", active)
	}
	tr, _, _ = readWithFault(t, "")
	if got := faultTagged(tr); len(got) != 0 {
		t.Errorf("after clear=all, spans tagged fault = %v, want none", got)
	}
}

// healthFaults is faults.active in service's /healthz.
func healthFaults(t *testing.T, service string) string {
	t.Helper()
	base := land.URL(service)
	client := http.DefaultClient
	if service == "edge" {
		client = edgeClient
	}
	resp, err := client.Get(base + "/healthz")
	if err != nil {
		t.Fatalf("GET %s/healthz: %v", base, err)
	}
	defer resp.Body.Close()
	var h struct {
		Faults struct {
			Active string `json:"active"`
		} `json:"faults"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatalf("GET %s/healthz: %v", base, err)
	}
	return h.Faults.Active
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// stream is one load stream's requests: trace ids and latencies.
type stream struct {
	mu        sync.Mutex
	ids       []string
	latencies []time.Duration
	failures  []string
}

// load sends account reads from workers goroutines for d, each request with the fault
// item (none when fault is ""), pausing pause between a worker's requests.
func (s *stream) load(fault string, workers int, d, pause time.Duration) {
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				path := "/api/accounts/" + strconv.Itoa(10001+(w+i)%9) // 10001-10009: no VIP
				req, _ := http.NewRequest(http.MethodGet, edgeURL+path, nil)
				if fault != "" {
					req.Header.Set("uberctx-fault", fault)
				}
				start := time.Now()
				resp, err := edgeClient.Do(req)
				took := time.Since(start)
				s.mu.Lock()
				switch {
				case err != nil:
					s.failures = append(s.failures, err.Error())
				case resp.StatusCode != http.StatusOK:
					s.failures = append(s.failures, resp.Status)
				default:
					s.ids = append(s.ids, resp.Header.Get("X-Trace-Id"))
					s.latencies = append(s.latencies, took)
				}
				s.mu.Unlock()
				if resp != nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				time.Sleep(pause)
			}
		})
	}
	wg.Wait()
}

// complete reports whether every trace holds the spans of an account read.
func complete(traces []jaegerapi.Trace) bool {
	for _, tr := range traces {
		if len(tr.Spans) < faultTraceSpans {
			return false
		}
	}
	return true
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestIsolationFaultInBaggage is the per-request promise of the fault baggage item: two
// load streams through the edge at the same time, one with slow-quote=300ms in baggage,
// one without. Every trace of the first has the fault (tag and shape), none of the second
// has, and the second stays fast. Not parallel: the load would slow the other tests down.
func TestIsolationFaultInBaggage(t *testing.T) {
	const workers, d = 8, 3 * time.Second
	start := time.Now()
	var slow, fast stream
	var wg sync.WaitGroup
	wg.Go(func() { slow.load("slow-quote=300ms", workers, d, 0) })
	wg.Go(func() { fast.load("", workers, d, 20*time.Millisecond) })
	wg.Wait()
	end := time.Now()
	for name, s := range map[string]*stream{"with the fault": &slow, "without": &fast} {
		if len(s.failures) > 0 || len(s.ids) < workers {
			t.Fatalf("stream %s: %d answers, failures %v; want %d or more, none failed", name, len(s.ids), s.failures, workers)
		}
	}

	// Latency: the first stream sleeps 300ms in quoteservice, the second must not.
	if m := median(slow.latencies); m < 300*time.Millisecond {
		t.Errorf("median latency with the fault = %v, want 300ms or more", m)
	}
	if mSlow, mFast := median(slow.latencies), median(fast.latencies); mFast > mSlow/2 {
		t.Errorf("median latency without the fault = %v, with it %v: want the second far below the first", mFast, mSlow)
	}

	// Every trace of the first stream has the fault, tag and shape, and none of the
	// second: the traces Jaeger holds with the fault tag in the window are exactly the
	// first stream's (the search returns them whole), and a sample of the second's has none.
	tagged := searchTraces(t, "quoteservice", `{"fault":"slow-quote"}`, start, end.Add(2*time.Second), len(slow.ids))
	sent := map[string]bool{}
	for _, id := range slow.ids {
		sent[strings.TrimLeft(id, "0")] = true // Jaeger pads ids; X-Trace-Id does not
	}
	for _, tr := range tagged {
		if !sent[strings.TrimLeft(tr.TraceID, "0")] {
			t.Errorf("trace %s has fault=slow-quote but was not sent with the fault", tr.TraceID)
			continue
		}
		quote := oneSpan(t, tr, "quoteservice", "GET /api/quote")
		if v, _ := quote.Tag("fault"); v != "slow-quote" || ms(quote.Duration) < 300*time.Millisecond {
			t.Errorf("trace %s (with the fault): quoteservice span fault=%q, took %v; want slow-quote, 300ms or more",
				tr.TraceID, v, ms(quote.Duration))
		}
		if len(tr.Spans) != faultTraceSpans {
			t.Errorf("trace %s (with the fault) has %d spans, want %d: %v", tr.TraceID, len(tr.Spans), faultTraceSpans, spanNames(tr))
		}
	}
	if len(tagged) != len(slow.ids) {
		t.Errorf("Jaeger holds %d traces tagged fault=slow-quote in the window, want the first stream's %d", len(tagged), len(slow.ids))
	}
	for _, id := range fast.ids[:min(len(fast.ids), 20)] {
		tr, err := jaeger.Trace(context.Background(), id) // flushed by now: the search waited
		if err != nil || len(tr.Spans) < faultTraceSpans {
			tr = waitForTrace(t, id, faultTraceSpans)
		}
		if got := faultTagged(tr); len(got) != 0 {
			t.Errorf("trace %s (without the fault): spans tagged fault = %v, want none", id, got)
		}
		for _, s := range tr.Spans {
			if v, ok := s.Tag("baggage.fault"); ok {
				t.Errorf("trace %s (without the fault): %s carries baggage.fault=%q, want none", id, s.OperationName, v)
			}
		}
	}
	t.Logf("with the fault: %d requests, median %v; without: %d requests, median %v",
		len(slow.ids), median(slow.latencies), len(fast.ids), median(fast.latencies))
}

// searchTraces asks Jaeger for the traces of service with tags (JSON) between start and
// end, until it has want of them or 30 s have passed (spans come a flush later).
func searchTraces(t *testing.T, service, tags string, start, end time.Time, want int) []jaegerapi.Trace {
	t.Helper()
	q := url.Values{
		"service": {service},
		"tags":    {tags},
		"start":   {strconv.FormatInt(start.UnixMicro(), 10)},
		"end":     {strconv.FormatInt(end.UnixMicro(), 10)},
		"limit":   {"5000"},
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, land.Jaeger+"/api/traces?"+q.Encode(), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			cancel()
			t.Fatalf("searching Jaeger: %v", err)
		}
		var envelope struct {
			Data []jaegerapi.Trace `json:"data"`
		}
		err = json.NewDecoder(resp.Body).Decode(&envelope)
		resp.Body.Close()
		cancel()
		if err != nil {
			t.Fatalf("searching Jaeger: %v", err)
		}
		if len(envelope.Data) >= want || time.Now().After(deadline) {
			// A trace is returned once one span matches: give the rest of its spans a flush.
			if complete(envelope.Data) || time.Now().After(deadline) {
				return envelope.Data
			}
		}
		time.Sleep(time.Second)
	}
}
