package tracing

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/opentracing/opentracing-go"
	"github.com/uber/jaeger-client-go"
)

// The header names of the two dialects, as written; they are read without regard to case.
const (
	uberTraceIDHeader   = "uber-trace-id"   // Jaeger: trace:span:parent:flags
	uberctxPrefix       = "uberctx-"        // Jaeger: one baggage item per header
	jaegerBaggageHeader = "jaeger-baggage"  // Jaeger: k1=v1, k2=v2, typed by a person
	jaegerDebugHeader   = "jaeger-debug-id" // Jaeger: record a new trace as debug, tagged with this id
	b3Header            = "b3"              // B3's single header: trace-span[-sampling[-parent]]
	b3TraceIDHeader     = "x-b3-traceid"
	b3SpanIDHeader      = "x-b3-spanid"
	b3ParentIDHeader    = "x-b3-parentspanid"
	b3SampledHeader     = "x-b3-sampled"
	b3FlagsHeader       = "x-b3-flags" // "1": debug
	b3BaggagePrefix     = "baggage-"   // Zipkin's baggage: read from Zipkin callers, never written
	w3cBaggageHeader    = "baggage"    // W3C: k1=v1,k2=v2;property, percent-encoded (the otel mode)
)

// maxDebugIDBytes bounds a jaeger-debug-id, which becomes a tag of the new trace's root span.
const maxDebugIDBytes = 256

// httpPropagator is the tracer's codec for HTTP headers. It writes the Jaeger dialect
// (uber-trace-id, uberctx-* with URL-escaped values) and B3's ids (X-B3-*), so whatever we
// call can read one or the other. It reads Jaeger's headers, B3's multiple headers and B3's
// single b3 header (what OpenTelemetry's B3 propagator writes by default), so a caller
// instrumented for any of them joins the trace.
//
// textMapPropagator is the same for AMQP message headers: the Jaeger dialect only, values
// as they are (AMQP header values are not restricted the way HTTP's are).
//
// Both check the baggage they read (baggage.go): items that would break the next call, or
// beyond the limits, are dropped and counted, never passed on.
//
// The otel mode reads baggage through the same code, W3C's baggage header too (its peers
// write it): otelHTTPPropagator and otelTextMapPropagator, which the OpenTelemetry
// propagator of otel.go calls, so the same checks and limits, and RefuseBaggage, apply to
// every form in both modes.
var (
	httpPropagator        = propagator{http: true}
	textMapPropagator     = propagator{http: false}
	otelHTTPPropagator    = propagator{http: true, w3c: true}
	otelTextMapPropagator = propagator{http: false, w3c: true}
)

type propagator struct {
	http bool // HTTP headers: values URL-escaped, B3 ids written beside Jaeger's
	w3c  bool // also read W3C's baggage header (reading only: the otel mode writes it itself)
	// rootSampler decides about a B3 trace sent without a sampling decision, as it decides
	// about a trace of our own; nil records such a trace. The tracer's own codec has it
	// (New), as the otel mode's sampler has its root sampler (b3UndecidedSampler).
	rootSampler jaeger.Sampler
}

// Inject writes sc into carrier, which must be an opentracing.TextMapWriter.
func (p propagator) Inject(sc jaeger.SpanContext, carrier any) error {
	w, ok := carrier.(opentracing.TextMapWriter)
	if !ok {
		return opentracing.ErrInvalidCarrier
	}
	w.Set(uberTraceIDHeader, contextString(sc))
	sc.ForeachBaggageItem(func(k, v string) bool {
		if !isToken(k) {
			return true // set in this process under a key no header name can hold: it stays here
		}
		if p.http {
			v = url.QueryEscape(v)
		}
		w.Set(uberctxPrefix+k, v)
		return true
	})
	if !p.http {
		return nil
	}
	// B3's ids, for Zipkin-instrumented peers. Not its baggage-* copies: each item would
	// travel twice, and our own services read uberctx-*.
	w.Set(b3TraceIDHeader, traceIDString(sc.TraceID()))
	w.Set(b3SpanIDHeader, spanIDString(sc.SpanID()))
	if sc.ParentID() != 0 {
		w.Set(b3ParentIDHeader, spanIDString(sc.ParentID()))
	}
	switch {
	case sc.IsDebug():
		w.Set(b3FlagsHeader, "1") // debug implies sampled: B3 sends no X-B3-Sampled beside it
	case sc.IsSampled():
		w.Set(b3SampledHeader, "1")
	default:
		w.Set(b3SampledHeader, "0")
	}
	return nil
}

