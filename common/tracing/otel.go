package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/uber/jaeger-client-go"
	b3prop "go.opentelemetry.io/contrib/propagators/b3"
	jaegerprop "go.opentelemetry.io/contrib/propagators/jaeger"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	otelbridge "go.opentelemetry.io/otel/bridge/opentracing"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/zipkin"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	oteltrace "go.opentelemetry.io/otel/trace"
)

// The two SDKs TRACING_SDK chooses between.
const (
	SDKJaeger = "jaeger" // jaeger-client-go, the default: what tracelab teaches
	SDKOTel   = "otel"   // the OpenTelemetry Go SDK behind its OpenTracing bridge
)

// The destinations of the otel mode, as Closer's counts and line name them.
const (
	otlpDestination   = "otlp"
	zipkinDestination = "zipkin"
)

// The OTLP transports of the otel mode (OTEL_EXPORTER_OTLP_PROTOCOL's values).
const (
	OTLPHTTP = "http/protobuf" // the default: Jaeger's :4318
	OTLPGRPC = "grpc"          // Jaeger's :4317
)

// otelDestination is one exporter of the otel mode and the name its spans are counted under.
type otelDestination struct {
	name     string
	exporter sdktrace.SpanExporter
}

// newOTel builds the OpenTelemetry SDK and hands back an OpenTracing tracer from its
// bridge, so the services keep their OpenTracing code. Spans go by OTLP (over HTTP, or gRPC
// with OTLPGRPC) to the endpoint of the standard OTEL_EXPORTER_OTLP_* variables (Jaeger's
// :4318 or :4317 by default), which the exporter reads itself, and to ZIPKIN_ENDPOINT when
// it is set.
func newOTel(s Settings, log *slog.Logger) (opentracing.Tracer, *Closer, error) {
	// The exporters' failed exports reach OpenTelemetry's global error handler: the service's log.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Error("otel: " + err.Error()) }))
	var dests []otelDestination
	if s.OTLPProtocol != "" {
		exporter, err := newOTLPExporter(s)
		if err != nil {
			return nil, nil, fmt.Errorf("otlp exporter: %w", err)
		}
		dests = append(dests, otelDestination{otlpDestination, exporter})
	}
	if s.ZipkinEndpoint != "" {
		v2 := zipkinV2Endpoint(s.ZipkinEndpoint)
		log.Info("TRACING_SDK=otel sends Zipkin's v2 JSON, to the v2 path of ZIPKIN_ENDPOINT's host",
			"zipkin.endpoint", s.ZipkinEndpoint, "zipkin.v2_endpoint", v2)
		// The exporter's default client never gives up on a POST; the Jaeger client's
		// transports give up after five seconds, and so does this one.
		exporter, err := zipkin.New(v2, zipkin.WithClient(&http.Client{Timeout: 5 * time.Second}))
		if err != nil {
			return nil, nil, fmt.Errorf("zipkin exporter: %w", err)
		}
		dests = append(dests, otelDestination{zipkinDestination, exporter})
	}
	if len(dests) == 0 { // SettingsFromEnv refuses JAEGER_ENDPOINT=off without ZIPKIN_ENDPOINT
		return nil, nil, fmt.Errorf("tracing: no destination for spans: JAEGER_ENDPOINT=off and no ZIPKIN_ENDPOINT")
	}
	return newOTelTracer(s, dests, log)
}

// newOTLPExporter is the OTLP exporter of s.OTLPProtocol. The exporters read the
// OTEL_EXPORTER_OTLP_* variables themselves; s.OTLPEndpoint is set when none of them names
// an endpoint. An http:// endpoint means plaintext, as Jaeger's receivers speak by default.
func newOTLPExporter(s Settings) (sdktrace.SpanExporter, error) {
	ctx := context.Background()
	if s.OTLPProtocol == OTLPGRPC {
		var opts []otlptracegrpc.Option
		if s.OTLPEndpoint != "" {
			opts = append(opts, otlptracegrpc.WithEndpointURL(s.OTLPEndpoint))
		}
		return otlptracegrpc.New(ctx, opts...)
	}
	var opts []otlptracehttp.Option
	if s.OTLPEndpoint != "" {
		opts = append(opts, otlptracehttp.WithEndpointURL(s.OTLPEndpoint))
	}
	return otlptracehttp.New(ctx, opts...)
}

