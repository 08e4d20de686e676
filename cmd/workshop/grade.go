package main

// The grading of each check, as functions of the traces alone: the checks in check.go
// fetch the traces, these decide. Unit tests feed them fake traces built in Go.

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"tracelab/common/faults"
	"tracelab/internal/jaegerapi"
	"tracelab/internal/tracetree"
)

// verdict is a check's outcome: ✓ or ✗, the figures measured, a hint when it failed.
type verdict struct {
	ok      bool
	figures []string
	hint    string
}

func pass(format string, args ...any) verdict {
	return verdict{ok: true, figures: []string{fmt.Sprintf(format, args...)}}
}

func failf(hint, format string, args ...any) verdict {
	return verdict{figures: []string{fmt.Sprintf(format, args...)}, hint: hint}
}

// ms formats a duration in microseconds (Jaeger's unit) as milliseconds.
func ms(us int64) string { return strconv.FormatFloat(float64(us)/1000, 'f', 1, 64) + " ms" }

func end(s jaegerapi.Span) int64 { return s.StartTime + s.Duration }

// spansOf returns the spans of service named op, in start order.
func spansOf(t jaegerapi.Trace, service, op string) []jaegerapi.Span {
	var out []jaegerapi.Span
	for _, s := range t.Spans {
		if t.Service(s) == service && (op == "" || s.OperationName == op) {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartTime < out[j].StartTime })
	return out
}

// root is the trace's span without a parent inside the trace.
func root(t jaegerapi.Trace) (jaegerapi.Span, bool) {
	ids := map[string]bool{}
	for _, s := range t.Spans {
		ids[s.SpanID] = true
	}
	for _, s := range t.Spans {
		if len(s.References) == 0 || !ids[s.References[0].SpanID] {
			return s, true
		}
	}
	return jaegerapi.Span{}, false
}

func parent(t jaegerapi.Trace, s jaegerapi.Span) (jaegerapi.Span, bool) {
	if len(s.References) == 0 {
		return jaegerapi.Span{}, false
	}
	for _, p := range t.Spans {
		if p.SpanID == s.References[0].SpanID {
			return p, true
		}
	}
	return jaegerapi.Span{}, false
}

func kind(s jaegerapi.Span) string { v, _ := s.Tag("span.kind"); return v }

// --- lab 1: read a trace -------------------------------------------------------------

// gradeReadTrace grades "<spans> <FOLLOWS_FROM references>" against the learner's VIP trace,
// and says how long after the root the consumer span ended.
func gradeReadTrace(t jaegerapi.Trace, answer string) verdict {
	spans, follows := len(t.Spans), 0
	for _, s := range t.Spans {
		for _, r := range s.References {
			if r.RefType == "FOLLOWS_FROM" {
				follows++
			}
		}
	}
	consumers := 0
	var after int64
	r, _ := root(t)
	for _, s := range t.Spans {
		if kind(s) == "consumer" {
			consumers++
			after = end(s) - end(r)
		}
	}
	if consumers == 0 {
		return failf("read a VIP account (10000, 10010, ..., 10090 are VIPs): curl -k -i "+"<edge>/api/accounts/10000",
			"your trace %s has %d spans and no consumer span: it is not a VIP read", t.TraceID, spans)
	}
	fields := strings.Fields(strings.NewReplacer(",", " ", "/", " ").Replace(answer))
	if len(fields) != 2 {
		return failf(`answer with two numbers: ANSWER="<spans> <FOLLOWS_FROM references>"`,
			"your VIP trace is %s; ANSWER=%q is not two numbers", t.TraceID, answer)
	}
	gotSpans, err1 := strconv.Atoi(fields[0])
	gotFollows, err2 := strconv.Atoi(fields[1])
	if err1 != nil || err2 != nil {
		return failf(`answer with two numbers: ANSWER="<spans> <FOLLOWS_FROM references>"`,
			"ANSWER=%q is not two numbers", answer)
	}
	var wrong []string
	if gotSpans != spans {
		wrong = append(wrong, fmt.Sprintf("%d spans", gotSpans))
	}
	if gotFollows != follows {
		wrong = append(wrong, fmt.Sprintf("%d FOLLOWS_FROM references", gotFollows))
	}
	if len(wrong) > 0 {
		return failf("count again in make trace ID="+t.TraceID+": every line is a span; FOLLOWS_FROM is written on the spans that have it",
			"not %s in trace %s", strings.Join(wrong, " and "), t.TraceID)
	}
	v := pass("trace %s: %d spans, %d FOLLOWS_FROM references, as you counted", t.TraceID, spans, follows)
	v.figures = append(v.figures, fmt.Sprintf("the consumer span ended %s after the root span", ms(after)))
	return v
}

