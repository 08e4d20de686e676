// Command bench measures the landscape under load, with tracing on and off in the same run,
// and prints what a performance claim needs: throughput, latency percentiles, the on/off
// ratio, each process's peak memory, and whether any span was lost.
//
// The modes: "off" (JAEGER_DISABLED=true), "on" (traced by jaeger-client-go, the default
// TRACING_SDK) and "otel" (traced by the OpenTelemetry SDK behind its OpenTracing bridge,
// TRACING_SDK=otel, sending OTLP to Jaeger's :4318).
//
// For each mode it starts the landscape as `make run` does,
// warms it up, loads the edge with bin/loadgen (closed model, ids spread over the seeded
// accounts, keep-alive HTTPS), reads every service's peak RSS (VmHWM in /proc), stops the
// landscape, and reads the span counts each tracer logged when it closed, and the spans
// Jaeger accepted meanwhile (its own metrics on :8888).
//
// These machines drift 20-40% in speed from one minute to the next: compare figures from
// one run only. BENCHMARKS.md says how to set them beside ../shared/reference-chain.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"tracelab/internal/landscape"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Environ(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// services are the processes whose memory is reported, in the landscape's start order.
var services = []string{"quoteservice", "imageservice", "vipservice", "accountservice", "edge"}

// result is what one mode measured.
type result struct {
	Mode    string             `json:"mode"`
	Load    loadSummary        `json:"load"`
	PeakRSS map[string]int64   `json:"peak_rss_kib"`   // by process name
	CPU     map[string]float64 `json:"cpu_us_per_req"` // CPU time per answer, by process name
	Spans   spanCounts         `json:"spans"`
}

// loadSummary is the part of loadgen's -json output bench uses.
type loadSummary struct {
	Elapsed    float64            `json:"elapsed_s"`
	Sent       int64              `json:"sent"`
	Responses  int64              `json:"responses"`
	OK         int64              `json:"ok"`
	Errors     int64              `json:"errors"`
	Throughput float64            `json:"throughput_rps"`
	Latency    map[string]float64 `json:"latency_ms"`
	Status     map[string]int64   `json:"status"`
}

// spanCounts: what the services' tracers said at close, and what Jaeger accepted.
type spanCounts struct {
	Finished       int64 `json:"finished"`
	Reported       int64 `json:"reported"`
	Dropped        int64 `json:"dropped"`
	Unconfirmed    int64 `json:"unconfirmed"`     // sent, but the collector did not confirm them: maybe stored
	JaegerAccepted int64 `json:"jaeger_accepted"` // -1 when Jaeger's metrics could not be read
}

// Lost is every span that did not reach Jaeger, as far as anyone can tell. Jaeger's own
// count of what it accepted is the measure: a span the tracer could not confirm may have
// been stored all the same (a POST that timed out while Jaeger was paused, then went
// through). Without that count, every unconfirmed span counts as lost, the worst case.
func (s spanCounts) Lost() int64 {
	if s.JaegerAccepted < 0 {
		return s.Dropped + s.Unconfirmed
	}
	lost := s.Dropped
	if sent := s.Reported + s.Unconfirmed; sent > s.JaegerAccepted {
		lost += sent - s.JaegerAccepted
	}
	return lost
}