// Extract reads a span context from carrier: an opentracing.TextMapReader, or the
// *extraction that Middleware and StartConsumer pass to learn what was dropped.
//
// The trace comes from uber-trace-id, else from the b3 header, else from X-B3-*; a header
// that does not parse, or comes twice, is as good as absent. Baggage comes from uberctx-*
// and jaeger-baggage (uberctx-* winning), whichever header carried the trace, and from B3's
// baggage-* when B3 carried it. With no usable trace the context may still hold baggage or
// a debug id, from which the tracer starts a new trace; with nothing at all the error is
// opentracing.ErrSpanContextNotFound.
func (p propagator) Extract(carrier any) (jaeger.SpanContext, error) {
	e, isExtraction := carrier.(*extraction)
	if isExtraction {
		carrier = e.TextMapReader
	}
	r, ok := carrier.(opentracing.TextMapReader)
	if !ok {
		return jaeger.SpanContext{}, opentracing.ErrInvalidCarrier
	}
	var refuse []string
	if isExtraction {
		refuse = e.refuse
	}
	sc, rest, err := p.extract(r, refuse...)
	if isExtraction {
		e.leftOver = rest
	}
	return sc, err
}

// extraction is the carrier Middleware and StartConsumer hand to tracer.Extract: the
// headers, and room for what the propagator did not put in the span context. tracer.Extract
// returns nothing but a span context, and the Jaeger tracer passes the carrier on to our
// propagator untouched, so this is how the count of dropped items reaches the span that
// reports it. Other tracers (the mocktracer in tests) read the TextMapReader it embeds.
type extraction struct {
	opentracing.TextMapReader
	refuse []string // baggage keys to drop on arrival (RefuseBaggage)
	leftOver
}

// leftOver is what extract read that a span context cannot hold.
type leftOver struct {
	dropped  droppedBaggage
	sampling string   // a B3 sampling decision sent without ids: "0", "1" or "d"
	refused  []string // the keys of refuse that the caller did send
}

// extract is Extract for a text map at hand. The baggage items named in refuse are
// dropped, whichever header form carried them.
func (p propagator) extract(r opentracing.TextMapReader, refuse ...string) (jaeger.SpanContext, leftOver, error) {
	if h, ok := r.(opentracing.HTTPHeadersCarrier); ok {
		switch found := scanTracingHeaders(h); {
		case found == 0:
			// The common case at the edge: a caller that is not traced. Nothing to walk.
			return jaeger.SpanContext{}, leftOver{}, opentracing.ErrSpanContextNotFound
		case found&^foundB3 == foundTraceID:
			// The common case inside the landscape: one trace id, no baggage, and the same
			// ids again as B3. Read it directly. A value with a % is URL-escaped and takes
			// the long way, and so do two values, which are refused there.
			if vs := http.Header(h).Values("Uber-Trace-Id"); len(vs) == 1 && !strings.Contains(vs[0], "%") {
				if sc, err := jaeger.ContextFromString(vs[0]); err == nil && sc.IsValid() {
					return sc, leftOver{}, nil
				}
			}
		}
	}

	var in received
	_ = r.ForeachKey(func(k, v string) error {
		in.read(k, v, p)
		return nil
	})
	sc, fromB3 := in.traceContext()
	if in.b3Undecided && p.rootSampler != nil {
		if sampled, _ := p.rootSampler.IsSampled(sc.TraceID(), ""); !sampled {
			sc = jaeger.NewSpanContext(sc.TraceID(), sc.SpanID(), sc.ParentID(), false, nil)
		}
	}
	baggage, dropped := in.baggage(fromB3)
	rest := leftOver{dropped: dropped, sampling: in.b3Sampling}
	for _, k := range refuse {
		if _, sent := baggage[k]; sent {
			delete(baggage, k)
			rest.refused = append(rest.refused, k)
		}
	}

	switch {
	case sc.IsValid():
		return withBaggage(sc, baggage), rest, nil
	case in.debugID != "":
		return debugContext(in.debugID, baggage), rest, nil
	case len(baggage) > 0:
		// Baggage without a trace: the tracer starts a new trace that carries it.
		return jaeger.NewSpanContext(jaeger.TraceID{}, 0, 0, false, baggage), rest, nil
	}
	return jaeger.SpanContext{}, rest, opentracing.ErrSpanContextNotFound
}

