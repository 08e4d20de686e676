package serve

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"tracelab/common/logging"
)

// TestRunDrains: a request in flight when the stop comes is answered in full, then Run
// returns nil, and the port no longer accepts.
func TestRunDrains(t *testing.T) {
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		_, _ = io.WriteString(w, "finished")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- RunListener(ctx, logging.Discard(), NewServer(h, logging.Discard()), ln) }()

	body := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			body <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body <- string(b)
	}()
	<-started
	cancel()
	if got := <-body; got != "finished" {
		t.Errorf("request in flight at shutdown got %q, want %q", got, "finished")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("RunListener() = %v, want nil", err)
		}
	case <-time.After(DrainTimeout):
		t.Fatal("RunListener did not return after the drain")
	}
	if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Errorf("port %s still accepts after shutdown", ln.Addr())
	}
}

func TestRunListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = Run(context.Background(), logging.Discard(), NewServer(http.NotFoundHandler(), logging.Discard()), ln.Addr().String())
	if err == nil {
		t.Fatalf("Run on a taken port = nil, want an error")
	}
}

func TestNewServerLimits(t *testing.T) {
	srv := NewServer(http.NotFoundHandler(), logging.Discard())
	if srv.ReadHeaderTimeout == 0 || srv.ReadTimeout == 0 || srv.WriteTimeout == 0 || srv.IdleTimeout == 0 || srv.MaxHeaderBytes == 0 {
		t.Errorf("NewServer() = %+v, want every timeout and MaxHeaderBytes set", srv)
	}
}
