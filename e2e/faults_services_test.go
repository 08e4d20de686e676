package e2e

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"tracelab/internal/jaegerapi"
)

// The shapes the planted faults of accountservice, imageservice and vipservice leave in a
// trace, as Jaeger stores them: each fault switched on for one request by the fault baggage
// item (uberctx-fault), and the same request without it, where nothing of the shape is
// left. The workshop's labs describe these shapes; these tests hold them to it.
//
// None of these tests is parallel: Go runs them before the parallel tests of the suite, so
// a slow or failing request here never shares a service with theirs.

// faultHeader switches spec on for one request.
func faultHeader(spec string) map[string]string { return map[string]string{"uberctx-fault": spec} }

// withFault expects s to carry the tag fault=name (and the baggage, on a server span).
func withFault(s span, name string) span { return s.with("fault=" + name) }

// assertNoFault checks that no span of tr says fault, or received a fault baggage item:
// a request without the fault makes the trace it always made.
func assertNoFault(t *testing.T, tr jaegerapi.Trace) {
	t.Helper()
	for _, s := range tr.Spans {
		for _, key := range []string{"fault", "baggage.fault"} {
			if v, ok := s.Tag(key); ok {
				t.Errorf("trace %s: span %s %q has tag %s=%s, want none without the fault", tr.TraceID, tr.Service(s), s.OperationName, key, v)
			}
		}
	}
}

// spansOf returns the spans of service named op, by start time.
func spansOf(tr jaegerapi.Trace, service, op string) []jaegerapi.Span {
	var out []jaegerapi.Span
	for _, s := range tr.Spans {
		if tr.Service(s) == service && s.OperationName == op {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartTime < out[j].StartTime })
	return out
}

// one returns the only span of service named op, failing the test when there is not one.
func one(t *testing.T, tr jaegerapi.Trace, service, op string) jaegerapi.Span {
	t.Helper()
	spans := spansOf(tr, service, op)
	if len(spans) != 1 {
		t.Fatalf("trace %s: %d spans %s %q, want 1", tr.TraceID, len(spans), service, op)
	}
	return spans[0]
}

// childrenOf returns the spans whose first reference is parent, by start time.
func childrenOf(tr jaegerapi.Trace, parent jaegerapi.Span) []jaegerapi.Span {
	var out []jaegerapi.Span
	for _, s := range tr.Spans {
		if len(s.References) > 0 && s.References[0].SpanID == parent.SpanID {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartTime < out[j].StartTime })
	return out
}

func end(s jaegerapi.Span) int64 { return s.StartTime + s.Duration }

// TestFaultSequentialCalls: with the fault, the same eight spans as a regular read, the
// server span tagged fault=sequential-calls, and the image call starts after the quote call
// ended: a staircase. Without it, the two calls overlap.
func TestFaultSequentialCalls(t *testing.T) {
	_, _, id := get(t, "/api/accounts/10001", faultHeader("sequential-calls"))
	want := withBaggage(edgeRoot(200, client("edge", "accountservice", 200,
		withFault(server("accountservice", "GET /accounts/{id}", 200,
			internal("accountservice", "bolt get account"),
			client("accountservice", "quoteservice", 200, server("quoteservice", "GET /api/quote", 200)),
			client("accountservice", "imageservice", 200, server("imageservice", "GET /accounts/{id}", 200)),
		), "sequential-calls"))), "fault=sequential-calls")
	tr := waitForTrace(t, id, want.count())
	assertTrace(t, tr, want)
	quote, image := one(t, tr, "accountservice", "GET quoteservice"), one(t, tr, "accountservice", "GET imageservice")
	if image.StartTime < end(quote) {
		t.Errorf("the image call began at %d µs, before the quote call ended (%d µs): want a staircase", image.StartTime, end(quote))
	}

	_, _, id = get(t, "/api/accounts/10001", nil)
	tr = waitForTrace(t, id, regularTrace().count())
	assertTrace(t, tr, regularTrace())
	assertCallsConcurrent(t, tr)
	assertNoFault(t, tr)
}

// transactionsRead is the trace of GET /api/accounts/{id}/transactions with these
// children under accountservice's server span (beside its account read).
func transactionsRead(children ...span) span {
	return server("edge", "GET /api/accounts/{id}/transactions", 200,
		client("edge", "accountservice", 200,
			server("accountservice", "GET /accounts/{id}/transactions", 200,
				append([]span{internal("accountservice", "bolt get account")}, children...)...))).root()
}

