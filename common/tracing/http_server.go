package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"tracelab/common/respond"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/uber/jaeger-client-go"
)

// TraceIDHeader is the response header that tells a caller which trace its request made,
// so a curl user can open it in Jaeger (make trace ID=...). It is sent only when the trace
// is sampled: an unsampled trace is never stored, and an id that leads nowhere would only
// send people looking for it. (The log lines of the request carry trace.id either way.)
const TraceIDHeader = "X-Trace-Id"

// baggageRefusedTag lists, on the server span, the caller's baggage keys that
// RefuseBaggage dropped.
const baggageRefusedTag = "baggage.refused"

// The tags that keep an untrusted caller's ids (see TrustCallers).
const (
	callerTraceIDTag = "caller.trace_id"
	callerSpanIDTag  = "caller.span_id"
)

// MiddlewareOption changes what Middleware does.
type MiddlewareOption func(*middleware)

// WithLogger gives the middleware a logger for what it has to say about a request: the
// baggage items it dropped, once per request at debug level, their keys at most (quoted
// and cut short), never their values. Without one it says nothing.
func WithLogger(log *slog.Logger) MiddlewareOption {
	return func(m *middleware) { m.log = log }
}

// TrustCallers says whether the server continues the traces its callers send (the
// default) or starts its own. The edge sets it from EDGE_TRUST_TRACE_HEADERS: a caller
// that is trusted chooses the trace id (0000000000000003 if it likes), the sampling
// decision (sampled=0 hides its requests from Jaeger) and the baggage, which is right for a
// traced client of ours and wrong for the internet. Untrusted, every request starts a new
// trace, sampled by our sampler, without the caller's baggage; the caller's ids are kept
// only as the tags caller.trace_id and caller.span_id (when they are ids), so the two
// traces can still be matched by hand. Services behind the edge always trust it.
func TrustCallers(trust bool) MiddlewareOption {
	return func(m *middleware) { m.trust = trust }
}

// WithContext has the middleware pass each request's context, once the span is in it,
// through decorate: faults.Switch.Context adds the faults the span's baggage switches on.
// It is done here rather than in a middleware of its own because ServeMux writes the
// matched route into the request it is given, and the span is named from that request.
func WithContext(decorate func(context.Context) context.Context) MiddlewareOption {
	return func(m *middleware) { m.decorate = decorate }
}

// RefuseBaggage has the middleware drop the caller's baggage items named keys (lower
// case) before anything sees them: no span of the trace, no call downstream carries them.
// The edge refuses the fault item with TRACELAB_FAULTS_ENABLED=false, so that nobody can
// switch a fault on through it (faults.BaggageKey). Whatever header form brought them
// (uberctx-<key>, jaeger-baggage's list, B3's baggage-<key>), they are gone; the server
// span says which were refused (baggage.refused), never their values.
func RefuseBaggage(keys ...string) MiddlewareOption {
	return func(m *middleware) {
		for _, k := range keys {
			m.refuse = append(m.refuse, strings.ToLower(k))
		}
	}
}

type middleware struct {
	tracer   opentracing.Tracer
	log      *slog.Logger
	trust    bool
	decorate func(context.Context) context.Context // nil: none
	refuse   []string                              // baggage keys dropped on arrival (RefuseBaggage)
}

