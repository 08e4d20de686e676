// Package landscape runs the whole tracelab landscape on one machine: it checks that
// RabbitMQ answers, starts Jaeger (or reuses one that runs), then every service from bin/
// as a process of its own, and last the workshop console (cmd/console, unless CONSOLE_ADDR=off),
// waits until each is healthy and stops them all, in reverse order, when asked to. Every line a process prints reaches one output with the process's
// name in front:
//
//	quoteservice   | {"@timestamp":"...","log.level":"info","message":"listening",...}
//	jaeger         | 2025-... info  Everything is ready. Begin running and processing data.
//
// `make run` uses it through cmd/landscape; an end-to-end test suite can start the same
// landscape with Start.
package landscape

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Config says where the landscape's files are and how patient it is.
type Config struct {
	// Dir is the repository root: the binaries are in Dir/bin, Jaeger comes from
	// Dir/scripts/ensure-jaeger.sh, and Dir/.run holds what a run keeps (the account database,
	// Jaeger's working directory). Empty means the working directory.
	Dir string
	// Environ is passed on to every process, so JAEGER_*, AMQP_URL, *_ADDR and *_URL given to
	// the landscape reach the services. Nil means os.Environ().
	Environ []string
	// Stdout receives every process's lines, prefixed with its name. Nil discards them.
	Stdout io.Writer
	// StartTimeout is how long one process may take to become ready (default 30s). A Jaeger
	// that has to be built first is not counted: the build has no time limit.
	StartTimeout time.Duration
	// StopTimeout is how long one process may take to exit after SIGTERM before it is killed
	// (default 15s: a service drains requests for up to 10s, then flushes its spans).
	StopTimeout time.Duration
}

// Jaeger's fixed local addresses: the query API (this build has no UI) and the HTTP
// collector the services send spans to by default.
const (
	JaegerURL           = "http://localhost:16686"
	jaegerCollectorAddr = "localhost:14268"
)

// Landscape is a running landscape.
type Landscape struct {
	// Services are where the services answer, in start order.
	Services []Service
	// Jaeger is the Jaeger query API, or "" with JAEGER_DISABLED=true.
	Jaeger string
	// JaegerReused is true when a Jaeger was already running; the landscape leaves it running.
	JaegerReused bool
	// RabbitMQ is the broker's AMQP URL, with its password hidden.
	RabbitMQ string
	// Console is the workshop console's URL (http://localhost:8088), or "" with CONSOLE_ADDR=off.
	Console string
	// SDK is the tracing SDK each service runs on, by name: jaeger or otel (TRACING_SDK,
	// or <NAME>_TRACING_SDK for one service).
	SDK map[string]string

	cfg   Config
	out   *output
	width int
	self  *lineWriter // the landscape's own notes

	mu       sync.Mutex    // guards procs
	procs    []*running    // in start order
	exited   chan *running // every process sends itself here once it has exited
	stopOnce sync.Once
	stopping chan struct{} // closed by Stop
	done     chan struct{} // closed once every process has stopped
	err      error         // why the landscape stopped, if not on request; read after done
}

// Start brings the landscape up and returns once every service answers its health check.
// It fails, having stopped whatever it started, when RabbitMQ does not answer, a port is
// taken, a process exits or one does not become ready in time; the error names the
// process and quotes its last lines. Cancelling ctx stops the landscape, like Stop.
func Start(ctx context.Context, cfg Config) (*Landscape, error) {
	cfg, err := cfg.complete()
	if err != nil {
		return nil, err
	}
	runDir := filepath.Join(cfg.Dir, ".run")
	env, urls, err := resolve(cfg.Environ, runDir)
	if err != nil {
		return nil, err
	}
	jaegerOff, err := jaegerDisabled(env)
	if err != nil {
		return nil, err
	}
	names := []string{"landscape", "jaeger", "console"}
	for _, s := range services {
		names = append(names, s.name)
	}
	l := newLandscape(cfg, names)
	l.Services = urls
	l.SDK = map[string]string{}
	for _, s := range services {
		l.SDK[s.name] = sdkOf(env, s)
	}
	if sdks := l.TracingSDKs(); sdks != "" {
		l.note("tracing SDK: %s", sdks)
	}

	amqpURL := lookup(env, "AMQP_URL")
	if amqpURL == "" {
		amqpURL = DefaultAMQPURL
	}
	l.RabbitMQ = redact(amqpURL)
	l.note("checking RabbitMQ at %s", l.RabbitMQ)
	if err := CheckRabbitMQ(amqpURL); err != nil {
		return nil, err
	}

	procs, err := serviceProcesses(ctx, cfg.Dir, env, urls)
	if err != nil {
		return nil, err
	}
	console, consoleURL, err := consoleProcess(ctx, cfg.Dir, env, urls)
	if err != nil {
		return nil, err
	}
	if console != nil {
		procs = append(procs, *console)
		l.Console = consoleURL
	}
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return nil, err
	}

	if !jaegerOff {
		jaeger, err := l.jaeger(ctx, runDir)
		if err != nil {
			return nil, err
		}
		if jaeger != nil {
			procs = append([]process{*jaeger}, procs...)
		}
		l.Jaeger = JaegerURL
	} else {
		l.note("JAEGER_DISABLED=true: no Jaeger, the services record no spans")
	}

	if err := l.launch(ctx, procs); err != nil {
		return nil, err
	}
	return l, nil
}