func run(ctx context.Context, args []string, environ []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	duration := fs.Duration("d", 10*time.Second, "measured load per mode")
	warmup := fs.Duration("warmup", 3*time.Second, "load before measuring, not counted")
	conc := fs.Int("c", 32, "concurrent connections (closed model)")
	modes := fs.String("modes", "off,on", "tracing modes to measure, in order: off, on (jaeger-client-go), otel (the OpenTelemetry SDK)")
	dir := fs.String("dir", ".", "the repository root (bin/ must be built)")
	jsonOut := fs.Bool("json", false, "print the results as JSON")
	refDir := fs.String("reference", "", "also run this reference chain (../shared/reference-chain) right before each mode: bare before off, traced before on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	root, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	var ref *reference
	if *refDir != "" {
		if ref, err = newReference(ctx, *refDir, root); err != nil {
			return err
		}
		defer os.RemoveAll(ref.bin)
	}
	var results []result
	refDone := map[string]bool{}
	for _, mode := range strings.Split(*modes, ",") {
		if _, ok := sdkOf[mode]; !ok {
			return fmt.Errorf("-modes: %q is not off, on or otel", mode)
		}
		refMode := map[string]string{"off": "bare", "on": "traced", "otel": "traced"}[mode]
		if ref != nil && !refDone[refMode] { // on and otel are set beside the same traced run
			refDone[refMode] = true
			fmt.Fprintf(os.Stderr, "bench: reference %s\n", refMode)
			r, err := ref.measure(ctx, root, refMode, *duration, *warmup, *conc)
			if err != nil {
				return fmt.Errorf("reference %s: %w", refMode, err)
			}
			results = append(results, r)
		}
		fmt.Fprintf(os.Stderr, "bench: tracing %s: starting the landscape\n", mode)
		r, err := measure(ctx, root, environ, mode, *duration, *warmup, *conc)
		if err != nil {
			return fmt.Errorf("tracing %s: %w", mode, err)
		}
		results = append(results, r)
	}
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	printResults(stdout, results, *duration, *conc)
	return nil
}

// sdkOf is the TRACING_SDK of each mode, "" for none; set always, so that a TRACING_SDK in
// the caller's shell cannot make "on" measure the other SDK.
var sdkOf = map[string]string{"off": "", "on": "jaeger", "otel": "otel"}

// traced says whether a mode records spans: every mode but off.
func traced(mode string) bool { return mode != "off" }

// modeName is how a mode's row is labelled: "tracing on", "tracing otel"; a reference's
// rows ("reference bare") are named already.
func modeName(mode string) string {
	if _, ok := sdkOf[mode]; ok {
		return "tracing " + mode
	}
	return mode
}

func measure(ctx context.Context, root string, environ []string, mode string, d, warmup time.Duration, conc int) (result, error) {
	res := result{Mode: mode, PeakRSS: map[string]int64{}}
	logFile, err := os.CreateTemp("", "bench-"+mode+"-*.log")
	if err != nil {
		return res, err
	}
	defer os.Remove(logFile.Name())
	defer logFile.Close()

	// No console: it would only take a core's share from what is measured, and its port.
	env := append(append([]string(nil), environ...), "JAEGER_DISABLED="+strconv.FormatBool(!traced(mode)), "CONSOLE_ADDR=off")
	if sdk := sdkOf[mode]; sdk != "" {
		env = append(env, "TRACING_SDK="+sdk)
	}
	land, err := landscape.Start(ctx, landscape.Config{Dir: root, Environ: env, Stdout: logFile})
	if err != nil {
		return res, err
	}
	stopped := false
	defer func() {
		if !stopped {
			land.Stop()
		}
	}()
	acceptedBefore := jaegerAcceptedSpans(mode)

	pids := land.PIDs()
	delete(pids, "landscape")
	if pid, ok := rabbitMQPID(); ok {
		pids["rabbitmq"] = pid
	}
	if res.Load, res.CPU, err = runLoad(ctx, root, land.URL("edge"), d, warmup, conc, pids); err != nil {
		return res, err
	}

	for name, pid := range land.PIDs() {
		if kib, err := peakRSS(pid); err == nil {
			res.PeakRSS[name] = kib
		}
	}
	land.Stop() // the services flush their spans and log their counts
	stopped = true
	if traced(mode) {
		time.Sleep(2 * time.Second) // Jaeger writes what it received
		res.Spans.JaegerAccepted = -1
		if after := jaegerAcceptedSpans(mode); after >= 0 && acceptedBefore >= 0 {
			res.Spans.JaegerAccepted = after - acceptedBefore
		}
	}
	if _, err := logFile.Seek(0, io.SeekStart); err != nil {
		return res, err
	}
	counts, err := tracerCounts(logFile)
	if err != nil {
		return res, err
	}
	res.Spans.Finished, res.Spans.Reported, res.Spans.Dropped, res.Spans.Unconfirmed =
		counts.Finished, counts.Reported, counts.Dropped, counts.Unconfirmed
	return res, nil
}

// peakRSS reads a process's high-water mark of resident memory, in KiB.
func peakRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, errors.New("no VmHWM")
}

// tracerCounts adds up the "tracer closed" lines the services log when they stop.
func tracerCounts(r io.Reader) (spanCounts, error) {
	var total spanCounts
	reports, err := landscape.TracerReports(r)
	for _, rep := range reports {
		total.Finished += rep.Finished
		total.Reported += rep.Reported
		total.Dropped += rep.Dropped
		total.Unconfirmed += rep.Unconfirmed
	}
	return total, err
}

// jaegerAcceptedSpans sums what Jaeger's receivers accepted so far, from the collector's
// own Prometheus metrics; -1 when they cannot be read (or tracing is off).
func jaegerAcceptedSpans(mode string) int64 {
	if !traced(mode) {
		return -1
	}
	resp, err := http.Get("http://localhost:8888/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var total float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "otelcol_receiver_accepted_spans") {
			continue
		}
		fields := strings.Fields(line)
		if v, err := strconv.ParseFloat(fields[len(fields)-1], 64); err == nil {
			total += v
		}
	}
	return int64(total)
}