// --- lab 2: find the slowdown ----------------------------------------------------------

// gradeMystery grades an answer like "quoteservice slow-quote" against the fault that
// mystery=<seed> switched on: the service where it acts and the fault's name.
func gradeMystery(seed, answer string, requests int) verdict {
	if requests == 0 {
		return failf("send requests with the header the setup printed (uberctx-fault: mystery=<seed>), then check again",
			"no trace since the setup carries your mystery (baggage.fault=mystery=%s)", seed)
	}
	actual := faults.MysteryFault(seed)
	f, _ := faults.Lookup(actual)
	var service string
	var name faults.Name
	for _, word := range strings.FieldsFunc(strings.ToLower(answer), func(r rune) bool { return r == ' ' || r == ',' || r == '/' }) {
		if _, ok := faults.Lookup(faults.Name(word)); ok {
			name = faults.Name(word)
		} else if slices.Contains(serviceNames, word) {
			service = word
		}
	}
	if service == "" || name == "" {
		return failf(`answer with a service and a fault from make fault's list: ANSWER="quoteservice slow-quote"`,
			"%d of your traces carry the mystery; ANSWER=%q names no service and fault", requests, answer)
	}
	serviceOK := slices.Contains(f.Services, service)
	switch {
	case serviceOK && name == actual:
		return pass("%s in %s: found, in %d traces of yours (%s)", actual, service, requests, f.Summary)
	case serviceOK:
		return failf("the service is right; look at the shape of the time inside it: a staircase, many identical spans, a wait, self time?",
			"%s is where it happens, but it is not %s", service, name)
	default:
		return failf("follow the time down the waterfall: the longest span whose children do not explain its length",
			"not in %s", service)
	}
}

var serviceNames = []string{"edge", "accountservice", "quoteservice", "imageservice", "vipservice"}

// --- lab 3: fix it in code -------------------------------------------------------------

// overlap reports whether accountservice's quote and image calls ran at the same time in t.
func overlap(t jaegerapi.Trace) (bool, bool) {
	q := spansOf(t, "accountservice", "GET quoteservice")
	i := spansOf(t, "accountservice", "GET imageservice")
	if len(q) == 0 || len(i) == 0 {
		return false, false
	}
	a, b := q[0], i[len(i)-1]
	return a.StartTime < end(b) && b.StartTime < end(a), true
}

// gradeStaircase: the quote and image calls must overlap in at least half of the traces.
// Calls made one after the other never overlap (0 of 20, always); calls made side by side
// overlap unless the machine runs one goroutine late, after the other call has ended, which
// a loaded laptop does now and then (17 of 20 was seen in CI). Half tells the two apart
// with room on both sides.
func gradeStaircase(traces []jaegerapi.Trace) verdict {
	n, together := 0, 0
	var durations []int64
	for _, t := range traces {
		ok, found := overlap(t)
		if !found {
			continue
		}
		n++
		if ok {
			together++
		}
		if s := spansOf(t, "accountservice", "GET /accounts/{id}"); len(s) > 0 {
			durations = append(durations, s[0].Duration)
		}
	}
	if n == 0 {
		return failf("is make run running the services you built?", "none of %d traces has both the quote and the image call", len(traces))
	}
	figure := fmt.Sprintf("quote and image overlap in %d of %d traces; p95 of accountservice's GET /accounts/{id} %s", together, n, ms(p95(durations)))
	if together*2 < n {
		return verdict{figures: []string{figure}, hint: "the calls still wait for each other: start both, then wait for both (the code outside the fault's if does it)"}
	}
	return verdict{ok: true, figures: []string{figure}}
}

// repeatedChildren is the largest number of children of one span that share a name: an
// N+1 shows as many identical siblings where one would do.
func repeatedChildren(t jaegerapi.Trace, service string) (int, string) {
	count := map[string]int{}
	best, name := 0, ""
	for _, s := range t.Spans {
		if t.Service(s) != service || len(s.References) == 0 {
			continue
		}
		k := s.References[0].SpanID + "\x00" + s.OperationName
		count[k]++
		if count[k] > best {
			best, name = count[k], s.OperationName
		}
	}
	return best, name
}

