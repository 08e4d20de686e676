package messaging_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go/mocktracer"
	"github.com/streadway/amqp"

	"tracelab/common/logging"
	"tracelab/common/messaging"
	"tracelab/common/messaging/messagingtest"
)

// brokerProxy relays TCP between the code under test and RabbitMQ. It can cut every
// connection at once and refuse new ones: a broker restart or a network fault as the client
// sees it, without stopping the RabbitMQ that other tests share.
type brokerProxy struct {
	url      string // the broker's AMQP URL, through the proxy
	upstream string // the broker's host:port
	ln       net.Listener

	mu       sync.Mutex
	conns    []net.Conn // both ends of every relayed connection
	refusing bool
	accepted int // connections relayed so far
}

func newBrokerProxy(t *testing.T, brokerURL string) *brokerProxy {
	t.Helper()
	uri, err := amqp.ParseURI(brokerURL)
	if err != nil {
		t.Fatalf("amqp.ParseURI(%q): %v", brokerURL, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p := &brokerProxy{upstream: net.JoinHostPort(uri.Host, strconv.Itoa(uri.Port)), ln: ln}
	uri.Host, uri.Port = "127.0.0.1", ln.Addr().(*net.TCPAddr).Port
	p.url = uri.String()
	go p.serve()
	t.Cleanup(func() {
		_ = ln.Close()
		p.cut()
	})
	return p
}

func (p *brokerProxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return // closed by the test's cleanup
		}
		p.mu.Lock()
		if p.refusing {
			p.mu.Unlock()
			_ = client.Close()
			continue
		}
		p.accepted++
		p.conns = append(p.conns, client)
		p.mu.Unlock()
		go p.relay(client)
	}
}

func (p *brokerProxy) relay(client net.Conn) {
	server, err := net.DialTimeout("tcp", p.upstream, 5*time.Second)
	if err != nil {
		_ = client.Close()
		return
	}
	p.mu.Lock()
	p.conns = append(p.conns, server)
	p.mu.Unlock()
	go func() {
		_, _ = io.Copy(server, client)
		_ = server.Close()
		_ = client.Close()
	}()
	_, _ = io.Copy(client, server)
	_ = client.Close()
	_ = server.Close()
}

// cut drops every relayed connection without a goodbye, as a dying broker does.
func (p *brokerProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// refuse makes the broker unreachable (true) or reachable again (false).
func (p *brokerProxy) refuse(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refusing = on
}

func (p *brokerProxy) connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// publishBlocking is Publish with a guard: a Publish that hangs fails the test instead.
func publishBlocking(t *testing.T, p *messaging.Publisher, body string) error {
	t.Helper()
	return publishGuarded(context.Background(), t, p, body)
}

// publishGuarded is publishBlocking with the caller's context (and the span in it).
func publishGuarded(ctx context.Context, t *testing.T, p *messaging.Publisher, body string) error {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- p.Publish(ctx, messaging.Message{ID: body, Body: []byte(body)}) }()
	select {
	case err := <-errc:
		return err
	case <-time.After(5 * time.Second):
		t.Fatalf("Publish(%q) still blocked after 5s", body)
		return nil
	}
}

// TestPublishNotConnected checks that Publish fails at once with ErrNotConnected while the
// publisher has no broker, instead of making its caller (an HTTP request) wait.
func TestPublishNotConnected(t *testing.T) {
	url := messagingtest.URL(t)

	t.Run("Run not started", func(t *testing.T) {
		p := &messaging.Publisher{URL: url, Queue: "test-never-declared", Log: logging.Discard()}
		if err := publishBlocking(t, p, "{}"); !errors.Is(err, messaging.ErrNotConnected) {
			t.Errorf("Publish() = %v, want %v", err, messaging.ErrNotConnected)
		}
		if published, failed := p.Stats(); published != 0 || failed != 1 {
			t.Errorf("Stats() = %d, %d, want 0, 1", published, failed)
		}
	})

	t.Run("broker unreachable, then back", func(t *testing.T) {
		queue := messagingtest.Queue(t, url, "test-unreachable-")
		proxy := newBrokerProxy(t, url)
		proxy.refuse(true)
		p := &messaging.Publisher{URL: proxy.url, Queue: queue, Log: logging.Discard()}
		messagingtest.Run(t, p)

		if err := publishBlocking(t, p, "{}"); !errors.Is(err, messaging.ErrNotConnected) {
			t.Errorf("Publish() while refused = %v, want %v", err, messaging.ErrNotConnected)
		}
		if p.Connected() {
			t.Errorf("Connected() while refused = true, want false")
		}
		proxy.refuse(false)
		messagingtest.WaitFor(t, "the publisher to connect once the broker is back", p.Connected)
		if err := publishBlocking(t, p, "{}"); err != nil {
			t.Errorf("Publish() once connected = %v, want nil", err)
		}
	})
}

