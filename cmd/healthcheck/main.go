// Command healthcheck asks one URL whether a service is healthy: exit status 0 when the
// answer is 2xx, 1 for anything else. tracelab's images are built FROM scratch, with no
// shell, curl or wget in them, so this is what Docker's HEALTHCHECK and the compose
// healthchecks run inside the container:
//
//	/app/healthcheck http://127.0.0.1:8080/healthz
//	/app/healthcheck -insecure https://127.0.0.1:8765/healthz
//
// Exit status 1 is the one Docker reads as unhealthy; 2 means something else to it, so every
// failure here, a usage mistake included, exits 1. It uses only the standard library, so it
// adds about 5 MB to an image and nothing to go.mod.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"
)

// defaultTimeout is below Docker's and compose's usual 3-5 s healthcheck timeout, so a hung
// service is reported by this program, with a reason, instead of killed without one.
const defaultTimeout = 2 * time.Second

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		os.Exit(1)
	}
}

// run checks the URL named in args and returns nil only for a 2xx answer. Docker keeps
// what it prints (stdout and stderr) in `docker inspect`, so both outcomes say what they saw.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stdout)
	insecure := fs.Bool("insecure", false,
		"accept any TLS certificate, such as the edge's self-signed one: a probe of a process in "+
			"its own container checks that it answers, not who it is")
	timeout := fs.Duration("timeout", defaultTimeout, "give up after this long")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: healthcheck [-insecure] [-timeout 2s] URL")
		fmt.Fprintln(fs.Output(), "Exits 0 when GET URL answers 2xx, else 1.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("want exactly one URL, got %d arguments", fs.NArg())
	}
	target := fs.Arg(0)
	if u, err := url.Parse(target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q: want an http or https URL such as http://127.0.0.1:8080/healthz", target)
	}
	if *timeout <= 0 {
		return fmt.Errorf("-timeout %v: want a positive duration", *timeout)
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := newClient(*insecure).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// Read a little of the body, so the connection closes cleanly; a health answer is short.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("GET %s: %s", target, resp.Status)
	}
	fmt.Fprintf(stdout, "GET %s: %s\n", target, resp.Status)
	return nil
}

// newClient is a client for one probe: no proxy from the environment (a probe of the
// container's own port must go straight there) and no redirects (a /healthz that redirects
// is not the service answering).
func newClient(insecure bool) *http.Client {
	transport := &http.Transport{
		Proxy:             nil,
		DisableKeepAlives: true,
	}
	if insecure {
		transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // see the -insecure flag
	}
	return &http.Client{
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
