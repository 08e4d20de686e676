package tracing

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/streadway/amqp"
	"github.com/uber/jaeger-client-go"
)

// What the instruments cost per request or message, with the real Jaeger tracer (sampling
// everything, spans thrown away by a null reporter so the network is not measured) and
// with the no-op tracer a disabled service runs, the floor.
//
//	go test -run xxx -bench . -benchmem ./common/tracing

// benchTracers are the tracers each benchmark runs with.
func benchTracers(b *testing.B) []struct {
	name   string
	tracer opentracing.Tracer
} {
	// The same codecs as New, so Inject and Extract do the real work of both dialects.
	jt, closer := jaeger.NewTracer("bench", jaeger.NewConstSampler(true), jaeger.NewNullReporter(),
		jaeger.TracerOptions.Injector(opentracing.HTTPHeaders, httpPropagator),
		jaeger.TracerOptions.Extractor(opentracing.HTTPHeaders, httpPropagator),
		jaeger.TracerOptions.Injector(opentracing.TextMap, textMapPropagator),
		jaeger.TracerOptions.Extractor(opentracing.TextMap, textMapPropagator),
	)
	b.Cleanup(func() { _ = closer.Close() })
	return []struct {
		name   string
		tracer opentracing.Tracer
	}{
		{"jaeger", jt},
		{"noop", opentracing.NoopTracer{}},
	}
}

// BenchmarkMiddleware serves a request that continues a caller's trace through a ServeMux.
func BenchmarkMiddleware(b *testing.B) {
	for _, bt := range benchTracers(b) {
		b.Run(bt.name, func(b *testing.B) {
			mux := http.NewServeMux()
			mux.Handle("GET /accounts/{id}", respondOK())
			handler := Middleware(bt.tracer)(mux)
			caller := bt.tracer.StartSpan("caller")
			defer caller.Finish()
			header := http.Header{}
			_ = bt.tracer.Inject(caller.Context(), opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(header))
			req := httptest.NewRequest(http.MethodGet, "/accounts/10000", nil)
			req.Header = header
			w := discardWriter{http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				handler.ServeHTTP(w, req)
			}
		})
	}
}

// BenchmarkTransport makes a client call from inside a span, against a base transport that
// answers at once, so only the tracing work is measured.
func BenchmarkTransport(b *testing.B) {
	answer := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
	})
	for _, bt := range benchTracers(b) {
		b.Run(bt.name, func(b *testing.B) {
			rt := Transport(answer, "quoteservice")
			parent := bt.tracer.StartSpan("parent")
			defer parent.Finish()
			req := httptest.NewRequestWithContext(spanFrom(parent), http.MethodGet, "http://quoteservice:8080/api/quote", nil)
			b.ReportAllocs()
			for b.Loop() {
				resp, err := rt.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
			}
		})
	}
}

// BenchmarkStartChild starts and finishes a child span for internal work.
func BenchmarkStartChild(b *testing.B) {
	for _, bt := range benchTracers(b) {
		b.Run(bt.name, func(b *testing.B) {
			parent := bt.tracer.StartSpan("parent")
			defer parent.Finish()
			ctx := spanFrom(parent)
			b.ReportAllocs()
			for b.Loop() {
				span, _ := StartChild(ctx, "bolt get account")
				span.Finish()
			}
		})
	}
	b.Run("no parent", func(b *testing.B) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			span, _ := StartChild(ctx, "bolt get account")
			span.Finish()
		}
	})
}

// BenchmarkAMQPInjectExtract publishes and consumes one message's span context: producer
// span and inject, then extract and consumer span.
func BenchmarkAMQPInjectExtract(b *testing.B) {
	for _, bt := range benchTracers(b) {
		b.Run(bt.name, func(b *testing.B) {
			parent := bt.tracer.StartSpan("parent")
			defer parent.Finish()
			parent.SetBaggageItem("tier", "vip")
			ctx := spanFrom(parent)
			b.ReportAllocs()
			for b.Loop() {
				headers := amqp.Table{}
				StartProducer(ctx, "vipQueue", headers).Finish()
				span, _ := StartConsumer(context.Background(), bt.tracer, "vipQueue", headers)
				span.Finish()
			}
		})
	}
}

// discardWriter is a ResponseWriter that keeps nothing, so the benchmark measures the
// middleware and not a recorder's buffer.
type discardWriter struct{ h http.Header }

func (w discardWriter) Header() http.Header         { return w.h }
func (w discardWriter) Write(b []byte) (int, error) { return io.Discard.Write(b) }
func (w discardWriter) WriteHeader(int)             {}
