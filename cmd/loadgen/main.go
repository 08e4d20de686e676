// Command loadgen puts the landscape under load through the edge and says what it saw:
// latency percentiles from an HDR histogram, throughput, status codes, errors by kind, and
// the trace ids of the slowest requests, each with the `make trace` command that opens it.
// Load is where a tracing system earns its keep: the slowest requests of a run are the
// ones worth a look, and their traces say where the time went.
//
// Two load models:
//
//   - closed (the default): -c workers, each sending its next request as soon as the last
//     one answered. Simple and the most throughput, but a slow answer also delays the
//     requests behind it, so a stall looks shorter than users would feel it.
//   - open (-rate N): requests start on a fixed schedule, N per second, whatever the
//     answers do, with at most -c in flight. Latency counts from when a request was due to
//     start, not from when it could, so time spent waiting for a free slot is counted
//     (no coordinated omission). A start that begins only once the next one is due too
//     (1/rate behind schedule, at least 1ms) is counted late; starts the run ended before it
//     could make are counted missed.
//
// With -json the summary is one JSON object on stdout, for `make bench` and other scripts.
// Its field names are stable (fields may be added, none renamed); times are in seconds
// (_s) or milliseconds (_ms):
//
//	url                 the URL template, with {id}
//	ids                 the id range, e.g. "10000-10099"
//	model               "closed" or "open"
//	concurrency         -c: workers (closed) or the most requests in flight (open)
//	rate                -rate, 0 in the closed model
//	planned_requests    -n, 0 for a run by duration
//	planned_duration_s  -d, 0 for a run by count
//	warmup_s            -warmup (its requests are not counted)
//	elapsed_s           from the first start to the last answer
//	sent                requests started
//	responses           answers with a status, any status
//	ok                  2xx answers
//	errors              requests that got no answer (timeouts, connection errors, ...)
//	canceled            requests cut off by Ctrl-C, counted nowhere else
//	interrupted         true when Ctrl-C ended the run early
//	throughput_rps      responses per second of elapsed time
//	latency_ms          {min, mean, stddev, p50, p90, p99, p99_9, max} over the responses
//	status              {"200": n, ...}
//	error_breakdown     [{kind, message, count}], kind "timeout", "connection" or "other"
//	late_starts         open model: starts more than late_after_ms behind schedule
//	late_after_ms       open model: 1000/rate, at least 1
//	missed_starts       open model: starts due before the run ended that never began
//	behind_schedule_ms  open model: {p50, p99, max} of how far behind schedule starts were
//	slowest             [{trace_id, latency_ms, status, url, command}], slowest first
//
// The open model's fields are 0 in the closed model.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

const usage = `Usage: loadgen [-n count | -d duration] [-c concurrency] [-rate req/s] [flags]

Sends GET requests to the edge, account ids spread over -ids, and prints latency
percentiles, throughput, status codes, errors and the trace ids of the slowest requests.
Without -rate the load is closed: -c workers, each sending as soon as its last request
answered. With -rate it is open: requests start on schedule, at most -c in flight, and
latency counts from when each was due. Ctrl-C stops early and still prints the summary.

  loadgen -n 2000 -c 16
  loadgen -d 30s -c 32 -warmup 3s
  loadgen -d 10s -rate 300 -json
  loadgen -d 10s -baggage fault=slow-quote=300ms

Flags:
`

// defaultCount is the size of a run given neither -n nor -d: long enough for a p99 to
// mean something, short enough to finish in seconds.
const defaultCount = 1000

// options is what the flags asked for, checked.
type options struct {
	url         string // template with {id}
	idsText     string
	firstID     int
	lastID      int
	n           int           // 0: by duration
	duration    time.Duration // 0: by count
	concurrency int
	rate        float64 // 0: closed model
	warmup      time.Duration
	timeout     time.Duration
	insecure    bool
	slowest     int
	json        bool
	quiet       bool
	baggage     http.Header // uberctx-<key> headers every request carries (-baggage)
}

// run sends the load and prints the summary to stdout; the progress bar goes to stderr
// when it is a terminal. It returns an error only when the flags make no sense: a run
// whose requests all failed still succeeds, and its summary says why they failed.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	opts, err := parseOptions(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil // -h: the usage was the answer
	} else if err != nil {
		return err
	}
	urls := expand(opts.url, opts.firstID, opts.lastID)
	client := newClient(opts.insecure, opts.concurrency, opts.timeout)
	defer client.CloseIdleConnections()
	send := httpSender(client, opts.baggage)
	show := !opts.quiet && isTerminal(stderr)

	if opts.warmup > 0 {
		// The same load, thrown away: it opens the connections and warms every service's
		// caches and pools, so the measured run starts in the steady state.
		warm := newGenerator(realClock{}, send, urls, opts.concurrency, opts.rate, 0)
		bar := startProgress(stderr, show, "warm-up", warm, 0, opts.warmup)
		warm.run(ctx, 0, opts.warmup)
		bar.stop()
	}

	g := newGenerator(realClock{}, send, urls, opts.concurrency, opts.rate, opts.slowest)
	if ctx.Err() == nil {
		bar := startProgress(stderr, show, "load", g, opts.n, opts.duration)
		g.run(ctx, opts.n, opts.duration)
		bar.stop()
	}
	sum := g.summary(opts)
	sum.Interrupted = ctx.Err() != nil
	if opts.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}
	return sum.writeText(stdout)
}

