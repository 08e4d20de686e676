// Package messagingtest connects tests to the real RabbitMQ, the one tracelab's services use
// at run time: a fake broker would not dead-letter, confirm or drop connections the way
// RabbitMQ does, and those are what the tests are about.
//
// Every test gets queues of its own, so tests running at the same time (or after a crash)
// never read each other's messages.
package messagingtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/streadway/amqp"

	"tracelab/common/messaging"
	"tracelab/internal/servicetest"
)

// DefaultURL is the broker tests use when AMQP_URL is not set.
const DefaultURL = "amqp://guest:guest@127.0.0.1:5672/"

// URL returns the broker for tests, $AMQP_URL or DefaultURL, after checking that it answers.
// A test that needs the broker fails when it is down, saying how to start it: a skipped test
// reports green for code that never ran.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("AMQP_URL")
	if u == "" {
		u = DefaultURL
	}
	conn, err := messaging.Dial(u)
	if err != nil {
		t.Fatalf("RabbitMQ not reachable at %s: %v: start it with `rabbitmq-server -detached` (or point AMQP_URL at one)",
			redacted(u), err)
	}
	_ = conn.Close()
	return u
}

// Queue returns a fresh queue name, prefix plus random hex, declared with messaging.Declare
// so that messages published to it at once are kept. The queue and its dead-letter queue are
// deleted when the test ends. Call Queue before starting a consumer or publisher on it, so
// that their cleanup (registered later) stops them first: they would declare it again.
func Queue(t testing.TB, brokerURL, prefix string) string {
	t.Helper()
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	queue := prefix + hex.EncodeToString(suffix)

	ch := Channel(t, brokerURL)
	if err := messaging.Declare(ch, queue); err != nil {
		t.Fatalf("Declare(%q) = %v, want nil", queue, err)
	}
	t.Cleanup(func() {
		// A channel of its own: the test's channel may be closed by now, or broken by the test.
		conn, err := messaging.Dial(brokerURL)
		if err != nil {
			t.Errorf("delete queue %s: %v", queue, err)
			return
		}
		defer conn.Close()
		ch, err := conn.Channel()
		if err != nil {
			t.Errorf("delete queue %s: %v", queue, err)
			return
		}
		for _, q := range []string{queue, messaging.DeadLetterQueue(queue)} {
			if _, err := ch.QueueDelete(q, false, false, false); err != nil {
				t.Errorf("delete queue %s: %v", q, err)
			}
		}
	})
	return queue
}

// Channel opens a connection and a channel for a test's own publishing and reading, closed
// when the test ends.
func Channel(t testing.TB, brokerURL string) *amqp.Channel {
	t.Helper()
	conn, err := messaging.Dial(brokerURL)
	if err != nil {
		t.Fatalf("RabbitMQ not reachable at %s: %v: start it with `rabbitmq-server -detached`", redacted(brokerURL), err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("open channel: %v", err)
	}
	return ch
}

// Runner is what messaging.Publisher and messaging.Consumer have in common.
type Runner interface {
	Run(ctx context.Context)
	Connected() bool
}

// Start runs r as Run does and returns once r is connected.
func Start(t testing.TB, r Runner) {
	t.Helper()
	Run(t, r)
	WaitFor(t, "connected to RabbitMQ", r.Connected)
}

// Run runs r until the test ends, then stops it and waits for its Run to return, so that
// nothing is left consuming or declaring queues after the test. It does not wait for r to
// connect: tests of an unreachable broker use it.
func Run(t testing.TB, r Runner) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// Patience is how long WaitFor waits: far longer than a healthy broker needs, so that a
// test fails only when something is really stuck, not when the machine is busy.
const Patience = servicetest.Patience

// WaitFor polls cond until it holds, and fails the test when it does not within Patience.
// Messages are handled asynchronously; this is how a test waits for their effect.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	servicetest.WaitFor(t, what, cond)
}

// redacted hides the password of a broker URL, which test output should not show.
func redacted(brokerURL string) string {
	u, err := url.Parse(brokerURL)
	if err != nil {
		return "(unparsable AMQP URL)"
	}
	return u.Redacted()
}
