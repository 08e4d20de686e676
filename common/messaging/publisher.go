package messaging

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streadway/amqp"

	"tracelab/common/tracing"
)

// Publisher sends persistent messages to one durable queue and waits for the broker's
// confirm, so a message Publish reported as sent is on the broker's disk. Run keeps it
// connected; while it is not, Publish fails at once with ErrNotConnected rather than
// making the request that called it wait.
//
// Many requests publish at the same time: each waits for its own confirm, found by the
// delivery tag the broker numbers messages with, so one slow confirm (the broker syncing
// its disk) does not hold up the publishes behind it.
type Publisher struct {
	url, queue string
	log        *slog.Logger

	mu      sync.Mutex // guards ch and pending, and keeps the order of tags and frames
	ch      *amqp.Channel
	pending *confirms // of the current channel

	published, failed atomic.Int64
}

// confirms matches the broker's confirms to the publishes waiting for them, on one channel.
type confirms struct {
	lastTag uint64               // delivery tag of the last message published on the channel
	waiting map[uint64]chan bool // by delivery tag: true for ack, false for nack; closed if the channel died
}

// NewPublisher returns a publisher for queue at url; call Run to connect it.
func NewPublisher(url, queue string, log *slog.Logger) *Publisher {
	return &Publisher{url: url, queue: queue, log: log}
}

// Run connects, and reconnects whenever the connection is lost, until ctx is done.
func (p *Publisher) Run(ctx context.Context) {
	for attempt := 0; ; attempt++ {
		conn, ch, err := p.connect()
		if err != nil {
			p.log.Warn("amqp publisher: cannot connect, will retry", "err", err, "retry_in", backoff(attempt).String())
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff(attempt)):
				continue
			}
		}
		attempt = -1
		p.log.Info("amqp publisher: connected", "queue", p.queue)
		connLost := conn.NotifyClose(make(chan *amqp.Error, 1))
		// The channel can die on its own, from a channel-level error such as a message over
		// the broker's max_message_size, while the connection lives on. Watching only the
		// connection would leave a publisher that looks connected and fails every Publish.
		chLost := ch.NotifyClose(make(chan *amqp.Error, 1))
		select {
		case <-ctx.Done():
			p.disconnect()
			_ = conn.Close()
			return
		case err := <-connLost:
			p.log.Warn("amqp publisher: connection lost, reconnecting", "err", err)
		case err := <-chLost:
			p.log.Warn("amqp publisher: channel lost, reconnecting", "err", err)
		}
		p.disconnect()
		_ = conn.Close()
	}
}

func (p *Publisher) connect() (*amqp.Connection, *amqp.Channel, error) {
	conn, err := Dial(p.url)
	if err != nil {
		return nil, nil, err
	}
	ch, err := conn.Channel()
	if err == nil {
		err = Declare(ch, p.queue)
	}
	if err == nil {
		err = ch.Confirm(false)
	}
	if err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	pending := &confirms{waiting: map[uint64]chan bool{}}
	go p.dispatch(pending, ch.NotifyPublish(make(chan amqp.Confirmation, 256)))
	p.mu.Lock()
	p.ch, p.pending = ch, pending
	p.mu.Unlock()
	return conn, ch, nil
}

// dispatch hands each confirm of one channel to the publish waiting for it. When the
// channel closes, every publish still waiting learns that its message is unconfirmed.
func (p *Publisher) dispatch(pending *confirms, confirmations <-chan amqp.Confirmation) {
	for c := range confirmations {
		p.mu.Lock()
		w, ok := pending.waiting[c.DeliveryTag]
		delete(pending.waiting, c.DeliveryTag)
		p.mu.Unlock()
		if ok {
			w <- c.Ack // buffered: never blocks
		}
	}
	p.mu.Lock()
	for tag, w := range pending.waiting {
		close(w)
		delete(pending.waiting, tag)
	}
	p.mu.Unlock()
}

func (p *Publisher) disconnect() {
	p.mu.Lock()
	p.ch = nil
	p.mu.Unlock()
}

// Connected reports whether the publisher has a channel to the broker right now.
func (p *Publisher) Connected() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ch != nil
}

// Stats counts messages confirmed by the broker and publishes that failed.
func (p *Publisher) Stats() (published, failed int64) { return p.published.Load(), p.failed.Load() }

// Publish sends body as a persistent JSON message, inside a producer span that is a child
// of the span in ctx and whose context travels in the message headers. It returns once the
// broker confirmed the message, or with an error when it could not (not connected, nacked,
// ctx done).
func (p *Publisher) Publish(ctx context.Context, body []byte) error {
	headers := amqp.Table{}
	span := tracing.StartProducer(ctx, p.queue, headers)
	defer span.Finish()
	err := p.publish(ctx, body, headers)
	if err != nil {
		p.failed.Add(1)
		tracing.SetError(span, err)
		return err
	}
	p.published.Add(1)
	return nil
}

func (p *Publisher) publish(ctx context.Context, body []byte, headers amqp.Table) error {
	p.mu.Lock()
	if p.ch == nil {
		p.mu.Unlock()
		return ErrNotConnected
	}
	err := p.ch.Publish("", p.queue, false, false, amqp.Publishing{
		Headers:      headers,
		ContentType:  "application/json",
		DeliveryMode: amqp.Persistent,
		Timestamp:    time.Now(),
		Body:         body,
	})
	if err != nil {
		p.mu.Unlock()
		return fmt.Errorf("publish to %s: %w", p.queue, err)
	}
	pending := p.pending
	pending.lastTag++
	tag := pending.lastTag
	confirmed := make(chan bool, 1)
	pending.waiting[tag] = confirmed
	p.mu.Unlock()

	select {
	case ack, ok := <-confirmed:
		switch {
		case !ok:
			return fmt.Errorf("publish to %s: channel closed before the broker confirmed", p.queue)
		case !ack:
			return fmt.Errorf("publish to %s: broker refused the message (nack)", p.queue)
		}
		return nil
	case <-ctx.Done():
		p.mu.Lock()
		delete(pending.waiting, tag) // its confirm, if it comes, is dropped
		p.mu.Unlock()
		return fmt.Errorf("publish to %s: no confirm: %w", p.queue, ctx.Err())
	}
}
