// Command edge is the single way into the tracelab landscape, as Zuul is in goblog: it
// terminates HTTPS and forwards each route of its table to the service behind it. The
// edge starts every trace a browser or curl begins, so a trace shows the whole journey:
// the edge's server span, its client span for the call upstream, and what happened there.
package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"tracelab/common/config"
	"tracelab/common/faults"
	"tracelab/common/instrument"
	"tracelab/common/serve"
	"tracelab/common/tracing"
)

const serviceName = "edge"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, serviceName+":", err)
		os.Exit(1)
	}
}

// run is the whole service; main only wires it to the process. Tests call it directly.
// It returns when ctx is cancelled and every span is flushed, or on a startup error.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg := config.New(serviceName, getenv)
	addr := cfg.String("addr", "EDGE_ADDR", ":8765", "HTTPS listen address")
	accountsURL := cfg.String("accountservice-url", "ACCOUNTSERVICE_URL", "http://localhost:6767", "base URL of accountservice")
	imagesURL := cfg.String("imageservice-url", "IMAGESERVICE_URL", "http://localhost:7777", "base URL of imageservice")
	quotesURL := cfg.String("quoteservice-url", "QUOTESERVICE_URL", "http://localhost:8080", "base URL of quoteservice (the admin listener's faults calls only)")
	vipsURL := cfg.String("vipservice-url", "VIPSERVICE_URL", "http://localhost:6868", "base URL of vipservice (the admin listener's faults calls only)")
	adminAddr := cfg.String("admin-addr", "EDGE_ADMIN_ADDR", "127.0.0.1:8766",
		"listen address of the admin listener (GET/PUT /faults for the whole landscape, make fault); off: none")
	certFile := cfg.String("tls-cert", "EDGE_TLS_CERT", "", "PEM certificate file; empty for a self-signed certificate")
	keyFile := cfg.String("tls-key", "EDGE_TLS_KEY", "", "PEM private key file for the certificate")
	upstreamTimeout := cfg.Duration("upstream-timeout", "EDGE_UPSTREAM_TIMEOUT", defaultUpstreamTimeout,
		"how long one proxied call may take before the edge answers 504")
	trustTraceHeaders := cfg.Bool("trust-trace-headers", "EDGE_TRUST_TRACE_HEADERS", true,
		"continue the traces callers send (their ids, sampling decision, baggage); false: a new trace per request")
	logLevel := cfg.String("log-level", "LOG_LEVEL", "info", "debug, info, warn or error")
	if err := cfg.Parse(args); err != nil {
		return err
	}
	if *upstreamTimeout <= 0 {
		return fmt.Errorf("EDGE_UPSTREAM_TIMEOUT=%v: want a positive duration", *upstreamTimeout)
	}
	accounts, err := upstreamURL("ACCOUNTSERVICE_URL", *accountsURL)
	if err != nil {
		return err
	}
	images, err := upstreamURL("IMAGESERVICE_URL", *imagesURL)
	if err != nil {
		return err
	}
	quotes, err := upstreamURL("QUOTESERVICE_URL", *quotesURL)
	if err != nil {
		return err
	}
	vips, err := upstreamURL("VIPSERVICE_URL", *vipsURL)
	if err != nil {
		return err
	}
	sw, err := faults.FromEnv(getenv) // TRACELAB_FAULTS_ENABLED and TRACELAB_FAULTS
	if err != nil {
		return err
	}
	log, tracer, closer, err := instrument.New(serviceName, *logLevel, getenv, stdout)
	if err != nil {
		return err
	}
	// Deferred first, so it runs last: spans are flushed after the server has drained.
	defer closer.Close()

	tlsConfig, err := newTLSConfig(*certFile, *keyFile, log)
	if err != nil {
		return err
	}

	// The edge is where callers from outside arrive: whether their tracing headers count is
	// a setting (tracing.TrustCallers says what each choice means).
	handler := newServer(log, tracer, sw, routeTable(accounts, images), *upstreamTimeout, tracing.TrustCallers(*trustTraceHeaders))
	srv := newHTTPServer(handler, log, *upstreamTimeout, tlsConfig)

	// The instructor's switch, on a listener of its own: the faults of the edge and of
	// every service behind it (see admin.go).
	peers := []peer{{"accountservice", accounts}, {"quoteservice", quotes}, {"imageservice", images}, {"vipservice", vips}}
	stopAdmin, err := startAdmin(log, *adminAddr, newAdminServer(log, sw, peers))
	if err != nil {
		return err
	}
	defer stopAdmin() // after the public server has drained, before the spans are flushed
	return serve.Run(ctx, log, srv, *addr)
}

// upstreamURL reads the base URL of a service behind the edge. It is checked at startup:
// a typo here would otherwise show up only as a 502 on the first request.
func upstreamURL(env, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s=%q: want an http or https URL such as http://localhost:6767", env, raw)
	}
	return u, nil
}
