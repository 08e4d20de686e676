package tracing

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"tracelab/common/tracing/tracingtest"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/opentracing/opentracing-go/mocktracer"
	"github.com/streadway/amqp"
)

func TestAMQPHeadersForeachKey(t *testing.T) {
	headers := AMQPHeaders{
		"string":  "s",
		"bytes":   []byte("b"),
		"int32":   int32(7),
		"int64":   int64(8),
		"bool":    true,
		"table":   amqp.Table{"nested": "x"},
		"array":   []interface{}{"a", 1},
		"nil":     nil,
		"decimal": amqp.Decimal{Scale: 1, Value: 5},
		"time":    time.Unix(0, 0),
		"float":   1.5,
	}
	got := map[string]string{}
	err := headers.ForeachKey(func(k, v string) error { got[k] = v; return nil })
	if err != nil {
		t.Fatalf("ForeachKey error: %v", err)
	}
	want := map[string]string{"string": "s", "bytes": "b"}
	if !maps.Equal(got, want) {
		t.Errorf("ForeachKey read %v, want only the text headers %v", got, want)
	}
}

// TestStartConsumerOddHeaders feeds the real Jaeger tracer headers another program might
// write: values of every AMQP type under the tracing keys. None panics; a trace id sent as
// bytes (how some clients write long strings) is read, anything else starts a new trace.
func TestStartConsumerOddHeaders(t *testing.T) {
	const trace = "a1b2c3d4e5f60718"
	const ctxValue = trace + ":a2fb4a1d1a96d312:0:1"
	tests := []struct {
		name      string
		headers   amqp.Table
		wantTrace string // "" for a new trace
	}{
		{"nil table", nil, ""},
		{"string", amqp.Table{"uber-trace-id": ctxValue}, trace},
		{"bytes", amqp.Table{"uber-trace-id": []byte(ctxValue)}, trace},
		{"int32", amqp.Table{"uber-trace-id": int32(1)}, ""},
		{"int64", amqp.Table{"uber-trace-id": int64(1)}, ""},
		{"bool", amqp.Table{"uber-trace-id": true}, ""},
		{"table", amqp.Table{"uber-trace-id": amqp.Table{"a": ctxValue}}, ""},
		{"array", amqp.Table{"uber-trace-id": []interface{}{ctxValue}}, ""},
		{"nil value", amqp.Table{"uber-trace-id": nil}, ""},
		{"garbage", amqp.Table{"uber-trace-id": "1:2"}, ""},
		{"baggage not text", amqp.Table{"uber-trace-id": ctxValue, "uberctx-user": int32(5)}, trace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tracer := newRealTracer(t, nil)
			span, ctx := StartConsumer(context.Background(), tracer, "vipQueue", tt.headers)
			span.Finish()
			if opentracing.SpanFromContext(ctx) != span {
				t.Errorf("StartConsumer ctx does not hold its span")
			}
			got := jaegerContext(t, span).TraceID().String()
			if tt.wantTrace != "" && got != tt.wantTrace {
				t.Errorf("StartConsumer(%v) trace = %s, want the producer's %s", tt.headers, got, tt.wantTrace)
			}
			if tt.wantTrace == "" && got == trace {
				t.Errorf("StartConsumer(%v) trace = %s, want a new trace", tt.headers, got)
			}
		})
	}
}

// TestStartConsumerChecksBaggage: a message's baggage is checked and bounded as a
// request's is, whoever published it, and the consumer span counts what it dropped.
func TestStartConsumerChecksBaggage(t *testing.T) {
	const trace = "a1b2c3d4e5f60718"
	headers := amqp.Table{
		"uber-trace-id":    trace + ":a2fb4a1d1a96d312:0:1",
		"uberctx-bad key":  "v",
		"uberctx-crlf":     "a\r\nb",
		"uberctx-tier":     "vip",
		"uberctx-spaced":   "a b=c", // AMQP values are not escaped: kept as they are
		"jaeger-baggage":   "k=v",
		"uberctx-NotLower": "x",
	}
	for i := range 20 {
		headers[fmt.Sprintf("uberctx-z%02d", i)] = "v"
	}
	tracer := newRealTracer(t, nil)
	span, _ := StartConsumer(context.Background(), tracer, "vipQueue", headers)
	span.Finish()

	sc := jaegerContext(t, span)
	got := baggageOf(sc)
	want := map[string]string{"k": "v", "notlower": "x", "spaced": "a b=c", "tier": "vip"}
	for i := range MaxBaggageItems - len(want) {
		want[fmt.Sprintf("z%02d", i)] = "v"
	}
	if sc.TraceID().String() != trace || !maps.Equal(got, want) {
		t.Errorf("consumer span trace %s baggage %v, want trace %s baggage %v", sc.TraceID(), got, trace, want)
	}
	_, spans := tracer.recorded(t)
	if len(spans) != 1 {
		t.Fatalf("collector got %d spans, want the consumer span", len(spans))
	}
	// Two invalid, and 8 of the 24 good ones over the limit.
	if got, _ := thriftTag(spans[0], "baggage.dropped"); got != "10" {
		t.Errorf("tag baggage.dropped = %q, want 10", got)
	}
}

