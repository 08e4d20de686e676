// Package servicetest holds what the tests of every tracelab service need: a free port, a
// buffer run's goroutines may write while the test reads it, patient polling, the real
// Jaeger tracer, and a way to drive a service's run function the way main does (start it,
// wait until it serves, cancel it, and check that it stopped cleanly).
//
// It lives here, not in each service, so that a service's tests show what is particular to
// that service; the copy-a-service template (main.go and friends) needs none of it.
package servicetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go"

	"tracelab/common/logging"
	"tracelab/common/tracing"
)

// Patience is how long the waits of this package last: far longer than a healthy service
// needs, so that a test fails only when something is really stuck, not when the machine is
// busy. Tests assert what happens, not how fast (a timing target belongs in a benchmark).
const Patience = 15 * time.Second

// FreeAddr returns a local address nothing listens on right now: for a service to listen
// on, or for a client to find nobody at. Another process could take the port before the
// test uses it; on a test machine that is rare enough, and the failure would say "listen".
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen on a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// LockedBuffer is a bytes.Buffer that goroutines of the code under test may write (log
// lines, a child process's output) while the test reads it.
type LockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the buffer.
func (b *LockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *LockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// WaitFor polls cond until it holds, and fails the test when it does not within Patience.
// Servers start and messages are handled asynchronously; this is how a test waits for
// their effect without guessing a sleep.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if !poll(cond) {
		t.Fatalf("waited %v for %s, gave up", Patience, what)
	}
}

// poll calls cond every 10ms until it holds (true) or Patience has passed (false).
func poll(cond func() bool) bool {
	deadline := time.Now().Add(Patience)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// DecodeJSON checks that a handler answered JSON and decodes its body into a map, so tests
// see exactly which keys were sent.
func DecodeJSON(t testing.TB, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", rec.Body.String(), err)
	}
	return body
}

// JaegerTracer is the real tracer a service builds in run (tracing.SettingsFromEnv and
// tracing.New), for tests that need real trace ids and real header propagation. It reports
// to a local port nobody listens on, rarely (the reporter's errors go to a discarded log):
// such tests read ids and headers, not what reaches Jaeger. It is closed when the test ends.
func JaegerTracer(t testing.TB, service string) opentracing.Tracer {
	t.Helper()
	env := map[string]string{
		"JAEGER_ENDPOINT":                "http://" + FreeAddr(t) + "/api/traces",
		"JAEGER_REPORTER_FLUSH_INTERVAL": "1h",
	}
	settings, err := tracing.SettingsFromEnv(service, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("SettingsFromEnv(%q, %v) = %v, want nil", service, env, err)
	}
	tracer, closer, err := tracing.New(settings, logging.Discard())
	if err != nil {
		t.Fatalf("tracing.New(%+v) = %v, want nil", settings, err)
	}
	t.Cleanup(func() { _ = closer.Close() })
	return tracer
}

// RunFunc is a service's run function, the one its main calls.
type RunFunc func(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error

// Service is a service's run function running in a test, started by StartRun.
type Service struct {
	// Output is what run wrote to stdout: the service's log lines.
	Output LockedBuffer

	t      testing.TB
	call   string // "run(args)", for failure messages
	cancel context.CancelFunc
	done   chan struct{} // closed when run has returned, err set
	err    error
}

// StartRun starts run as main does, with args as the command line and env as the whole
// environment, in a goroutine; its stdout goes to Output. Stop ends it. Should the test end
// without Stop (a t.Fatal half-way), run is stopped when the test ends, before the cleanups
// registered earlier (such as deleting a queue the service consumes) run.
func StartRun(t testing.TB, run RunFunc, args []string, env map[string]string) *Service {
	t.Helper()
	env = maps.Clone(env)
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{
		t:      t,
		call:   runCall(args),
		cancel: cancel,
		done:   make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		s.err = run(ctx, args, func(k string) string { return env[k] }, &s.Output)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(Patience):
			t.Errorf("%s still running %v after the test ended and cancelled it", s.call, Patience)
		}
	})
	return s
}

// WaitFor polls cond until it holds, like the package's WaitFor, and fails the test at
// once should run return in the meantime: a service that failed to start will never serve.
// Either failure shows run's output.
func (s *Service) WaitFor(what string, cond func() bool) {
	s.t.Helper()
	var returned bool
	ok := poll(func() bool {
		select {
		case <-s.done:
			returned = true
			return true
		default:
		}
		return cond()
	})
	switch {
	case returned:
		s.t.Fatalf("%s returned %v while the test waited for %s; output:\n%s", s.call, s.err, what, s.Output.String())
	case !ok:
		s.t.Fatalf("waited %v for %s, gave up; output of %s:\n%s", Patience, what, s.call, s.Output.String())
	}
}

// WaitHealthy waits until GET url answers 200, the way an orchestrator waits for a
// service's /healthz before sending it traffic.
func (s *Service) WaitHealthy(url string) {
	s.t.Helper()
	s.WaitFor(fmt.Sprintf("GET %s to answer 200", url), Answers200(http.DefaultClient, url))
}

// Answers200 is a condition for WaitFor: GET url with client answers 200. Tests pass the
// client the server needs (TLS for the edge).
func Answers200(client *http.Client, url string) func() bool {
	return func() bool {
		resp, err := client.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
}

// Stop cancels run's context, as SIGTERM does in main, and checks that run returns nil
// within Patience: a service must drain and stop cleanly, not report its own shutdown as
// a failure or hang.
func (s *Service) Stop() {
	s.t.Helper()
	s.cancel()
	select {
	case <-s.done:
		if s.err != nil {
			s.t.Errorf("%s after cancel = %v, want nil", s.call, s.err)
		}
	case <-time.After(Patience):
		s.t.Fatalf("%s did not return within %v of cancel", s.call, Patience)
	}
}

// runCall is how failure messages name a call of run with args: run(-addr :1234).
func runCall(args []string) string {
	return "run(" + strings.Join(args, " ") + ")"
}

// StartupError runs run as main does, with a configuration the service must refuse, and
// returns the error run stops with, for the test to check that it names what is wrong.
// Should run start serving instead, it is cancelled after Patience and the test fails: a
// bad setting is to be reported at startup, not found out later while serving.
func StartupError(t testing.TB, run RunFunc, args []string, env map[string]string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Patience)
	defer cancel()
	var out LockedBuffer
	err := run(ctx, args, func(k string) string { return env[k] }, &out)
	if ctx.Err() != nil {
		t.Errorf("%s with %v = %v after serving until cancelled, want an error at startup; output:\n%s",
			runCall(args), env, err, out.String())
	}
	return err
}