// zipkinV2Endpoint is where the otel mode posts Zipkin spans: ZIPKIN_ENDPOINT names the v1
// endpoint, which the jaeger mode needs (checkZipkinEndpoint), and OpenTelemetry's Zipkin
// exporter speaks v2 only, so it posts to /api/v2/spans on the same host. The Zipkin server
// and Jaeger's Zipkin receiver serve both, so one setting works in both modes.
func zipkinV2Endpoint(v1 string) string {
	u, err := url.Parse(v1)
	if err != nil { // checked by SettingsFromEnv
		return v1
	}
	return (&url.URL{Scheme: u.Scheme, User: u.User, Host: u.Host, Path: "/api/v2/spans"}).String()
}

// newOTelTracer is newOTel with the exporters given: the tests pass in-memory ones. Each
// destination has its own batch processor, and so its own queue, as each has its own
// reporter in the jaeger mode: a slow Zipkin does not hold up Jaeger.
func newOTelTracer(s Settings, dests []otelDestination, log *slog.Logger) (opentracing.Tracer, *Closer, error) {
	counts := newCounts()
	ctx := context.Background()
	attrs := []attribute.KeyValue{attribute.String("service.name", s.ServiceName)}
	for _, kv := range strings.Split(s.Tags, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.TrimSpace(k) != "" {
			attrs = append(attrs, attribute.String(strings.TrimSpace(k), strings.TrimSpace(v)))
		}
	}
	// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, read by WithFromEnv, win over both.
	res, err := resource.New(ctx, resource.WithAttributes(attrs...), resource.WithTelemetrySDK(), resource.WithFromEnv())
	if err != nil {
		return nil, nil, fmt.Errorf("otel resource: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(res),
		sdktrace.WithSampler(debugSampler{s.OTelSampler}),
		sdktrace.WithSpanProcessor(countingProcessor{counts}),
	}
	var names []string
	for _, d := range dests {
		// Sized like the Jaeger reporter (see DefaultBatchSize), and blocking: the SDK's
		// batch processor drops a span silently when its queue is full; blocking makes the
		// request wait instead, so no span is dropped at load.
		opts = append(opts, sdktrace.WithSpanProcessor(sdktrace.NewBatchSpanProcessor(
			countingExporter{d.exporter, d.name, counts},
			sdktrace.WithMaxQueueSize(s.QueueSize),
			sdktrace.WithMaxExportBatchSize(min(DefaultBatchSize, s.QueueSize)),
			sdktrace.WithBatchTimeout(s.FlushInterval),
			sdktrace.WithBlocking(),
		)))
		names = append(names, d.name)
	}
	tp := sdktrace.NewTracerProvider(opts...)
	bridge, _ := otelbridge.NewTracerPair(tp.Tracer("tracelab/common/tracing"))
	bridge.SetWarningHandler(func(msg string) { log.Debug("otel bridge: " + strings.TrimSpace(msg)) })
	bridge.SetTextMapPropagator(otelPropagator)
	closeTP := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return tp.Shutdown(ctx) // flushes each batch processor in turn
	}
	return bridge, &Closer{close: closeTP, counts: counts, destinations: names, log: log}, nil
}

// otelPropagator writes every header a peer of either SDK reads: W3C traceparent,
// tracestate and baggage, B3's X-B3-* and Jaeger's uber-trace-id with tracelab's uberctx-*
// baggage. On extraction a later propagator wins over an earlier one, so the order is
// tracelab's own: uber-trace-id first, then B3, then W3C. Baggage is read by tracelab's own
// extraction, whichever form carried it (otelBaggage).
var otelPropagator = propagation.NewCompositeTextMapPropagator(
	propagation.TraceContext{},
	b3Undecided{b3prop.New(b3prop.WithInjectEncoding(b3prop.B3MultipleHeader))},
	jaegerprop.Jaeger{},
	otelBaggage{},
)

// b3Undecided is the contrib B3 propagator, which reads a B3 trace sent without a sampling
// decision (X-B3-* without X-B3-Sampled, or b3: {TraceId}-{SpanId}) as "deferred": a
// context not sampled, with the deferral in a context value of its own. The bridge keeps
// only the span context of what it extracts, and ParentBased then drops the trace, where
// the jaeger mode lets its sampler decide. So b3Undecided notes the deferral where it
// survives, in the span context's tracestate (undecidedKey), and b3UndecidedSampler has the
// root sampler decide for such a parent, keeping the caller's trace and parent span ids,
// and takes the note out again, so it never travels on.
type b3Undecided struct{ propagation.TextMapPropagator }

// undecidedKey is the tracestate member that marks a B3 parent without a sampling decision.
const undecidedKey = "tracelab-b3"

