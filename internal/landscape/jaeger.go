package landscape

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// jaegerReady passes when a Jaeger answers its query API and accepts spans on the collector
// port the services send to.
func jaegerReady() func(context.Context) error {
	return allOf(httpOK(JaegerURL+"/api/services", false), accepts(jaegerCollectorAddr))
}

// jaeger decides how the landscape gets its Jaeger. A Jaeger that already runs (from an
// earlier `make run` in another terminal, or docker) is used as it is, and left running at
// the end; otherwise jaeger returns the process to start: the all-in-one binary with its
// in-memory storage, working in runDir.
func (l *Landscape) jaeger(ctx context.Context, runDir string) (*process, error) {
	ready := jaegerReady()
	if err := ready(ctx); err == nil {
		l.JaegerReused = true
		l.note("a Jaeger already answers on %s and %s: using it (it keeps running after the landscape stops)",
			JaegerURL, jaegerCollectorAddr)
		return nil, nil
	}
	query, _ := url.Parse(JaegerURL)
	for _, addr := range []string{query.Host, jaegerCollectorAddr} {
		if accepts(addr)(ctx) == nil {
			return nil, fmt.Errorf("%s is taken by something that does not answer as a ready Jaeger: "+
				"stop it, or run without tracing with JAEGER_DISABLED=true", addr)
		}
	}
	path, err := l.findJaeger(ctx)
	if err != nil {
		return nil, err
	}
	// Warnings and errors only: at info level Jaeger prints some forty lines at start.
	args := []string{"--set=service.telemetry.logs.level=warn"}
	return &process{name: "jaeger", path: path, args: args, dir: runDir, env: jaegerEnv(l.cfg.Environ), ready: ready}, nil
}

// jaegerEnv is the caller's environment for Jaeger, which by default traces its own query
// API into its own storage: a "jaeger" service would then sit among tracelab's in every
// answer of /api/services, and Jaeger would spend 10s at each stop failing to flush those
// spans to its own, already closed, OTLP port. OTEL_TRACES_SAMPLER, read by the OpenTelemetry
// SDK inside Jaeger, turns that off unless the caller set it.
func jaegerEnv(environ []string) []string {
	if lookup(environ, "OTEL_TRACES_SAMPLER") != "" {
		return environ
	}
	return setenv(environ, "OTEL_TRACES_SAMPLER", "always_off")
}

// findJaeger asks scripts/ensure-jaeger.sh for the Jaeger binary: $JAEGER_BIN, `jaeger` on
// PATH, or a build of the pinned version that the script caches. Its progress is shown as
// Jaeger's output; the build has no time limit, but cancelling ctx stops it.
func (l *Landscape) findJaeger(ctx context.Context) (string, error) {
	script := filepath.Join(l.cfg.Dir, "scripts", "ensure-jaeger.sh")
	l.note("looking for Jaeger with %s: if it has to build Jaeger, this first run takes about 10 minutes; later runs reuse the build",
		script)
	var path bytes.Buffer
	progress := newLineWriter(l.out, "jaeger", l.width, nil)
	cmd := exec.CommandContext(ctx, "bash", script)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = l.cfg.Dir, l.cfg.Environ, &path, progress
	// The script runs `go build`: a process group lets a cancel stop the build too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	err := cmd.Run()
	progress.flush()
	if err != nil {
		return "", fmt.Errorf("%s: %w (or run without tracing with JAEGER_DISABLED=true)", script, err)
	}
	p := strings.TrimSpace(path.String())
	l.note("Jaeger is %s", p)
	return p, nil
}