// gradeNPlusOne: no span of accountservice may have more than 2 children of one name.
func gradeNPlusOne(traces []jaegerapi.Trace) verdict {
	worst, name := 0, ""
	for _, t := range traces {
		if n, op := repeatedChildren(t, "accountservice"); n > worst {
			worst, name = n, op
		}
	}
	if len(traces) == 0 {
		return failf("is make run running?", "no trace of the transactions route")
	}
	if worst > 2 {
		return failf("read all the transactions in one bolt transaction, as the code outside the fault's if does",
			"still %d %q spans under one parent, in the worst of %d traces", worst, name, len(traces))
	}
	return pass("at most %d spans of one name under one parent in %d traces of the transactions route", worst, len(traces))
}

func p95(us []int64) int64 {
	if len(us) == 0 {
		return 0
	}
	s := slices.Clone(us)
	slices.Sort(s)
	return s[int(math.Ceil(0.95*float64(len(s))))-1]
}

// --- lab 4: add a span -----------------------------------------------------------------

// gradeNewSpan looks for an imageservice span the service did not have at setup (before),
// whose parent is imageservice's own, in at least 90% of the traces.
func gradeNewSpan(traces []jaegerapi.Trace, before []string) verdict {
	found := map[string]int{}
	parents := map[string]string{}
	for _, t := range traces {
		seen := map[string]bool{}
		for _, s := range spansOf(t, "imageservice", "") {
			if slices.Contains(before, s.OperationName) || seen[s.OperationName] {
				continue
			}
			p, ok := parent(t, s)
			if !ok || t.Service(p) != "imageservice" {
				continue
			}
			seen[s.OperationName] = true
			found[s.OperationName]++
			parents[s.OperationName] = p.OperationName
		}
	}
	best, name := 0, ""
	for op, n := range found {
		if n > best || (n == best && op < name) {
			best, name = n, op
		}
	}
	if best == 0 {
		return failf("rebuild and restart imageservice after your change (make run builds everything); the span needs a parent: tracing.StartChild(ctx, ...) with the request's ctx",
			"no new imageservice span in %d fresh traces (it had: %s)", len(traces), strings.Join(before, ", "))
	}
	if best*10 < len(traces)*9 {
		return failf("the span must be there on every request of the route", "%q is in only %d of %d fresh traces", name, best, len(traces))
	}
	return pass("%q, a child of %q, in %d of %d fresh traces", name, parents[name], best, len(traces))
}

// --- lab 5: across the queue -----------------------------------------------------------

// queueLag is how long the VIP event waited: from the end of the producer span to the
// start of the consumer span that FOLLOWS_FROM it. found is false without both.
func queueLag(t jaegerapi.Trace) (lag int64, consumer jaegerapi.Span, found bool) {
	for _, c := range t.Spans {
		if kind(c) != "consumer" {
			continue
		}
		p, ok := parent(t, c)
		if ok && kind(p) == "producer" {
			return c.StartTime - end(p), c, true
		}
	}
	return 0, jaegerapi.Span{}, false
}

// gradeLag grades the learner's figure (milliseconds) against the longest queue lag among
// their backlogged VIP traces: within 20%, or 10 ms.
func gradeLag(traces []jaegerapi.Trace, answer string) verdict {
	var worst int64
	var worstID string
	n := 0
	for _, t := range traces {
		lag, c, ok := queueLag(t)
		if !ok {
			continue
		}
		if f, _ := c.Tag("baggage.fault"); !strings.Contains(f, string(faults.QueueBacklog)) {
			continue
		}
		n++
		if lag > worst {
			worst, worstID = lag, t.TraceID
		}
	}
	if n == 0 {
		return failf("send VIP reads with the header uberctx-fault: queue-backlog, several at once (the lab's loadgen command)",
			"no VIP trace since the setup whose consumer span carries baggage.fault=queue-backlog")
	}
	answer = strings.TrimSuffix(strings.TrimSpace(strings.ToLower(answer)), "ms")
	got, err := strconv.ParseFloat(strings.TrimSpace(answer), 64)
	if err != nil {
		return failf(`answer the longest wait in milliseconds: ANSWER=1234`,
			"%d backlogged VIP traces of yours; ANSWER=%q is not a number of milliseconds", n, answer)
	}
	want := float64(worst) / 1000
	if math.Abs(got-want) > math.Max(10, 0.2*want) {
		return failf("the wait is from the end of the publish span to the start of the consume span; take the trace where it is longest",
			"%g ms is not the longest wait of your %d backlogged traces", got, n)
	}
	return pass("the longest wait in the queue: %s in trace %s (you said %g ms), %d backlogged traces, baggage.fault reached vipservice", ms(worst), worstID, got, n)
}