func (b b3Undecided) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	// A note a caller wrote into tracestate itself is no deferral: it would overrule its own
	// sampled=0.
	before := oteltrace.SpanContextFromContext(ctx)
	if before.TraceState().Get(undecidedKey) != "" {
		before = before.WithTraceState(before.TraceState().Delete(undecidedKey))
		ctx = oteltrace.ContextWithRemoteSpanContext(ctx, before)
	}
	ctx = b.TextMapPropagator.Extract(ctx, carrier)
	sc := oteltrace.SpanContextFromContext(ctx)
	if !sc.IsValid() || sc.Equal(before) || sc.IsSampled() || !b3HoldsNoDecision(carrier) {
		return ctx
	}
	ts, err := sc.TraceState().Insert(undecidedKey, "1")
	if err != nil {
		return ctx
	}
	return oteltrace.ContextWithRemoteSpanContext(ctx, sc.WithTraceState(ts))
}

// b3HoldsNoDecision reports whether the B3 headers that carried the trace say nothing about
// sampling: the contrib propagator reads the b3 header when it parses, else X-B3-*.
func b3HoldsNoDecision(carrier propagation.TextMapCarrier) bool {
	if v := carrier.Get(b3Header); v != "" {
		if _, ok := parseB3Single(v); ok {
			return strings.Count(v, "-") == 1
		}
	}
	return carrier.Get(b3SampledHeader) == "" && carrier.Get(b3FlagsHeader) != "1"
}

// b3UndecidedSampler is ParentBased(root), except for a remote parent noted by b3Undecided:
// there root decides, as for a trace of our own.
type b3UndecidedSampler struct {
	root sdktrace.Sampler
	sdktrace.Sampler
}

func newSampler(root sdktrace.Sampler) sdktrace.Sampler {
	return b3UndecidedSampler{root: root, Sampler: sdktrace.ParentBased(root)}
}

func (s b3UndecidedSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	parent := oteltrace.SpanContextFromContext(p.ParentContext)
	if !parent.IsRemote() || parent.TraceState().Get(undecidedKey) == "" {
		return s.Sampler.ShouldSample(p)
	}
	result := s.root.ShouldSample(p)
	result.Tracestate = parent.TraceState().Delete(undecidedKey)
	return result
}

// otelBaggage writes baggage as W3C's baggage header and as tracelab's uberctx-<key>
// (URL-escaped in HTTP headers, plain in AMQP ones), which the contrib Jaeger propagator
// does not: it reads and writes uber-trace-id only. It reads every form, W3C's baggage,
// uberctx-*, jaeger-baggage and B3's baggage-*, through tracelab's own extraction, so the
// checks and limits of the jaeger mode apply (MaxBaggageItems, MaxBaggageBytes), where
// OpenTelemetry's Baggage propagator has limits of its own (64 items, 8 KiB).
//
// Given the *extraction of Middleware or StartConsumer as carrier, it drops the keys to
// refuse (RefuseBaggage) and leaves in it what it dropped, as the jaeger mode's propagator
// does: the bridge passes a carrier that is a propagation.TextMapCarrier on to us as it
// is, for the TextMap format (see extraction.Get).
type otelBaggage struct{}

func (otelBaggage) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	propagation.Baggage{}.Inject(ctx, carrier)
	_, escape := carrier.(propagation.HeaderCarrier)
	for _, m := range baggage.FromContext(ctx).Members() {
		if !isToken(m.Key()) {
			continue
		}
		v := m.Value()
		if escape {
			v = url.QueryEscape(v)
		}
		carrier.Set(uberctxPrefix+m.Key(), v)
	}
}

func (otelBaggage) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	var sc jaeger.SpanContext
	switch c := carrier.(type) {
	case *extraction:
		p := otelTextMapPropagator
		if _, ok := c.TextMapReader.(opentracing.HTTPHeadersCarrier); ok {
			p = otelHTTPPropagator
		}
		sc, c.leftOver, _ = p.extract(c.TextMapReader, c.refuse...)
	case propagation.HeaderCarrier:
		sc, _, _ = otelHTTPPropagator.extract(opentracing.HTTPHeadersCarrier(http.Header(c)))
	default:
		m := opentracing.TextMapCarrier{}
		for _, k := range carrier.Keys() {
			m[k] = carrier.Get(k)
		}
		sc, _, _ = otelTextMapPropagator.extract(m)
	}
	// What the extraction kept is the baggage, in place of any the context held.
	var members []baggage.Member
	sc.ForeachBaggageItem(func(k, v string) bool {
		if m, err := baggage.NewMemberRaw(k, v); err == nil {
			members = append(members, m)
		}
		return true
	})
	bag, _ := baggage.New(members...)
	return baggage.ContextWithBaggage(ctx, bag)
}