// TestFaultNPlusOne: account 10003 has 13 transactions. Without the fault, they are read
// in one span; with it, one span lists the keys and thirteen identical siblings read one
// transaction each, every one tagged fault=n-plus-one. The answer is the same.
func TestFaultNPlusOne(t *testing.T) {
	const n = 13
	resp, plain, id := get(t, "/api/accounts/10003/transactions", nil)
	if resp.StatusCode != http.StatusOK || strings.Count(plain, `"amountCents"`) != n {
		t.Fatalf("GET /api/accounts/10003/transactions = %d %s, want 200 with %d transactions", resp.StatusCode, plain, n)
	}
	want := transactionsRead(internal("accountservice", "bolt list transactions").with("transactions=" + strconv.Itoa(n)))
	tr := waitForTrace(t, id, want.count())
	assertTrace(t, tr, want)
	assertNoFault(t, tr)

	resp, body, id := get(t, "/api/accounts/10003/transactions", faultHeader("n-plus-one"))
	if resp.StatusCode != http.StatusOK || stripServedBy(body) != stripServedBy(plain) {
		t.Errorf("GET /api/accounts/10003/transactions with n-plus-one = %d %s, want the answer without: %s", resp.StatusCode, body, plain)
	}
	children := []span{withFault(internal("accountservice", "bolt list transaction keys"), "n-plus-one")}
	for range n {
		children = append(children, withFault(internal("accountservice", "bolt get transaction"), "n-plus-one"))
	}
	want = transactionsRead(children...)
	want.children[0].children[0] = withFault(want.children[0].children[0], "n-plus-one") // accountservice's server span
	want = withBaggage(want, "fault=n-plus-one")
	tr = waitForTrace(t, id, want.count())
	assertTrace(t, tr, want)
	// One after the other: each read starts after the one before it ended.
	reads := spansOf(tr, "accountservice", "bolt get transaction")
	for i := 1; i < len(reads); i++ {
		if reads[i].StartTime < end(reads[i-1]) {
			t.Errorf("bolt get transaction %d began before %d ended: want one read after the other", i, i-1)
		}
	}
}

// stripServedBy drops the servedBy field, which names the process and is the same here.
func stripServedBy(body string) string {
	i := strings.Index(body, `"servedBy"`)
	if i < 0 {
		return body
	}
	return body[:i]
}

// TestFaultRetryStorm: imageservice fails the first three attempts (retry-storm=3), and
// accountservice makes four calls, one right after the other: four sibling client spans,
// the first three error=true with a 503 and the last a 200, each with imageservice's
// server span under it numbering the attempt. The answer has its image. Without the
// fault, the regular trace.
func TestFaultRetryStorm(t *testing.T) {
	resp, body, id := get(t, "/api/accounts/10001", faultHeader("retry-storm=3"))
	assertAccount(t, resp, body, "10001", true)
	tr := waitForTrace(t, id, regularTrace().count()+6)
	if len(tr.Spans) != regularTrace().count()+6 {
		t.Errorf("trace %s has %d spans, want %d: the regular eight and three failed calls with their server spans", id, len(tr.Spans), regularTrace().count()+6)
	}
	server := one(t, tr, "accountservice", "GET /accounts/{id}")
	for k, v := range map[string]string{"fault": "retry-storm", "image.attempts": "4", "http.status_code": "200"} {
		if got, _ := server.Tag(k); got != v {
			t.Errorf("accountservice server span tag %s = %q, want %q", k, got, v)
		}
	}
	attempts := spansOf(tr, "accountservice", "GET imageservice")
	if len(attempts) != 4 {
		t.Fatalf("accountservice calls to imageservice = %d, want 4", len(attempts))
	}
	for i, a := range attempts {
		if a.References[0].SpanID != server.SpanID {
			t.Errorf("attempt %d is no child of accountservice's server span: want siblings", i+1)
		}
		if i > 0 && a.StartTime < end(attempts[i-1]) {
			t.Errorf("attempt %d began before attempt %d ended", i+1, i)
		}
		status, wantErr := "503", "true"
		if i == 3 {
			status, wantErr = "200", ""
		}
		if got, _ := a.Tag("http.status_code"); got != status {
			t.Errorf("attempt %d http.status_code = %q, want %s", i+1, got, status)
		}
		if got, _ := a.Tag("error"); got != wantErr {
			t.Errorf("attempt %d error = %q, want %q", i+1, got, wantErr)
		}
		callee := childrenOf(tr, a)
		if len(callee) != 1 || tr.Service(callee[0]) != "imageservice" {
			t.Errorf("attempt %d has %d children, want imageservice's server span", i+1, len(callee))
			continue
		}
		if got, _ := callee[0].Tag("retry.attempt"); got != strconv.Itoa(i+1) {
			t.Errorf("attempt %d: imageservice's span says retry.attempt=%q", i+1, got)
		}
		if got, _ := callee[0].Tag("fault"); got != "retry-storm" {
			t.Errorf("attempt %d: imageservice's span fault = %q, want retry-storm", i+1, got)
		}
	}

	_, _, id = get(t, "/api/accounts/10001", nil)
	tr = waitForTrace(t, id, regularTrace().count())
	assertTrace(t, tr, regularTrace())
	assertNoFault(t, tr)
}

