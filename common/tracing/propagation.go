package tracing

import (
	"errors"
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
	jctx, jerr := p.jaeger.Extract(carrier)
	if jerr == nil && jctx.IsValid() {
		return jctx, nil
	}
	bctx, berr := p.b3.Extract(carrier)
	if berr == nil && bctx.IsValid() {
		if !b3SampledHeaderSent(carrier) {
			// B3 without X-B3-Sampled means "you decide". Our sampler is const by default,
			// so we decide to record, instead of silently dropping the caller's trace.
			bctx = jaeger.NewSpanContext(bctx.TraceID(), bctx.SpanID(), bctx.ParentID(), true, nil)
		}
		if jerr == nil {
			jctx.ForeachBaggageItem(func(k, v string) bool { bctx = bctx.WithBaggageItem(k, v); return true })
		}
		return bctx, nil
	}
	if jerr == nil {
		return jctx, nil // baggage or a debug id without a trace: the tracer handles it
	}
	if errors.Is(jerr, opentracing.ErrSpanContextNotFound) && berr != nil {
		return jaeger.SpanContext{}, berr
	}
	return jaeger.SpanContext{}, jerr
}

func b3SampledHeaderSent(carrier any) bool {
	r, ok := carrier.(opentracing.TextMapReader)
	if !ok {
		return false
	}
	sent := false
	_ = r.ForeachKey(func(k, _ string) error {
		k = strings.ToLower(k)
		sent = sent || k == "x-b3-sampled" || k == "x-b3-flags"
		return nil
	})
	return sent
}
