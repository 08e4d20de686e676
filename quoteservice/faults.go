package main

import (
	"context"
	"time"

	"github.com/opentracing/opentracing-go"
	otlog "github.com/opentracing/opentracing-go/log"

	"tracelab/common/faults"
	"tracelab/common/tracing"
)

// The planted problems of quoteservice (common/faults has the catalogue). Each runs only
// when its fault is on for the request; off, quoteservice answers as it always did.

// slowQuote is the slow-quote fault, the slow dependency of lab 2 ("find the slowdown").
// Its value says how quoteservice gets slow, and the trace shows the two differently:
//
//   - a latency (slow-quote=300ms, the default): quoteservice just waits. Nothing is
//     instrumented there, as in a real service that waits on something untraced: the time
//     is self time of the server span GET /api/quote, which has no child span to explain it;
//   - a strength (slow-quote=40): quoteservice burns CPU in a child span "burn cpu", as
//     ?strength= does, tagged strength and rounds.
//
// Either way the span where the time goes carries fault=slow-quote (unless it is a mystery).
func slowQuote(ctx context.Context) {
	if !faults.On(ctx, faults.SlowQuote) { // tags the server span GET /api/quote
		return
	}
	if strength, ok := faults.CountOf(ctx, faults.SlowQuote); ok {
		span, _ := tracing.StartChild(ctx, "burn cpu")
		faults.Mark(ctx, span, faults.SlowQuote)
		span.SetTag("strength", strength)
		burn(span, strength)
		span.Finish()
		return
	}
	if d, ok := faults.DurationOf(ctx, faults.SlowQuote); ok {
		sleep(ctx, d)
	}
}

// hangForQuoteTimeout is the quote-timeout fault: quoteservice hangs for the fault's
// duration (5s unless given) or until its caller gives up, whichever comes first. With
// the default, accountservice's call timeout (ACCOUNTSERVICE_CALL_TIMEOUT, 2s) fires first:
// its client span "GET quoteservice" ends in error ("timeout after 2s") and the account
// comes without a quote. It returns false when the caller gave up: there is no one left to
// answer, and the server span says so in a log.
func hangForQuoteTimeout(ctx context.Context) (answer bool) {
	if !faults.On(ctx, faults.QuoteTimeout) { // tags the server span GET /api/quote
		return true
	}
	d, _ := faults.DurationOf(ctx, faults.QuoteTimeout)
	start := time.Now()
	if sleep(ctx, d) {
		return true
	}
	if span := opentracing.SpanFromContext(ctx); span != nil {
		span.LogFields(otlog.String("event", "the caller gave up"),
			otlog.String("waited", time.Since(start).Round(time.Millisecond).String()))
	}
	return false
}

// statusClientClosedRequest is nginx's 499, the status of an answer nobody waited for.
const statusClientClosedRequest = 499

// sleep waits for d, or until ctx ends (the caller hung up); it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
