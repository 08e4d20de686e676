package messaging

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/streadway/amqp"

	"tracelab/common/tracing"
)

// MaxInFlight bounds the messages a Publisher has sent and the broker has not confirmed
// yet. Beyond it, Publish waits (within its context) instead of sending more: a broker that
// stalls (a slow disk, an alarm) must cost a bounded amount of memory and nothing else.
// The amqp library must be able to hand over every outstanding confirm without waiting
// (its NotifyPublish doc): the confirm channel is buffered to exactly this bound.
const MaxInFlight = 128

// Publisher sends persistent messages to one durable queue and waits for the broker's
// confirm, so a message Publish reported as sent is on the broker's disk. Run keeps it
// connected; while it is not, or while the broker blocks it, Publish fails at once with
// ErrNotConnected or ErrBlocked rather than making its caller wait.
//
// One goroutine, started by Run for each connection, owns the AMQP channel: it alone
// publishes and reads confirms, so no lock is held around network I/O, and State, Connected
// and Stats (what /healthz reads) never wait behind a broker. Publish hands it the message
// and waits for the confirm of that one message, found by the delivery tag the broker
// numbers messages with; many callers can wait at once, up to MaxInFlight.
//
// Set the exported fields, then call Run.
type Publisher struct {
	URL, Queue string
	// Tracer starts the producer spans of messages whose Cause is set; other messages take
	// the tracer of the span in Publish's context.
	Tracer opentracing.Tracer
	Log    *slog.Logger
	// Heartbeat is the AMQP heartbeat interval; 0 means DefaultHeartbeat.
	Heartbeat time.Duration

	session           atomic.Pointer[session] // nil while not connected
	published, failed atomic.Int64
	unconfirmed       atomic.Int64 // sent on the current channel, confirm awaited
}

// State is a publisher's connection to the broker, as /healthz reports it.
type State int32

const (
	Reconnecting State = iota // not connected: at start, or since the connection was lost
	Connected                 // connected, publishing
	Blocked                   // connected, but the broker blocks publishing (resource alarm)
)

func (s State) String() string {
	switch s {
	case Connected:
		return "connected"
	case Blocked:
		return "blocked"
	default:
		return "reconnecting"
	}
}

// Message is one message to publish.
type Message struct {
	// ID becomes the AMQP message id. Consumers deduplicate on it: a message may be
	// delivered twice (a lost confirm means publishing it again, a lost ack means
	// redelivery), never zero times.
	ID   string
	Body []byte // JSON
	// Cause, when set, is the span the message comes from, finished before the publish
	// starts (a relay publishing what a request wrote to an outbox): the producer span
	// FOLLOWS_FROM it, with the publisher's Tracer. Without a Cause the producer span is a
	// child of the span in Publish's context.
	Cause opentracing.SpanContext
}

// session is one connection's channel, as seen from outside its owner goroutine.
type session struct {
	requests chan *request // to the owner; unbuffered, read only while it can publish
	down     chan struct{} // closed when the owner has stopped
	blocked  atomic.Bool   // the broker sent connection.blocked, and not yet unblocked
	ch       *amqp.Channel // owned by the owner; here for CloseChannelForTest only
}

// request is one Publish waiting for the owner.
type request struct {
	msg  amqp.Publishing
	done chan error // buffered: the owner never waits for a caller that gave up
}

// State reports the connection to the broker right now. It never blocks.
func (p *Publisher) State() State {
	s := p.session.Load()
	switch {
	case s == nil:
		return Reconnecting
	case s.blocked.Load():
		return Blocked
	default:
		return Connected
	}
}

// Connected reports whether the publisher has a channel to the broker right now (blocked
// or not). It never blocks.
func (p *Publisher) Connected() bool { return p.session.Load() != nil }

// Stats counts messages confirmed by the broker and publishes that failed (refused, not
// sent, or not confirmed in time: such a message may still be on the broker).
func (p *Publisher) Stats() (published, failed int64) { return p.published.Load(), p.failed.Load() }

// Unconfirmed is how many messages were sent on the current channel and wait for the
// broker's confirm: at most MaxInFlight. It never blocks.
func (p *Publisher) Unconfirmed() int { return int(p.unconfirmed.Load()) }

// Run connects, and reconnects whenever the connection or the channel is lost, until ctx
// is done. It returns promptly once ctx is done, even when the broker has stopped reading.
func (p *Publisher) Run(ctx context.Context) {
	keepConnected(ctx, p.Log, "amqp publisher", p.runOnce)
}

// runOnce runs one connection's life and returns why it ended.
func (p *Publisher) runOnce(ctx context.Context, connected func()) error {
	conn, err := dial(p.URL, p.Heartbeat)
	if err != nil {
		return err
	}
	defer conn.close() // a second call returns at once
	ch, err := conn.Channel()
	if err == nil {
		err = Declare(ch, p.Queue)
	}
	if err == nil {
		err = ch.Confirm(false)
	}
	if err != nil {
		return err
	}
	connected()
	p.Log.Info("amqp publisher: connected", "queue", p.Queue)

	s := &session{requests: make(chan *request), down: make(chan struct{}), ch: ch}
	owned := make(chan error, 1)
	go func() {
		defer close(s.down)
		owned <- p.own(conn.Connection, ch, s)
	}()
	p.session.Store(s)
	select {
	case err = <-owned:
	case <-ctx.Done():
	}
	p.session.Store(nil)
	conn.close() // which ends the owner, should it be stuck writing to a broker that stopped reading
	<-s.down     // the owner has told every waiting caller
	return err
}

