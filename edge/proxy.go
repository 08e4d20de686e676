package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"tracelab/common/respond"
	"tracelab/common/tracing"
)

// defaultUpstreamTimeout is how long one proxied call may take (EDGE_UPSTREAM_TIMEOUT).
const defaultUpstreamTimeout = 10 * time.Second

// statusClientClosedRequest is nginx's 499: the client hung up before the answer was
// ready. It is no 5xx, because nothing failed on our side, so the span and the access log
// show it without raising an error.
const statusClientClosedRequest = 499

// route is one line of the edge's route table, like a zuul.routes entry: requests matching
// pattern lose stripPrefix from their path and go to target, the base URL of service.
type route struct {
	pattern     string   // ServeMux pattern; it also names the server span
	stripPrefix string   // cut from the front of the path before forwarding
	service     string   // names the client span, the peer.service tag and error messages
	target      *url.URL // base URL of the service; its path, if any, goes in front
}

// routeTable is every route of the edge, in one place. GET /api/accounts/10000 becomes
// GET http://localhost:6767/accounts/10000, query string and all; the pictures whose URLs
// imageservice hands out (IMAGESERVICE_PUBLIC_URL=https://<edge>/api/images) come the same
// way, so a browser needs nothing but the edge.
func routeTable(accountservice, imageservice *url.URL) []route {
	return []route{
		{
			pattern:     "GET /api/accounts/{id}/transactions",
			stripPrefix: "/api",
			service:     "accountservice",
			target:      accountservice,
		},
		{
			pattern:     "GET /api/accounts/{id...}",
			stripPrefix: "/api",
			service:     "accountservice",
			target:      accountservice,
		},
		{
			pattern:     "GET /api/images/file/{name}",
			stripPrefix: "/api/images",
			service:     "imageservice",
			target:      imageservice,
		},
	}
}

// handleProxy forwards a route's requests through proxy and gives each at most timeout,
// from the moment it arrives until the last byte of the answer, so a hung upstream cannot
// hold the caller and one of our connections forever. A request body goes upstream as a
// clientBody, so that a failure to read it is blamed on the client, not on the upstream.
func handleProxy(proxy http.Handler, timeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		if r.ContentLength != 0 {
			body := &clientBody{ReadCloser: r.Body}
			r = r.WithContext(context.WithValue(ctx, clientBodyKey{}, body))
			r.Body = body
		} else {
			r = r.WithContext(ctx)
		}
		proxy.ServeHTTP(w, r)
	})
}

// clientBodyKey is where the request's context holds its clientBody: ReverseProxy hands
// its ErrorHandler the outgoing request, whose body it has wrapped, but the context is the
// same.
type clientBodyKey struct{}

// clientBody is the body of a request as the edge forwards it. It remembers why reading
// it failed: the transport reports a broken or unfinished body (a bad chunk size, fewer
// bytes than Content-Length, a client too slow for the edge's ReadTimeout) as the call's
// error, and only the body can tell that the fault was the client's.
type clientBody struct {
	io.ReadCloser
	mu  sync.Mutex // the transport reads on a goroutine of its own
	err error
}

func (b *clientBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.mu.Lock()
		b.err = err
		b.mu.Unlock()
	}
	return n, err
}

// readError is why reading the body failed, or nil.
func (b *clientBody) readError() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// clientBodyError is why the client's body of r could not be read, or nil.
func clientBodyError(r *http.Request) error {
	if b, ok := r.Context().Value(clientBodyKey{}).(*clientBody); ok {
		return b.readError()
	}
	return nil
}

