package tracing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	otlog "github.com/opentracing/opentracing-go/log"
)

// Transport wraps base (http.DefaultTransport when nil) so that every outbound request made
// with a span in its context gets a client span, named "GET quoteservice" and tagged with
// peer.service and the http.* tags, and carries the trace in its headers. The span covers
// the whole answer: it ends when the body has been read to its end or closed, and a body
// that breaks off mid-way (the peer died, a timeout fired) marks it failed, so a 200 whose
// body never arrived is no success in the trace.
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
	// The kind goes in at start: the OpenTelemetry bridge reads it only there.
	span := parent.Tracer().StartSpan(req.Method+" "+t.peer, opentracing.ChildOf(parent.Context()), ext.SpanKindRPCClient)
	ext.Component.Set(span, "net/http")
	ext.PeerService.Set(span, t.peer)
	ext.HTTPMethod.Set(span, req.Method)
	ext.HTTPUrl.Set(span, clientURL(req.URL))

	// A RoundTripper must not modify the request it was given.
	out := req.Clone(req.Context())
	RemoveTracingHeaders(out.Header)
	_ = span.Tracer().Inject(span.Context(), opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(out.Header))

	start := time.Now()
	resp, err := t.base.RoundTrip(out)
	if err != nil {
		SetError(span, callError(req.Context(), t.peer, start, err))
		span.Finish()
		return nil, err
	}
	ext.HTTPStatusCode.Set(span, uint16(resp.StatusCode))
	switch {
	case resp.StatusCode >= 500:
		SetError(span, fmt.Errorf("%s answered %s", t.peer, resp.Status))
	case resp.StatusCode >= 400 && !isOTel(span.Tracer()):
		// A 4xx is the peer's answer to a client's mistake (an unknown account, say), which
		// the caller passes on: no failure of the system. Say so explicitly, because Jaeger
		// v2 follows OpenTelemetry, which marks a client span with a 4xx as an error unless
		// the span states its status itself.
		// The otel mode leaves the status unset already, and the bridge would turn this tag
		// into a literal attribute.
		span.SetTag(otelStatusCode, "UNSET")
	}
	// No body to wait for; and a 101's body is the upgraded connection, which
	// httputil.ReverseProxy needs as it is (an io.ReadWriteCloser).
	if resp.Body == nil || resp.Body == http.NoBody || resp.StatusCode == http.StatusSwitchingProtocols {
		span.Finish()
		return resp, nil
	}
	resp.Body = &tracedBody{ReadCloser: resp.Body, span: span, peer: t.peer}
	return resp, nil
}

// callError is what the client span records for a call that failed with err. A call whose
// deadline has passed (the caller's timeout, http.Client.Timeout among them) says so: the
// transport reports an http.Client.Timeout as "net/http: request canceled", which reads
// like somebody's choice, while the trace must tell that the peer was too slow. The error
// returned to the caller is left as it is.
func callError(ctx context.Context, peer string, start time.Time, err error) error {
	deadline, ok := ctx.Deadline()
	if !ok || time.Now().Before(deadline) {
		return err
	}
	budget := deadline.Sub(start).Round(time.Millisecond)
	if budget >= 100*time.Millisecond {
		budget = budget.Round(10 * time.Millisecond) // 2s, not the 1.999s left when the call began
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s did not answer in time: timeout after %v (%w)", peer, budget, err)
	}
	return fmt.Errorf("%s did not answer in time: timeout after %v (%w: %v)", peer, budget, context.DeadlineExceeded, err)
}

// tracedBody finishes the client span once the answer is over: read to its end, broken
// off (the span then says why), or closed by the caller.
type tracedBody struct {
	io.ReadCloser
	span opentracing.Span
	peer string
	once sync.Once
}

func (b *tracedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.finish(err)
	}
	return n, err
}

func (b *tracedBody) Close() error {
	err := b.ReadCloser.Close()
	b.finish(nil)
	return err
}

// finish ends the span once: err is what reading the body returned (io.EOF at its end),
// nil when the caller closed it.
func (b *tracedBody) finish(err error) {
	b.once.Do(func() {
		switch {
		case err == io.EOF:
		case err == nil, errors.Is(err, context.Canceled):
			// Closed or cancelled before its end: the caller's choice (or its own client
			// hung up), the peer did nothing wrong. Worth a note: the span ends before the
			// answer did.
			b.span.LogFields(otlog.String("event", "closed before the end of the body"))
		default:
			SetError(b.span, fmt.Errorf("reading the answer of %s: %w", b.peer, err))
		}
		b.span.Finish()
	})
}

// clientURL is the URL called, without its password (it stays out of Jaeger) and without
// its query string: the edge forwards a client's query, which can hold what people type,
// and the server spans and access logs leave it out for the same reason.
func clientURL(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, User: u.User, Host: u.Host, Path: u.Path, RawPath: u.RawPath}).Redacted()
}

// otelStatusCode is the tag OpenTelemetry-based backends read a span's status from.
const otelStatusCode = "otel.status_code"

// RemoveTracingHeaders deletes every Jaeger, B3 and W3C (traceparent, tracestate, baggage)
// propagation header from h: the otel mode writes the W3C ones too.
func RemoveTracingHeaders(h http.Header) {
	for k := range h {
		// Compared without regard to case, and without lower-casing (allocating) each name.
		if strings.EqualFold(k, uberTraceIDHeader) || strings.EqualFold(k, jaegerBaggageHeader) ||
			strings.EqualFold(k, jaegerDebugHeader) || strings.EqualFold(k, b3Header) ||
			hasPrefixFold(k, uberctxPrefix) || hasPrefixFold(k, "x-b3-") || hasPrefixFold(k, b3BaggagePrefix) ||
			strings.EqualFold(k, "traceparent") || strings.EqualFold(k, "tracestate") || strings.EqualFold(k, "baggage") {
			delete(h, k)
		}
	}
}