// received is what one walk over a carrier collected, nothing of it trusted yet.
type received struct {
	uberTraceID header
	debugID     string
	b3Single    header
	b3Sampling  string    // the b3 header when it holds a sampling decision only
	b3IDs       [4]header // X-B3-TraceId, -SpanId, -ParentSpanId, -Sampled
	b3Flags     string
	b3Undecided bool // the B3 trace taken holds no sampling decision: ours to make

	jaegerItems baggageItems // uberctx-*
	listItems   baggageItems // jaeger-baggage
	w3cItems    baggageItems // baggage, in the otel mode
	b3Items     baggageItems // baggage-*
}

// The X-B3-* headers that received.b3IDs holds, in its order.
const (
	b3TraceID = iota
	b3SpanID
	b3ParentID
	b3Sampled
)

var b3IDHeaders = [...]string{b3TraceIDHeader, b3SpanIDHeader, b3ParentIDHeader, b3SampledHeader}

// header is a header's value and how many values came: a trace context sent twice (two
// callers' headers stacked by a proxy, say) is refused, as it could be either.
type header struct {
	value string
	n     int
}

func (h *header) set(v string)       { h.value = v; h.n++ }
func (h header) one() (string, bool) { return h.value, h.n == 1 }

// read takes one header. In HTTP headers values are URL-escaped (the Jaeger dialect's
// uberctx-* and uber-trace-id) or not (B3's); in AMQP headers nothing is. W3C's baggage is
// percent-encoded wherever it travels.
func (in *received) read(k, v string, p propagator) {
	escaped := p.http
	switch {
	case strings.EqualFold(k, uberTraceIDHeader):
		if escaped && strings.Contains(v, "%") {
			v, _ = url.QueryUnescape(v) // a bad escape leaves a value that does not parse
		}
		in.uberTraceID.set(v)
	case hasPrefixFold(k, uberctxPrefix):
		value, ok := v, true
		if escaped {
			value, ok = unescape(v)
		}
		in.jaegerItems.add(k[len(uberctxPrefix):], value, ok)
	case strings.EqualFold(k, jaegerBaggageHeader):
		in.listItems.addList(v)
	case p.w3c && strings.EqualFold(k, w3cBaggageHeader):
		in.w3cItems.addW3C(v)
	case strings.EqualFold(k, jaegerDebugHeader):
		if validValue(v) && len(v) <= maxDebugIDBytes {
			in.debugID = v
		}
	case strings.EqualFold(k, b3Header):
		if v == "0" || v == "1" || v == "d" {
			in.b3Sampling = v
			return
		}
		in.b3Single.set(v)
	case strings.EqualFold(k, b3FlagsHeader):
		in.b3Flags = v
	case hasPrefixFold(k, b3BaggagePrefix):
		in.b3Items.add(k[len(b3BaggagePrefix):], v, true) // Zipkin sends values as they are
	default:
		for i, name := range b3IDHeaders {
			if strings.EqualFold(k, name) {
				in.b3IDs[i].set(v)
			}
		}
	}
}

