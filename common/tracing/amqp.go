package tracing

import (
	"context"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/streadway/amqp"
)

// AMQPHeaders carries a span context in the headers of an AMQP message. It is an
// opentracing TextMap carrier: use it with opentracing.TextMap.
//
// Headers written by other programs can hold any AMQP type; a value that is not a string
// (or bytes) is skipped, never a panic, and the consumer then starts a new trace.
type AMQPHeaders amqp.Table

// Set writes a header as a string, the type every AMQP client can read back.
func (h AMQPHeaders) Set(key, val string) { h[key] = val }

// ForeachKey hands every string-valued header to handler.
func (h AMQPHeaders) ForeachKey(handler func(key, val string) error) error {
	for k, v := range h {
		var s string
		switch v := v.(type) {
		case string:
			s = v
		case []byte:
			s = string(v)
		default:
			continue
		}
		if err := handler(k, s); err != nil {
			return err
		}
	}
	return nil
}

// StartProducer starts a producer span, a child of the span in ctx, for a message about to
// be published to destination, and writes its context into headers (which must not be nil).
// Without a span in ctx it returns a no-op span and leaves headers alone.
func StartProducer(ctx context.Context, destination string, headers amqp.Table) opentracing.Span {
	parent := opentracing.SpanFromContext(ctx)
	if parent == nil {
		return noopTracer.StartSpan("publish")
	}
	tracer := parent.Tracer()
	// The kind goes in at start: the OpenTelemetry bridge reads it only there.
	span := tracer.StartSpan("publish "+destination, opentracing.ChildOf(parent.Context()), ext.SpanKindProducer)
	ext.Component.Set(span, "amqp")
	ext.MessageBusDestination.Set(span, destination)
	_ = tracer.Inject(span.Context(), opentracing.TextMap, AMQPHeaders(headers))
	return span
}

// StartConsumer starts the consumer span for a message received from source and returns a
// context carrying it. The span continues the producer's trace with a FollowsFrom
// reference: the producer did not wait for us, so we are not its child in time. Headers
// that are missing or malformed start a new trace; baggage that is invalid or beyond the
// limits (MaxBaggageItems) is dropped, and the span's baggage.dropped tag counts it.
func StartConsumer(ctx context.Context, tracer opentracing.Tracer, source string, headers amqp.Table) (opentracing.Span, context.Context) {
	var opts []opentracing.StartSpanOption
	carrier := &extraction{TextMapReader: AMQPHeaders(headers)}
	producer, err := tracer.Extract(opentracing.TextMap, carrier)
	if err == nil && producer != nil {
		opts = FollowsFrom(tracer, producer)
	}
	span := tracer.StartSpan("consume "+source, append(opts, ext.SpanKindConsumer)...)
	ext.Component.Set(span, "amqp")
	ext.MessageBusDestination.Set(span, source)
	baggageTags(span, producer, carrier.dropped)
	return span, opentracing.ContextWithSpan(ctx, span)
}

// FollowsFrom is the start options of a span that FOLLOWS_FROM sc, in either mode. The
// OpenTelemetry bridge gives a span with only a FollowsFrom reference no parent: a new
// trace. There ChildOf comes first, to keep the trace, and FollowsFrom becomes a link to
// the same span, from which Jaeger's OTLP translation tells the reference FOLLOWS_FROM.
func FollowsFrom(tracer opentracing.Tracer, sc opentracing.SpanContext) []opentracing.StartSpanOption {
	if isOTel(tracer) {
		return []opentracing.StartSpanOption{opentracing.ChildOf(sc), opentracing.FollowsFrom(sc)}
	}
	return []opentracing.StartSpanOption{opentracing.FollowsFrom(sc)}
}
