package tracing

import (
	"net/http"
	"strings"

	"tracelab/common/respond"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
)

// TraceIDHeader is the response header that tells every caller which trace its request
// made, so a curl user can open it in Jaeger (make trace ID=...).
const TraceIDHeader = "X-Trace-Id"

// Middleware starts one server span per request and puts it in the request's context with
// opentracing.ContextWithSpan, where StartChild, the client transport and the logger find it.
//
// The span continues the caller's trace when the request carries Jaeger or B3 headers.
// Headers that are missing, malformed or hostile start a new trace instead: tracing never
// fails a request. The span is named after the ServeMux pattern that matched
// ("GET /accounts/{id}"), never after the raw path, so ids do not explode the number of
// operation names in Jaeger. Tags follow the OpenTracing semantic conventions.
//
// With tracing disabled (a no-op tracer) it returns the handler untouched: no span in the
// context, so the client transport and StartChild do nothing either, and a landscape run
// with JAEGER_DISABLED=true pays nothing for the instrumentation.
func Middleware(tracer opentracing.Tracer) func(http.Handler) http.Handler {
	if isNoop(tracer) {
		return func(next http.Handler) http.Handler { return next }
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			parent, err := tracer.Extract(opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(r.Header))
			if err != nil {
				parent = nil // no usable context (none sent, or garbage): start a new trace
			}
			span := tracer.StartSpan("HTTP "+r.Method, ext.RPCServerOption(parent))
			defer span.Finish()
			ext.Component.Set(span, "net/http")
			ext.HTTPMethod.Set(span, r.Method)
			ext.HTTPUrl.Set(span, requestURL(r))
			baggageTags(span, parent)
			if traceID, _ := SpanIDs(span); traceID != "" {
				w.Header().Set(TraceIDHeader, traceID)
			}

			rec := respond.NewRecorder(w)
			r = r.WithContext(opentracing.ContextWithSpan(r.Context(), span))
			next.ServeHTTP(rec, r)

			// ServeMux has now set r.Pattern on the request it routed (this one).
			if r.Pattern != "" {
				span.SetOperationName(operationName(r))
			}
			status := rec.Status()
			ext.HTTPStatusCode.Set(span, uint16(status))
			if status >= 500 {
				ext.Error.Set(span, true)
			}
		})
	}
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

// requestURL rebuilds the URL the client asked for; a server's r.URL holds only the path.
func requestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.RequestURI()
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