// newProxy builds the reverse proxy for rt. Its transport is traced: the call upstream gets
// a client span, a child of the server span in the request's context, and carries that
// span's trace headers. pool may be nil, which costs a 32 KiB buffer per response.
func newProxy(log *slog.Logger, rt route, pool httputil.BufferPool) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			// ServeMux matched the pattern, so the prefix is there; RawPath holds the path
			// as sent when it has escapes (an id with %2F), and must stay in step.
			pr.Out.URL.Path = strings.TrimPrefix(pr.Out.URL.Path, rt.stripPrefix)
			pr.Out.URL.RawPath = strings.TrimPrefix(pr.Out.URL.RawPath, rt.stripPrefix)
			// SetURL keeps the query and sets Host to the upstream's own.
			pr.SetURL(rt.target)
			// The edge is where the internet ends: X-Forwarded-* the client sent are
			// dropped by Rewrite (they could be forged) and the edge writes its own.
			pr.SetXForwarded()
		},
		ModifyResponse: func(resp *http.Response) error {
			// The upstream's trace id is the same trace as ours (it continued it), and
			// tracing.Middleware has already set ours: the caller gets it exactly once.
			resp.Header.Del(tracing.TraceIDHeader)
			return nil
		},
		Transport:    tracing.Transport(newTransport(), rt.service),
		BufferPool:   pool,
		ErrorHandler: handleUpstreamError(log, rt.service),
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// newTransport is the connection pool to one upstream service. http.DefaultTransport keeps
// only 2 idle connections per host: under load the edge would then open and close a
// connection for almost every request, and run out of ports in TIME_WAIT.
func newTransport() *http.Transport {
	return &http.Transport{
		// No Proxy: the upstream is inside the landscape, never behind HTTP_PROXY.
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// handleUpstreamError answers a request the upstream could not: 504 when it took too long,
// 502 when it could not be reached or broke off, as JSON naming only the service. The
// cause is logged with the request's context, so the line carries the trace id the
// caller got in X-Trace-Id. A client that hung up is no failure of ours, and neither is a
// request body the client broke off or mangled: that is a 400, whatever the transport
// made of it (a read timeout would otherwise pass for the upstream's).
func handleUpstreamError(log *slog.Logger, service string) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		ctx := r.Context()
		if bodyErr := clientBodyError(r); bodyErr != nil {
			log.InfoContext(ctx, "bad request body", "service.target.name", service, "err", bodyErr)
			closeAfterAnswer(w, r)
			respond.Error(w, http.StatusBadRequest, "the request body could not be read")
			return
		}
		switch {
		case isTimeout(err):
			log.ErrorContext(ctx, "upstream timed out", "service.target.name", service, "err", err)
			respond.Error(w, http.StatusGatewayTimeout, service+" timed out")
		case errors.Is(err, context.Canceled):
			log.DebugContext(ctx, "client went away", "service.target.name", service, "err", err)
			w.WriteHeader(statusClientClosedRequest)
		default:
			log.ErrorContext(ctx, "upstream unavailable", "service.target.name", service, "err", err)
			respond.Error(w, http.StatusBadGateway, service+" unavailable")
		}
	}
}

// isTimeout reports whether err is our deadline running out (EDGE_UPSTREAM_TIMEOUT) or a
// network timeout (the dial, say).
func isTimeout(err error) bool {
	var netErr net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout())
}

// bufferSize is what io.Copy and ReverseProxy use when they bring their own buffer.
const bufferSize = 32 << 10

// bufferPool lends ReverseProxy its copy buffers. Without one, every proxied response
// allocates a fresh 32 KiB buffer: measured on the edge, that cost about a fifth of its
// throughput in garbage collection (go test -bench Proxy -benchmem shows the bytes).
//
// The pool holds array pointers, not slices: a slice put in a sync.Pool is boxed into a
// new allocation on every Put, the very thing the pool is there to avoid.
type bufferPool struct{ pool sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{pool: sync.Pool{New: func() any { return new([bufferSize]byte) }}}
}

// Get returns a buffer of bufferSize bytes.
func (p *bufferPool) Get() []byte { return p.pool.Get().(*[bufferSize]byte)[:] }

// Put takes a buffer back; one of another size is left to the garbage collector.
func (p *bufferPool) Put(b []byte) {
	if len(b) != bufferSize {
		return
	}
	p.pool.Put((*[bufferSize]byte)(b))
}
