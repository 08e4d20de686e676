// Package serve runs a service's HTTP server the same way in every tracelab service: sane
// timeouts and header limits, and a graceful stop that drains requests in flight before
// the caller flushes its spans.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// DrainTimeout is how long a stopping server waits for requests in flight.
const DrainTimeout = 10 * time.Second

// NewServer returns an http.Server for h with timeouts that stop slow clients from holding
// connections forever, and a limit on header size.
func NewServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Run serves srv on addr until ctx is cancelled (SIGINT/SIGTERM in main), then stops
// accepting, waits up to DrainTimeout for requests in flight, and returns. With
// srv.TLSConfig set it serves HTTPS with the certificates in that config.
func Run(ctx context.Context, log *slog.Logger, srv *http.Server, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	return RunListener(ctx, log, srv, ln)
}

// RunListener is Run on a listener the caller opened (tests listen on port 0).
func RunListener(ctx context.Context, log *slog.Logger, srv *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	useTLS := srv.TLSConfig != nil // read before Serve: it configures HTTP/2 in TLSConfig
	go func() {
		if useTLS {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	// The scheme rather than a "tls": true/false field: the edge also logs tls.server.*
	// fields, and in Elasticsearch one name cannot be a value in some lines and an object
	// in others (the second kind of line is refused, silently, by the data stream).
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	log.Info("listening", "server.address", ln.Addr().String(), "url.scheme", scheme)

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests in flight")
	drainCtx, cancel := context.WithTimeout(context.Background(), DrainTimeout)
	defer cancel()
	if err := srv.Shutdown(drainCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
