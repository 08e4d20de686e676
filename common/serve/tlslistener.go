package serve

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// tlsListener does the TLS handshakes that http.Server.ServeTLS would otherwise do, so
// that net/http's plain-text answers can be rewritten above TLS (see answers.go): an
// HTTP/1.1 connection reaches net/http as a jsonAnswerConn, which also reports the TLS
// state (net/http fills Request.TLS from it). An HTTP/2 connection reaches net/http as
// the *tls.Conn itself, because net/http serves HTTP/2 only on a *tls.Conn; HTTP/2 has no
// plain-text answers to rewrite.
//
// Handshakes run concurrently, each on a goroutine of its own with a deadline, as
// net/http runs them: one slow client never holds up Accept for the others.
type tlsListener struct {
	net.Listener // the TCP listener
	config       *tls.Config
	timeout      time.Duration // for one handshake
	log          *slog.Logger

	ready     chan net.Conn      // handshakes done, waiting for Accept
	start     sync.Once          // the accept loop starts with the first Accept
	stopped   chan struct{}      // closed when the accept loop has ended, err set
	err       error              // why it ended
	ctx       context.Context    // ends with Close: handshakes in progress are cut
	cancel    context.CancelFunc //
	closeOnce sync.Once
}

// newTLSListener serves TLS with config on ln. config must not change once Accept is
// called: net/http finishes configuring HTTP/2 in it before its first Accept.
func newTLSListener(ln net.Listener, config *tls.Config, handshakeTimeout time.Duration, log *slog.Logger) *tlsListener {
	ctx, cancel := context.WithCancel(context.Background())
	return &tlsListener{
		Listener: ln,
		config:   config,
		timeout:  handshakeTimeout,
		log:      log,
		ready:    make(chan net.Conn),
		stopped:  make(chan struct{}),
		ctx:      ctx,
		cancel:   cancel,
	}
}

// Accept returns the next connection whose handshake succeeded.
func (l *tlsListener) Accept() (net.Conn, error) {
	l.start.Do(func() { go l.acceptLoop() })
	select {
	case c := <-l.ready:
		return c, nil
	case <-l.stopped:
		return nil, l.err
	}
}

// Close stops accepting and cuts the handshakes in progress.
func (l *tlsListener) Close() error {
	var err error
	l.closeOnce.Do(func() {
		err = l.Listener.Close()
		l.cancel()
	})
	return err
}

// acceptLoop accepts TCP connections and starts a handshake for each, until the listener
// is closed. Other accept errors (out of file descriptors, say) are retried after a pause
// that grows to a second, as net/http does.
func (l *tlsListener) acceptLoop() {
	defer close(l.stopped)
	var pause time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || l.ctx.Err() != nil {
				l.err = err
				l.cancel()
				return
			}
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			l.log.Warn("accept failed; retrying", "err", err, "retry_in", pause.String())
			select {
			case <-time.After(pause):
			case <-l.ctx.Done():
			}
			continue
		}
		pause = 0
		go l.handshake(c)
	}
}

// handshake completes the TLS handshake on raw and hands the connection to Accept.
func (l *tlsListener) handshake(raw net.Conn) {
	ctx, cancel := context.WithTimeout(l.ctx, l.timeout)
	defer cancel()
	tc := tls.Server(raw, l.config)
	if err := tc.HandshakeContext(ctx); err != nil {
		l.refuse(raw, err)
		return
	}
	var conn net.Conn = tc
	if tc.ConnectionState().NegotiatedProtocol != "h2" {
		conn = &tlsAnswerConn{jsonAnswerConn: jsonAnswerConn{Conn: tc}, tls: tc}
	}
	select {
	case l.ready <- conn:
	case <-l.ctx.Done():
		_ = conn.Close()
	}
}

// refuse ends a connection whose handshake failed. A client that spoke plain HTTP to the
// HTTPS port gets a JSON 400 saying so, as net/http would have answered it in plain text.
func (l *tlsListener) refuse(raw net.Conn, err error) {
	defer raw.Close()
	var rec tls.RecordHeaderError
	if errors.As(err, &rec) && rec.Conn != nil && looksLikeHTTP(rec.RecordHeader) {
		_ = raw.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = raw.Write(jsonAnswer(http.StatusBadRequest, "this port speaks HTTPS: use https://"))
		l.log.Debug("tls handshake failed", "client.address", raw.RemoteAddr().String(), "err", "client sent an HTTP request to an HTTPS server")
		return
	}
	level := slog.LevelWarn
	if errors.Is(err, io.EOF) { // connected and left without a word: a port probe
		level = slog.LevelDebug
	}
	l.log.Log(context.Background(), level, "tls handshake failed", "client.address", raw.RemoteAddr().String(), "err", err)
}

// looksLikeHTTP reports whether the first five bytes a client sent begin an HTTP request,
// as net/http checks before it answers "Client sent an HTTP request to an HTTPS server".
func looksLikeHTTP(hdr [5]byte) bool {
	switch string(hdr[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO":
		return true
	}
	return false
}

// tlsAnswerConn is a jsonAnswerConn over TLS. ConnectionState is how net/http finds the
// TLS state of a connection that is not a *tls.Conn.
type tlsAnswerConn struct {
	jsonAnswerConn
	tls *tls.Conn
}

// ConnectionState reports the TLS state, for Request.TLS.
func (c *tlsAnswerConn) ConnectionState() tls.ConnectionState { return c.tls.ConnectionState() }

// withHTTPProtocols is config with "h2" and "http/1.1" offered in ALPN, as ServeTLS would
// set them: net/http serves HTTP/2 on a listener of ours only when config offers "h2".
func withHTTPProtocols(config *tls.Config) *tls.Config {
	config = config.Clone()
	for _, proto := range []string{"h2", "http/1.1"} {
		if !slices.Contains(config.NextProtos, proto) {
			config.NextProtos = append(config.NextProtos, proto)
		}
	}
	return config
}
