package tracing

import (
	"errors"
	"net/http"
	"strings"

	"github.com/opentracing/opentracing-go"
	"github.com/uber/jaeger-client-go"
	"github.com/uber/jaeger-client-go/zipkin"
)

// httpPropagator speaks both header dialects on HTTP: Jaeger's (uber-trace-id, uberctx-*,
// jaeger-baggage) and Zipkin's B3 (X-B3-*). A caller or proxy instrumented for either one
// joins the trace, and whatever we call next can read either one.
var httpPropagator = dualPropagator{
	jaeger: jaeger.NewHTTPHeaderPropagator((&jaeger.HeadersConfig{}).ApplyDefaults(), *jaeger.NewNullMetrics()),
	b3:     zipkin.NewZipkinB3HTTPHeaderPropagator(),
}

type dualPropagator struct {
	jaeger *jaeger.TextMapPropagator
	b3     zipkin.Propagator
}

// Inject writes both dialects.
func (p dualPropagator) Inject(sc jaeger.SpanContext, carrier any) error {
	if err := p.jaeger.Inject(sc, carrier); err != nil {
		return err
	}
	return p.b3.Inject(sc, carrier)
}

// Extract prefers Jaeger's uber-trace-id and falls back to B3. Baggage sent the Jaeger way
// (uberctx-*, jaeger-baggage) is kept even when the trace context itself came as B3.
// A header that cannot be parsed is an error here; the middleware then starts a new trace.
func (p dualPropagator) Extract(carrier any) (jaeger.SpanContext, error) {
	if h, ok := carrier.(opentracing.HTTPHeadersCarrier); ok {
		switch found := scanTracingHeaders(h); {
		case found == 0:
			// The common case at the edge: a caller that is not traced. Each extractor
			// would walk and lower-case every header to find nothing.
			return jaeger.SpanContext{}, opentracing.ErrSpanContextNotFound
		case found&^foundB3 == foundTraceID:
			// The common case inside the landscape: one trace id and no baggage. Read it
			// directly, as the Jaeger extractor would (it URL-decodes first, so a value
			// with a % takes the long way, and so do two values, which it refuses).
			if vs := http.Header(h).Values("Uber-Trace-Id"); len(vs) == 1 && !strings.Contains(vs[0], "%") {
				if sc, err := jaeger.ContextFromString(vs[0]); err == nil && sc.IsValid() {
					return sc, nil
				}
			}
		}
	}
	jctx, jerr := p.jaeger.Extract(carrier)
	if jerr == nil && jctx.IsValid() {
		return jctx, nil
	}
	bctx, berr := p.b3.Extract(carrier)
	if berr == nil && bctx.IsValid() {
		var baggage map[string]string
		keep := func(k, v string) bool {
			if baggage == nil {
				baggage = map[string]string{}
			}
			baggage[k] = v
			return true
		}
		bctx.ForeachBaggageItem(keep) // B3's own baggage-* headers
		if jerr == nil {
			jctx.ForeachBaggageItem(keep)
		}
		// Rebuilt, because the zipkin propagator takes a missing X-B3-Sampled for "0" and
		// ignores X-B3-Flags: b3Sampled reads both.
		sampled := b3Sampled(carrier, bctx.IsSampled())
		return jaeger.NewSpanContext(bctx.TraceID(), bctx.SpanID(), bctx.ParentID(), sampled, baggage), nil
	}
	if jerr == nil {
		return jctx, nil // baggage or a debug id without a trace: the tracer handles it
	}
	if errors.Is(jerr, opentracing.ErrSpanContextNotFound) && berr != nil {
		return jaeger.SpanContext{}, berr
	}
	return jaeger.SpanContext{}, jerr
}

// b3Sampled is the caller's B3 sampling decision, given what X-B3-Sampled said (parsed).
// X-B3-Flags: 1 is debug, which means record whatever X-B3-Sampled says. No X-B3-Sampled
// means "you decide": our sampler is const by default, so we decide to record, instead of
// silently dropping the caller's trace.
func b3Sampled(carrier any, parsed bool) bool {
	r, ok := carrier.(opentracing.TextMapReader)
	if !ok {
		return parsed
	}
	sent, debug := false, false
	_ = r.ForeachKey(func(k, v string) error {
		switch strings.ToLower(k) {
		case "x-b3-sampled":
			sent = true
		case "x-b3-flags":
			debug = debug || v == "1"
		}
		return nil
	})
	return debug || !sent || parsed
}

// What scanTracingHeaders found.
const (
	foundTraceID       = 1 << iota // uber-trace-id
	foundJaegerBaggage             // uberctx-*, jaeger-baggage, jaeger-debug-id
	foundB3                        // X-B3-*
)

// scanTracingHeaders reports which of the headers the two dialects read h holds. Names are
// compared without regard to case and without allocating.
func scanTracingHeaders(h opentracing.HTTPHeadersCarrier) (found int) {
	for k := range h {
		switch {
		case hasPrefixFold(k, "uber-trace-id"):
			found |= foundTraceID
		case hasPrefixFold(k, "uberctx-"), hasPrefixFold(k, "jaeger-"):
			found |= foundJaegerBaggage
		case hasPrefixFold(k, "x-b3-"):
			found |= foundB3
		}
	}
	return found
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
