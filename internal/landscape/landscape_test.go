package landscape

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary play a service: the supervisor tests start it again with
// LANDSCAPE_STANDIN set, instead of building real services.
func TestMain(m *testing.M) {
	if role := os.Getenv("LANDSCAPE_STANDIN"); role != "" {
		os.Exit(standIn(role))
	}
	os.Exit(m.Run())
}

// standIn is a tiny stand-in for a service, run in a child process:
//
//	serve     prints a line on stdout and one on stderr, serves GET /healthz on STANDIN_ADDR
//	          (503 until STANDIN_READY_AFTER has passed), and on SIGTERM prints
//	          "stopping <name>" and a last line without newline, then exits 0;
//	          with STANDIN_DIE_AFTER it exits 2 after that long instead.
//	stubborn  like serve, but ignores SIGTERM.
//	fail      prints "boom" on stderr and exits 3 at once.
func standIn(role string) int {
	name := os.Getenv("STANDIN_NAME")
	if role == "fail" {
		fmt.Println("starting", name)
		fmt.Fprintln(os.Stderr, "boom: cannot start")
		return 3
	}
	readyAt := time.Now().Add(envDuration("STANDIN_READY_AFTER"))
	ln, err := net.Listen("tcp", os.Getenv("STANDIN_ADDR"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if time.Now().Before(readyAt) {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	go http.Serve(ln, mux)
	fmt.Println("hello from", name)
	fmt.Fprintln(os.Stderr, "warming up")

	sig := make(chan os.Signal, 1)
	if role == "stubborn" {
		signal.Ignore(syscall.SIGTERM)
	} else {
		signal.Notify(sig, syscall.SIGTERM)
	}
	var die <-chan time.Time
	if d := envDuration("STANDIN_DIE_AFTER"); d > 0 {
		die = time.After(d)
	}
	select {
	case <-sig:
		fmt.Println("stopping", name)
		fmt.Print("bye from ", name) // no newline: the landscape must still show it
		return 0
	case <-die:
		fmt.Fprintln(os.Stderr, "dying on purpose")
		return 2
	}
}

func envDuration(key string) time.Duration {
	d, _ := time.ParseDuration(os.Getenv(key))
	return d
}

func TestStartNeedsTheBinaries(t *testing.T) {
	cfg := Config{
		Dir:     t.TempDir(),
		Environ: []string{"AMQP_URL=amqp://guest:guest@127.0.0.1:5672/", "JAEGER_DISABLED=true"},
	}
	l, err := Start(context.Background(), cfg)
	if err == nil {
		l.Stop()
		t.Fatal("Start with an empty bin/ = nil error, want one")
	}
	if first := services[0].name; !strings.Contains(err.Error(), first+" is missing: run `make build`") {
		t.Errorf("Start with an empty bin/: error %q, want it to name the missing binary and `make build`", err)
	}
}
