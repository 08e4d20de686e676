// Command console is the workshop console: a web page, served by the landscape itself, for
// what `make trace`, `make fault` and `make check` do in a terminal. It reads Jaeger's query
// API through itself (same origin, so the page needs no CORS and no Jaeger UI), lists and
// runs the workshop's labs, and shows the faults of the edge's admin listener. Its assets
// (plain HTML, CSS and JavaScript modules in web/) are embedded in the binary: no build step,
// no CDN, nothing fetched from outside (workshop rooms are often offline).
//
//	make console                  on its own, beside make run or docker compose
//	make run                      starts it beside the services (CONSOLE_ADDR=off leaves it out)
//
// API.md is its contract with the page: every route, its answers and its errors.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"tracelab/common/logging"
	"tracelab/common/serve"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "console:", err)
		os.Exit(1)
	}
}

// config is what the console needs to know; each field has an env var and a flag.
type config struct {
	addr       string        // CONSOLE_ADDR
	jaeger     string        // JAEGER_QUERY_URL
	admin      string        // TRACELAB_ADMIN_URL: the edge's admin listener
	edge       string        // EDGE_URL: for the commands the page shows a learner
	instructor bool          // CONSOLE_INSTRUCTOR: may switch faults for everyone
	dir        string        // the repository: workshop/labs, bin/workshop, .run/
	workshop   string        // CONSOLE_WORKSHOP_BIN: the workshop command setup and check run
	environ    []string      // the workshop command's environment
	jaegerWait time.Duration // how long a call to Jaeger may take (tests shorten it)
}

const usage = `Usage: console [flags]

Serves the workshop console (traces, the dependency graph, the labs, the faults) on
CONSOLE_ADDR. Run it from the repository root: make console, or make run, which starts it.

Flags (each mirrors an environment variable):
`

// run serves the console until ctx is cancelled.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := parseConfig(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	level, err := logging.ParseLevel(getenv("LOG_LEVEL"))
	if err != nil {
		return fmt.Errorf("LOG_LEVEL=%q: %w", getenv("LOG_LEVEL"), err)
	}
	log := logging.New("console", stdout, level)
	srv := serve.NewServer(newServer(log, cfg), log)
	// A lab's setup or check may take a while (it sends requests and waits for their
	// spans): the answer must still get out after it.
	serve.AllowHandlerTime(srv, workshopTimeout)
	log.Info("console", "url.full", consoleURL(cfg.addr), "jaeger", cfg.jaeger, "admin", cfg.admin, "instructor", cfg.instructor)
	return serve.Run(ctx, log, srv, cfg.addr)
}

func parseConfig(args []string, getenv func(string) string, stdout io.Writer) (config, error) {
	fs := flag.NewFlagSet("console", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addr := fs.String("addr", envOr(getenv, "CONSOLE_ADDR", "127.0.0.1:8088"), "where to listen (env CONSOLE_ADDR)")
	jaeger := fs.String("jaeger", envOr(getenv, "JAEGER_QUERY_URL", "http://localhost:16686"), "Jaeger's query API (env JAEGER_QUERY_URL)")
	admin := fs.String("admin", envOr(getenv, "TRACELAB_ADMIN_URL", "http://127.0.0.1:8766"), "the edge's admin listener (env TRACELAB_ADMIN_URL)")
	edge := fs.String("edge", envOr(getenv, "EDGE_URL", "https://localhost:8765"), "the edge, for the commands the page shows (env EDGE_URL)")
	instructor := fs.String("instructor", envOr(getenv, "CONSOLE_INSTRUCTOR", "false"), "true: the page may switch faults for everyone (env CONSOLE_INSTRUCTOR)")
	dir := fs.String("dir", ".", "the repository root: workshop/labs, bin/workshop, .run/")
	workshop := fs.String("workshop", getenv("CONSOLE_WORKSHOP_BIN"), "the workshop command that runs setups and checks (env CONSOLE_WORKSHOP_BIN; default <dir>/bin/workshop)")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return config{}, err
	} else if err != nil {
		return config{}, fmt.Errorf("%w (console -h lists the flags)", err)
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q (console -h)", fs.Args())
	}
	cfg := config{addr: *addr, dir: *dir, workshop: *workshop, jaegerWait: jaegerTimeout}
	var err error
	if cfg.instructor, err = strconv.ParseBool(*instructor); err != nil {
		return config{}, fmt.Errorf("CONSOLE_INSTRUCTOR=%q: want true or false", *instructor)
	}
	for _, u := range []struct {
		name string
		in   string
		out  *string
	}{{"JAEGER_QUERY_URL", *jaeger, &cfg.jaeger}, {"TRACELAB_ADMIN_URL", *admin, &cfg.admin}, {"EDGE_URL", *edge, &cfg.edge}} {
		p, err := url.Parse(u.in)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return config{}, fmt.Errorf("%s=%q: want an http(s) URL", u.name, u.in)
		}
		*u.out = strings.TrimRight(u.in, "/")
	}
	if cfg.addr == "off" {
		return config{}, errors.New("CONSOLE_ADDR=off: the console is off (that setting is for make run); give an address to serve on")
	}
	if cfg.workshop == "" {
		cfg.workshop = filepath.Join(cfg.dir, "bin", "workshop")
	}
	// The workshop command runs with the console's environment plus the URLs the console
	// uses, so that a check from the page reads the same Jaeger and edge as the page.
	cfg.environ = append(os.Environ(), "JAEGER_QUERY_URL="+cfg.jaeger, "EDGE_URL="+cfg.edge)
	return cfg, nil
}

// consoleURL is the URL a local browser opens for a listen address.
func consoleURL(addr string) string {
	host, port := "", addr
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		host, port = addr[:i], addr[i+1:]
	}
	if host == "" || host == "0.0.0.0" || host == "127.0.0.1" || host == "[::]" {
		host = "localhost"
	}
	return "http://" + host + ":" + port
}

// version is the commit the console was built from, for /api/config.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return s.Value[:12]
		}
	}
	return "dev"
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// workshopTimeout bounds one setup or check: lab 3's setup sends forty requests and waits for
// their spans, a check waits for late spans; anything longer is stuck.
const workshopTimeout = 2 * time.Minute