// own is the owner goroutine of one channel: it publishes what Publish hands it, as long
// as fewer than MaxInFlight messages wait for their confirm and the broker does not block
// the connection, and hands each confirm to the caller waiting for it. It returns when the
// channel or the connection is closed.
func (p *Publisher) own(conn *amqp.Connection, ch *amqp.Channel, s *session) error {
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, MaxInFlight))
	chLost := ch.NotifyClose(make(chan *amqp.Error, 1))
	// The amqp library tells of connection.blocked on a channel it writes to from its
	// reader goroutine, which must never wait: a goroutine of its own keeps reading it.
	blocking := make(chan bool, 1)
	go watchBlocked(conn.NotifyBlocked(make(chan amqp.Blocking, 1)), s, blocking)

	waiting := map[uint64]*request{} // by delivery tag
	var lastTag uint64               // the broker numbers a channel's messages 1, 2, 3, ...
	settle := func(c amqp.Confirmation) {
		r := waiting[c.DeliveryTag]
		delete(waiting, c.DeliveryTag)
		p.unconfirmed.Store(int64(len(waiting)))
		switch {
		case r == nil:
		case c.Ack:
			r.done <- nil
		default:
			r.done <- fmt.Errorf("publish to %s: %w", p.Queue, ErrRefused)
		}
	}
	defer func() {
		for len(confirms) > 0 { // the confirms that came before the channel closed still count
			settle(<-confirms)
		}
		for _, r := range waiting {
			r.done <- fmt.Errorf("publish to %s: channel closed before the broker confirmed", p.Queue)
		}
		p.unconfirmed.Store(0)
	}()
	for {
		requests := s.requests
		if len(waiting) >= MaxInFlight || s.blocked.Load() {
			requests = nil // take no more until confirms come or the broker unblocks
		}
		select {
		case err := <-chLost: // also when the connection closes: the library closes its channels
			if err == nil {
				return fmt.Errorf("channel closed")
			}
			return err
		case c, ok := <-confirms:
			if !ok {
				return fmt.Errorf("channel closed")
			}
			settle(c)
		case active := <-blocking:
			if active {
				p.Log.Warn("amqp publisher: the broker blocks publishing (resource alarm)", "queue", p.Queue, "unconfirmed", len(waiting))
			} else {
				p.Log.Info("amqp publisher: the broker unblocked publishing", "queue", p.Queue)
			}
		case r := <-requests:
			if err := ch.Publish("", p.Queue, false, false, r.msg); err != nil {
				r.done <- fmt.Errorf("publish to %s: %w", p.Queue, err)
				continue // a dead channel is reported on chLost next
			}
			lastTag++
			waiting[lastTag] = r
			p.unconfirmed.Store(int64(len(waiting)))
		}
	}
}

// watchBlocked keeps s.blocked up to date with the broker's connection.blocked and
// connection.unblocked, and tells the owner (blocking holds the latest state only).
func watchBlocked(notices <-chan amqp.Blocking, s *session, blocking chan bool) {
	for b := range notices {
		s.blocked.Store(b.Active)
		select {
		case <-blocking: // an older state the owner has not read: replaced
		default:
		}
		blocking <- b.Active
	}
}

// Publish sends m as a persistent JSON message, inside a producer span whose context
// travels in the message headers. It returns once the broker confirmed the message, or with
// an error when it did not: ErrNotConnected or ErrBlocked at once, ErrRefused when the
// broker nacked it, ctx's error when no confirm came in time (the message may be on the
// broker, or not: publish it again, consumers deduplicate on m.ID).
func (p *Publisher) Publish(ctx context.Context, m Message) error {
	headers := amqp.Table{}
	span := p.startProducer(ctx, m, headers)
	defer span.Finish()
	span.SetTag("message_bus.message_id", m.ID)
	err := p.publish(ctx, amqp.Publishing{
		Headers:      headers,
		MessageId:    m.ID,
		ContentType:  "application/json",
		DeliveryMode: amqp.Persistent,
		Timestamp:    time.Now(),
		Body:         m.Body,
	})
	if err != nil {
		p.failed.Add(1)
		tracing.SetError(span, err)
		return err
	}
	p.published.Add(1)
	return nil
}

func (p *Publisher) publish(ctx context.Context, msg amqp.Publishing) error {
	s := p.session.Load()
	switch {
	case s == nil:
		return ErrNotConnected
	case s.blocked.Load():
		return ErrBlocked
	}
	r := &request{msg: msg, done: make(chan error, 1)}
	select {
	case s.requests <- r:
	case <-s.down:
		return ErrNotConnected
	case <-ctx.Done():
		return fmt.Errorf("publish to %s: not sent: %w", p.Queue, ctx.Err())
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("publish to %s: no confirm: %w", p.Queue, ctx.Err())
	}
}

// startProducer starts m's producer span and writes its context into headers: a child of
// the span in ctx, or, for a message with a Cause, a span that FOLLOWS_FROM it.
func (p *Publisher) startProducer(ctx context.Context, m Message, headers amqp.Table) opentracing.Span {
	if m.Cause == nil || p.Tracer == nil {
		return tracing.StartProducer(ctx, p.Queue, headers)
	}
	opts := append(tracing.FollowsFrom(p.Tracer, m.Cause), ext.SpanKindProducer) // the kind at start: see tracing.StartProducer
	span := p.Tracer.StartSpan("publish "+p.Queue, opts...)
	ext.Component.Set(span, "amqp")
	ext.MessageBusDestination.Set(span, p.Queue)
	_ = p.Tracer.Inject(span.Context(), opentracing.TextMap, tracing.AMQPHeaders(headers))
	return span
}