// Middleware starts one server span per request and puts it in the request's context with
// opentracing.ContextWithSpan, where StartChild, the client transport and the logger find it.
//
// The span continues the caller's trace when the request carries Jaeger or B3 headers (and
// the caller is trusted: TrustCallers). Headers that are missing, malformed or hostile
// start a new trace instead, and baggage that would break the next call is dropped
// (baggage.go): tracing never fails a request. The span is named after the ServeMux pattern
// that matched ("GET /accounts/{id}"), never after the raw path, so ids do not explode the
// number of operation names in Jaeger. Tags follow the OpenTracing semantic conventions.
// An answer the handler aborts with a panic (httputil.ReverseProxy's http.ErrAbortHandler,
// when it cannot copy a body to its end) is recorded too, as an error, and the panic goes
// on to net/http.
//
// With tracing disabled (a no-op tracer) it returns the handler untouched: no span in the
// context, so the client transport and StartChild do nothing either, and a landscape run
// with JAEGER_DISABLED=true pays nothing for the instrumentation.
func Middleware(tracer opentracing.Tracer, opts ...MiddlewareOption) func(http.Handler) http.Handler {
	if isNoop(tracer) {
		return func(next http.Handler) http.Handler { return next }
	}
	m := &middleware{tracer: tracer, log: slog.New(slog.DiscardHandler), trust: true}
	for _, opt := range opts {
		opt(m)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			span, dropped := m.startSpan(r)
			if traceID, _ := SpanIDs(span); traceID != "" && isSampled(span) {
				w.Header().Set(TraceIDHeader, traceID)
			}
			rec := respond.NewRecorder(w)
			ctx := opentracing.ContextWithSpan(r.Context(), span)
			if m.decorate != nil {
				ctx = m.decorate(ctx)
			}
			r = r.WithContext(ctx)
			if dropped.count() > 0 {
				m.log.DebugContext(r.Context(), "baggage dropped", "baggage.dropped", dropped.count(),
					"baggage.invalid", dropped.invalid, "baggage.over_limit", dropped.overLimit,
					"baggage.dropped_keys", dropped.keys)
			}
			defer func() {
				aborted := recover()
				finishSpan(span, r, rec, aborted)
				if aborted != nil {
					panic(aborted) // on to net/http, which ends the connection
				}
			}()
			next.ServeHTTP(rec, r)
		})
	}
}

// startSpan starts the request's server span, in the caller's trace if it sent one and is
// trusted, and returns what was dropped of the caller's baggage.
func (m *middleware) startSpan(r *http.Request) (opentracing.Span, droppedBaggage) {
	if !m.trust {
		return m.startUntrusted(r), droppedBaggage{}
	}
	carrier := &extraction{TextMapReader: opentracing.HTTPHeadersCarrier(r.Header), refuse: m.refuse}
	var parent, baggageOnly opentracing.SpanContext
	var err error
	if isOTel(m.tracer) {
		// The bridge hands our carrier to the propagators only in the TextMap format (see
		// extraction.Get); its baggage propagator refuses and counts there as ours does.
		parent, err = m.tracer.Extract(opentracing.TextMap, carrier)
		if err != nil {
			// The bridge finds nothing in a request with baggage and no trace
			// (opentelemetry-go #3999): the new trace takes the baggage our extraction reads.
			baggageOnly, _, _ = otelHTTPPropagator.extract(carrier.TextMapReader, m.refuse...)
		}
	} else {
		parent, err = m.tracer.Extract(opentracing.HTTPHeaders, carrier)
	}
	if err != nil {
		parent = nil // no usable context (none sent, or garbage): start a new trace
	}
	opts := []opentracing.StartSpanOption{ext.RPCServerOption(parent)}
	// B3 can send a sampling decision without a trace (b3: 0, or d for debug); Jaeger takes
	// it as a sampling priority on the new trace's first span. b3: 1 leaves the decision to
	// our sampler, which records everything unless configured otherwise.
	if priority, ok := b3Priority[carrier.sampling]; ok && !hasTrace(parent) {
		opts = append(opts, opentracing.Tag{Key: string(ext.SamplingPriority), Value: priority})
	}
	if jsc, ok := baggageOnly.(jaeger.SpanContext); ok && !jsc.IsValid() && r.Header.Get(jaegerDebugHeader) != "" {
		// jaeger-debug-id without a trace: the otel mode's sampler records a root span
		// with this tag, as the Jaeger client does (see debugSampler).
		opts = append(opts, opentracing.Tag{Key: jaegerDebugHeader, Value: r.Header.Get(jaegerDebugHeader)})
	}
	span := m.tracer.StartSpan("HTTP "+r.Method, opts...)
	if baggageOnly != nil {
		baggageOnly.ForeachBaggageItem(func(k, v string) bool { span.SetBaggageItem(k, v); return true })
		parent = baggageOnly
	}
	requestTags(span, r)
	baggageTags(span, parent, carrier.dropped)
	if len(carrier.refused) > 0 {
		span.SetTag(baggageRefusedTag, strings.Join(carrier.refused, ","))
	}
	return span, carrier.dropped
}

