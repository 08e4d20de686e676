package rabbitnode_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/streadway/amqp"

	"tracelab/common/messaging"
	"tracelab/common/messaging/messagingtest"
	"tracelab/internal/rabbitnode"
)

// TestNode walks one private node through every fault it offers, in order (a start costs
// seconds, so they share one node), and checks after each what a client of the broker sees.
func TestNode(t *testing.T) {
	shared := messagingtest.URL(t) // the shared broker, which must not notice any of this
	began := time.Now()
	n := rabbitnode.Start(t)
	t.Logf("node %s answered AMQP %v after Start", n.Name(), time.Since(began).Round(time.Millisecond))
	if strings.HasSuffix(n.URL(), ":5672/") || n.Name() == "rabbit@localhost" {
		t.Fatalf("node %s at %s: the shared broker's name or port", n.Name(), n.URL())
	}

	ch := channel(t, n.URL())
	if err := messaging.Declare(ch, "durable"); err != nil {
		t.Fatalf("Declare(durable) = %v, want nil", err)
	}
	err := ch.Publish("", "durable", false, false, amqp.Publishing{DeliveryMode: amqp.Persistent, Body: []byte("kept")})
	if err != nil {
		t.Fatalf("Publish(persistent) = %v, want nil", err)
	}

	t.Run("Restart keeps durable queues and persistent messages", func(t *testing.T) {
		n.Restart()
		assertMessages(t, n.URL(), "durable", 1)
	})

	t.Run("Pause: connections hang, Resume: they answer", func(t *testing.T) {
		conn := dial(t, n.URL())
		n.Pause()
		if _, err := messaging.Dial(n.URL()); err == nil {
			t.Errorf("Dial(%s) of a paused node = nil, want a handshake timeout", n.URL())
		}
		n.Resume()
		if _, err := conn.Channel(); err != nil {
			t.Errorf("Channel() on a connection opened before Pause, after Resume = %v, want nil", err)
		}
	})

	t.Run("SetMemoryAlarm blocks publishing connections", func(t *testing.T) {
		conn := dial(t, n.URL())
		blocked := conn.NotifyBlocked(make(chan amqp.Blocking, 2))
		n.SetMemoryAlarm(true)
		pub, _ := conn.Channel()
		// The broker blocks a connection when it publishes while the alarm is on (to no
		// queue: only the blocking matters here).
		_ = pub.Publish("", "nowhere", false, false, amqp.Publishing{Body: []byte("while blocked")})
		select {
		case b := <-blocked:
			if !b.Active {
				t.Errorf("first Blocking = %+v, want Active", b)
			}
		case <-time.After(messagingtest.Patience):
			t.Fatalf("no connection.blocked %v after the memory alarm", messagingtest.Patience)
		}
		n.SetMemoryAlarm(false)
		select {
		case b := <-blocked:
			if b.Active {
				t.Errorf("Blocking after the alarm cleared = %+v, want not Active", b)
			}
		case <-time.After(messagingtest.Patience):
			t.Fatalf("no connection.unblocked %v after the alarm cleared", messagingtest.Patience)
		}
	})

	t.Run("Kill breaks connections; Restart brings the node back", func(t *testing.T) {
		conn := dial(t, n.URL())
		closed := conn.NotifyClose(make(chan *amqp.Error, 1))
		n.Kill()
		select {
		case <-closed:
		case <-time.After(messagingtest.Patience):
			t.Fatalf("connection still open %v after Kill", messagingtest.Patience)
		}
		if _, err := messaging.Dial(n.URL()); err == nil {
			t.Errorf("Dial(%s) after Kill = nil, want an error", n.URL())
		}
		n.Restart()
		assertMessages(t, n.URL(), "durable", 1)
	})

	t.Run("Stop", func(t *testing.T) {
		n.Stop()
		if _, err := messaging.Dial(n.URL()); err == nil {
			t.Errorf("Dial(%s) after Stop = nil, want an error", n.URL())
		}
	})

	if _, err := messaging.Dial(shared); err != nil {
		t.Errorf("the shared broker after the private node's faults: Dial = %v, want nil", err)
	}
}

// TestNodeCleanup checks that a node's cleanup leaves nothing behind: no process, no files.
func TestNodeCleanup(t *testing.T) {
	var url, dir string
	t.Run("node", func(t *testing.T) {
		n := rabbitnode.Start(t)
		url = n.URL()
		dir = dataDir(t, n)
		n.Pause() // the worst state to leave it in
	})
	if _, err := messaging.Dial(url); err == nil {
		t.Errorf("Dial(%s) after the test that started the node ended = nil, want an error", url)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Stat(%s) after cleanup = %v, want it removed", dir, err)
	}
}

// dataDir finds the node's directory through rabbitmqctl, as the node itself reports it.
func dataDir(t *testing.T, n *rabbitnode.Node) string {
	t.Helper()
	out, err := n.Ctl("eval", "rabbit_mnesia:dir().")
	if err != nil {
		t.Fatalf("Ctl(eval rabbit_mnesia:dir()) = %v: %s", err, out)
	}
	mnesia := strings.Trim(strings.TrimSpace(out), `"`)
	i := strings.Index(mnesia, "/mnesia/")
	if i < 0 {
		t.Fatalf("mnesia dir %q is not under the node's directory", mnesia)
	}
	return mnesia[:i]
}

func dial(t *testing.T, url string) *amqp.Connection {
	t.Helper()
	conn, err := messaging.Dial(url)
	if err != nil {
		t.Fatalf("Dial(%s) = %v, want nil", url, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func channel(t *testing.T, url string) *amqp.Channel {
	t.Helper()
	ch, err := dial(t, url).Channel()
	if err != nil {
		t.Fatalf("Channel() = %v, want nil", err)
	}
	return ch
}

func assertMessages(t *testing.T, url, queue string, want int) {
	t.Helper()
	q, err := channel(t, url).QueueInspect(queue)
	if err != nil || q.Messages != want {
		t.Errorf("QueueInspect(%q) = %d messages, %v, want %d", queue, q.Messages, err, want)
	}
}