// TestFaultVIPErrors: a VIP account fails in accountservice (500, error=true, after the
// bolt read and before any call), tagged account.vip=true and fault=vip-errors; a regular
// account with the same fault is served, account.vip=false, untagged. Without the fault
// the VIP account is served.
func TestFaultVIPErrors(t *testing.T) {
	resp, body, id := get(t, "/api/accounts/10020", faultHeader("vip-errors"))
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, `"error"`) {
		t.Errorf("GET /api/accounts/10020 with vip-errors = %d %s, want 500 with a JSON error", resp.StatusCode, body)
	}
	want := withBaggage(edgeRoot(500, client("edge", "accountservice", 500,
		server("accountservice", "GET /accounts/{id}", 500,
			internal("accountservice", "bolt get account").with("found=true")).with("fault=vip-errors", "account.vip=true"))),
		"fault=vip-errors")
	tr := waitForTrace(t, id, want.count())
	assertTrace(t, tr, want)
	if !loggedError(one(t, tr, "accountservice", "GET /accounts/{id}"), "vip-errors") {
		t.Errorf("accountservice's server span logs no error event naming vip-errors")
	}

	resp, body, id = get(t, "/api/accounts/10021", faultHeader("vip-errors"))
	assertAccount(t, resp, body, "10021", true)
	want = regularTrace()
	want.children[0].children[0] = want.children[0].children[0].with("account.vip=false")
	want.children[0].children[0].absent = append(want.children[0].children[0].absent, "fault")
	tr = waitForTrace(t, id, want.count())
	assertTrace(t, tr, want) // baggage.fault is on its spans, fault on none: the fault did not act

	resp, body, id = get(t, "/api/accounts/10020", nil)
	assertAccount(t, resp, body, "10020", true)
	want = vipTrace()
	want.children[0].children[0] = want.children[0].children[0].with("account.vip=true")
	tr = waitForTrace(t, id, want.count())
	assertTrace(t, tr, want)
	assertNoFault(t, tr)
}

// fileRead is the trace of GET /api/images/file/{name} with these children under
// imageservice's server span.
func fileRead(children ...span) span {
	return server("edge", "GET /api/images/file/{name}", 200,
		client("edge", "imageservice", 200,
			server("imageservice", "GET /file/{name}", 200, children...))).root()
}