// TestPublisherReconnects cuts the publisher's connection and checks that Run connects
// again and that every message Publish confirmed is on the broker.
func TestPublisherReconnects(t *testing.T) {
	url := messagingtest.URL(t)
	queue := messagingtest.Queue(t, url, "test-reconnect-")
	proxy := newBrokerProxy(t, url)
	p := &messaging.Publisher{URL: proxy.url, Queue: queue, Log: logging.Discard()}
	messagingtest.Start(t, p)

	if err := publishBlocking(t, p, "before"); err != nil {
		t.Fatalf("Publish() before the cut = %v, want nil", err)
	}
	proxy.cut()
	messagingtest.WaitFor(t, "a second connection", func() bool { return proxy.connections() >= 2 && p.Connected() })
	if err := publishBlocking(t, p, "after"); err != nil {
		t.Fatalf("Publish() after reconnecting = %v, want nil", err)
	}

	ch := messagingtest.Channel(t, url)
	q, err := ch.QueueInspect(queue)
	if err != nil {
		t.Fatalf("QueueInspect(%q): %v", queue, err)
	}
	if q.Messages != 2 {
		t.Errorf("messages in %s = %d, want 2 (one from each connection)", queue, q.Messages)
	}
}

// TestPublisherRecoversFromClosedChannel closes only the channel, as a channel-level error
// from the broker does, and checks that the publisher does not stay stuck on it.
func TestPublisherRecoversFromClosedChannel(t *testing.T) {
	url := messagingtest.URL(t)
	queue := messagingtest.Queue(t, url, "test-channel-")
	proxy := newBrokerProxy(t, url) // only to count connections
	p := &messaging.Publisher{URL: proxy.url, Queue: queue, Log: logging.Discard()}
	messagingtest.Start(t, p)

	if err := p.CloseChannelForTest(); err != nil {
		t.Fatalf("CloseChannelForTest() = %v, want nil", err)
	}
	messagingtest.WaitFor(t, "a new connection after the channel closed",
		func() bool { return proxy.connections() >= 2 && p.Connected() })
	if err := publishBlocking(t, p, "after"); err != nil {
		t.Errorf("Publish() after the channel closed = %v, want nil", err)
	}
}

// TestConsumerResumesAfterReconnect cuts the consumer's connection and checks that it
// consumes again: a message published after the cut is handled.
func TestConsumerResumesAfterReconnect(t *testing.T) {
	url := messagingtest.URL(t)
	queue := messagingtest.Queue(t, url, "test-resume-")
	proxy := newBrokerProxy(t, url)
	var mu sync.Mutex
	var handled []string
	consumer := &messaging.Consumer{
		URL: proxy.url, Queue: queue, Tracer: mocktracer.New(), Log: logging.Discard(),
		Handle: func(ctx context.Context, d amqp.Delivery) error {
			mu.Lock()
			defer mu.Unlock()
			handled = append(handled, string(d.Body))
			return nil
		},
	}
	messagingtest.Start(t, consumer)
	publisher := &messaging.Publisher{URL: url, Queue: queue, Log: logging.Discard()} // not through the proxy
	messagingtest.Start(t, publisher)

	if err := publishBlocking(t, publisher, "before"); err != nil {
		t.Fatalf("Publish(before) = %v, want nil", err)
	}
	messagingtest.WaitFor(t, "the first message handled", func() bool { return consumer.Stats().Processed == 1 })
	proxy.cut()
	messagingtest.WaitFor(t, "the consumer to reconnect",
		func() bool { return proxy.connections() >= 2 && consumer.Connected() })
	if err := publishBlocking(t, publisher, "after"); err != nil {
		t.Fatalf("Publish(after) = %v, want nil", err)
	}
	messagingtest.WaitFor(t, "the second message handled", func() bool { return consumer.Stats().Processed == 2 })

	mu.Lock()
	defer mu.Unlock()
	if len(handled) != 2 || handled[0] != "before" || handled[1] != "after" {
		t.Errorf("handled %q, want [before after]", handled)
	}
}