// serviceProcesses describes how to run each service, after checking that its binary is
// built and its port is free: a second landscape would otherwise pass its health checks
// against the first one's services.
func serviceProcesses(ctx context.Context, dir string, env []string, urls []Service) ([]process, error) {
	var procs []process
	for i, s := range services {
		path := filepath.Join(dir, "bin", s.name)
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("%s is missing: run `make build` first (`make run` does): %w", path, err)
		}
		u, _ := url.Parse(urls[i].URL) // resolve built it
		if accepts(u.Host)(ctx) == nil {
			return nil, fmt.Errorf("%s is taken, so %s cannot listen there: is a landscape already running? "+
				"Stop whatever listens there, or move %s with %s=:<another port>", u.Host, s.name, s.name, s.addrEnv)
		}
		procs = append(procs, process{
			name:  s.name,
			path:  path,
			dir:   dir,
			env:   serviceEnv(env, s),
			ready: httpOK(urls[i].URL+"/healthz", s.tls),
		})
	}
	return procs, nil
}

func newLandscape(cfg Config, names []string) *Landscape {
	width := 0
	for _, n := range names {
		width = max(width, len(n))
	}
	out := &output{w: cfg.Stdout}
	return &Landscape{
		cfg:      cfg,
		out:      out,
		width:    width,
		self:     newLineWriter(out, "landscape", width, nil),
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
	}
}

func (cfg Config) complete() (Config, error) {
	if cfg.Dir == "" {
		cfg.Dir = "."
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return cfg, err
	}
	cfg.Dir = dir
	if cfg.Environ == nil {
		cfg.Environ = os.Environ()
	}
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 30 * time.Second
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 15 * time.Second
	}
	return cfg, nil
}

// jaegerDisabled reads JAEGER_DISABLED the way the services do.
func jaegerDisabled(env []string) (bool, error) {
	v := lookup(env, "JAEGER_DISABLED")
	if v == "" {
		return false, nil
	}
	off, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("JAEGER_DISABLED=%q: %w", v, err)
	}
	return off, nil
}

// URL returns the base URL of the named service, or "" if there is none by that name.
func (l *Landscape) URL(name string) string {
	for _, s := range l.Services {
		if s.Name == name {
			return s.URL
		}
	}
	return ""
}

// TracingSDKs says which services run which tracing SDK, when not every one runs jaeger,
// the default: "jaeger for quoteservice, imageservice, vipservice, edge; otel for
// accountservice" (ACCOUNTSERVICE_TRACING_SDK=otel make run), "otel for every service"
// (TRACING_SDK=otel); "" when every one does.
func (l *Landscape) TracingSDKs() string {
	var names []string
	for _, s := range l.Services {
		names = append(names, s.Name)
	}
	return describeSDKs(names, l.SDK)
}

// Print writes text to the landscape's output in one piece, between the processes' lines.
func (l *Landscape) Print(text string) {
	l.out.write([]byte(text))
}

// Stop stops every process, in reverse start order, and waits until they have exited.
func (l *Landscape) Stop() {
	l.stopOnce.Do(func() { close(l.stopping) })
	<-l.done
}

// Wait returns once the landscape has stopped: nil after Stop or a cancelled context, an
// error naming the process when one exited on its own (the others are stopped then).
func (l *Landscape) Wait() error {
	<-l.done
	return l.err
}

// note writes one of the landscape's own lines.
func (l *Landscape) note(format string, args ...any) {
	fmt.Fprintf(l.self, format+"\n", args...)
}
