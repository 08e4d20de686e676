// Package serve runs a service's HTTP server the same way in every tracelab service: sane
// timeouts and header limits, JSON answers even where net/http would answer in plain text
// (answers.go), and a graceful stop that drains requests in flight before the caller
// flushes its spans.
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
// connections forever, and a limit on header size. ServeMux's own text answers (its
// redirects, 405) come out as JSON like h's.
func NewServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           jsonAnswers(h),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// answerMargin is how much longer than its slowest handler a server gives an answer to be
// written: enough for a small JSON error.
const answerMargin = 5 * time.Second

// AllowHandlerTime makes srv's WriteTimeout outlast a handler that may take up to d, so
// that such a handler still gets its answer out. net/http arms the WriteTimeout when it
// has read a request's headers, and a handler that answers after it has passed writes
// into a connection that is already cut: the client sees the connection break, not the
// handler's 504.
func AllowHandlerTime(srv *http.Server, d time.Duration) {
	srv.WriteTimeout = max(srv.WriteTimeout, d+answerMargin)
}

// Run serves srv on addr until ctx is cancelled (SIGINT/SIGTERM in main), then stops
// accepting, waits up to DrainTimeout for requests in flight, and returns. With
// srv.TLSConfig set it serves HTTPS (HTTP/2 and HTTP/1.1) with the certificates in that
// config.
func Run(ctx context.Context, log *slog.Logger, srv *http.Server, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	return RunListener(ctx, log, srv, ln)
}

// RunListener is Run on a listener the caller opened (tests listen on port 0).
func RunListener(ctx context.Context, log *slog.Logger, srv *http.Server, ln net.Listener) error {
	addr := ln.Addr().String()
	useTLS := srv.TLSConfig != nil
	ln = answerListener(srv, ln, log)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	// The scheme rather than a "tls": true/false field: the edge also logs tls.server.*
	// fields, and in Elasticsearch one name cannot be a value in some lines and an object
	// in others (the second kind of line is refused, silently, by the data stream).
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	log.Info("listening", "server.address", addr, "url.scheme", scheme)

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

// answerListener wraps ln so that net/http's own plain-text answers go out as JSON (see
// answers.go): every connection is a jsonAnswerConn, or, with srv.TLSConfig set, a
// connection whose TLS handshake tlsListener has done, so the rewrite sees plain text.
func answerListener(srv *http.Server, ln net.Listener, log *slog.Logger) net.Listener {
	if srv.TLSConfig == nil {
		return jsonAnswerListener{ln}
	}
	srv.TLSConfig = withHTTPProtocols(srv.TLSConfig)
	handshakeTimeout := srv.ReadHeaderTimeout
	if handshakeTimeout <= 0 {
		handshakeTimeout = 10 * time.Second
	}
	return newTLSListener(ln, srv.TLSConfig, handshakeTimeout, log)
}

// jsonAnswerListener hands out its connections as jsonAnswerConns.
type jsonAnswerListener struct{ net.Listener }

func (l jsonAnswerListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &jsonAnswerConn{Conn: c}, nil
}
