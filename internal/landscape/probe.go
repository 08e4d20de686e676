package landscape

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"time"
)

// probeTimeout bounds one readiness check, so a process that accepts connections but never
// answers is retried instead of stalling the start.
const probeTimeout = 2 * time.Second

// httpOK returns a readiness check that passes when GET url answers 200.
//
// With insecure set it does not verify the server's certificate. That is for edge's
// self-signed certificate, probed by this local supervisor on localhost only: everything
// else, including every real client of edge, verifies.
func httpOK(url string, insecure bool) func(context.Context) error {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if insecure {
		transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	client := &http.Client{Transport: transport, Timeout: probeTimeout}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}

// accepts returns a readiness check that passes when addr accepts a TCP connection.
func accepts(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		d := net.Dialer{Timeout: probeTimeout}
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return conn.Close()
	}
}

// allOf passes when every check passes, and reports the first that does not.
func allOf(checks ...func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		for _, check := range checks {
			if err := check(ctx); err != nil {
				return err
			}
		}
		return nil
	}
}
