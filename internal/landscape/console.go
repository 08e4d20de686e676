package landscape

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
)

// DefaultConsoleAddr is where the landscape serves the workshop console (cmd/console), unless
// CONSOLE_ADDR says otherwise; CONSOLE_ADDR=off leaves the console out.
const DefaultConsoleAddr = "127.0.0.1:8088"

const (
	consoleAddrEnv = "CONSOLE_ADDR"
	consoleOff     = "off"
)

// consoleProcess describes how to run the console beside the services, or returns nil with
// CONSOLE_ADDR=off. It reads the landscape's Jaeger, its edge's admin listener and its edge,
// each unless the caller set where (JAEGER_QUERY_URL, TRACELAB_ADMIN_URL, EDGE_URL), and runs
// in the repository, whose workshop/labs and bin/workshop it serves and runs. It starts last:
// what it shows is the landscape's, so everything else is up by then.
func consoleProcess(ctx context.Context, dir string, env []string, urls []Service) (*process, string, error) {
	addr := lookup(env, consoleAddrEnv)
	if addr == consoleOff {
		return nil, "", nil
	}
	if addr == "" {
		addr = DefaultConsoleAddr
	}
	base, err := baseURL(addr, false)
	if err != nil {
		return nil, "", fmt.Errorf("%s=%q: %w", consoleAddrEnv, addr, err)
	}
	path := filepath.Join(dir, "bin", "console")
	if _, err := os.Stat(path); err != nil {
		return nil, "", fmt.Errorf("%s is missing: run `make build` first (`make run` does), or leave the console out with %s=off: %w", path, consoleAddrEnv, err)
	}
	u, _ := url.Parse(base)
	if accepts(u.Host)(ctx) == nil {
		return nil, "", fmt.Errorf("%s is taken, so the console cannot listen there: is a landscape or a make console already running? "+
			"Stop it, move the console with %s=127.0.0.1:<another port>, or leave it out with %s=off", u.Host, consoleAddrEnv, consoleAddrEnv)
	}
	penv := setenv(env, consoleAddrEnv, addr)
	if lookup(env, "JAEGER_QUERY_URL") == "" {
		penv = setenv(penv, "JAEGER_QUERY_URL", JaegerURL)
	}
	if admin := lookup(env, adminAddrEnv); lookup(env, "TRACELAB_ADMIN_URL") == "" && admin != "off" {
		if adminURL, err := baseURL(admin, false); err == nil {
			penv = setenv(penv, "TRACELAB_ADMIN_URL", adminURL)
		}
	}
	for _, s := range urls {
		if s.Name == "edge" && lookup(env, "EDGE_URL") == "" {
			penv = setenv(penv, "EDGE_URL", s.URL)
		}
	}
	return &process{
		name:  "console",
		path:  path,
		args:  []string{"-dir", dir},
		dir:   dir,
		env:   penv,
		ready: httpOK(base+"/healthz", false),
	}, base, nil
}
