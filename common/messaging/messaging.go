// Package messaging publishes and consumes tracelab's events over AMQP (RabbitMQ) with the
// trace carried in the message headers. Both sides survive a broker restart: they reconnect
// on their own, with backoff, while the service keeps serving.
//
// Every queue comes with a dead-letter queue named <queue>.dead. A message its consumer
// cannot handle is rejected there, once, instead of being redelivered forever.
package messaging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
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

var (
	// ErrNotConnected is returned by Publish while the broker is out of reach.
	ErrNotConnected = errors.New("not connected to the message broker")
	// ErrBlocked is returned by Publish while the broker blocks the connection (a memory or
	// disk alarm): it would not read the message, so Publish does not wait for it to.
	ErrBlocked = errors.New("the message broker blocks publishing (resource alarm)")
	// ErrRefused is returned by Publish when the broker nacked the message: it did not take
	// it (a full queue that rejects publishes, an internal error). It is not on the broker.
	ErrRefused = errors.New("the message broker refused the message (nack)")
)

// keepConnected runs once, one connection's life, again and again until ctx is done,
// waiting backoff(n) after the n-th failure in a row. once calls connected when it is
// attached to the broker, which starts the count again.
func keepConnected(ctx context.Context, log *slog.Logger, who string, once func(ctx context.Context, connected func()) error) {
	for attempt := 0; ctx.Err() == nil; attempt++ {
		err := once(ctx, func() { attempt = 0 })
		if ctx.Err() != nil {
			return
		}
		log.Warn(who+": disconnected, will retry", "err", err, "retry_in", backoff(attempt).String())
		select {
		case <-ctx.Done():
		case <-time.After(backoff(attempt)):
		}
	}
}

// backoff is the wait before reconnect attempt n (0-based): 100ms doubling to 5s.
func backoff(n int) time.Duration {
	d := 100 * time.Millisecond << min(n, 6)
	return min(d, 5*time.Second)
}

// DefaultHeartbeat is the AMQP heartbeat interval when none is set (AMQP_HEARTBEAT). Either
// side gives up on a connection that was silent for about three intervals: a broker that
// hangs is noticed after ~30 s, a consumer that hangs loses its unacknowledged messages to
// redelivery after as long. Fault tests set a second or two.
const DefaultHeartbeat = 10 * time.Second

// Dial connects to url with a bounded handshake, so a broker that accepts TCP but never
// answers cannot hang a service at start, and the default heartbeat.
func Dial(url string) (*amqp.Connection, error) {
	c, err := dial(url, 0)
	if err != nil {
		return nil, err
	}
	return c.Connection, nil
}

// connection is an AMQP connection and the TCP connection under it.
type connection struct {
	*amqp.Connection
	tcp atomic.Pointer[net.Conn]
}

// dial is Dial with a heartbeat (0: DefaultHeartbeat) and a hold on the socket, for close.
func dial(url string, heartbeat time.Duration) (*connection, error) {
	if heartbeat <= 0 {
		heartbeat = DefaultHeartbeat
	}
	c := &connection{}
	tcp := amqp.DefaultDial(5 * time.Second)
	conn, err := amqp.DialConfig(url, amqp.Config{
		Heartbeat: heartbeat,
		Dial: func(network, addr string) (net.Conn, error) {
			nc, err := tcp(network, addr)
			if err == nil {
				c.tcp.Store(&nc)
			}
			return nc, err
		},
	})
	if err != nil {
		return nil, err
	}
	c.Connection = conn
	return c, nil
}

// close closes the connection the polite way when the broker answers within a second, and
// closes the socket under it when not: amqp's Close waits for the broker's close-ok, and
// behind any write that is stuck because the broker stopped reading (a paused broker),
// for as long as three heartbeats. A service that stops must not wait for that. Calling
// close again returns at once.
func (c *connection) close() {
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		_ = c.Connection.Close()
	}()
	select {
	case <-closed:
	case <-time.After(time.Second):
		if nc := c.tcp.Load(); nc != nil {
			_ = (*nc).Close()
		}
		<-closed
	}
}
