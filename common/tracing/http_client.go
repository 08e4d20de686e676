package tracing

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
)

// Transport wraps base (http.DefaultTransport when nil) so that every outbound request made
// with a span in its context gets a client span, named "GET quoteservice" and tagged with
// peer.service and the http.* tags, and carries the trace in its headers.
//
// The transport owns the tracing headers of what it sends: any it was handed (a proxy
// forwarding a client's headers, say) are removed and the current span's are written, so
// a stale parent id never leaks downstream. A request without a span in its context is
// sent untouched.
func Transport(base http.RoundTripper, peerService string) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{base: base, peer: peerService}
}

type transport struct {
	base http.RoundTripper
	peer string
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	parent := opentracing.SpanFromContext(req.Context())
	if parent == nil {
		return t.base.RoundTrip(req)
	}
	span := parent.Tracer().StartSpan(req.Method+" "+t.peer, opentracing.ChildOf(parent.Context()))
	defer span.Finish()
	ext.SpanKindRPCClient.Set(span)
	ext.Component.Set(span, "net/http")
	ext.PeerService.Set(span, t.peer)
	ext.HTTPMethod.Set(span, req.Method)
	ext.HTTPUrl.Set(span, req.URL.Redacted()) // a password in the URL stays out of Jaeger

	// A RoundTripper must not modify the request it was given.
	out := req.Clone(req.Context())
	RemoveTracingHeaders(out.Header)
	_ = span.Tracer().Inject(span.Context(), opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(out.Header))

	resp, err := t.base.RoundTrip(out)
	if err != nil {
		SetError(span, err)
		return nil, err
	}
	ext.HTTPStatusCode.Set(span, uint16(resp.StatusCode))
	switch {
	case resp.StatusCode >= 500:
		SetError(span, fmt.Errorf("%s answered %s", t.peer, resp.Status))
	case resp.StatusCode >= 400:
		// A 4xx is the peer's answer to a client's mistake (an unknown account, say), which
		// the caller passes on: no failure of the system. Say so explicitly, because Jaeger
		// v2 follows OpenTelemetry, which marks a client span with a 4xx as an error unless
		// the span states its status itself.
		span.SetTag(otelStatusCode, "UNSET")
	}
	return resp, nil
}

// otelStatusCode is the tag OpenTelemetry-based backends read a span's status from.
const otelStatusCode = "otel.status_code"

// RemoveTracingHeaders deletes every Jaeger and B3 propagation header from h.
func RemoveTracingHeaders(h http.Header) {
	for k := range h {
		// Compared without regard to case, and without lower-casing (allocating) each name.
		if strings.EqualFold(k, "uber-trace-id") || strings.EqualFold(k, "jaeger-baggage") ||
			strings.EqualFold(k, "jaeger-debug-id") || strings.EqualFold(k, "b3") ||
			hasPrefixFold(k, "uberctx-") || hasPrefixFold(k, "x-b3-") || hasPrefixFold(k, "baggage-") {
			delete(h, k)
		}
	}
}
