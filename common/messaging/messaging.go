// Package messaging publishes and consumes tracelab's events over AMQP (RabbitMQ) with the
// trace carried in the message headers. Both sides survive a broker restart: they reconnect
// on their own, with backoff, while the service keeps serving.
//
// Every queue comes with a dead-letter queue named <queue>.dead. A message its consumer
// cannot handle is rejected there, once, instead of being redelivered forever.
package messaging

import (
	"errors"
	"fmt"
	"time"

	"github.com/streadway/amqp"
)

// DeadLetterQueue names the queue where rejected messages of queue end up.
func DeadLetterQueue(queue string) string { return queue + ".dead" }

// Declare creates queue and its dead-letter queue, both durable, if they do not exist.
// Publisher and consumer both call it, with the same arguments (RabbitMQ refuses a second
// declaration that differs), so either may start first.
func Declare(ch *amqp.Channel, queue string) error {
	dead := DeadLetterQueue(queue)
	if _, err := ch.QueueDeclare(dead, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare %s: %w", dead, err)
	}
	args := amqp.Table{
		"x-dead-letter-exchange":    "", // the default exchange routes by queue name...
		"x-dead-letter-routing-key": dead,
	}
	if _, err := ch.QueueDeclare(queue, true, false, false, false, args); err != nil {
		return fmt.Errorf("declare %s: %w", queue, err)
	}
	return nil
}

// ErrNotConnected is returned by Publish while the broker is out of reach.
var ErrNotConnected = errors.New("not connected to the message broker")

// backoff is the wait before reconnect attempt n (0-based): 100ms doubling to 5s.
func backoff(n int) time.Duration {
	d := 100 * time.Millisecond << min(n, 6)
	return min(d, 5*time.Second)
}

// Dial connects to url with a bounded handshake, so a broker that accepts TCP but never
// answers cannot hang a service at start.
func Dial(url string) (*amqp.Connection, error) {
	return amqp.DialConfig(url, amqp.Config{
		Heartbeat: 10 * time.Second,
		Dial:      amqp.DefaultDial(5 * time.Second),
	})
}
