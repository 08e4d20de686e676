package messaging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/streadway/amqp"

	"tracelab/common/tracing"
)

// Handler processes one message. Its context carries the consumer span, which continues
// the publisher's trace, and is done when the consumer stops. An error (or a panic) sends
// the message to the dead-letter queue, unless the context was done by then: a message
// whose handling shutdown interrupted is requeued.
//
// A Handler that recognises a message it has handled before (the same event id, delivered
// again after a lost ack or published again after a lost confirm) returns ErrDuplicate:
// the message is acknowledged and counted apart, neither processed again nor dead-lettered.
type Handler func(ctx context.Context, d amqp.Delivery) error

// ErrDuplicate is what a Handler returns for a message it has already handled.
var ErrDuplicate = errors.New("message handled before")

// Consumer receives the messages of one queue and hands each to Handle inside a consumer
// span. A message is acknowledged only after Handle returned nil, so a crash mid-way
// means redelivery, not loss; a message Handle refuses is dead-lettered, never requeued
// in a loop.
type Consumer struct {
	URL      string
	Queue    string
	Prefetch int // messages in flight to this consumer; 0 means 16
	Tracer   opentracing.Tracer
	Log      *slog.Logger
	Handle   Handler
	// Heartbeat is the AMQP heartbeat interval; 0 means DefaultHeartbeat. A consumer that
	// hangs for about three intervals loses its connection, and its unacknowledged
	// messages go to another consumer, or to this one again once it runs (a duplicate).
	Heartbeat time.Duration

	connected                           atomic.Bool
	processed, duplicates, deadLettered atomic.Int64
}

// ConsumerStats counts what a consumer did with the messages it received.
type ConsumerStats struct {
	Processed    int64 // handled: Handle returned nil
	Duplicates   int64 // acknowledged without handling: Handle returned ErrDuplicate
	DeadLettered int64 // refused: Handle returned another error, or panicked
}

// Connected reports whether the consumer is attached to the broker right now.
func (c *Consumer) Connected() bool { return c.connected.Load() }

// Stats counts the messages processed, duplicated and dead-lettered so far.
func (c *Consumer) Stats() ConsumerStats {
	return ConsumerStats{Processed: c.processed.Load(), Duplicates: c.duplicates.Load(), DeadLettered: c.deadLettered.Load()}
}

// Run consumes until ctx is done, reconnecting with backoff whenever the broker goes away.
func (c *Consumer) Run(ctx context.Context) {
	keepConnected(ctx, c.Log, "amqp consumer", c.consumeOnce)
}

// consumeOnce runs one connection's life: it returns when the connection or the delivery
// channel closes, or ctx is done.
func (c *Consumer) consumeOnce(ctx context.Context, connected func()) error {
	conn, err := dial(c.URL, c.Heartbeat)
	if err != nil {
		return err
	}
	defer conn.close()
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	if err := Declare(ch, c.Queue); err != nil {
		return err
	}
	prefetch := c.Prefetch
	if prefetch == 0 {
		prefetch = 16
	}
	if err := ch.Qos(prefetch, 0, false); err != nil {
		return err
	}
	deliveries, err := ch.Consume(c.Queue, "", false, false, false, false, nil)
	if err != nil {
		return err
	}
	c.connected.Store(true)
	defer c.connected.Store(false)
	connected()
	c.Log.Info("amqp consumer: connected", "queue", c.Queue)

	for {
		select {
		case <-ctx.Done():
			return nil
		case d, ok := <-deliveries:
			if !ok {
				return fmt.Errorf("delivery channel closed")
			}
			c.deliver(ctx, d)
		}
	}
}

func (c *Consumer) deliver(ctx context.Context, d amqp.Delivery) {
	span, ctx := tracing.StartConsumer(ctx, c.Tracer, c.Queue, d.Headers)
	defer span.Finish()
	err := c.safeHandle(ctx, d)
	if errors.Is(err, ErrDuplicate) {
		span.SetTag("duplicate", true)
		c.Log.InfoContext(ctx, "duplicate message acknowledged", "queue", c.Queue, "message_id", boundedID(d.MessageId))
		c.duplicates.Add(1)
		if err := d.Ack(false); err != nil {
			c.Log.WarnContext(ctx, "ack failed; the broker will redeliver", "err", err)
		}
		return
	}
	if err != nil {
		tracing.SetError(span, err)
		if ctx.Err() != nil {
			// The service is stopping and cut the handling short (Handle saw ctx done): not
			// the message's fault. It goes back to the queue for the next consumer, not to
			// the dead-letter queue.
			c.Log.InfoContext(ctx, "handling interrupted by shutdown, message requeued", "err", err, "queue", c.Queue)
			if err := d.Nack(false, true); err != nil {
				c.Log.WarnContext(ctx, "nack failed; the broker will redeliver", "err", err)
			}
			return
		}
		c.Log.WarnContext(ctx, "message rejected to the dead-letter queue",
			"err", err, "queue", c.Queue, "dead_letter_queue", DeadLetterQueue(c.Queue))
		c.deadLettered.Add(1)
		if err := d.Nack(false, false); err != nil {
			c.Log.WarnContext(ctx, "nack failed; the broker will redeliver", "err", err)
		}
		return
	}
	c.processed.Add(1)
	if err := d.Ack(false); err != nil {
		c.Log.WarnContext(ctx, "ack failed; the broker will redeliver", "err", err)
	}
}

// safeHandle turns a panic in Handle into an error, so one bad message cannot crash the
// service into a restart loop that redelivers the same message.
func (c *Consumer) safeHandle(ctx context.Context, d amqp.Delivery) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	return c.Handle(ctx, d)
}

// boundedID is a message id fit for a log line: ids come from whoever published, and a
// log line must not carry an unbounded value.
func boundedID(id string) string {
	const max = 64
	if len(id) > max {
		return id[:max] + "..."
	}
	return id
}
