// Package tracing is tracelab's one tracing package: it builds the Jaeger tracer from the
// standard JAEGER_* environment variables (reporting to Jaeger, to Zipkin, or to both, and
// counting every span it could not deliver) and gives every service the same instruments:
// an HTTP server middleware, an HTTP client transport, child spans for internal work, and
// a carrier for AMQP headers. It is the only package that imports jaeger-client-go; the
// services speak the OpenTracing API and never see which tracer is behind it.
package tracing

import (
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/uber/jaeger-client-go"
	"github.com/uber/jaeger-client-go/config"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Defaults that differ from jaeger-client-go's own, and why.
//
// The reporter sizing keeps every span of a process making about 1,500 spans a second
// (some 300 requests a second through accountservice, five spans each). One goroutine per
// destination drains the reporter's queue: it turns spans into Thrift, and every
// DefaultBatchSize spans it POSTs the batch and waits for the answer, dequeuing nothing
// meanwhile. So:
//   - the batch bounds how slow a POST may be before the queue grows: 500 spans per POST
//     keep up with 1,500 spans a second while a POST takes up to a third of a second, where
//     the client's 100 allow only 66 ms, which a collector sharing two cores with the load
//     can exceed;
//     500 spans of a few hundred bytes each are a POST of ~200 KB, far below the collectors'
//     body limits (Jaeger's receivers take 20 MiB);
//   - the queue is the buffer for a collector that stalls: 10,000 spans last 6.6 s at
//     1,500 a second, longer than the 5 s after which the client gives up on a POST, so
//     even a collector that hangs a whole timeout drops no span from the queue (the
//     batch that timed out is counted as unconfirmed);
//   - the flush interval bounds how long a span waits at low traffic, when batches do not
//     fill: one second, so a trace is in Jaeger about a second after the request.
//
// Each destination has its own queue and goroutine, so a slow Zipkin does not hold up
// Jaeger. Dropped and unconfirmed spans are counted: see Closer.Stats.
const (
	// DefaultCollectorEndpoint is used when neither JAEGER_ENDPOINT nor JAEGER_AGENT_HOST/PORT
	// is set. The HTTP collector does not drop spans the way UDP datagrams do under load.
	DefaultCollectorEndpoint = "http://localhost:14268/api/traces"
	// DefaultQueueSize replaces the client's 100, which drops spans at a few hundred
	// requests per second (measured in ../shared/reference-chain).
	DefaultQueueSize = 10000
	// DefaultFlushInterval bounds how long a span waits in the buffer before it is sent.
	DefaultFlushInterval = time.Second
	// DefaultBatchSize is how many spans go in one POST to the Jaeger collector or to
	// Zipkin (the client's default is 100). It has no environment variable: it is sized
	// with the queue. Spans sent to a UDP agent go in datagrams of at most 64 KB instead.
	DefaultBatchSize = 500
	// JaegerOff, as JAEGER_ENDPOINT, turns the Jaeger reporter off, to send spans to
	// ZIPKIN_ENDPOINT only.
	JaegerOff = "off"
)

// Settings is what New reads from the environment. It mirrors the JAEGER_* variables of
// jaeger-client-go, so what people know from Jaeger's documentation works here, plus
// ZIPKIN_ENDPOINT.
//
// Spans go to Jaeger, to Zipkin, or to both:
//   - Jaeger: JAEGER_ENDPOINT (HTTP collector), else JAEGER_AGENT_HOST/PORT (UDP agent),
//     else DefaultCollectorEndpoint. JAEGER_ENDPOINT=off turns the Jaeger reporter off,
//     agent variables included.
//   - Zipkin: ZIPKIN_ENDPOINT, the full URL of a Zipkin v1 span endpoint, such as
//     http://localhost:9411/api/v1/spans. The Jaeger client sends Zipkin's v1 Thrift
//     format, which the Zipkin server and Jaeger's Zipkin receiver (:9411) both accept
//     there; an /api/v2/spans URL is refused here, because they would refuse the format.
//
// So ZIPKIN_ENDPOINT alone reports to Jaeger and Zipkin; with JAEGER_ENDPOINT=off, to Zipkin
// only. Each destination gets its own queue (JAEGER_REPORTER_MAX_QUEUE_SIZE and
// JAEGER_REPORTER_FLUSH_INTERVAL apply to both). JAEGER_ENDPOINT=off without
// ZIPKIN_ENDPOINT is an error: to record nothing, set JAEGER_DISABLED=true.
//
// The otel mode (TRACING_SDK=otel) reads the same settings: OTLP takes Jaeger's place (off
// with JAEGER_ENDPOINT=off too), and ZIPKIN_ENDPOINT, still the v1 URL, has Zipkin v2 posted
// to the same host (zipkinV2Endpoint).
type Settings struct {
	SDK            string        // TRACING_SDK: SDKOTel for the OpenTelemetry SDK behind its OpenTracing bridge; "" is jaeger
	ServiceName    string        // JAEGER_SERVICE_NAME, else the service's own name
	Disabled       bool          // JAEGER_DISABLED: a no-op tracer, nothing is recorded
	Endpoint       string        // JAEGER_ENDPOINT: HTTP collector URL; "" with no agent either: Jaeger off
	User           string        // JAEGER_USER: basic auth for the collector
	Password       string        // JAEGER_PASSWORD
	AgentHostPort  string        // JAEGER_AGENT_HOST + JAEGER_AGENT_PORT: UDP agent, only if set
	ZipkinEndpoint string        // ZIPKIN_ENDPOINT: also (or, with JAEGER_ENDPOINT=off, only) send to Zipkin
	SamplerType    string        // JAEGER_SAMPLER_TYPE: const (default), probabilistic, ratelimiting, remote
	SamplerParam   float64       // JAEGER_SAMPLER_PARAM: default 1 (sample everything: this is a demo)
	TraceID128Bit  bool          // JAEGER_TRACEID_128BIT
	QueueSize      int           // JAEGER_REPORTER_MAX_QUEUE_SIZE, per destination
	FlushInterval  time.Duration // JAEGER_REPORTER_FLUSH_INTERVAL
	LogSpans       bool          // JAEGER_REPORTER_LOG_SPANS: also log every finished span (at debug level)
	Tags           string        // JAEGER_TAGS: key=value,key2=value2 added to every span's process

	// OTelSampler is the otel mode's sampler: OTEL_TRACES_SAMPLER/_ARG, else the JAEGER_SAMPLER_*
	// settings mapped. Nil in the jaeger mode.
	OTelSampler sdktrace.Sampler
	// OTLPProtocol is the otel mode's OTLP transport, from OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
	// else OTEL_EXPORTER_OTLP_PROTOCOL: OTLPHTTP (the default) or OTLPGRPC. It is "" when
	// JAEGER_ENDPOINT=off: no OTLP at all, spans go to ZIPKIN_ENDPOINT only.
	OTLPProtocol string
	// OTLPEndpoint is the otel mode's OTLP URL when no OTEL_EXPORTER_OTLP_ variable sets
	// one: see otlpEndpoint.
	OTLPEndpoint string
}

// SettingsFromEnv reads the JAEGER_* variables and ZIPKIN_ENDPOINT through getenv, so tests
// can pass their own environment. service is the name used when JAEGER_SERVICE_NAME is not
// set.
func SettingsFromEnv(service string, getenv func(string) string) (Settings, error) {
	s := Settings{
		ServiceName:   service,
		Endpoint:      getenv("JAEGER_ENDPOINT"),
		User:          getenv("JAEGER_USER"),
		Password:      getenv("JAEGER_PASSWORD"),
		SamplerType:   jaeger.SamplerTypeConst,
		SamplerParam:  1,
		QueueSize:     DefaultQueueSize,
		FlushInterval: DefaultFlushInterval,
		Tags:          getenv("JAEGER_TAGS"),
	}
	if v := getenv("JAEGER_SERVICE_NAME"); v != "" {
		s.ServiceName = v
	}
	if v := getenv("JAEGER_SAMPLER_TYPE"); v != "" {
		s.SamplerType = v
	}
	host, port := getenv("JAEGER_AGENT_HOST"), getenv("JAEGER_AGENT_PORT")
	if host != "" || port != "" {
		if host == "" {
			host = jaeger.DefaultUDPSpanServerHost
		}
		if port == "" {
			port = strconv.Itoa(jaeger.DefaultUDPSpanServerPort)
		}
		s.AgentHostPort = host + ":" + port
	}
	jaegerOff := strings.EqualFold(s.Endpoint, JaegerOff)
	switch {
	case jaegerOff:
		s.Endpoint, s.AgentHostPort = "", ""
	case s.Endpoint == "" && s.AgentHostPort == "":
		s.Endpoint = DefaultCollectorEndpoint
	}

	var errs []string
	parse := func(key string, set func(string) error) {
		if v := getenv(key); v != "" {
			if err := set(v); err != nil {
				errs = append(errs, fmt.Sprintf("%s=%q: %v", key, v, err))
			}
		}
	}
	parse("JAEGER_DISABLED", func(v string) (err error) { s.Disabled, err = strconv.ParseBool(v); return })
	parse("JAEGER_TRACEID_128BIT", func(v string) (err error) { s.TraceID128Bit, err = strconv.ParseBool(v); return })
	parse("JAEGER_REPORTER_LOG_SPANS", func(v string) (err error) { s.LogSpans, err = strconv.ParseBool(v); return })
	parse("JAEGER_SAMPLER_PARAM", func(v string) (err error) { s.SamplerParam, err = strconv.ParseFloat(v, 64); return })
	parse("JAEGER_REPORTER_MAX_QUEUE_SIZE", func(v string) (err error) { s.QueueSize, err = strconv.Atoi(v); return })
	parse("JAEGER_REPORTER_FLUSH_INTERVAL", func(v string) (err error) { s.FlushInterval, err = time.ParseDuration(v); return })
	parse("ZIPKIN_ENDPOINT", func(v string) error { s.ZipkinEndpoint = v; return checkZipkinEndpoint(v) })
	if jaegerOff && s.ZipkinEndpoint == "" && !s.Disabled {
		errs = append(errs, fmt.Sprintf("JAEGER_ENDPOINT=%q without ZIPKIN_ENDPOINT: spans would go nowhere "+
			"(to record none, set JAEGER_DISABLED=true)", JaegerOff))
	}
	switch sdk := getenv("TRACING_SDK"); sdk {
	case "", SDKJaeger:
	case SDKOTel:
		s.SDK = SDKOTel
		sampler, err := otelSampler(getenv, s.SamplerType, s.SamplerParam)
		if err != nil {
			errs = append(errs, err.Error())
		}
		s.OTelSampler = sampler
		if !jaegerOff {
			if s.OTLPProtocol, err = otlpProtocol(getenv); err != nil {
				errs = append(errs, err.Error())
			}
			if s.OTLPEndpoint, err = otlpEndpoint(getenv, s.OTLPProtocol, s.Endpoint); err != nil {
				errs = append(errs, err.Error())
			}
		}
	default:
		errs = append(errs, fmt.Sprintf("TRACING_SDK=%q: want %s (the default) or %s", sdk, SDKJaeger, SDKOTel))
	}
	if len(errs) > 0 {
		return s, fmt.Errorf("tracing settings: %s", strings.Join(errs, "; "))
	}
	return s, nil
}

// checkZipkinEndpoint refuses the URLs that would fail on every POST, so the mistake shows at
// start instead of as failed spans: not http(s), no path, or Zipkin's v2 path (the Jaeger
// client sends the v1 Thrift format, and the v2 endpoints take JSON or protobuf only).
func checkZipkinEndpoint(v string) error {
	const example = "http://localhost:9411/api/v1/spans"
	u, err := url.Parse(v)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("want an http(s) URL such as %s", example)
	}
	if strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), "/api/v2/spans") {
		return fmt.Errorf("the Jaeger client sends Zipkin v1 Thrift, which only /api/v1/spans accepts: use %s",
			strings.Replace(v, "/api/v2/spans", "/api/v1/spans", 1))
	}
	if u.Path == "" || u.Path == "/" {
		return fmt.Errorf("want the URL of the span endpoint, such as %s", example)
	}
	return nil
}