// --- lab 6: logs and traces ------------------------------------------------------------

// gradeDegraded: the answer must be the trace, among those setup sent, whose quote call
// failed (the one request of the lab that got its answer without a quote).
func gradeDegraded(traces []jaegerapi.Trace, answer string) verdict {
	var degraded string
	for _, t := range traces {
		for _, s := range spansOf(t, "accountservice", "GET quoteservice") {
			if e, _ := s.Tag("error"); e == "true" {
				degraded = t.TraceID
			}
		}
	}
	if degraded == "" {
		return failf("run make setup LAB=6 again: it sends the requests the lab is about",
			"none of the %d traces the setup sent has a failed quote call", len(traces))
	}
	answer = strings.ToLower(strings.TrimSpace(answer))
	if answer == "" {
		return failf(`find the warn line, and answer its trace.id: ANSWER=<trace id>`, "no answer")
	}
	if strings.TrimLeft(answer, "0") != strings.TrimLeft(degraded, "0") {
		return failf(`grep the log for "log.level":"warn" lines, and take their trace.id`, "%s is not the trace whose quote failed", answer)
	}
	return pass("trace %s: the quote call failed (error=true on accountservice's GET quoteservice), and the answer went out without a quote", degraded)
}

// --- lab 7: sampling -------------------------------------------------------------------

// gradeSampling compares the traces stored with what the learner's sampler should keep:
// ANSWER=0.25 (probabilistic: a fraction of the requests) or ANSWER=2/s (rate limiting).
func gradeSampling(sent, stored int, elapsed time.Duration, debugStored bool, answer string) verdict {
	figure := fmt.Sprintf("sent %d requests in %.1f s, Jaeger stored %d of their traces (%.0f%%); the jaeger-debug-id request stored: %v",
		sent, elapsed.Seconds(), stored, 100*float64(stored)/float64(max(sent, 1)), debugStored)
	v := verdict{figures: []string{figure}}
	answer = strings.TrimSpace(answer)
	var want, tolerance float64
	switch {
	case strings.HasSuffix(answer, "/s"):
		rate, err := strconv.ParseFloat(strings.TrimSuffix(answer, "/s"), 64)
		if err != nil || rate <= 0 {
			v.hint = `ANSWER=2/s for a rate-limiting sampler of 2 traces per second`
			return v
		}
		want = rate*elapsed.Seconds() + math.Max(rate, 1) // the bucket starts full
		tolerance = math.Max(3, 0.5*want)
	default:
		p, err := strconv.ParseFloat(answer, 64)
		if err != nil || p <= 0 || p >= 1 {
			v.hint = `give what your sampler keeps: ANSWER=0.25 (probabilistic), or ANSWER=2/s (rate limiting)`
			return v
		}
		want = p * float64(sent)
		tolerance = math.Max(4, 3*math.Sqrt(float64(sent)*p*(1-p))) // three standard deviations
	}
	if !debugStored {
		v.hint = "a request with the header jaeger-debug-id is always recorded: is the edge reading it?"
		return v
	}
	if math.Abs(float64(stored)-want) > tolerance {
		v.hint = fmt.Sprintf("with that sampler Jaeger would hold about %.0f of them: restart make run with JAEGER_SAMPLER_TYPE and JAEGER_SAMPLER_PARAM set", want)
		return v
	}
	v.ok = true
	v.figures = append(v.figures, fmt.Sprintf("your sampler keeps about %.0f of %d: as you said", want, sent))
	return v
}

// --- lab 8: what tracing costs ---------------------------------------------------------

// gradeSpanCount grades the learner's count of the spans of a regular read.
func gradeSpanCount(t jaegerapi.Trace, answer string) verdict {
	services := map[string]bool{}
	for _, s := range t.Spans {
		services[t.Service(s)] = true
	}
	got, err := strconv.Atoi(strings.TrimSpace(answer))
	if err != nil {
		return failf(`answer the number of spans of one regular read: ANSWER=<n>`, "ANSWER=%q is not a number", answer)
	}
	if got != len(t.Spans) {
		return failf("make trace ID="+t.TraceID+" shows one span per line", "a regular read is not %d spans (the check's own read: trace %s)", got, t.TraceID)
	}
	return pass("a regular read is %d spans from %d services: %d spans to create, tag and send per request", len(t.Spans), len(services), len(t.Spans))
}

// --- lab 9: Jaeger and Zipkin ----------------------------------------------------------

