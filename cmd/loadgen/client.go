package main

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"time"
)

// traceIDHeader is where the edge puts the trace id of each answer (tracing.TraceIDHeader;
// not imported, so that a load generator does not link the Jaeger client).
const traceIDHeader = "X-Trace-Id"

// newClient is a keep-alive HTTP/1.1 client with one connection per worker or slot, the
// way wrk loads the reference chain, so the two are measured alike. No proxy from the
// environment: the load is meant for the address given. No gzip: nothing to unpack.
func newClient(insecure bool, conns int, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext: dialer.DialContext,
			// The local edge makes a self-signed certificate at every start: there is
			// nothing to verify it against. -k=false verifies a real one.
			TLSClientConfig:     &tls.Config{InsecureSkipVerify: insecure},
			TLSHandshakeTimeout: 10 * time.Second,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns, // the default of 2 would close and reopen connections all run long
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
		// A redirect is an answer to measure, not one to follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// httpSender sends a GET and reads the whole answer, so the latency includes the body
// and the connection can be reused. Each request carries header (the -baggage items).
func httpSender(client *http.Client, header http.Header) sendFunc {
	return func(ctx context.Context, url string) outcome {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return outcome{err: err}
		}
		for k, vs := range header {
			req.Header[k] = vs
		}
		resp, err := client.Do(req)
		if err != nil {
			return outcome{err: err}
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return outcome{err: err}
		}
		return outcome{status: resp.StatusCode, traceID: resp.Header.Get(traceIDHeader)}
	}
}
