package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/uber/jaeger-lib/metrics"
)

// Closer, made by New, flushes and closes the tracer, and tells what became of its spans. The
// Jaeger client drops a span silently when its reporter's queue is full, and cannot tell
// what became of a batch whose POST failed: the collector refused it, or it stored it and
// answered too late (a paused Jaeger does that). Stats and the line Close logs make both
// visible; only the collector's own count of what it received says what was lost.
type Closer struct {
	close        func() error // the Jaeger tracer's Close
	counts       *counts
	destinations []string // "jaeger", "zipkin": the reporters, in the order they were built
	log          *slog.Logger

	once sync.Once
	err  error
}

// Close flushes every span still queued or buffered (it blocks until each destination has
// answered or timed out), then logs one line with the counts: info when every span was
// reported, warn when some were dropped or unconfirmed. Later calls do nothing.
func (c *Closer) Close() error {
	c.once.Do(func() {
		c.err = c.close()
		if len(c.destinations) == 0 {
			return // tracing disabled: no spans, nothing to tell
		}
		s := c.Stats()
		level := slog.LevelInfo
		if s.Dropped > 0 || s.Unconfirmed > 0 {
			level = slog.LevelWarn
		}
		attrs := []any{"spans.started", s.Started, "spans.finished", s.Finished}
		for _, d := range s.Destinations {
			attrs = append(attrs, "spans."+d.Name+".reported", d.Reported,
				"spans."+d.Name+".dropped", d.Dropped, "spans."+d.Name+".unconfirmed", d.Unconfirmed)
		}
		msg := fmt.Sprintf("tracer closed: spans reported %d, dropped %d, unconfirmed %d", s.Reported, s.Dropped, s.Unconfirmed)
		c.log.Log(context.Background(), level, msg, attrs...)
	})
	return c.err
}

// ReporterStats counts the spans of one tracer, from the counters the Jaeger client keeps
// (jaeger_tracer_started_spans, _finished_spans and _reporter_spans in its own metrics).
// Only sampled spans count: the others are never sent. Every finished span is handed to
// each destination, so once the tracer is closed, for each destination
// Reported + Dropped + Unconfirmed == Finished; before that, the difference is still queued.
type ReporterStats struct {
	Started  int64 // sampled spans started
	Finished int64 // sampled spans finished, each handed to every destination's reporter

	// The sums over the destinations: with Jaeger and Zipkin both on, a span that reaches
	// both counts twice in Reported.
	Reported    int64 // accepted by the collector (for a UDP agent: sent)
	Dropped     int64 // thrown away because the reporter's queue was full: never sent
	Unconfirmed int64 // in a batch the collector refused or did not answer in time: maybe stored, maybe lost

	Destinations []DestinationStats // one per destination, Jaeger first
}

// DestinationStats is what became of the spans sent to one destination.
type DestinationStats struct {
	Name        string // "jaeger" or "zipkin"
	Reported    int64
	Dropped     int64
	Unconfirmed int64
}

// Stats reads the counts now. It may be called at any time, from any goroutine; after
// Close the counts are final.
func (c *Closer) Stats() ReporterStats {
	s := ReporterStats{
		Started:  c.counts.value("jaeger.tracer.started_spans", "sampled", "y"),
		Finished: c.counts.value("jaeger.tracer.finished_spans", "sampled", "y"),
	}
	for _, name := range c.destinations {
		result := func(r string) int64 {
			return c.counts.value("jaeger.tracer.reporter_spans", "destination", name, "result", r)
		}
		d := DestinationStats{Name: name, Reported: result("ok"), Dropped: result("dropped"), Unconfirmed: result("err")}
		s.Reported += d.Reported
		s.Dropped += d.Dropped
		s.Unconfirmed += d.Unconfirmed
		s.Destinations = append(s.Destinations, d)
	}
	return s
}

// counts is an in-memory metrics.Factory (jaeger-lib's interface, through which the Jaeger
// client reports its own numbers): it keeps counters and gauges so Stats can read them back,
// and discards timers and histograms, which the client does not use for spans.
type counts struct {
	prefix string            // the namespaces so far, "jaeger.tracer."
	tags   map[string]string // tags every metric of this namespace carries
	values *sync.Map         // metric key -> *atomic.Int64
}

func newCounts() *counts { return &counts{values: new(sync.Map)} }

// metricKey names a metric the way Prometheus prints one: name{k=v,...}, tags sorted.
func metricKey(name string, tags map[string]string) string {
	var b strings.Builder
	b.WriteString(name + "{")
	for i, k := range slices.Sorted(maps.Keys(tags)) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + "=" + tags[k])
	}
	b.WriteByte('}')
	return b.String()
}

func (c *counts) int64(name string, tags map[string]string) *atomic.Int64 {
	all := maps.Clone(c.tags)
	if all == nil {
		all = map[string]string{}
	}
	maps.Copy(all, tags)
	v, _ := c.values.LoadOrStore(metricKey(c.prefix+name, all), new(atomic.Int64))
	return v.(*atomic.Int64)
}

// value reads the metric name with the tags given as key, value pairs; 0 if never created.
func (c *counts) value(name string, kv ...string) int64 {
	tags := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		tags[kv[i]] = kv[i+1]
	}
	if v, ok := c.values.Load(metricKey(name, tags)); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

func (c *counts) Counter(o metrics.Options) metrics.Counter { return counter{c.int64(o.Name, o.Tags)} }
func (c *counts) Gauge(o metrics.Options) metrics.Gauge     { return gauge{c.int64(o.Name, o.Tags)} }
func (c *counts) Timer(metrics.TimerOptions) metrics.Timer  { return metrics.NullTimer }
func (c *counts) Histogram(metrics.HistogramOptions) metrics.Histogram {
	return metrics.NullHistogram
}

// Namespace returns a factory whose metric names start with scope.Name and carry its tags.
func (c *counts) Namespace(scope metrics.NSOptions) metrics.Factory {
	tags := maps.Clone(c.tags)
	if tags == nil {
		tags = map[string]string{}
	}
	maps.Copy(tags, scope.Tags)
	prefix := c.prefix
	if scope.Name != "" {
		prefix += scope.Name + "."
	}
	return &counts{prefix: prefix, tags: tags, values: c.values}
}

type counter struct{ v *atomic.Int64 }

func (c counter) Inc(n int64) { c.v.Add(n) }

type gauge struct{ v *atomic.Int64 }

func (g gauge) Update(n int64) { g.v.Store(n) }
