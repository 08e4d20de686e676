package main

import (
	"bufio"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Summary is what a run measured. Its JSON field names are a contract with `make bench`
// and other scripts: add fields, never rename them. The package doc lists them.
type Summary struct {
	URL             string           `json:"url"`
	IDs             string           `json:"ids"`
	Model           string           `json:"model"`
	Concurrency     int              `json:"concurrency"`
	Rate            float64          `json:"rate"`
	PlannedRequests int              `json:"planned_requests"`
	PlannedDuration float64          `json:"planned_duration_s"`
	Warmup          float64          `json:"warmup_s"`
	Elapsed         float64          `json:"elapsed_s"`
	Sent            int64            `json:"sent"`
	Responses       int64            `json:"responses"`
	OK              int64            `json:"ok"`
	Errors          int64            `json:"errors"`
	Canceled        int64            `json:"canceled"`
	Interrupted     bool             `json:"interrupted"`
	Throughput      float64          `json:"throughput_rps"`
	Latency         Latency          `json:"latency_ms"`
	Status          map[string]int64 `json:"status"`
	ErrorBreakdown  []ErrorCount     `json:"error_breakdown"`
	LateStarts      int64            `json:"late_starts"`
	LateAfter       float64          `json:"late_after_ms"`
	MissedStarts    int64            `json:"missed_starts"`
	BehindSchedule  Behind           `json:"behind_schedule_ms"`
	Slowest         []SlowRequest    `json:"slowest"`
}

// Latency is in milliseconds, over the requests that got an answer. Min and max are
// exact; the percentiles come from the HDR histogram, within 0.1%.
type Latency struct {
	Min    float64 `json:"min"`
	Mean   float64 `json:"mean"`
	StdDev float64 `json:"stddev"`
	P50    float64 `json:"p50"`
	P90    float64 `json:"p90"`
	P99    float64 `json:"p99"`
	P999   float64 `json:"p99_9"`
	Max    float64 `json:"max"`
}

// Behind is how far behind schedule the open model's starts were, in milliseconds: a few
// tenths is timer jitter; more means loadgen lacked CPU or every slot was taken.
type Behind struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// ErrorCount is one line of the error breakdown: requests that got no answer, by cause.
type ErrorCount struct {
	Kind    string `json:"kind"` // "timeout", "connection" or "other"
	Message string `json:"message"`
	Count   int64  `json:"count"`
}

// SlowRequest is one of the slowest requests, with the command that shows its trace.
type SlowRequest struct {
	TraceID   string  `json:"trace_id"` // the X-Trace-Id header; empty when tracing is off
	LatencyMs float64 `json:"latency_ms"`
	Status    int     `json:"status"`
	URL       string  `json:"url"`
	Command   string  `json:"command"` // make trace ID=<trace id>, empty without a trace id
}

// summary freezes what g measured. Call it after run has returned.
func (g *generator) summary(o options) Summary {
	r := g.rec
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Summary{
		URL:             o.url,
		IDs:             o.idsText,
		Model:           "closed",
		Concurrency:     o.concurrency,
		Rate:            o.rate,
		PlannedRequests: o.n,
		PlannedDuration: o.duration.Seconds(),
		Warmup:          o.warmup.Seconds(),
		Elapsed:         g.elapsed.Seconds(),
		Sent:            g.sent.Load(),
		Responses:       r.responses,
		Errors:          r.errors,
		Canceled:        r.canceled,
		Interrupted:     g.interrupted,
		Status:          make(map[string]int64, len(r.status)),
		ErrorBreakdown:  []ErrorCount{},
		LateStarts:      g.late,
		MissedStarts:    g.missed,
		Slowest:         []SlowRequest{},
	}
	if o.rate > 0 {
		s.Model = "open"
		s.LateAfter = ms(g.lateAfter)
		if g.behind.TotalCount() > 0 {
			s.BehindSchedule = Behind{
				P50: float64(g.behind.ValueAtQuantile(50)) / 1000,
				P99: float64(g.behind.ValueAtQuantile(99)) / 1000,
				Max: float64(g.behind.Max()) / 1000,
			}
		}
	}
	if g.elapsed > 0 {
		s.Throughput = float64(r.responses) / g.elapsed.Seconds()
	}
	if r.responses > 0 {
		us := func(v int64) float64 { return float64(v) / 1000 } // µs to ms
		s.Latency = Latency{
			Min:    ms(r.min),
			Mean:   r.hist.Mean() / 1000,
			StdDev: r.hist.StdDev() / 1000,
			P50:    us(r.hist.ValueAtQuantile(50)),
			P90:    us(r.hist.ValueAtQuantile(90)),
			P99:    us(r.hist.ValueAtQuantile(99)),
			P999:   us(r.hist.ValueAtQuantile(99.9)),
			Max:    ms(r.max),
		}
	}
	for code, n := range r.status {
		s.Status[strconv.Itoa(code)] = n
		if code >= 200 && code < 300 {
			s.OK += n
		}
	}
	for k, n := range r.errs {
		s.ErrorBreakdown = append(s.ErrorBreakdown, ErrorCount{Kind: k.kind, Message: k.message, Count: n})
	}
	sort.Slice(s.ErrorBreakdown, func(i, j int) bool {
		a, b := s.ErrorBreakdown[i], s.ErrorBreakdown[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Kind+a.Message < b.Kind+b.Message
	})
	for _, sl := range r.sortedSlowest() {
		req := SlowRequest{TraceID: sl.traceID, LatencyMs: ms(sl.latency), Status: sl.status, URL: sl.url}
		if sl.traceID != "" {
			req.Command = traceCommand(sl.traceID)
		}
		s.Slowest = append(s.Slowest, req)
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// traceCommand is how to look at one trace from the repository root.
func traceCommand(traceID string) string { return "make trace ID=" + traceID }

// writeText prints the summary for a person: what was asked, then what came back.
func (s Summary) writeText(out io.Writer) error {
	w := bufio.NewWriter(out)
	fmt.Fprintf(w, "%s, %s\n", s.plan(), s.modelText())
	fmt.Fprintf(w, "  target      %s  (ids %s)\n", s.URL, s.IDs)
	if s.Interrupted {
		fmt.Fprintf(w, "  stopped     early, by Ctrl-C (%d requests in flight cut off)\n", s.Canceled)
	}
	fmt.Fprintf(w, "  elapsed     %.2fs\n", s.Elapsed)
	fmt.Fprintf(w, "  requests    %d sent, %d answered, %d failed\n", s.Sent, s.Responses, s.Errors)
	fmt.Fprintf(w, "  throughput  %.1f req/s\n", s.Throughput)
	if s.Responses > 0 {
		l := s.Latency
		fmt.Fprintf(w, "  latency     p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  mean %s\n",
			msText(l.P50), msText(l.P90), msText(l.P99), msText(l.P999), msText(l.Max), msText(l.Mean))
	}
	fmt.Fprintf(w, "  status      %s\n", s.statusText())
	if len(s.ErrorBreakdown) == 0 {
		fmt.Fprintf(w, "  errors      none\n")
	}
	for i, e := range s.ErrorBreakdown {
		label := ""
		if i == 0 {
			label = "errors"
		}
		fmt.Fprintf(w, "  %-10s  %d × %s: %s\n", label, e.Count, e.Kind, e.Message)
	}
	if s.Model == "open" {
		b := s.BehindSchedule
		fmt.Fprintf(w, "  starts      %d missed, %d late (over %s behind schedule)\n", s.MissedStarts, s.LateStarts, msText(s.LateAfter))
		fmt.Fprintf(w, "  behind      p50 %s  p99 %s  max %s  (how far behind schedule the starts were)\n",
			msText(b.P50), msText(b.P99), msText(b.Max))
		if s.LateStarts > 0 || s.MissedStarts > 0 {
			fmt.Fprintf(w, "              every slot was taken (raise -c) or loadgen lacked CPU; latency counts from the due time all the same\n")
		}
	}
	if len(s.Slowest) > 0 {
		if len(s.Slowest) == 1 {
			fmt.Fprintf(w, "\nThe slowest request; the command beside it prints its trace:\n")
		} else {
			fmt.Fprintf(w, "\nThe %d slowest requests; the command beside each prints its trace:\n", len(s.Slowest))
		}
		for _, sl := range s.Slowest {
			cmd := sl.Command
			if cmd == "" {
				cmd = "(no X-Trace-Id: is tracing off?)"
			}
			fmt.Fprintf(w, "  %9s  %d  %s  %s\n", msText(sl.LatencyMs), sl.Status, pathOf(sl.URL), cmd)
		}
	}
	return w.Flush()
}

func (s Summary) plan() string {
	if s.PlannedDuration > 0 {
		d := time.Duration(s.PlannedDuration * float64(time.Second))
		return fmt.Sprintf("%v of load", d)
	}
	return fmt.Sprintf("%d requests", s.PlannedRequests)
}

func (s Summary) modelText() string {
	if s.Model == "open" {
		return fmt.Sprintf("open model at %g req/s, at most %d in flight", s.Rate, s.Concurrency)
	}
	return fmt.Sprintf("closed model with %d workers", s.Concurrency)
}

func (s Summary) statusText() string {
	if len(s.Status) == 0 {
		return "none"
	}
	codes := make([]string, 0, len(s.Status))
	for c := range s.Status {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	parts := make([]string, 0, len(codes))
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%s × %d", c, s.Status[c]))
	}
	return strings.Join(parts, ", ")
}

// msText shows a latency in milliseconds with three significant digits or more.
func msText(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0fms", v)
	case v >= 10:
		return fmt.Sprintf("%.1fms", v)
	default:
		return fmt.Sprintf("%.2fms", v)
	}
}

// pathOf keeps the lines of the slowest list short: the host is the same for all.
func pathOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Path == "" {
		return raw
	}
	return u.RequestURI()
}