// gradeB3 checks that the trace the learner started with B3 headers was continued: its
// edge span is a child of a span that is not in Jaeger (the learner's own).
func gradeB3(t jaegerapi.Trace, sentAt time.Time) verdict {
	if t.Start().Before(sentAt) {
		return failf("send a new request with a trace id of your own", "trace %s is older than the lab's setup", t.TraceID)
	}
	edge := spansOf(t, "edge", "")
	if len(edge) == 0 {
		return failf("send it through the edge", "trace %s has no edge span", t.TraceID)
	}
	r, _ := root(t)
	if len(r.References) == 0 {
		return failf("send X-B3-SpanId (16 hex digits) beside X-B3-TraceId: the edge continues your span",
			"the edge started trace %s itself: its root has no parent", t.TraceID)
	}
	return pass("trace %s, your id, continued from your span %s: %d spans in Jaeger", t.TraceID, r.References[0].SpanID, len(t.Spans))
}

// --- lab 10: build a new service -----------------------------------------------------

// gradeNewService: in the fresh traces, the new service's server span is a child of
// accountservice's client span for it (the traced client at work), and Jaeger's
// dependency graph has the edge accountservice -> the new service.
func gradeNewService(traces []jaegerapi.Trace, deps []jaegerapi.Dependency) verdict {
	calls, children := 0, 0
	for _, t := range traces {
		for _, s := range spansOf(t, lab10Service, "") {
			if kind(s) != "server" {
				continue
			}
			calls++
			if p, ok := parent(t, s); ok && t.Service(p) == "accountservice" && kind(p) == "client" {
				children++
			}
		}
	}
	edge := 0
	for _, d := range deps {
		if d.Parent == "accountservice" && d.Child == lab10Service {
			edge = d.CallCount
		}
	}
	switch {
	case len(traces) == 0:
		return failf("is make run running, with your change built?", "no trace of GET %s", lab10Path)
	case calls == 0:
		return failf("make new-service NAME="+lab10Service+", then call it from accountservice's greeting route with ledgerClient; restart make run",
			"no %s server span in %d fresh traces of GET %s", lab10Service, len(traces), lab10Path)
	case children < calls:
		return failf("call "+lab10Service+" through the traced client (newTracedClient), with the request's ctx",
			"%d of %d %s server spans are children of an accountservice client span", children, calls, lab10Service)
	case edge == 0:
		return failf("Jaeger builds the graph from the traces it holds: send a greeting and check again",
			"%s's server span is a child of accountservice's client span in %d traces, but Jaeger's dependency graph has no accountservice -> %s",
			lab10Service, children, lab10Service)
	}
	return pass("%s's server span is a child of accountservice's client span in %d of %d fresh traces; dependency accountservice -> %s, %d calls",
		lab10Service, children, len(traces), lab10Service, edge)
}

// --- lab 11: moving to OpenTelemetry ---------------------------------------------------

// lab11Request is what a trace is the trace of: the path the edge's root span was asked
// for. Only the same request makes the same tree (a VIP read has the AMQP hop, another
// account not).
func lab11Request(t jaegerapi.Trace) string {
	r, ok := root(t)
	if !ok {
		return ""
	}
	raw, _ := r.Tag("http.url")
	u, err := url.Parse(raw)
	if err != nil || u.Path == "" {
		return r.OperationName
	}
	return u.Path
}

