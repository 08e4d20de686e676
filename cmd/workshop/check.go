package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"tracelab/common/faults"
	"tracelab/internal/jaegerapi"
)

// check runs lab l's check and prints its verdict. ok is false for ✗; err is for what
// kept the check from deciding at all (no setup, no Jaeger), which is a ✗ too.
func check(ctx context.Context, e env, l lab, answer string) (bool, error) {
	st, err := mustBeSetUp(e, l)
	if err != nil {
		return false, err
	}
	var v verdict
	switch l.n {
	case 1:
		v, err = checkReadTrace(ctx, e, st, answer)
	case 2:
		v, err = checkMystery(ctx, e, st, answer)
	case 3:
		v, err = checkFixInCode(ctx, e, st)
	case 4:
		v, err = checkNewSpan(ctx, e, st)
	case 5:
		v, err = checkLag(ctx, e, st, answer)
	case 6:
		v, err = checkDegraded(ctx, e, st, answer)
	case 7:
		v, err = checkSampling(ctx, e, answer)
	case 8:
		v, err = checkSpanCount(ctx, e, answer)
	case 9:
		v, err = checkB3(ctx, e, st, answer)
	case 10:
		v, err = checkNewService(ctx, e)
	case 11:
		v, err = checkSameTrees(ctx, e, st)
	}
	if err != nil {
		return false, err
	}
	mark := "✗"
	if v.ok {
		mark = "✓"
	}
	fmt.Fprintf(e.stdout, "%s lab %d: %s\n", mark, l.n, strings.Join(v.figures, "; "))
	if !v.ok && v.hint != "" {
		fmt.Fprintf(e.stdout, "  hint: %s\n  (make hint LAB=%d for more)\n", v.hint, l.n)
	}
	return v.ok, nil
}

