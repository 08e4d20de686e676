package servicetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// failures is a testing.TB that keeps the failures a helper reports instead of failing the
// test, so a test can check what a helper says when the service under test misbehaves.
type failures struct {
	testing.TB
	mu   sync.Mutex
	msgs []string
}

func (f *failures) Helper() {}

func (f *failures) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}

// Fatalf ends the goroutine, as testing.T's does; capture runs each helper in its own.
func (f *failures) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	runtime.Goexit()
}

// capture runs use with a failures in a goroutine of its own and returns what it reported.
func capture(t *testing.T, use func(testing.TB)) string {
	f := &failures{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		use(f)
	}()
	<-done
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.msgs, "\n")
}

func TestFreeAddr(t *testing.T) {
	addr := FreeAddr(t)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("net.Listen(%q) = %v, want the free address to be usable", addr, err)
	}
	ln.Close()
}

func TestLockedBuffer(t *testing.T) {
	var b LockedBuffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				fmt.Fprintln(&b, "line")
				_ = b.String() // a test reads while the service writes; -race checks this
			}
		})
	}
	wg.Wait()
	if got := strings.Count(b.String(), "line\n"); got != 800 {
		t.Errorf("LockedBuffer holds %d lines, want 800", got)
	}
}

func TestWaitFor(t *testing.T) {
	calls := 0
	WaitFor(t, "the third call", func() bool { calls++; return calls == 3 })
	if calls != 3 {
		t.Errorf("WaitFor called cond %d times, want 3 (until it held)", calls)
	}
}

// serveUntilCancelled is a run function like a service's: it serves GET /healthz on ADDR,
// logs to stdout, and returns nil once ctx is cancelled, or STOP_ERR if that is set.
func serveUntilCancelled(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	ln, err := net.Listen("tcp", getenv("ADDR"))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}
	go srv.Serve(ln)
	fmt.Fprintf(stdout, "listening with %v\n", args)
	<-ctx.Done()
	srv.Close()
	if msg := getenv("STOP_ERR"); msg != "" {
		return errors.New(msg)
	}
	return nil
}

func TestStartRun(t *testing.T) {
	addr := FreeAddr(t)
	got := capture(t, func(t testing.TB) {
		svc := StartRun(t, serveUntilCancelled, []string{"-v"}, map[string]string{"ADDR": addr})
		svc.WaitHealthy("http://" + addr + "/healthz")
		svc.Stop()
		if out := svc.Output.String(); out != "listening with [-v]\n" {
			t.Errorf("Output = %q, want run's stdout %q", out, "listening with [-v]\n")
		}
	})
	if got != "" {
		t.Errorf("StartRun, WaitHealthy, Stop of a well-behaved run reported %q, want nothing", got)
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Errorf("GET /healthz after Stop answered, want run stopped")
	}
}

func TestStartRunFailures(t *testing.T) {
	tests := []struct {
		name string
		use  func(t testing.TB, addr string)
		want string
	}{
		{
			name: "run fails at startup",
			use: func(t testing.TB, addr string) {
				svc := StartRun(t, serveUntilCancelled, []string{"-v"}, map[string]string{"ADDR": "256.0.0.1:1"})
				svc.WaitHealthy("http://" + addr + "/healthz")
			},
			want: "run(-v) returned listen tcp: lookup 256.0.0.1",
		},
		{
			name: "run fails at shutdown",
			use: func(t testing.TB, addr string) {
				svc := StartRun(t, serveUntilCancelled, nil, map[string]string{"ADDR": addr, "STOP_ERR": "drain failed"})
				svc.WaitHealthy("http://" + addr + "/healthz")
				svc.Stop()
			},
			want: "run() after cancel = drain failed, want nil",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := capture(t, func(t testing.TB) { tt.use(t, FreeAddr(t)) })
			if !strings.Contains(got, tt.want) {
				t.Errorf("failures = %q, want one containing %q", got, tt.want)
			}
		})
	}
}

func TestStartupError(t *testing.T) {
	var err error
	got := capture(t, func(t testing.TB) {
		err = StartupError(t, serveUntilCancelled, nil, map[string]string{"ADDR": "256.0.0.1:1"})
	})
	if err == nil || !strings.Contains(err.Error(), "256.0.0.1") || got != "" {
		t.Errorf("StartupError of a run that cannot listen = %v, reporting %q; want its listen error, reporting nothing", err, got)
	}
}
