// Command imageservice answers which picture belongs to an account and serves the
// pictures, through a sepia (or grayscale) filter applied on every request. Decoding,
// filtering and encoding each get a child span, so a trace of GET /file/{name} shows
// which step the time went to. The images are painted in code at startup: the service
// needs no disk and no network.
package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"tracelab/common/config"
	"tracelab/common/faults"
	"tracelab/common/instrument"
	"tracelab/common/serve"
)

const serviceName = "imageservice"

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
	addr := cfg.String("addr", "IMAGESERVICE_ADDR", ":7777", "listen address")
	publicURL := cfg.String("public-url", "IMAGESERVICE_PUBLIC_URL", "http://localhost:7777",
		"base URL of this service as clients reach it, put into image urls")
	logLevel := cfg.String("log-level", "LOG_LEVEL", "info", "debug, info, warn or error")
	if err := cfg.Parse(args); err != nil {
		return err
	}
	base, err := parsePublicURL(*publicURL)
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

	images, err := paintGallery()
	if err != nil {
		return err
	}
	srv := serve.NewServer(newServer(log, tracer, sw, images, base), log)
	return serve.Run(ctx, log, srv, *addr)
}

// parsePublicURL checks the base URL once at startup, so a typo fails the service loudly
// instead of handing every client a url that leads nowhere. The trailing slash is dropped
// so base+"/file/..." never doubles it.
func parsePublicURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("IMAGESERVICE_PUBLIC_URL=%q: want an absolute http or https URL without query", s)
	}
	return strings.TrimRight(s, "/"), nil
}
