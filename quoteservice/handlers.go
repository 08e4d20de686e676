package main

import (
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opentracing/opentracing-go"

	"tracelab/common/faults"
	"tracelab/common/respond"
	"tracelab/common/tracing"
)

// MaxStrength bounds the CPU one request may ask to burn: 100 is about 100 ms of a core
// with SHA instructions (BenchmarkBurn measures it), which is plenty to see in a trace
// and little enough to stay a demo.
const MaxStrength = 100

var errBadStrength = fmt.Errorf("strength must be a whole number from 0 to %d", MaxStrength)

// servedBy names this process in answers.
var servedBy = respond.ServedBy(serviceName)

// handleQuote answers GET /api/quote?strength=N&language=xx with the quote of the day.
// strength burns CPU in a child span, so the trace shows the time spent where it is spent.
func handleQuote(log *slog.Logger, quotes *quoteBook) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		strength, err := parseStrength(r.URL.Query().Get("strength"))
		if err != nil {
			log.InfoContext(ctx, "bad request", "err", err)
			respond.Error(w, http.StatusBadRequest, err.Error())
			return
		}
		language := r.URL.Query().Get("language")
		if language == "" {
			language = "en"
		}
		if !quotes.has(language) {
			log.InfoContext(ctx, "bad request: unknown language")
			respond.Error(w, http.StatusBadRequest,
				"language must be one of "+strings.Join(quotes.languages(), ", "))
			return
		}
		slowQuote(ctx) // lab 2: the slow-quote fault
		if !hangForQuoteTimeout(ctx) {
			log.InfoContext(ctx, "caller gave up", "fault", faults.QuoteTimeout)
			w.WriteHeader(statusClientClosedRequest)
			return
		}
		if strength > 0 {
			span, _ := tracing.StartChild(ctx, "burn cpu")
			span.SetTag("strength", strength)
			burn(span, strength)
			span.Finish()
		}
		respond.JSON(w, http.StatusOK, Quote{
			Text:     quotes.ofTheDay(language, time.Now()),
			Language: language,
			ServedBy: servedBy,
		})
	})
}

// parseStrength reads the strength parameter; empty means 0.
func parseStrength(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > MaxStrength {
		return 0, errBadStrength
	}
	return n, nil
}

// burn hashes in a loop, about a millisecond of one core per unit of strength, and records
// the rounds it did on the span. A round is some 90 ns where the CPU has SHA instructions
// (most x86 and arm64 chips since 2017), a few times that where it has not.
func burn(span opentracing.Span, strength int) {
	const roundsPerUnit = 10000
	sum := sha256.Sum256([]byte("tracelab"))
	rounds := strength * roundsPerUnit
	for range rounds {
		sum = sha256.Sum256(sum[:])
	}
	span.SetTag("rounds", rounds)
	_ = sum
}