func printResults(w io.Writer, results []result, d time.Duration, conc int) {
	fmt.Fprintf(w, "load: loadgen closed model, %d connections, %v per row, ids 10000-10099, through the HTTPS edge\n\n", conc, d)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\treq/s\tp50 ms\tp90 ms\tp99 ms\tp99.9 ms\tmax ms\tnon-2xx\terrors\tspans reported\tdropped\tunconfirmed\tlost\t")
	byMode := map[string]result{}
	for _, r := range results {
		byMode[r.Mode] = r
		l := r.Load
		spans := "-\t-\t-\t-"
		if _, ok := sdkOf[r.Mode]; ok && traced(r.Mode) {
			spans = fmt.Sprintf("%d\t%d\t%d\t%d", r.Spans.Reported, r.Spans.Dropped, r.Spans.Unconfirmed, r.Spans.Lost())
		}
		name := modeName(r.Mode)
		if name != r.Mode {
			name = "tracelab " + name
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%d\t%s\t\n", name, l.Throughput,
			l.Latency["p50"], l.Latency["p90"], l.Latency["p99"], l.Latency["p99_9"], l.Latency["max"],
			l.Responses-l.OK, l.Errors, spans)
	}
	tw.Flush()

	fmt.Fprintln(w, "\npeak RSS (MiB)")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "run\t")
	for _, s := range services {
		fmt.Fprintf(tw, "%s\t", s)
	}
	fmt.Fprintln(tw)
	for _, r := range results {
		if _, ok := sdkOf[r.Mode]; !ok {
			continue
		}
		fmt.Fprintf(tw, "%s\t", modeName(r.Mode))
		for _, s := range services {
			fmt.Fprintf(tw, "%.1f\t", float64(r.PeakRSS[s])/1024)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()

	fmt.Fprintln(w, "\nCPU per answer (µs), user+system, during the measured load")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	cols := []string{"edge", "accountservice", "quoteservice", "imageservice", "vipservice", "rabbitmq", "jaeger"}
	fmt.Fprintf(tw, "run\t%s\ttotal\t\n", strings.Join(cols, "\t"))
	refCols := map[string]string{"edge": "edge", "accountservice": "account", "quoteservice": "quote", "imageservice": "image"}
	for _, r := range results {
		name, total := modeName(r.Mode), 0.0
		fmt.Fprintf(tw, "%s\t", name)
		for _, c := range cols {
			v, ok := r.CPU[c]
			if !ok {
				v, ok = r.CPU[refCols[c]]
			}
			if !ok {
				fmt.Fprint(tw, "-\t")
				continue
			}
			total += v
			fmt.Fprintf(tw, "%.0f\t", v)
		}
		fmt.Fprintf(tw, "%.0f\t\n", total)
	}
	tw.Flush()

	fmt.Fprintln(w)
	for _, pair := range [][2]string{{"on", "off"}, {"otel", "off"}, {"otel", "on"}} {
		a, hasA := byMode[pair[0]]
		b, hasB := byMode[pair[1]]
		if hasA && hasB && b.Load.Throughput > 0 {
			fmt.Fprintf(w, "tracing %s/%s: throughput %.2f, p99 %.2f\n", pair[0], pair[1], a.Load.Throughput/b.Load.Throughput,
				a.Load.Latency["p99"]/b.Load.Latency["p99"])
		}
	}
	for _, t := range targets(byMode) {
		mark := "ok  "
		if !t.met {
			mark = "MISS"
		}
		fmt.Fprintf(w, "%s %s\n", mark, t.text)
	}
}

type target struct {
	text string
	met  bool
}

// targets checks the figures against the goals of BENCHMARKS.md, for the rows present.
func targets(byMode map[string]result) []target {
	var ts []target
	ratio := func(tl, ref string, want, wantP99 float64) {
		a, okA := byMode[tl]
		b, okB := byMode[ref]
		if !okA || !okB || b.Load.Throughput == 0 {
			return
		}
		r := a.Load.Throughput / b.Load.Throughput
		ts = append(ts, target{fmt.Sprintf("tracing %s: throughput %.2f of the %s (want >= %.2f)", tl, r, ref, want), r >= want})
		p := a.Load.Latency["p99"] / b.Load.Latency["p99"]
		ts = append(ts, target{fmt.Sprintf("tracing %s: p99 %.2f times the %s's (want <= %.2f)", tl, p, ref, wantP99), p <= wantP99})
	}
	ratio("off", "reference bare", 0.85, 1.5)
	ratio("on", "reference traced", 0.75, 1.5)
	ratio("otel", "reference traced", 0.75, 1.5)
	for _, mode := range []string{"off", "on", "otel"} {
		r, ok := byMode[mode]
		if !ok {
			continue
		}
		errs := r.Load.Errors + r.Load.Responses - r.Load.OK
		ts = append(ts, target{fmt.Sprintf("tracing %s: %d errors and non-2xx answers (want 0)", mode, errs), errs == 0})
		var biggest string
		var worst float64 // the largest share of its limit any service used
		for _, s := range services {
			limit := int64(20 << 10)
			if s == "edge" {
				limit = 30 << 10
			}
			if share := float64(r.PeakRSS[s]) / float64(limit); share > worst {
				worst, biggest = share, s
			}
		}
		ts = append(ts, target{fmt.Sprintf("tracing %s: peak RSS within 20 MiB per service, 30 MiB for the edge (closest: %s at %.1f MiB)",
			mode, biggest, float64(r.PeakRSS[biggest])/1024), worst <= 1})
		if traced(mode) {
			ts = append(ts, target{fmt.Sprintf("tracing %s: %d spans lost (want 0)", mode, r.Spans.Lost()), r.Spans.Lost() == 0})
		}
	}
	return ts
}
