// Command trace prints a trace from Jaeger as a waterfall in the terminal: each span on a
// line, indented under its parent, with its offset, duration and a bar on a timeline, then
// its kind, references, errors and the tags that matter. The Jaeger built for tracelab has
// no UI, and workshops often run over ssh; `make trace ID=<trace id>` runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"tracelab/internal/jaegerapi"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "trace:", err)
		os.Exit(1)
	}
}

const usage = `Usage: trace -id <trace id>      print that trace
       trace -service <name>  print the latest trace of that service

Reads the trace from Jaeger's query API and prints it as a waterfall. The trace id of a
request is in the X-Trace-Id header of the edge's answer (curl -ki). From the repository
root: make trace ID=<trace id>, or make trace SERVICE=<name>.

Flags:
`

// run fetches one trace and prints it to stdout. It is a command, not a service: it
// returns once the waterfall is printed, or with an error for a trace that is not found,
// a Jaeger that does not answer, or flags that make no sense.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("trace", flag.ContinueOnError)
	id := fs.String("id", "", "trace id to print: up to 32 hex digits, as in the X-Trace-Id header")
	service := fs.String("service", "", "print the latest trace of this service instead")
	jaeger := fs.String("jaeger", envOr(getenv, "JAEGER_QUERY_URL", "http://localhost:16686"),
		"base URL of Jaeger's query API (env JAEGER_QUERY_URL)")
	console := fs.String("console", envOr(getenv, "CONSOLE_URL", "http://localhost:8088"),
		"the workshop console, for the trace's link at the end (env CONSOLE_URL; off for none)")
	width := fs.Int("width", 100, fmt.Sprintf("width of the output in columns, at least %d", minWidth))
	noColor := fs.Bool("no-color", false, "no colors, even on a terminal (as does env NO_COLOR)")
	allTags := fs.Bool("all-tags", false, "show every tag of every span, not only those that tell the story")
	// Errors go back to main, which prints them on stderr; only -h writes the usage.
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return nil // -h: the usage was the answer
	} else if err != nil {
		return fmt.Errorf("%w (trace -h lists the flags)", err)
	}

	*id = strings.TrimSpace(*id)
	*service = strings.TrimSpace(*service)
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected arguments %q: give the trace id as -id <trace id>", fs.Args())
	case *id == "" && *service == "":
		return errors.New("which trace? give -id <trace id>, or -service <name> for its latest (trace -h)")
	case *id != "" && *service != "":
		return errors.New("give -id or -service, not both")
	case *id != "" && !jaegerapi.IsTraceID(*id):
		return fmt.Errorf("-id %q is not a trace id: want 1 to 32 hex digits, as in the X-Trace-Id header", *id)
	case *width < minWidth:
		return fmt.Errorf("-width %d is too narrow for a waterfall: at least %d", *width, minWidth)
	}
	jt, err := fetch(ctx, *jaeger, *id, *service)
	if err != nil {
		return err
	}

	v := view{
		width:   *width,
		color:   !*noColor && getenv("NO_COLOR") == "" && getenv("TERM") != "dumb" && isTerminal(stdout),
		allTags: *allTags,
		loc:     time.Local,
	}
	if err := v.render(stdout, newTrace(jt)); err != nil {
		return err
	}
	// The same trace in the browser: the console's waterfall, one click from the terminal.
	if *console != "off" && *console != "" {
		fmt.Fprintf(stdout, "\nin the browser: %s/trace/%s\n", strings.TrimRight(*console, "/"), jt.TraceID)
	}
	return nil
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// isTerminal says whether w is a terminal, the only place where colors help: piped into a
// file or less, escape codes are noise.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
