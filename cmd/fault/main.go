// Command fault is the instructor's switch for the workshop's planted faults: it lists the
// catalogue and what is on in each service, and switches faults on and off for everyone.
// It talks to the edge's admin listener (EDGE_ADMIN_ADDR, 127.0.0.1:8766 by default), which
// passes each call on to every service's /faults route. From the repository root:
//
//	make fault                          the catalogue, and what is on where
//	make fault SET=lock-contention      switch a fault on (names as in Parse's syntax)
//	make fault SET='slow-quote=300ms'   with a parameter
//	make fault CLEAR=all                switch them all off (or CLEAR=slow-quote)
//
// One request alone needs no switch: send the baggage item instead,
// curl -ki -H 'uberctx-fault: slow-quote' https://localhost:8765/api/accounts/10000.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"

	"tracelab/common/faults"
	"tracelab/internal/adminapi"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fault:", err)
		os.Exit(1)
	}
}

const usage = `Usage: fault                     list the faults, and what is on in each service
       fault -set <faults>       switch faults on for everyone: lock-contention, slow-quote=300ms, a,b
       fault -clear <faults|all> switch them off

Talks to the edge's admin listener, which switches the edge and every service behind it.
From the repository root: make fault, make fault SET=..., make fault CLEAR=...

Flags:
`

// defaultAdminURL is where `make run` and compose put the edge's admin listener.
const defaultAdminURL = "http://127.0.0.1:8766"

// run does one call to the admin listener and prints the answer to stdout. It is a
// command: it returns once the answer is printed, or with an error when nothing answers
// or a service refused the change.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("fault", flag.ContinueOnError)
	set := fs.String("set", "", "faults to switch on for everyone, as in TRACELAB_FAULTS")
	clear := fs.String("clear", "", "faults to switch off: names, or all")
	admin := fs.String("admin", envOr(getenv, "TRACELAB_ADMIN_URL", defaultAdminURL),
		"base URL of the edge's admin listener (env TRACELAB_ADMIN_URL)")
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return nil
	} else if err != nil {
		return fmt.Errorf("%w (fault -h lists the flags)", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: use -set or -clear (fault -h)", fs.Arg(0))
	}

	method, query := http.MethodGet, url.Values{}
	if *set != "" || *clear != "" {
		method = http.MethodPut
		if *set != "" {
			query.Set("set", *set)
		}
		if *clear != "" {
			query.Set("clear", *clear)
		}
	}
	status, answer, err := adminapi.Call(ctx, *admin, method, query)
	if err != nil {
		return err
	}
	if method == http.MethodGet {
		printCatalogue(stdout)
		fmt.Fprintln(stdout)
	}
	printActive(stdout, answer)
	if status != http.StatusOK {
		return fmt.Errorf("%s", refusal(status, answer))
	}
	return nil
}

// printCatalogue lists every fault: its name, where it acts, what it does, its parameter.
func printCatalogue(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FAULT\tWHERE\tWHAT\tPARAMETER")
	for _, f := range faults.Catalogue {
		param := "-"
		if f.Param.Kind != faults.None {
			param = f.Param.Default + ": " + f.Param.Help
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Name, strings.Join(f.Services, ", "), f.Summary, param)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nfor everyone: make fault SET=<fault>[=<value>][,...]  CLEAR=<fault>|all")
	fmt.Fprintln(w, "for one request: curl -ki -H 'uberctx-fault: slow-quote=300ms' https://localhost:8765/api/accounts/10000")
}

// printActive says, service by service, what is on for everyone, or why it could not tell.
func printActive(w io.Writer, answer adminapi.Answer) {
	fmt.Fprintln(w, "on for everyone:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, s := range answer.Services {
		switch {
		case s.Error != "":
			fmt.Fprintf(tw, "  %s\t✗ %s\n", s.Service, s.Error)
		case s.State == nil:
			fmt.Fprintf(tw, "  %s\t✗ no state in the answer\n", s.Service)
		case !s.State.Enabled:
			fmt.Fprintf(tw, "  %s\toff here (TRACELAB_FAULTS_ENABLED=false)\n", s.Service)
		case s.State.Active == "":
			fmt.Fprintf(tw, "  %s\tnone\n", s.Service)
		default:
			fmt.Fprintf(tw, "  %s\t%s\n", s.Service, s.State.Active)
		}
	}
	tw.Flush()
}

// refusal is the error for an answer that was not a 200: the first service's error.
func refusal(status int, answer adminapi.Answer) string {
	for _, s := range answer.Services {
		if s.Error != "" {
			return fmt.Sprintf("%s: %s (HTTP %d)", s.Service, s.Error, status)
		}
	}
	return fmt.Sprintf("the admin listener answered HTTP %d", status)
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}