// lab11Pair picks, among the traces since the setup (oldest first), the newest request
// that has a trace made wholly with OpenTelemetry and one made wholly with the Jaeger
// client. When there is none, it returns the ✗ that says what to send.
func lab11Pair(traces []jaegerapi.Trace) (jaegerTrace, otelTrace jaegerapi.Trace, v verdict, ok bool) {
	bySDK := map[string]int{}
	newestJaeger := map[string]jaegerapi.Trace{}
	for _, t := range traces {
		sdk := tracetree.SDK(t)
		bySDK[sdk]++
		if sdk == tracetree.SDKJaeger {
			newestJaeger[lab11Request(t)] = t
		}
	}
	counted := fmt.Sprintf("since the setup: %d traces made with the Jaeger client, %d with OpenTelemetry, %d with both",
		bySDK[tracetree.SDKJaeger], bySDK[tracetree.SDKOTel], bySDK[tracetree.SDKMixed])
	for i := len(traces) - 1; i >= 0; i-- {
		if tracetree.SDK(traces[i]) != tracetree.SDKOTel {
			continue
		}
		if j, found := newestJaeger[lab11Request(traces[i])]; found {
			return j, traces[i], verdict{}, true
		}
	}
	var hint string
	switch {
	case bySDK[tracetree.SDKJaeger] == 0 && bySDK[tracetree.SDKOTel] == 0 && bySDK[tracetree.SDKMixed] == 0:
		hint = "send a request through the edge: curl -k -i <edge>" + lab11Path
	case bySDK[tracetree.SDKJaeger] == 0:
		hint = "make the same request with the Jaeger client too: make run without TRACING_SDK, then curl -k -i <edge>" + lab11Path
	case bySDK[tracetree.SDKOTel] == 0 && bySDK[tracetree.SDKMixed] > 0:
		hint = "a trace made by both SDKs is still one trace, as it should be; now move every service: TRACING_SDK=otel make run, and send the same request"
	case bySDK[tracetree.SDKOTel] == 0:
		hint = "move the services to OpenTelemetry (one: ACCOUNTSERVICE_TRACING_SDK=otel make run; all: TRACING_SDK=otel make run), then send the same request"
	default:
		hint = "send the same request with each SDK: " + lab11Path + " once before the switch and once after"
		counted += ", and none of the same request in both"
	}
	return jaegerapi.Trace{}, jaegerapi.Trace{}, failf(hint, "%s", counted), false
}

// gradeSameTrees compares the canonical trees (internal/tracetree) of the same request
// made with the Jaeger client (j) and with OpenTelemetry (o): they must be equal. It says
// what changed on the way, which the tree leaves out.
func gradeSameTrees(j, o jaegerapi.Trace) verdict {
	if sdk := tracetree.SDK(j); sdk != tracetree.SDKJaeger {
		return failf("send the request again, and check when its spans are all in",
			"trace %s turned out to be made with %q once whole, not with the Jaeger client alone", j.TraceID, sdk)
	}
	if sdk := tracetree.SDK(o); sdk != tracetree.SDKOTel {
		return failf("move every service, not only some: TRACING_SDK=otel make run",
			"trace %s turned out to be made with %q once whole, not with OpenTelemetry alone", o.TraceID, sdk)
	}
	jt, ot := tracetree.Build(j), tracetree.Build(o)
	request := lab11Request(o)
	if diffs := tracetree.Diff("jaeger", jt, "otel", ot); len(diffs) > 0 {
		shown := diffs[:min(len(diffs), 3)]
		return failf("both traces must be whole: send the request once more and check a few seconds later; a difference that stays is one the migration lost",
			"%s: trace %s (Jaeger client) and trace %s (OpenTelemetry) differ in %d places: %s",
			request, j.TraceID, o.TraceID, len(diffs), strings.Join(shown, "; "))
	}
	v := pass("%s: trace %s (Jaeger client) and trace %s (OpenTelemetry) have the same tree: %d spans, %d services, %d root",
		request, j.TraceID, o.TraceID, ot.Count(), len(ot.Services()), len(ot.Roots))
	v.figures = append(v.figures,
		fmt.Sprintf("what changed: trace ids of %d and %d hex digits", len(j.TraceID), len(o.TraceID)),
		"process tags only with the Jaeger client: "+strings.Join(onlyIn(processTags(j), processTags(o)), ", "),
		"only with OpenTelemetry: "+strings.Join(onlyIn(processTags(o), processTags(j)), ", "),
		"span tags only with OpenTelemetry: "+strings.Join(onlyIn(spanTags(o), spanTags(j)), ", "))
	return v
}

// processTags are the keys of the trace's process tags; spanTags of its span tags, and
// span.kind=internal as a key of its own (the Jaeger client writes no kind for internal work).
func processTags(t jaegerapi.Trace) map[string]bool {
	keys := map[string]bool{}
	for _, p := range t.Processes {
		for _, kv := range p.Tags {
			keys[kv.Key] = true
		}
	}
	return keys
}

func spanTags(t jaegerapi.Trace) map[string]bool {
	keys := map[string]bool{}
	for _, s := range t.Spans {
		for _, kv := range s.Tags {
			keys[kv.Key] = true
			if kv.Key == "span.kind" && fmt.Sprint(kv.Value) == "internal" {
				keys["span.kind=internal"] = true
			}
		}
	}
	return keys
}

// onlyIn lists, sorted, the keys of a that b lacks; "none" when there are none.
func onlyIn(a, b map[string]bool) []string {
	var out []string
	for k := range a {
		if !b[k] {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return []string{"none"}
	}
	sort.Strings(out)
	return out
}