// traceContext is the caller's trace, from the first dialect that carried a valid one.
func (in *received) traceContext() (sc jaeger.SpanContext, fromB3 bool) {
	if v, ok := in.uberTraceID.one(); ok {
		if sc, err := jaeger.ContextFromString(v); err == nil && sc.IsValid() {
			return sc, false
		}
	}
	if v, ok := in.b3Single.one(); ok {
		if sc, ok := parseB3Single(v); ok {
			in.b3Undecided = strings.Count(v, "-") == 1 // {TraceId}-{SpanId}: no sampling state
			return sc, true
		}
	}
	if sc, ok := in.b3Multiple(); ok {
		in.b3Undecided = in.b3IDs[b3Sampled].n == 0 && in.b3Flags != "1"
		return sc, true
	}
	return jaeger.SpanContext{}, false
}

// baggage is every item received, checked and bounded, and what was dropped on the way.
func (in *received) baggage(fromB3 bool) (map[string]string, droppedBaggage) {
	items, dropped := in.jaegerItems.items, in.jaegerItems.dropped
	forms := []baggageItems{in.listItems, in.w3cItems}
	if fromB3 {
		forms = append(forms, in.b3Items)
	}
	for _, form := range forms {
		for k, v := range form.items {
			if _, ok := items[k]; !ok { // uberctx-k wins over k in the other forms
				items = setItem(items, k, v)
			}
		}
		dropped.merge(form.dropped)
	}
	dropped.bound(items)
	return items, dropped
}

// b3Multiple reads X-B3-TraceId, -SpanId, -ParentSpanId (optional), -Sampled (optional)
// and -Flags.
func (in *received) b3Multiple() (jaeger.SpanContext, bool) {
	traceHex, ok1 := in.b3IDs[b3TraceID].one()
	spanHex, ok2 := in.b3IDs[b3SpanID].one()
	parent, sampled := in.b3IDs[b3ParentID], in.b3IDs[b3Sampled]
	if !ok1 || !ok2 || parent.n > 1 || sampled.n > 1 {
		return jaeger.SpanContext{}, false
	}
	traceID, err := jaeger.TraceIDFromString(traceHex)
	if err != nil || !traceID.IsValid() {
		return jaeger.SpanContext{}, false
	}
	spanID, ok := parseSpanID(spanHex, false)
	if !ok {
		return jaeger.SpanContext{}, false
	}
	var parentID jaeger.SpanID
	if parent.n == 1 {
		if parentID, ok = parseSpanID(parent.value, false); !ok {
			return jaeger.SpanContext{}, false
		}
	}
	// No X-B3-Sampled means "you decide": recorded here, unless the tracer's sampler says
	// otherwise (propagator.rootSampler), instead of silently dropping the caller's trace.
	record := sampled.n == 0 || sampled.value == "1" || sampled.value == "true"
	return b3Context(traceID, spanID, parentID, record, in.b3Flags == "1"), true
}

// parseB3Single reads B3's single header, {TraceId}-{SpanId}[-{SamplingState}[-{ParentSpanId}]],
// with a trace id of 16 or 32 hex digits and span ids of 16, as the B3 specification has it.
func parseB3Single(v string) (jaeger.SpanContext, bool) {
	parts := strings.Split(v, "-")
	if len(parts) < 2 || len(parts) > 4 || (len(parts[0]) != 16 && len(parts[0]) != 32) {
		return jaeger.SpanContext{}, false
	}
	traceID, err := jaeger.TraceIDFromString(parts[0])
	if err != nil || !traceID.IsValid() {
		return jaeger.SpanContext{}, false
	}
	spanID, ok := parseSpanID(parts[1], true)
	if !ok {
		return jaeger.SpanContext{}, false
	}
	sampled, debug := true, false // no sampling state: "you decide", as above
	if len(parts) > 2 {
		switch parts[2] {
		case "1":
		case "0":
			sampled = false
		case "d":
			debug = true
		default:
			return jaeger.SpanContext{}, false
		}
	}
	var parentID jaeger.SpanID
	if len(parts) == 4 {
		if parentID, ok = parseSpanID(parts[3], true); !ok {
			return jaeger.SpanContext{}, false
		}
	}
	return b3Context(traceID, spanID, parentID, sampled, debug), true
}