// parseOptions reads the flags and rejects combinations that cannot mean anything, so a
// typo is a clear message instead of a run that measures something else.
func parseOptions(args []string, getenv func(string) string, stdout io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.StringVar(&o.url, "url", edgeURL(getenv)+"/api/accounts/{id}",
		"URL to request; {id} becomes an account id from -ids (default follows env EDGE_ADDR)")
	fs.StringVar(&o.idsText, "ids", "10000-10099", "account ids to spread the requests over: first-last, or one id")
	fs.IntVar(&o.n, "n", 0, fmt.Sprintf("number of requests (default %d when -d is not given)", defaultCount))
	fs.DurationVar(&o.duration, "d", 0, "run for this long instead of a number of requests, e.g. 30s")
	fs.IntVar(&o.concurrency, "c", 8, "closed model: workers; open model: the most requests in flight")
	fs.Float64Var(&o.rate, "rate", 0, "open model: start this many requests per second (0: closed model)")
	fs.DurationVar(&o.warmup, "warmup", 0, "send the same load this long first, without counting it")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "give up on one request after this long")
	fs.BoolVar(&o.insecure, "k", true, "accept the edge's self-signed certificate (-k=false to verify it)")
	fs.IntVar(&o.slowest, "slowest", 5, "list the trace ids of this many of the slowest requests")
	fs.BoolVar(&o.json, "json", false, "print the summary as JSON (fields in loadgen's package doc)")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress bar")
	fs.Func("baggage", "a baggage item every request carries, key=value (repeatable): -baggage fault=slow-quote=300ms",
		func(item string) error {
			key, value, ok := strings.Cut(item, "=")
			key = strings.TrimSpace(key)
			if !ok || key == "" || value == "" || strings.ContainsAny(key, " \t,;:/") {
				return fmt.Errorf("%q: want key=value, e.g. fault=retry-storm", item)
			}
			if o.baggage == nil {
				o.baggage = http.Header{}
			}
			// The Jaeger dialect: one header per item, its value URL-escaped.
			o.baggage.Set("uberctx-"+strings.ToLower(key), url.QueryEscape(value))
			return nil
		})
	// Errors go back to main, which prints them on stderr; only -h writes the usage.
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return o, err
	} else if err != nil {
		return o, fmt.Errorf("%w (loadgen -h lists the flags)", err)
	}

	var err error
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected arguments %q (loadgen -h lists the flags)", fs.Args())
	case o.n != 0 && o.duration != 0:
		return o, errors.New("give -n (a number of requests) or -d (a duration), not both")
	case o.n < 0:
		return o, fmt.Errorf("-n %d: want a positive number of requests", o.n)
	case o.duration < 0:
		return o, fmt.Errorf("-d %v: want a positive duration", o.duration)
	case o.concurrency < 1:
		return o, fmt.Errorf("-c %d: want at least 1", o.concurrency)
	case o.rate < 0 || o.rate != o.rate: // NaN is not a rate either
		return o, fmt.Errorf("-rate %v: want a positive number of requests per second, or 0 for the closed model", o.rate)
	case o.warmup < 0:
		return o, fmt.Errorf("-warmup %v: want a positive duration", o.warmup)
	case o.timeout <= 0:
		return o, fmt.Errorf("-timeout %v: want a positive duration", o.timeout)
	case o.slowest < 0:
		return o, fmt.Errorf("-slowest %d: want 0 or more", o.slowest)
	}
	if o.firstID, o.lastID, err = parseIDs(o.idsText); err != nil {
		return o, err
	}
	if err := checkURL(o.url); err != nil {
		return o, err
	}
	if o.n == 0 && o.duration == 0 {
		o.n = defaultCount
	}
	return o, nil
}

// parseIDs reads "10000-10099" or "10042".
func parseIDs(s string) (first, last int, err error) {
	a, b, isRange := strings.Cut(s, "-")
	if !isRange {
		b = a
	}
	first, err1 := strconv.Atoi(strings.TrimSpace(a))
	last, err2 := strconv.Atoi(strings.TrimSpace(b))
	switch {
	case err1 != nil || err2 != nil || first < 0:
		return 0, 0, fmt.Errorf("-ids %q: want first-last, e.g. 10000-10099, or one id", s)
	case first > last:
		return 0, 0, fmt.Errorf("-ids %q: the first id is above the last", s)
	}
	return first, last, nil
}

// checkURL catches a template that cannot become a request before any load is sent.
func checkURL(template string) error {
	u, err := url.Parse(strings.ReplaceAll(template, "{id}", "1"))
	if err != nil {
		return fmt.Errorf("-url %q: %w", template, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-url %q: want an http:// or https:// URL, e.g. https://localhost:8765/api/accounts/{id}", template)
	}
	return nil
}

// edgeURL is where a local edge answers: it follows EDGE_ADDR as the landscape does, so
// `EDGE_ADDR=:9443 make run` and loadgen agree without another flag.
func edgeURL(getenv func(string) string) string {
	const def = "https://localhost:8765"
	addr := getenv("EDGE_ADDR")
	if addr == "" {
		return def
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return def
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "https://" + net.JoinHostPort(host, port)
}

// expand turns the template into one URL per id, once, so the hot loop only picks one.
func expand(template string, first, last int) []string {
	if !strings.Contains(template, "{id}") {
		return []string{template}
	}
	urls := make([]string, 0, last-first+1)
	for id := first; id <= last; id++ {
		urls = append(urls, strings.ReplaceAll(template, "{id}", strconv.Itoa(id)))
	}
	return urls
}