// New builds the tracer described by s. Closing the returned Closer flushes every span
// still buffered in the reporters, so a service closes it last, after its server has
// drained; it then logs how many spans were reported, dropped and unconfirmed. Errors of the
// reporters (an unreachable collector, say) are logged to log.
func New(s Settings, log *slog.Logger) (opentracing.Tracer, *Closer, error) {
	counts := newCounts()
	if s.Disabled {
		return &opentracing.NoopTracer{}, &Closer{close: func() error { return nil }, counts: counts, log: log}, nil
	}
	if s.SDK == SDKOTel {
		return newOTel(s, log)
	}
	reporter, names, err := newReporter(s, counts, log)
	if err != nil {
		return nil, nil, err
	}
	cfg := config.Configuration{
		ServiceName: s.ServiceName,
		Sampler:     &config.SamplerConfig{Type: s.SamplerType, Param: s.SamplerParam},
	}
	// The sampler is built here, not by cfg, so the HTTP codec can ask it about a B3 trace
	// that came without a sampling decision.
	sampler, err := cfg.Sampler.NewSampler(s.ServiceName, jaeger.NewMetrics(counts, nil))
	if err != nil {
		reporter.Close()
		return nil, nil, fmt.Errorf("jaeger sampler: %w", err)
	}
	httpCodec := httpPropagator
	httpCodec.rootSampler = sampler
	opts := []config.Option{
		config.Reporter(reporter),
		config.Sampler(sampler),
		config.Metrics(counts),
		config.Logger(jaegerLogger{log}),
		config.Gen128Bit(s.TraceID128Bit),
		config.Injector(opentracing.HTTPHeaders, httpCodec),
		config.Extractor(opentracing.HTTPHeaders, httpCodec),
		config.Injector(opentracing.TextMap, textMapPropagator), // AMQP headers
		config.Extractor(opentracing.TextMap, textMapPropagator),
	}
	for _, kv := range strings.Split(s.Tags, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.TrimSpace(k) != "" {
			opts = append(opts, config.Tag(strings.TrimSpace(k), strings.TrimSpace(v)))
		}
	}
	tracer, closer, err := cfg.NewTracer(opts...)
	if err != nil {
		reporter.Close() // stops its goroutines
		return nil, nil, fmt.Errorf("jaeger tracer: %w", err)
	}
	return tracer, &Closer{close: closer.Close, counts: counts, destinations: names, log: log}, nil
}

// jaegerLogger sends the Jaeger client's own messages (reporter errors, logged spans) to slog.
type jaegerLogger struct{ log *slog.Logger }

func (l jaegerLogger) Error(msg string) { l.log.Error("jaeger: " + strings.TrimSpace(msg)) }
func (l jaegerLogger) Infof(msg string, args ...any) {
	l.log.Debug("jaeger: " + strings.TrimSpace(fmt.Sprintf(msg, args...)))
}

// Debugf makes jaegerLogger a jaeger-client-go log.DebugLogger, so the reporters log their
// batches ("flushed 500 spans") at debug level instead of "debug logging disabled".
func (l jaegerLogger) Debugf(msg string, args ...any) { l.Infof(msg, args...) }