// parseSpanID reads a non-zero span id in hex; exact16 asks for exactly 16 digits.
func parseSpanID(s string, exact16 bool) (jaeger.SpanID, bool) {
	if exact16 && len(s) != 16 {
		return 0, false
	}
	id, err := strconv.ParseUint(s, 16, 64)
	return jaeger.SpanID(id), err == nil && id != 0
}

// b3Context builds the context B3 described. jaeger.NewSpanContext knows sampled or not
// sampled; a debug context is built from Jaeger's own header format, whose flags can say
// debug (3: sampled and debug), so B3's debug stays debug instead of becoming sampled.
func b3Context(traceID jaeger.TraceID, spanID, parentID jaeger.SpanID, sampled, debug bool) jaeger.SpanContext {
	if !debug {
		return jaeger.NewSpanContext(traceID, spanID, parentID, sampled, nil)
	}
	sc, _ := jaeger.ContextFromString(traceIDString(traceID) + ":" + spanIDString(spanID) + ":" + spanIDString(parentID) + ":3")
	return sc
}

// withBaggage is sc carrying baggage, with sc's flags (debug among them) kept.
func withBaggage(sc jaeger.SpanContext, baggage map[string]string) jaeger.SpanContext {
	if len(baggage) == 0 {
		return sc
	}
	if sc.Flags()&^1 == 0 { // sampled or not, nothing else: one map, taken as it is
		return jaeger.NewSpanContext(sc.TraceID(), sc.SpanID(), sc.ParentID(), sc.IsSampled(), baggage)
	}
	for k, v := range baggage { // rare (debug): a copy of the map per item, at most MaxBaggageItems
		sc = sc.WithBaggageItem(k, v)
	}
	return sc
}

// debugContext is Jaeger's "record a new trace, as debug" (jaeger-debug-id without a trace):
// a context only the Jaeger client can build, so its own codec builds it, from headers we
// have checked. Never from jaeger-baggage, which it would parse itself and complain about
// on stderr, outside our logs.
func debugContext(debugID string, baggage map[string]string) jaeger.SpanContext {
	carrier := opentracing.TextMapCarrier{jaegerDebugHeader: debugID}
	for k, v := range baggage {
		carrier[uberctxPrefix+k] = v
	}
	sc, _ := jaegerTextMap.Extract(carrier)
	return sc
}

var jaegerTextMap = jaeger.NewTextMapPropagator((&jaeger.HeadersConfig{}).ApplyDefaults(), *jaeger.NewNullMetrics())

// contextString is sc in Jaeger's uber-trace-id format, trace:span:parent:flags, as
// jaeger.SpanContext.String writes it, without fmt: every outbound call writes one.
func contextString(sc jaeger.SpanContext) string {
	var buf [32 + 3*17 + 2]byte
	b := appendTraceID(buf[:0], sc.TraceID())
	b = appendHex16(append(b, ':'), uint64(sc.SpanID()))
	b = appendHex16(append(b, ':'), uint64(sc.ParentID()))
	b = strconv.AppendUint(append(b, ':'), uint64(sc.Flags()), 16)
	return string(b)
}

// What scanTracingHeaders found.
const (
	foundTraceID = 1 << iota // uber-trace-id
	foundBaggage             // uberctx-*, jaeger-baggage, jaeger-debug-id, W3C's baggage
	foundB3                  // X-B3-*, b3
)

// scanTracingHeaders reports which of the headers the two dialects read h holds. Names are
// compared without regard to case and without allocating. B3's baggage-* alone is not
// reported: it is read only beside B3's ids.
func scanTracingHeaders(h opentracing.HTTPHeadersCarrier) (found int) {
	for k := range h {
		switch {
		case strings.EqualFold(k, uberTraceIDHeader):
			found |= foundTraceID
		case hasPrefixFold(k, uberctxPrefix), hasPrefixFold(k, "jaeger-"), strings.EqualFold(k, w3cBaggageHeader):
			found |= foundBaggage
		case hasPrefixFold(k, "x-b3-"), strings.EqualFold(k, b3Header):
			found |= foundB3
		}
	}
	return found
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