func TestStartProducerConsumer(t *testing.T) {
	tracer := mocktracer.New()
	parent := tracer.StartSpan("POST /accounts/{id}/vip")
	parent.SetBaggageItem("tier", "vip")
	headers := amqp.Table{"content-origin": "accountservice"}

	producer := StartProducer(spanFrom(parent), "vipQueue", headers)
	producer.Finish()
	if err := headers.Validate(); err != nil {
		t.Errorf("headers after StartProducer are not valid AMQP: %v", err)
	}
	if headers["content-origin"] != "accountservice" {
		t.Errorf("StartProducer changed an unrelated header: %v", headers)
	}

	consumer, ctx := StartConsumer(context.Background(), tracer, "vipQueue", headers)
	consumer.Finish()

	p, c := producer.(*mocktracer.MockSpan), consumer.(*mocktracer.MockSpan)
	parentCtx := parent.Context().(mocktracer.MockSpanContext)
	t.Run("producer", func(t *testing.T) {
		if p.OperationName != "publish vipQueue" || p.ParentID != parentCtx.SpanID {
			t.Errorf("producer = %q parent %d, want %q ChildOf %d", p.OperationName, p.ParentID, "publish vipQueue", parentCtx.SpanID)
		}
		assertTags(t, p, map[string]any{
			string(ext.SpanKind):              ext.SpanKindProducerEnum,
			string(ext.Component):             "amqp",
			string(ext.MessageBusDestination): "vipQueue",
		})
	})
	t.Run("consumer", func(t *testing.T) {
		if c.OperationName != "consume vipQueue" {
			t.Errorf("consumer operation = %q, want %q", c.OperationName, "consume vipQueue")
		}
		if c.SpanContext.TraceID != parentCtx.TraceID || c.ParentID != p.SpanContext.SpanID {
			t.Errorf("consumer trace %d parent %d, want trace %d after producer %d",
				c.SpanContext.TraceID, c.ParentID, parentCtx.TraceID, p.SpanContext.SpanID)
		}
		if opentracing.SpanFromContext(ctx) != consumer {
			t.Errorf("StartConsumer ctx does not hold the consumer span")
		}
		assertTags(t, c, map[string]any{
			string(ext.SpanKind):              ext.SpanKindConsumerEnum,
			string(ext.Component):             "amqp",
			string(ext.MessageBusDestination): "vipQueue",
			"baggage.tier":                    "vip",
		})
	})
	t.Run("consumer reference is FollowsFrom", func(t *testing.T) {
		// mocktracer keeps no reference kinds; tracingtest does.
		rec := tracingtest.New()
		span, _ := StartConsumer(context.Background(), rec, "vipQueue", headers)
		span.Finish()
		c, ok := rec.Span("consume vipQueue")
		if !ok {
			t.Fatalf("finished spans %v, want one %q", rec.Names(), "consume vipQueue")
		}
		if ref, ok := rec.Reference(c); !ok || ref != opentracing.FollowsFromRef {
			t.Errorf("consumer reference = %v (set %v), want FollowsFrom", ref, ok)
		}
		if c.ParentID != p.SpanContext.SpanID {
			t.Errorf("consumer follows span %d, want the producer %d", c.ParentID, p.SpanContext.SpanID)
		}
	})
}

func TestStartProducerWithoutSpan(t *testing.T) {
	headers := amqp.Table{}
	span := StartProducer(context.Background(), "vipQueue", headers)
	span.Finish()
	if _, ok := span.Tracer().(opentracing.NoopTracer); !ok {
		t.Errorf("StartProducer without a span = span of %T, want a no-op span", span.Tracer())
	}
	if len(headers) != 0 {
		t.Errorf("StartProducer without a span wrote headers %v, want none", headers)
	}
}

func assertTags(t *testing.T, span *mocktracer.MockSpan, want map[string]any) {
	t.Helper()
	tags := span.Tags()
	for k, v := range want {
		if tags[k] != v {
			t.Errorf("%s: tag %s = %#v, want %#v", span.OperationName, k, tags[k], v)
		}
	}
}