func (otelBaggage) Fields() []string { return []string{w3cBaggageHeader} } // uberctx-* is a prefix, which Fields cannot name

// Get, Set and Keys make *extraction a propagation.TextMapCarrier. The bridge's Extract hands
// such a carrier to the propagators untouched when the format is opentracing.TextMap (an
// HTTPHeadersCarrier it converts, and any other reader it copies), so the otel mode's
// Middleware and StartConsumer extract with TextMap and this carrier, and otelBaggage finds
// in it the keys to refuse and room for what it dropped. Header names are matched without
// regard to case, as an http.Header does.
func (e *extraction) Get(key string) string {
	if h, ok := e.TextMapReader.(opentracing.HTTPHeadersCarrier); ok {
		return http.Header(h).Get(key)
	}
	var value string
	_ = e.ForeachKey(func(k, v string) error {
		if strings.EqualFold(k, key) {
			value = v
		}
		return nil
	})
	return value
}

// Set does nothing: an extraction is only read.
func (e *extraction) Set(string, string) {}

func (e *extraction) Keys() []string {
	var keys []string
	_ = e.ForeachKey(func(k, _ string) error {
		keys = append(keys, k)
		return nil
	})
	return keys
}

// countingProcessor counts the sampled spans started and finished, under the names the
// Jaeger client's metrics use, so Closer.Stats reads both modes the same way.
type countingProcessor struct{ counts *counts }

func (p countingProcessor) OnStart(_ context.Context, s sdktrace.ReadWriteSpan) {
	if s.SpanContext().IsSampled() {
		p.counts.int64("jaeger.tracer.started_spans", map[string]string{"sampled": "y"}).Add(1)
	}
}

func (p countingProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	if s.SpanContext().IsSampled() {
		p.counts.int64("jaeger.tracer.finished_spans", map[string]string{"sampled": "y"}).Add(1)
	}
}

func (countingProcessor) Shutdown(context.Context) error   { return nil }
func (countingProcessor) ForceFlush(context.Context) error { return nil }

// countingExporter counts what the collector of one destination accepted (reported) and
// what it refused or did not answer in time (unconfirmed). Nothing is dropped: the batch
// processor blocks.
type countingExporter struct {
	sdktrace.SpanExporter
	destination string
	counts      *counts
}

func (e countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	result := "ok"
	if err != nil {
		result = "err"
	}
	e.counts.int64("jaeger.tracer.reporter_spans", map[string]string{"destination": e.destination, "result": result}).
		Add(int64(len(spans)))
	return err
}

// DefaultOTLPEndpoint is where the otel mode sends spans when neither the OTEL_EXPORTER_OTLP_
// endpoint variables nor JAEGER_ENDPOINT say: Jaeger's OTLP/HTTP receiver. Plain http, where
// the exporter's own default is https. DefaultOTLPGRPCEndpoint is the same for OTLPGRPC:
// Jaeger's OTLP/gRPC receiver, in plaintext.
const (
	DefaultOTLPEndpoint     = "http://localhost:4318/v1/traces"
	DefaultOTLPGRPCEndpoint = "http://localhost:4317"
)

// otlpProtocol reads OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL, as
// the OpenTelemetry specification orders them. Go's exporters have no http/json, so that
// and anything else is refused at start, rather than sending in a protocol nobody asked for.
func otlpProtocol(getenv func(string) string) (string, error) {
	key, v := "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if v == "" {
		key, v = "OTEL_EXPORTER_OTLP_PROTOCOL", getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	switch v {
	case "", OTLPHTTP:
		return OTLPHTTP, nil
	case OTLPGRPC:
		return OTLPGRPC, nil
	}
	return "", fmt.Errorf("%s=%q: want %s (the default) or %s", key, v, OTLPHTTP, OTLPGRPC)
}