// since searches service's traces that started after the lab's setup. A service reports
// its spans up to a second after it finished them, so a search that finds nothing is
// tried again for a few seconds: a learner checks right after the last request.
func since(ctx context.Context, e env, st state, service string, tags map[string]string) ([]jaegerapi.Trace, error) {
	q := jaegerapi.Query{Service: service, Tags: tags, Start: st.Started, Limit: 500}
	deadline := time.Now().Add(3 * time.Second)
	for {
		traces, err := jaegerClient(e).Search(ctx, q)
		if err != nil || len(traces) > 0 || time.Now().After(deadline) {
			return traces, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func checkReadTrace(ctx context.Context, e env, st state, answer string) (verdict, error) {
	traces, err := since(ctx, e, st, "vipservice", nil)
	if err != nil {
		return verdict{}, err
	}
	if len(traces) == 0 {
		return failf("read a VIP account through the edge: curl -k -i "+e.edgeURL+"/api/accounts/10000",
			"no VIP trace since the setup (%s)", st.Started.Format(time.TimeOnly)), nil
	}
	t, err := settled(ctx, e, traces[len(traces)-1].TraceID)
	if err != nil {
		return verdict{}, err
	}
	return gradeReadTrace(t, answer), nil
}

// settled reads a trace until its span count stops growing: the services report their
// spans in batches, up to a second apart, and lab 1 counts them.
func settled(ctx context.Context, e env, id string) (jaegerapi.Trace, error) {
	j := jaegerClient(e)
	t, err := j.Trace(ctx, id)
	for range 5 {
		if err != nil {
			return t, err
		}
		select {
		case <-ctx.Done():
			return t, ctx.Err()
		case <-time.After(1200 * time.Millisecond):
		}
		again, err2 := j.Trace(ctx, id)
		if err2 == nil && len(again.Spans) == len(t.Spans) {
			return again, nil
		}
		t, err = again, err2
	}
	return t, err
}

func checkMystery(ctx context.Context, e env, st state, answer string) (verdict, error) {
	traces, err := since(ctx, e, st, "edge", map[string]string{"baggage.fault": string(faults.Mystery) + "=" + st.Seed})
	if err != nil {
		return verdict{}, err
	}
	return gradeMystery(st.Seed, answer, len(traces)), nil
}

// lab 3 sends its own requests with the faults on: the learner changed the code behind
// them, so the fault's code path is the one that must not make a staircase any more.
const (
	lab3Read         = "/api/accounts/10001"
	lab3Transactions = "/api/accounts/10001/transactions"
	lab3Requests     = 20
)

func lab3Traffic(ctx context.Context, e env) (reads, transactions []jaegerapi.Trace, err error) {
	ids, err := sendAll(ctx, e, lab3Requests, lab3Read, map[string]string{"uberctx-fault": string(faults.SequentialCalls)})
	if err != nil {
		return nil, nil, err
	}
	bothCalls := func(t jaegerapi.Trace) bool { _, found := overlap(t); return found }
	if reads, err = fetchAll(ctx, e, ids, bothCalls); err != nil {
		return nil, nil, err
	}
	ids, err = sendAll(ctx, e, lab3Requests, lab3Transactions, map[string]string{"uberctx-fault": string(faults.NPlusOne)})
	if err != nil {
		return nil, nil, err
	}
	transactions, err = fetchAll(ctx, e, ids, func(t jaegerapi.Trace) bool { return len(spansOf(t, "accountservice", "")) > 1 })
	return reads, transactions, err
}

func checkFixInCode(ctx context.Context, e env, st state) (verdict, error) {
	reads, transactions, err := lab3Traffic(ctx, e)
	if err != nil {
		return verdict{}, err
	}
	a, b := gradeStaircase(reads), gradeNPlusOne(transactions)
	v := verdict{ok: a.ok && b.ok, figures: append(a.figures, b.figures...)}
	if st.Before != "" {
		v.figures = append(v.figures, "at setup: "+st.Before)
	}
	v.hint = a.hint
	if v.hint == "" {
		v.hint = b.hint
	}
	return v, nil
}

// lab 4 reads a picture through the edge: imageservice's GET /file/{name}.
const lab4Path = "/api/images/file/sunset.png?filter=sepia"

func imageOps(traces []jaegerapi.Trace) []string {
	var ops []string
	for _, t := range traces {
		for _, s := range spansOf(t, "imageservice", "") {
			if !contains(ops, s.OperationName) {
				ops = append(ops, s.OperationName)
			}
		}
	}
	return ops
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func lab4Traffic(ctx context.Context, e env, n int) ([]jaegerapi.Trace, error) {
	ids, err := sendAll(ctx, e, n, lab4Path, nil)
	if err != nil {
		return nil, err
	}
	return fetchAll(ctx, e, ids, func(t jaegerapi.Trace) bool { return len(spansOf(t, "imageservice", "")) >= 4 })
}

func checkNewSpan(ctx context.Context, e env, st state) (verdict, error) {
	traces, err := lab4Traffic(ctx, e, 10)
	if err != nil {
		return verdict{}, err
	}
	return gradeNewSpan(traces, st.Ops), nil
}

func checkLag(ctx context.Context, e env, st state, answer string) (verdict, error) {
	// No tag to search by: Jaeger v2 keeps span.kind apart from the tags, and the fault's
	// baggage reads as the learner sent it (queue-backlog, queue-backlog=300ms...).
	traces, err := since(ctx, e, st, "vipservice", nil)
	if err != nil {
		return verdict{}, err
	}
	return gradeLag(traces, answer), nil
}

func checkDegraded(ctx context.Context, e env, st state, answer string) (verdict, error) {
	// Each read is graded on accountservice's quote call: wait until that span is in.
	quoteCall := func(t jaegerapi.Trace) bool { return len(spansOf(t, "accountservice", "GET quoteservice")) > 0 }
	traces, err := fetchAll(ctx, e, st.Traces, quoteCall)
	if err != nil {
		return verdict{}, err
	}
	return gradeDegraded(traces, answer), nil
}

// lab 7 sends its own requests, marked with a baggage item of their own, and counts
// those Jaeger stored: sampled ones only reach it.
const lab7Requests = 100

func checkSampling(ctx context.Context, e env, answer string) (verdict, error) {
	mark := nonce()
	started := time.Now()
	header := map[string]string{"uberctx-lab": mark}
	tick := time.NewTicker(40 * time.Millisecond) // 25 requests a second: a rate limit shows
	defer tick.Stop()
	for range lab7Requests {
		if _, _, err := get(ctx, e, "/api/accounts/10001", header); err != nil {
			return verdict{}, err
		}
		<-tick.C
	}
	debugID := "lab7-" + mark
	if _, _, err := get(ctx, e, "/api/accounts/10001", map[string]string{"jaeger-debug-id": debugID}); err != nil {
		return verdict{}, err
	}
	elapsed := time.Since(started)
	time.Sleep(2 * time.Second) // the edge reports its spans within a second
	j := jaegerClient(e)
	stored, err := j.Search(ctx, jaegerapi.Query{Service: "edge", Tags: map[string]string{"baggage.lab": mark}, Start: started, Limit: 1000})
	if err != nil {
		return verdict{}, err
	}
	debug, err := j.Search(ctx, jaegerapi.Query{Service: "edge", Tags: map[string]string{"jaeger-debug-id": debugID}, Start: started})
	if err != nil {
		return verdict{}, err
	}
	return gradeSampling(lab7Requests, len(stored), elapsed, len(debug) > 0, answer), nil
}

func checkSpanCount(ctx context.Context, e env, answer string) (verdict, error) {
	ids, err := sendAll(ctx, e, 1, "/api/accounts/10001", nil) // a regular account (VIPs are 10000, 10010, ...)
	if err != nil {
		return verdict{}, err
	}
	if len(ids) == 0 {
		return failf("restart make run without a sampler setting (lab 7's)", "the check's read was not sampled"), nil
	}
	traces, err := fetchAll(ctx, e, ids, func(t jaegerapi.Trace) bool { return len(t.Spans) >= 8 })
	if err != nil {
		return verdict{}, err
	}
	return gradeSpanCount(traces[0], answer), nil
}

func checkB3(ctx context.Context, e env, st state, answer string) (verdict, error) {
	id := strings.ToLower(strings.TrimSpace(answer))
	if id == "" {
		return failf("answer the trace id you sent in X-B3-TraceId: ANSWER=<32 hex digits>", "no answer"), nil
	}
	t, err := jaegerClient(e).Trace(ctx, id)
	if err != nil {
		return failf("send the request of the lab, with your own X-B3-TraceId, then answer that id", "Jaeger has no trace %s", id), nil
	}
	return gradeB3(t, st.Started), nil
}

func nonce() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// lab 10 reads an account's greeting through the edge: accountservice's new route, which
// calls the new service.
const (
	lab10Service = "ledger"
	lab10Path    = "/api/accounts/10001/greeting"
)

// checkNewService sends a few greetings, reads their traces and Jaeger's dependency graph
// of the last few minutes: the graph is computed from the traces Jaeger holds.
func checkNewService(ctx context.Context, e env) (verdict, error) {
	ids, err := sendAll(ctx, e, 5, lab10Path, nil)
	if err != nil {
		return verdict{}, err
	}
	// Complete once the new service's spans and their parents are in: accountservice
	// reports its client span after ledger reported the server span below it.
	traces, err := fetchAll(ctx, e, ids, func(t jaegerapi.Trace) bool {
		servers := spansOf(t, lab10Service, "")
		for _, s := range servers {
			if _, ok := parent(t, s); !ok {
				return false
			}
		}
		return len(servers) > 0
	})
	if err != nil {
		return verdict{}, err
	}
	deps, err := jaegerClient(e).Dependencies(ctx, time.Now(), 10*time.Minute)
	if err != nil {
		return verdict{}, err
	}
	return gradeNewService(traces, deps), nil
}

// lab 11 reads a VIP account, the request that crosses every service and the queue.
const lab11Path = "/api/accounts/10000"

// checkSameTrees compares the learner's own traffic since the setup: the newest request
// made once wholly with the Jaeger client and once wholly with OpenTelemetry (the process
// tags say which), both traces read once whole.
func checkSameTrees(ctx context.Context, e env, st state) (verdict, error) {
	traces, err := since(ctx, e, st, "edge", nil)
	if err != nil {
		return verdict{}, err
	}
	j, o, v, ok := lab11Pair(traces)
	if !ok {
		return v, nil
	}
	if j, err = settled(ctx, e, j.TraceID); err != nil {
		return verdict{}, err
	}
	if o, err = settled(ctx, e, o.TraceID); err != nil {
		return verdict{}, err
	}
	return gradeSameTrees(j, o), nil
}
