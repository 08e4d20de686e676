// Command landscape runs the whole tracelab landscape in one terminal: it checks RabbitMQ,
// starts Jaeger and every service from bin/, shows their output with each line prefixed by
// its service's name, prints where to send a first request, and stops everything on Ctrl-C.
// `make run` builds the binaries and starts it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"unicode/utf8"

	"tracelab/internal/landscape"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Environ(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "landscape:", err)
		os.Exit(1)
	}
}

// run starts the landscape and returns once it has stopped: nil after ctx is cancelled
// (Ctrl-C), an error when it could not start or a process died.
//
// Unlike a service's run it takes the whole environment rather than a getenv func: the
// landscape passes the environment on to every process, and a getenv func cannot list it.
func run(ctx context.Context, args []string, environ []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("landscape", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() { fmt.Fprint(fs.Output(), usage) }
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil // -h: the usage was the answer
	} else if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q: settings are environment variables (landscape -h)", fs.Args())
	}

	// The output also goes to .run/landscape.log, which `make logs TRACE=<id>` reads (the
	// workshop's lab 6). A new run starts the file afresh.
	if err := os.MkdirAll(".run", 0o755); err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(".run", "landscape.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	l, err := landscape.Start(ctx, landscape.Config{Environ: environ, Stdout: io.MultiWriter(stdout, logFile)})
	if err != nil {
		return err
	}
	l.Print(box(summary(l)))
	return l.Wait()
}

const usage = `Usage: landscape

Checks RabbitMQ, then runs Jaeger and every tracelab service from bin/ in one terminal.
Run it from the repository root, through ` + "`make run`" + `. Ctrl-C stops everything.

Every setting is an environment variable, passed on to the services:
  AMQP_URL           RabbitMQ (default amqp://guest:guest@localhost:5672/)
  JAEGER_DISABLED    true: no Jaeger, no spans
  JAEGER_BIN         the Jaeger binary to start (else scripts/ensure-jaeger.sh finds or builds one)
  *_ADDR, *_URL      where services listen and find each other (see README); a URL follows its ADDR
  TRACING_SDK        jaeger (the default) or otel, for every service; <NAME>_TRACING_SDK for one
                     (ACCOUNTSERVICE_TRACING_SDK=otel), winning over TRACING_SDK
  CONSOLE_ADDR       where the workshop console listens (default 127.0.0.1:8088); off leaves it out
  CONSOLE_INSTRUCTOR true: the console's page may switch faults for everyone
  LOG_LEVEL          debug, info, warn or error
`

// summary is what a newcomer needs once the landscape is up: where things are, a first
// request, and how to read the trace it made.
func summary(l *landscape.Landscape) []string {
	edge := l.URL("edge")
	lines := []string{
		"tracelab is running. Ctrl-C stops it.",
		"",
		row("edge", edge+"   (HTTPS, self-signed certificate: curl -k)"),
	}
	if l.Console != "" {
		lines = append(lines, row("console", l.Console+"   (open it in a browser: traces, the graph, the labs, the faults)"))
	} else {
		lines = append(lines, row("console", "off (CONSOLE_ADDR=off)"))
	}
	switch {
	case l.Jaeger == "":
		lines = append(lines, row("jaeger", "off (JAEGER_DISABLED=true)"))
	case l.JaegerReused:
		lines = append(lines, row("jaeger", l.Jaeger+"   (API only, no UI; was already running)"))
	default:
		lines = append(lines, row("jaeger", l.Jaeger+"   (API only: this build has no UI)"))
	}
	for _, s := range l.Services {
		if s.Name != "edge" {
			lines = append(lines, row(s.Name, s.URL+"/healthz"))
		}
	}
	if sdk := l.TracingSDKs(); sdk != "" {
		lines = append(lines, row("tracing SDK", sdk))
	}
	lines = append(lines,
		row("VIP events", l.URL("vipservice")+"/vips"),
		row("RabbitMQ", l.RabbitMQ),
		"",
		"Try:",
		"  curl -k "+edge+"/api/accounts/10000",
	)
	if l.Jaeger != "" {
		lines = append(lines,
			"  curl -ki "+edge+"/api/accounts/10000    (-i shows the X-Trace-Id header)",
			"Then read that request's trace:",
			"  make trace ID=<X-Trace-Id>    (a waterfall in this terminal)",
		)
		if l.Console != "" {
			lines = append(lines, "  "+l.Console+"/trace/<X-Trace-Id>    (the same in the browser)")
		}
		lines = append(lines,
			"  curl -s "+l.Jaeger+"/api/traces/<X-Trace-Id>    (the raw JSON)",
		)
	}
	return lines
}

func row(name, value string) string { return fmt.Sprintf("  %-16s%s", name, value) }

// box draws lines in a frame, so the summary stands out among the services' logs.
func box(lines []string) string {
	width := 0
	for _, line := range lines {
		width = max(width, utf8.RuneCountInString(line))
	}
	var b strings.Builder
	b.WriteString("\n┌" + strings.Repeat("─", width+2) + "┐\n")
	for _, line := range lines {
		b.WriteString("│ " + line + strings.Repeat(" ", width-utf8.RuneCountInString(line)) + " │\n")
	}
	b.WriteString("└" + strings.Repeat("─", width+2) + "┘\n\n")
	return b.String()
}