// otlpEndpoint is the URL the otel mode sends spans to by protocol, "" when the OTEL_
// variables set it (the exporter reads them itself): the host of JAEGER_ENDPOINT on Jaeger's
// OTLP port (4318 for HTTP, 4317 for gRPC), so a deployment that names its Jaeger for the
// jaeger mode needs nothing new, else DefaultOTLPEndpoint or DefaultOTLPGRPCEndpoint.
func otlpEndpoint(getenv func(string) string, protocol, jaegerEndpoint string) (string, error) {
	if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" {
		return "", nil
	}
	port, path, fallback := "4318", "/v1/traces", DefaultOTLPEndpoint
	if protocol == OTLPGRPC {
		port, path, fallback = "4317", "", DefaultOTLPGRPCEndpoint
	}
	if jaegerEndpoint == "" || jaegerEndpoint == DefaultCollectorEndpoint {
		return fallback, nil
	}
	u, err := url.Parse(jaegerEndpoint)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("JAEGER_ENDPOINT=%q: no host to send OTLP to (set OTEL_EXPORTER_OTLP_ENDPOINT)", jaegerEndpoint)
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Hostname() + ":" + port, Path: path}).String(), nil
}

// otelSampler is the sampler of the otel mode: OTEL_TRACES_SAMPLER and _ARG when set, else
// the JAEGER_SAMPLER_* settings mapped (const, probabilistic). Either way a span with a
// parent follows its parent's decision, as the Jaeger client's spans do, unless the parent
// came by B3 without one (b3UndecidedSampler).
func otelSampler(getenv func(string) string, jaegerType string, jaegerParam float64) (sdktrace.Sampler, error) {
	name, arg := getenv("OTEL_TRACES_SAMPLER"), getenv("OTEL_TRACES_SAMPLER_ARG")
	ratio := func() (float64, error) {
		if arg == "" {
			return 1, nil
		}
		return strconv.ParseFloat(arg, 64)
	}
	switch strings.ToLower(name) {
	case "":
	case "always_on", "parentbased_always_on":
		return newSampler(sdktrace.AlwaysSample()), nil
	case "always_off", "parentbased_always_off":
		return newSampler(sdktrace.NeverSample()), nil
	case "traceidratio", "parentbased_traceidratio":
		r, err := ratio()
		if err != nil {
			return nil, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG=%q: %v", arg, err)
		}
		return newSampler(sdktrace.TraceIDRatioBased(r)), nil
	default:
		return nil, fmt.Errorf("OTEL_TRACES_SAMPLER=%q: want always_on, always_off or traceidratio (or parentbased_ of one)", name)
	}
	switch jaegerType {
	case jaeger.SamplerTypeConst:
		if jaegerParam == 0 {
			return newSampler(sdktrace.NeverSample()), nil
		}
		return newSampler(sdktrace.AlwaysSample()), nil
	case jaeger.SamplerTypeProbabilistic:
		return newSampler(sdktrace.TraceIDRatioBased(jaegerParam)), nil
	}
	return nil, fmt.Errorf("JAEGER_SAMPLER_TYPE=%q has no OpenTelemetry equivalent here: use const or probabilistic, or OTEL_TRACES_SAMPLER", jaegerType)
}

// otelSpanContext reads the ids behind a bridge's span context: that context (an unexported
// type) embeds an OpenTelemetry trace.SpanContext and so has its methods, which this
// interface asserts without naming the type.
type otelSpanContext interface {
	TraceID() oteltrace.TraceID
	SpanID() oteltrace.SpanID
	IsSampled() bool
	IsValid() bool
}

// isOTel reports whether tracer is the bridge of the otel mode.
func isOTel(tracer opentracing.Tracer) bool {
	_, ok := tracer.(*otelbridge.BridgeTracer)
	return ok
}

// debugSampler records every root span tagged jaeger-debug-id at its start, whatever the
// sampler it wraps decides: the Jaeger client's promise for a request with that header,
// which the middleware passes on as the tag. A root span tagged sampling.priority (B3's
// decision without a trace, b3: 0 or b3: d, which the middleware passes on so) is recorded
// when it is above 0 and not at all at 0, as the Jaeger client does.
type debugSampler struct{ sdktrace.Sampler }

func (d debugSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	parent := oteltrace.SpanContextFromContext(p.ParentContext)
	if !parent.IsValid() {
		for _, a := range p.Attributes {
			switch string(a.Key) {
			case jaegerDebugHeader:
				if a.Value.AsString() != "" {
					return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample, Tracestate: parent.TraceState()}
				}
			case string(ext.SamplingPriority):
				decision := sdktrace.Drop
				if a.Value.AsInt64() > 0 {
					decision = sdktrace.RecordAndSample
				}
				return sdktrace.SamplingResult{Decision: decision, Tracestate: parent.TraceState()}
			}
		}
	}
	return d.Sampler.ShouldSample(p)
}
