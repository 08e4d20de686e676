// Command workshop is the workshop's companion in the terminal: it prints a lab, gives its
// hints one at a time, prepares it, and checks the learner's work against the traces Jaeger
// stored. The Makefile runs it:
//
//	make lab LAB=2                 the lab's text
//	make hint LAB=2 [HINT=k]       the next hint (or hint k)
//	make setup LAB=2               prepare the lab (a seed, a start time, requests)
//	make check LAB=2 [ANSWER=...]  ✓ or ✗, with what was measured
//	make logs TRACE=<id>           the log lines of one trace, from make run's output
//
// A check decides from the traces themselves, and only from traces made after the lab's
// setup (or from requests the check sends itself), so an old trace can never pass it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	var failed checkFailed
	switch {
	case errors.As(err, &failed):
		os.Exit(1) // the ✗ and its reasons are printed already
	case err != nil:
		fmt.Fprintln(os.Stderr, "workshop:", err)
		os.Exit(1)
	}
}

// checkFailed is what run returns when a check said ✗: the learner has the reasons, main
// only sets the exit status.
type checkFailed struct{ lab int }

func (c checkFailed) Error() string { return fmt.Sprintf("the check of lab %d failed", c.lab) }

const usage = `Usage: workshop lab <N>               print lab N
       workshop hint <N> [k]          the next hint of lab N, or hint k
       workshop setup <N>             prepare lab N
       workshop check <N> [answer]    check lab N: ✓ (exit 0) or ✗ (exit 1)
       workshop logs <trace id>       the log lines of a trace, from make run's output
       workshop list                  the labs

From the repository root: make lab LAB=N, make hint LAB=N, make setup LAB=N,
make check LAB=N ANSWER="...", make logs TRACE=<id>.

Environment:
  JAEGER_QUERY_URL   Jaeger's query API (default http://localhost:16686)
  EDGE_URL           the edge (default https://localhost:8765, or from EDGE_ADDR)
  WORKSHOP_STATE     where setup keeps what checks need (default .run/workshop)
  LANDSCAPE_LOG      make run's output (default .run/landscape.log)
`

// env is what the subcommands read from the environment.
type env struct {
	jaegerURL string
	edgeURL   string
	stateDir  string
	labsDir   string
	logPath   string
	stdout    io.Writer
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "help" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	e := env{
		jaegerURL: strings.TrimRight(envOr(getenv, "JAEGER_QUERY_URL", "http://localhost:16686"), "/"),
		edgeURL:   strings.TrimRight(edgeURL(getenv), "/"),
		stateDir:  envOr(getenv, "WORKSHOP_STATE", filepath.Join(".run", "workshop")),
		labsDir:   envOr(getenv, "WORKSHOP_LABS", filepath.Join("workshop", "labs")),
		logPath:   envOr(getenv, "LANDSCAPE_LOG", filepath.Join(".run", "landscape.log")),
		stdout:    stdout,
	}
	cmd, rest := args[0], args[1:]
	if cmd == "list" {
		for _, l := range labs {
			fmt.Fprintf(stdout, "%2d  %-28s %s\n", l.n, l.slug, l.title)
		}
		return nil
	}
	if cmd == "logs" {
		if len(rest) != 1 || strings.TrimSpace(rest[0]) == "" {
			return errors.New("which trace? make logs TRACE=<trace id>")
		}
		return printLogs(e, strings.TrimSpace(rest[0]))
	}
	if len(rest) == 0 {
		return fmt.Errorf("which lab? give its number: make %s LAB=N (make lab LAB=1 to start)", cmd)
	}
	lab, err := findLab(rest[0])
	if err != nil {
		return err
	}
	rest = rest[1:]
	switch cmd {
	case "lab":
		return printLab(e, lab)
	case "hint":
		k := 0
		if len(rest) > 0 && rest[0] != "" {
			if k, err = strconv.Atoi(rest[0]); err != nil || k < 1 {
				return fmt.Errorf("HINT=%q: want a hint number, 1 or more", rest[0])
			}
		}
		return printHint(e, lab, k)
	case "setup":
		return setup(ctx, e, lab)
	case "check":
		answer := strings.TrimSpace(strings.Join(rest, " "))
		ok, err := check(ctx, e, lab, answer)
		if err != nil {
			fmt.Fprintf(stdout, "✗ lab %d: %v\n", lab.n, err)
			return checkFailed{lab.n}
		}
		if !ok {
			return checkFailed{lab.n}
		}
		return nil
	}
	return fmt.Errorf("unknown command %q (workshop -h)", cmd)
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}
