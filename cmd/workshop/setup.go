package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"tracelab/common/faults"
)

// setup prepares lab l: it records when the lab started (a check reads only newer
// traces), does what the lab needs beforehand, and says what to do next.
func setup(ctx context.Context, e env, l lab) error {
	old, _ := loadState(e, l)
	st := state{Started: time.Now(), Hints: old.Hints}
	out := e.stdout
	curl := "curl -k -i " + e.edgeURL
	switch l.n {
	case 1:
		fmt.Fprintf(out, "Read a VIP account, then its trace:\n  %s/api/accounts/10000\n  make trace ID=<X-Trace-Id>\n", curl)
	case 2:
		st.Seed = nonce()[:6]
		fmt.Fprintf(out, "Your mystery is mystery=%s. Send requests that carry it:\n", st.Seed)
		fmt.Fprintf(out, "  %s/api/accounts/10001 -H 'uberctx-fault: mystery=%s'\n", curl, st.Seed)
		fmt.Fprintf(out, "  %s/api/accounts/10001/transactions -H 'uberctx-fault: mystery=%s'\n", curl, st.Seed)
		fmt.Fprintf(out, "  make loadgen ARGS=\"-n 200 -baggage fault=mystery=%s\"\n", st.Seed)
		fmt.Fprintf(out, "Then: make check LAB=2 ANSWER=\"<service> <fault>\"   (make fault lists the faults)\n")
	case 3:
		reads, transactions, err := lab3Traffic(ctx, e)
		if err != nil {
			return err
		}
		a, b := gradeStaircase(reads), gradeNPlusOne(transactions)
		st.Before = strings.Join(append(a.figures, b.figures...), "; ")
		fmt.Fprintf(out, "With the code as it is: %s\n", st.Before)
		fmt.Fprintf(out, "Change accountservice, rebuild and restart (Ctrl-C, make run), then: make check LAB=3\n")
	case 4:
		traces, err := lab4Traffic(ctx, e, 3)
		if err != nil {
			return err
		}
		st.Ops = imageOps(traces)
		fmt.Fprintf(out, "imageservice's spans today, on %s: %s\n", lab4Path, strings.Join(st.Ops, ", "))
		fmt.Fprintf(out, "Add yours, rebuild and restart (Ctrl-C, make run), then: make check LAB=4\n")
	case 5:
		fmt.Fprintf(out, "Send VIP reads, several at once, with the backlog on for them only:\n")
		fmt.Fprintf(out, "  make loadgen ARGS=\"-n 8 -c 8 -ids 10000 -baggage fault=%s\"\n", faults.QueueBacklog)
		fmt.Fprintf(out, "Then: make check LAB=5 ANSWER=<the longest wait in the queue, in ms>\n")
	case 6:
		ids, err := lab6Traffic(ctx, e)
		if err != nil {
			return err
		}
		st.Traces = ids
		fmt.Fprintf(out, "Sent %d requests. One of them got its answer without a quote: find its log lines.\n", len(ids))
		fmt.Fprintf(out, "Then: make check LAB=6 ANSWER=<its trace id>\n")
	case 7:
		fmt.Fprintf(out, "Restart make run with a sampler, e.g.:\n  JAEGER_SAMPLER_TYPE=probabilistic JAEGER_SAMPLER_PARAM=0.25 make run\n")
		fmt.Fprintf(out, "Then: make check LAB=7 ANSWER=0.25   (or ANSWER=2/s for JAEGER_SAMPLER_TYPE=ratelimiting JAEGER_SAMPLER_PARAM=2)\n")
	case 8:
		fmt.Fprintf(out, "Count the spans of one regular read:\n  %s/api/accounts/10001\n  make trace ID=<X-Trace-Id>\n", curl)
		fmt.Fprintf(out, "Then: make check LAB=8 ANSWER=<spans>\n")
	case 9:
		id, span := nonce()+nonce()+nonce()[:8], nonce()+nonce()[:4]
		fmt.Fprintf(out, "Start a trace of your own, in Zipkin's B3 headers:\n")
		fmt.Fprintf(out, "  %s/api/accounts/10000 -H 'X-B3-TraceId: %s' -H 'X-B3-SpanId: %s' -H 'X-B3-Sampled: 1'\n", curl, id, span)
		fmt.Fprintf(out, "Then: make check LAB=9 ANSWER=%s\n", id)
	case 10:
		fmt.Fprintf(out, "Make the service, call it from accountservice's GET /accounts/{id}/greeting, restart:\n")
		fmt.Fprintf(out, "  make new-service NAME=%s\n  (Ctrl-C, make run)\n  %s%s\n", lab10Service, curl, lab10Path)
		fmt.Fprintf(out, "Then: make check LAB=10\n")
	case 11:
		id, _, err := get(ctx, e, lab11Path, nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "Read a VIP account with the landscape as it runs now: trace %s.\n", id)
		fmt.Fprintf(out, "Move one service to OpenTelemetry, then all (Ctrl-C in the make run terminal, then):\n")
		fmt.Fprintf(out, "  ACCOUNTSERVICE_TRACING_SDK=otel make run\n  TRACING_SDK=otel make run\n")
		fmt.Fprintf(out, "and after each the same request:\n  %s%s\n  make trace ID=<X-Trace-Id>\n", curl, lab11Path)
		fmt.Fprintf(out, "Then: make check LAB=11\n")
	}
	if err := saveState(e, l, st); err != nil {
		return err
	}
	fmt.Fprintf(out, "(lab %d set up at %s; its check reads only traces from now on)\n", l.n, st.Started.Format(time.TimeOnly))
	return nil
}

// lab6Traffic sends ten reads, the seventh with quote-timeout=3s for it alone (accountservice gives up after 2s): that one is
// answered without a quote, slowly, and accountservice logs a warning with its trace.id.
func lab6Traffic(ctx context.Context, e env) ([]string, error) {
	var ids []string
	for i := range 10 {
		header := map[string]string(nil)
		if i == 6 {
			header = map[string]string{"uberctx-fault": string(faults.QuoteTimeout) + "=3s"}
		}
		id, _, err := get(ctx, e, fmt.Sprintf("/api/accounts/%d", 10001+i+i/9), header) // 10001-10009, 10011: no VIP
		if err != nil {
			return nil, err
		}
		if id != "" {
			ids = append(ids, id)
		}
	}
	return ids, nil
}
