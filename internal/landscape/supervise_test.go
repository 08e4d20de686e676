package landscape

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"tracelab/internal/servicetest"
)

// standInProcess describes a child running standIn in role, on a free local port.
func standInProcess(t *testing.T, name, role string, env ...string) process {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	addr := servicetest.FreeAddr(t)
	return process{
		name: name,
		path: self,
		env: append(os.Environ(), append(env,
			"LANDSCAPE_STANDIN="+role, "STANDIN_NAME="+name, "STANDIN_ADDR="+addr,
			// Under -race a process sleeps a second before it exits; a stand-in need not.
			"GORACE=atexit_sleep_ms=0")...),
		ready: httpOK("http://"+addr+"/healthz", false),
	}
}

// testLandscape is a landscape without services of its own, writing to out.
func testLandscape(out *servicetest.LockedBuffer, startTimeout, stopTimeout time.Duration) *Landscape {
	cfg := Config{Stdout: out, StartTimeout: startTimeout, StopTimeout: stopTimeout}
	return newLandscape(cfg, []string{"a", "b", "c"})
}

// assertStopped checks that p no longer answers.
func assertStopped(t *testing.T, p process) {
	t.Helper()
	if err := p.ready(context.Background()); err == nil {
		t.Errorf("%s still answers its health check after the landscape stopped", p.name)
	}
}

// assertInOrder checks that out holds each of lines, in that order.
func assertInOrder(t *testing.T, out string, lines ...string) {
	t.Helper()
	at := 0
	for _, line := range lines {
		i := strings.Index(out[at:], line)
		if i < 0 {
			t.Errorf("output lacks %q after position %d; output:\n%s", line, at, out)
			return
		}
		at += i + len(line)
	}
}

// TestLaunchAndCancel starts three processes, checks that launch waited for each to be
// healthy and that their output arrives prefixed, then cancels the context as Ctrl-C does
// and checks that they stopped in reverse order.
func TestLaunchAndCancel(t *testing.T) {
	var out servicetest.LockedBuffer
	l := testLandscape(&out, 10*time.Second, 5*time.Second)
	procs := []process{
		standInProcess(t, "a", "serve", "STANDIN_READY_AFTER=500ms"),
		standInProcess(t, "b", "serve"),
		standInProcess(t, "c", "serve", "STANDIN_READY_AFTER=200ms"),
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := l.launch(ctx, procs); err != nil {
		t.Fatalf("launch = %v, want nil; output:\n%s", err, out.String())
	}
	for _, p := range procs {
		// a and c answer 503 for their first moments: launch must have waited them out.
		if err := p.ready(context.Background()); err != nil {
			t.Errorf("right after launch, %s is not ready: %v", p.name, err)
		}
	}

	cancel()
	if err := l.Wait(); err != nil {
		t.Errorf("Wait after cancel = %v, want nil", err)
	}
	got := out.String()
	for _, want := range []string{
		"a | hello from a\n", "a | warming up\n", // stdout and stderr
		"c | bye from c\n", // a last line without newline, flushed at exit
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q; output:\n%s", want, got)
		}
	}
	assertInOrder(t, got, "landscape | a is ready", "landscape | b is ready", "landscape | c is ready",
		"c | stopping c\n", "b | stopping b\n", "a | stopping a\n")
	for _, p := range procs {
		assertStopped(t, p)
	}
}

func TestLaunchFailsWhenAProcessExits(t *testing.T) {
	var out servicetest.LockedBuffer
	l := testLandscape(&out, 10*time.Second, 5*time.Second)
	procs := []process{
		standInProcess(t, "a", "serve"),
		standInProcess(t, "b", "fail"),
		standInProcess(t, "c", "serve"),
	}
	err := l.launch(context.Background(), procs)
	if err == nil {
		l.Stop()
		t.Fatalf("launch with a failing b = nil, want an error; output:\n%s", out.String())
	}
	for _, want := range []string{"b exited (exit status 3)", "b | boom: cannot start"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("launch with a failing b: error %q, want it to contain %q", err, want)
		}
	}
	if strings.Contains(out.String(), "hello from c") {
		t.Errorf("c was started after b failed; output:\n%s", out.String())
	}
	assertInOrder(t, out.String(), "a | stopping a\n")
	assertStopped(t, procs[0])
}

func TestLaunchTimesOut(t *testing.T) {
	var out servicetest.LockedBuffer
	l := testLandscape(&out, time.Second, 5*time.Second)
	procs := []process{standInProcess(t, "a", "serve", "STANDIN_READY_AFTER=1h")}
	err := l.launch(context.Background(), procs)
	if err == nil {
		l.Stop()
		t.Fatalf("launch of a process that is never ready = nil, want an error")
	}
	for _, want := range []string{"a did not become ready within 1s", "503 Service Unavailable", "a | hello from a"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("launch of a process that is never ready: error %q, want it to contain %q", err, want)
		}
	}
	assertStopped(t, procs[0])
}

// TestWaitReportsADeath: a process that dies while the landscape runs stops the others,
// and Wait names it.
func TestWaitReportsADeath(t *testing.T) {
	var out servicetest.LockedBuffer
	l := testLandscape(&out, 10*time.Second, 5*time.Second)
	procs := []process{
		standInProcess(t, "a", "serve"),
		standInProcess(t, "b", "serve", "STANDIN_DIE_AFTER=2s"),
	}
	if err := l.launch(context.Background(), procs); err != nil {
		t.Fatalf("launch = %v, want nil; output:\n%s", err, out.String())
	}
	err := l.Wait()
	if err == nil || !strings.Contains(err.Error(), "b exited (exit status 2)") ||
		!strings.Contains(err.Error(), "b | dying on purpose") {
		t.Errorf("Wait after b died = %v, want an error naming b, its exit and its last lines", err)
	}
	assertInOrder(t, out.String(), "a | stopping a\n")
	assertStopped(t, procs[0])
}

// TestStopKillsAStubbornProcess: Stop works without a context, and a process that ignores
// SIGTERM is killed after StopTimeout.
func TestStopKillsAStubbornProcess(t *testing.T) {
	var out servicetest.LockedBuffer
	l := testLandscape(&out, 10*time.Second, 300*time.Millisecond)
	procs := []process{standInProcess(t, "a", "stubborn")}
	if err := l.launch(context.Background(), procs); err != nil {
		t.Fatalf("launch = %v, want nil; output:\n%s", err, out.String())
	}
	l.Stop()
	if err := l.Wait(); err != nil {
		t.Errorf("Wait after Stop = %v, want nil", err)
	}
	assertInOrder(t, out.String(), "landscape | a did not stop within 300ms: killing it\n")
	assertStopped(t, procs[0])
}