// TestFaultLockContention sends four sepia filters at once with lock-contention=150ms:
// each trace has a "wait for filter lock" span before its filter, the filters of the four
// never overlap, and a request that waited says behind how many requests and which trace
// held the lock: one of the other three. Without the fault, no wait span.
func TestFaultLockContention(t *testing.T) {
	const requests = 4
	ids := make([]string, requests)
	var wg sync.WaitGroup
	for i := range requests {
		wg.Go(func() {
			resp, _, id := getNoFatal(t, "/api/images/file/sunset.png?filter=sepia", faultHeader("lock-contention=150ms"))
			if resp != nil && resp.StatusCode != http.StatusOK {
				t.Errorf("GET /api/images/file/sunset.png = %d, want 200", resp.StatusCode)
			}
			ids[i] = id
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	want := withBaggage(fileRead(
		internal("imageservice", "png decode"),
		withFault(internal("imageservice", "wait for filter lock"), "lock-contention"),
		withFault(internal("imageservice", "apply sepia filter"), "lock-contention").with("filter=sepia"),
		internal("imageservice", "png encode"),
	), "fault=lock-contention=150ms")
	want.children[0].children[0] = withFault(want.children[0].children[0], "lock-contention")
	var filters []jaegerapi.Span
	maxAhead, holders := 0, map[string]bool{}
	for _, id := range ids {
		tr := waitForTrace(t, id, want.count())
		assertTrace(t, tr, want)
		filters = append(filters, spansOf(tr, "imageservice", "apply sepia filter")...)
		for _, w := range spansOf(tr, "imageservice", "wait for filter lock") {
			ahead, _ := w.Tag("waiting.ahead")
			n, _ := strconv.Atoi(ahead)
			maxAhead = max(maxAhead, n)
			if n > 0 {
				holder := logField(w, "lock.holder")
				if !strings.HasPrefix(logField(w, "event"), "waiting for lock behind "+ahead+" requests") {
					t.Errorf("wait span of %s logs %v, want an event saying waiting for lock behind %s requests", id, w.Logs, ahead)
				}
				if holder != "none" { // the lock can be between two holders when a request arrives
					holders[holder] = true
				}
			}
		}
	}
	sort.Slice(filters, func(i, j int) bool { return filters[i].StartTime < filters[j].StartTime })
	for i := 1; i < len(filters); i++ {
		if filters[i].StartTime < end(filters[i-1]) {
			t.Errorf("filter %d began %d µs before filter %d ended: want one at a time", i, end(filters[i-1])-filters[i].StartTime, i-1)
		}
	}
	if maxAhead < 1 {
		t.Errorf("the most requests a waiting one was behind = %d, want at least 1 of %d at once", maxAhead, requests)
	}
	if len(holders) == 0 {
		t.Errorf("no wait span names the trace that held the lock (lock.holder)")
	}
	for holder := range holders {
		if !contains(ids, holder) {
			t.Errorf("a wait span names trace %q as the lock's holder, want one of the burst %v", holder, ids)
		}
	}

	_, _, id := get(t, "/api/images/file/sunset.png?filter=sepia", nil)
	want = fileRead(internal("imageservice", "png decode"), internal("imageservice", "apply sepia filter"), internal("imageservice", "png encode"))
	tr := waitForTrace(t, id, want.count())
	assertTrace(t, tr, want)
	assertNoFault(t, tr)
}

// getNoFatal is get for a goroutine of the test: it reports with Errorf instead of Fatal.
func getNoFatal(t *testing.T, path string, headers map[string]string) (*http.Response, string, string) {
	req, err := http.NewRequest(http.MethodGet, edgeURL+path, nil)
	if err != nil {
		t.Error(err)
		return nil, "", ""
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := edgeClient.Do(req)
	if err != nil {
		t.Errorf("GET %s: %v", path, err)
		return nil, "", ""
	}
	defer resp.Body.Close()
	body := readAll(resp)
	id := resp.Header.Get("X-Trace-Id")
	if id == "" {
		t.Errorf("GET %s: no X-Trace-Id header", path)
	}
	return resp, body, id
}

// logField is the value of the first log field key of s, "" when none.
func logField(s jaegerapi.Span, key string) string {
	for _, l := range s.Logs {
		for _, f := range l.Fields {
			if f.Key == key {
				return fmt.Sprint(f.Value)
			}
		}
	}
	return ""
}

func contains(ids []string, id string) bool {
	for _, x := range ids {
		if strings.TrimLeft(x, "0") == strings.TrimLeft(id, "0") {
			return true
		}
	}
	return false
}

// TestFaultImageLeak: with image-leak=65536 (64 MiB a request, the most), imageservice's
// server span is tagged and longer, and has no child span: the time is its self time.
// Without the fault, the same tree, untagged.
func TestFaultImageLeak(t *testing.T) {
	resp, body, id := get(t, "/api/accounts/10001", faultHeader("image-leak=65536"))
	assertAccount(t, resp, body, "10001", true)
	want := withBaggage(edgeRoot(200, client("edge", "accountservice", 200,
		server("accountservice", "GET /accounts/{id}", 200,
			internal("accountservice", "bolt get account"),
			client("accountservice", "quoteservice", 200, server("quoteservice", "GET /api/quote", 200)),
			client("accountservice", "imageservice", 200,
				withFault(server("imageservice", "GET /accounts/{id}", 200), "image-leak").with("leak.allocated_kib=65536")),
		))), "fault=image-leak=65536")
	tr := waitForTrace(t, id, want.count())
	assertTrace(t, tr, want) // exact: imageservice's server span has no child
	leaky := one(t, tr, "imageservice", "GET /accounts/{id}")
	// Allocating and writing 64 MiB in 1 KiB blocks takes milliseconds on any machine; the
	// plain handler takes tens of microseconds. A generous floor, not a benchmark.
	if leaky.Duration < 2000 {
		t.Errorf("imageservice's server span lasted %d µs with image-leak=65536, want at least 2000 µs of self time", leaky.Duration)
	}

	_, _, id = get(t, "/api/accounts/10001", nil)
	tr = waitForTrace(t, id, regularTrace().count())
	assertTrace(t, tr, regularTrace())
	assertNoFault(t, tr)
	if _, ok := one(t, tr, "imageservice", "GET /accounts/{id}").Tag("leak.allocated_kib"); ok {
		t.Errorf("imageservice's server span has leak.allocated_kib without the fault")
	}
}

// TestFaultQueueBacklog reads four VIP accounts at once with queue-backlog=400ms: each
// consumer span gets a "handle vip event slowly" child, and the events are handled one at
// a time, so the gap between the end of each producer span (accountservice's relay) and
// the start of its FOLLOWS_FROM consumer span grows by about 400ms per event. Without the
// fault, no slow span.
func TestFaultQueueBacklog(t *testing.T) {
	const delay = 400 * time.Millisecond
	accounts := []string{"10030", "10040", "10050", "10060"} // VIPs: every tenth account
	burst := func(headers map[string]string) []string {
		ids := make([]string, len(accounts))
		var wg sync.WaitGroup
		for i, acc := range accounts {
			wg.Go(func() {
				resp, _, id := getNoFatal(t, "/api/accounts/"+acc, headers)
				if resp != nil && resp.StatusCode != http.StatusOK {
					t.Errorf("GET /api/accounts/%s = %d, want 200", acc, resp.StatusCode)
				}
				ids[i] = id
			})
		}
		wg.Wait()
		return ids
	}

	ids := burst(faultHeader("queue-backlog=400ms"))
	if t.Failed() {
		return
	}
	want := vipTrace()
	rel := &want.children[0].children[0].children[3].children[0] // outbox write > publish
	rel.children[0] = withFault(rel.children[0], "queue-backlog")
	rel.children[0].children = append(rel.children[0].children, withFault(internal("vipservice", "handle vip event slowly"), "queue-backlog"))
	want = withBaggage(want, "fault=queue-backlog=400ms")
	type hop struct{ producerEnd, consumerStart int64 }
	var hops []hop
	for _, id := range ids {
		tr := waitForTrace(t, id, want.count())
		assertTrace(t, tr, want)
		pub := spansOf(tr, "accountservice", "publish "+vipQueue)
		con := spansOf(tr, "vipservice", "consume "+vipQueue)
		slow := spansOf(tr, "vipservice", "handle vip event slowly")
		if len(pub) != 1 || len(con) != 1 || len(slow) != 1 {
			continue // reported by assertTrace
		}
		if slow[0].Duration < delay.Microseconds() {
			t.Errorf("trace %s: handle vip event slowly lasted %d µs, want at least %d", id, slow[0].Duration, delay.Microseconds())
		}
		hops = append(hops, hop{end(pub[0]), con[0].StartTime})
	}
	if len(hops) != len(accounts) {
		t.Fatalf("%d of %d traces have their publish and consume spans", len(hops), len(accounts))
	}
	sort.Slice(hops, func(i, j int) bool { return hops[i].consumerStart < hops[j].consumerStart })
	var gaps []time.Duration
	for _, h := range hops {
		gaps = append(gaps, time.Duration(h.consumerStart-h.producerEnd)*time.Microsecond)
	}
	// One at a time, 400ms each: the last waited for the three before it. Half that, to
	// leave room for a slow machine and for the relay publishing the burst in two rounds.
	if grow, floor := gaps[len(gaps)-1]-gaps[0], time.Duration(len(accounts)-1)*delay/2; grow < floor {
		t.Errorf("gaps from publish end to consume start = %v: grew %v, want at least %v", gaps, grow, floor)
	}

	for _, id := range burst(nil) {
		tr := waitForTrace(t, id, vipTrace().count())
		assertTrace(t, tr, vipTrace())
		assertNoFault(t, tr)
	}
}
