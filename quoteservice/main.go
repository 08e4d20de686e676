// Command quoteservice serves a quote of the day in several languages. Its strength
// parameter burns CPU inside a child span, so a trace shows where a slow request's time
// went. It is the smallest tracelab service: copy it to start a new one.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"tracelab/common/config"
	"tracelab/common/faults"
	"tracelab/common/instrument"
	"tracelab/common/serve"
)

const serviceName = "quoteservice"

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
	addr := cfg.String("addr", "QUOTESERVICE_ADDR", ":8080", "listen address")
	logLevel := cfg.String("log-level", "LOG_LEVEL", "info", "debug, info, warn or error")
	if err := cfg.Parse(args); err != nil {
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

	srv := serve.NewServer(newServer(log, tracer, sw, builtinQuotes), log)
	return serve.Run(ctx, log, srv, *addr)
}