var b3Priority = map[string]uint16{"0": 0, "d": 1}

// startUntrusted starts the root of a new trace, whatever the caller sent.
func (m *middleware) startUntrusted(r *http.Request) opentracing.Span {
	span := m.tracer.StartSpan("HTTP "+r.Method, ext.RPCServerOption(nil))
	requestTags(span, r)
	if caller, _, err := httpPropagator.extract(opentracing.HTTPHeadersCarrier(r.Header)); err == nil && caller.IsValid() {
		span.SetTag(callerTraceIDTag, traceIDString(caller.TraceID()))
		span.SetTag(callerSpanIDTag, spanIDString(caller.SpanID()))
	}
	return span
}

// hasTrace reports whether sc holds a trace to continue (not only baggage or a debug id).
func hasTrace(sc opentracing.SpanContext) bool {
	switch sc := sc.(type) {
	case jaeger.SpanContext:
		return sc.IsValid()
	case otelSpanContext:
		return sc.IsValid()
	}
	return false
}

func requestTags(span opentracing.Span, r *http.Request) {
	ext.Component.Set(span, "net/http")
	ext.HTTPMethod.Set(span, r.Method)
	ext.HTTPUrl.Set(span, requestURL(r))
}

// finishSpan names the span after the route, records the answer and finishes the span. It
// runs deferred, so it also sees a handler that panicked (aborted is the panic's value):
// the span says error, and the status only if one was sent before.
func finishSpan(span opentracing.Span, r *http.Request, rec *respond.Recorder, aborted any) {
	defer span.Finish()
	// ServeMux has set r.Pattern on the request it routed (this one), before the handler ran.
	if r.Pattern != "" {
		span.SetOperationName(operationName(r))
	}
	if aborted == nil || rec.Wrote() {
		status := rec.Status()
		ext.HTTPStatusCode.Set(span, uint16(status))
		if status >= 500 {
			ext.Error.Set(span, true)
		}
	}
	if aborted != nil {
		SetError(span, abortError(aborted))
	}
}

// abortError says why a handler's answer was aborted: mostly http.ErrAbortHandler, which
// is how httputil.ReverseProxy gives up on a body it could not copy to the end (the
// upstream broke off or timed out mid-body, or the client hung up).
func abortError(aborted any) error {
	if err, ok := aborted.(error); ok {
		return fmt.Errorf("answer aborted: %w", err)
	}
	return fmt.Errorf("answer aborted: panic: %v", aborted)
}

// operationName is the matched pattern, with the method in front when the pattern has
// none ("/" becomes "GET /", "example.com/" becomes "GET example.com/"), so every server
// span name reads "METHOD route". ServeMux separates a pattern's method with a space or a
// tab, and a pattern without a method contains neither.
func operationName(r *http.Request) string {
	if !strings.ContainsAny(r.Pattern, " \t") {
		return r.Method + " " + r.Pattern
	}
	return r.Pattern
}

// requestURL rebuilds the URL the client asked for (a server's r.URL holds only the path),
// without the query string: it can hold what people type, and the access log leaves it
// out for the same reason.
func requestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.EscapedPath()
}

// isNoop reports whether tracer records nothing: opentracing's no-op tracer, which
// jaeger-client-go returns (as a pointer) for JAEGER_DISABLED=true.
func isNoop(tracer opentracing.Tracer) bool {
	switch tracer.(type) {
	case opentracing.NoopTracer, *opentracing.NoopTracer:
		return true
	}
	return false
}
