package reliability

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// stallProxy relays TCP to a real server (Jaeger's collector) and can stall: while it does,
// it moves no byte either way, and the connections stay open. To the services that is a
// Jaeger that hangs (a GC pause, a full disk), which Freeze cannot give here without
// stalling the Jaeger that other suites share. It is a fault injector in front of the real
// Jaeger, not a fake of it.
type stallProxy struct {
	addr     string // where the services connect
	upstream string

	mu      sync.Mutex
	stalled bool
	resume  chan struct{} // closed when a stall ends
	ln      net.Listener
}

func newStallProxy(t *testing.T, upstream string) *stallProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{addr: ln.Addr().String(), upstream: upstream, ln: ln, resume: make(chan struct{})}
	close(p.resume) // not stalled
	go p.serve()
	t.Cleanup(func() {
		p.stall(false)
		_ = ln.Close()
	})
	return p
}

func (p *stallProxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.relay(client)
	}
}

func (p *stallProxy) relay(client net.Conn) {
	defer client.Close()
	server, err := net.DialTimeout("tcp", p.upstream, 5*time.Second)
	if err != nil {
		return
	}
	defer server.Close()
	done := make(chan struct{}, 2)
	go func() { p.copy(server, client); done <- struct{}{} }()
	go func() { p.copy(client, server); done <- struct{}{} }()
	<-done
}

// copy moves bytes from src to dst, holding each chunk while the proxy is stalled.
func (p *stallProxy) copy(dst io.Writer, src io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.wait()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// wait returns at once unless the proxy is stalled, and then when the stall ends.
func (p *stallProxy) wait() {
	p.mu.Lock()
	resume := p.resume
	p.mu.Unlock()
	<-resume
}

// stall starts (true) or ends (false) a stall.
func (p *stallProxy) stall(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case on && !p.stalled:
		p.resume = make(chan struct{})
	case !on && p.stalled:
		close(p.resume)
	}
	p.stalled = on
}
