// Package tracing is tracelab's one tracing package: it builds the Jaeger tracer from the
// standard JAEGER_* environment variables and gives every service the same instruments:
// an HTTP server middleware, an HTTP client transport, child spans for internal work, and
// a carrier for AMQP headers. It is the only package that imports jaeger-client-go; the
// services speak the OpenTracing API and never see which tracer is behind it.
package tracing

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/uber/jaeger-client-go"
	"github.com/uber/jaeger-client-go/config"
)

// Defaults that differ from jaeger-client-go's own, and why.
const (
	// DefaultCollectorEndpoint is used when neither JAEGER_ENDPOINT nor JAEGER_AGENT_HOST/PORT
	// is set. The HTTP collector does not drop spans the way UDP datagrams do under load.
	DefaultCollectorEndpoint = "http://localhost:14268/api/traces"
	// DefaultQueueSize replaces the client's 100, which drops spans at a few hundred
	// requests per second (measured in ../shared/reference-chain).
	DefaultQueueSize = 10000
	// DefaultFlushInterval bounds how long a span waits in the buffer before it is sent.
	DefaultFlushInterval = time.Second
)

// Settings is what New reads from the environment. It mirrors the JAEGER_* variables of
// jaeger-client-go, so what people know from Jaeger's documentation works here.
type Settings struct {
	ServiceName   string        // JAEGER_SERVICE_NAME, else the service's own name
	Disabled      bool          // JAEGER_DISABLED: a no-op tracer, nothing is recorded
	Endpoint      string        // JAEGER_ENDPOINT: HTTP collector URL
	User          string        // JAEGER_USER: basic auth for the collector
	Password      string        // JAEGER_PASSWORD
	AgentHostPort string        // JAEGER_AGENT_HOST + JAEGER_AGENT_PORT: UDP agent, only if set
	SamplerType   string        // JAEGER_SAMPLER_TYPE: const (default), probabilistic, ratelimiting, remote
	SamplerParam  float64       // JAEGER_SAMPLER_PARAM: default 1 (sample everything: this is a demo)
	TraceID128Bit bool          // JAEGER_TRACEID_128BIT
	QueueSize     int           // JAEGER_REPORTER_MAX_QUEUE_SIZE
	FlushInterval time.Duration // JAEGER_REPORTER_FLUSH_INTERVAL
	LogSpans      bool          // JAEGER_REPORTER_LOG_SPANS: also log every finished span
	Tags          string        // JAEGER_TAGS: key=value,key2=value2 added to every span's process
}

// SettingsFromEnv reads the JAEGER_* variables through getenv, so tests can pass their own
// environment. service is the name used when JAEGER_SERVICE_NAME is not set.
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
	if s.Endpoint == "" && s.AgentHostPort == "" {
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
	if len(errs) > 0 {
		return s, fmt.Errorf("tracing settings: %s", strings.Join(errs, "; "))
	}
	return s, nil
}

// New builds the tracer described by s. Closing the returned io.Closer flushes every span
// still buffered in the reporter, so a service closes it last, after its server has drained.
// Errors of the reporter (an unreachable collector, say) are logged to log.
func New(s Settings, log *slog.Logger) (opentracing.Tracer, io.Closer, error) {
	cfg := config.Configuration{
		ServiceName: s.ServiceName,
		Disabled:    s.Disabled,
		Sampler:     &config.SamplerConfig{Type: s.SamplerType, Param: s.SamplerParam},
		Reporter: &config.ReporterConfig{
			QueueSize:           s.QueueSize,
			BufferFlushInterval: s.FlushInterval,
			LogSpans:            s.LogSpans,
			CollectorEndpoint:   s.Endpoint,
			User:                s.User,
			Password:            s.Password,
			LocalAgentHostPort:  s.AgentHostPort,
		},
	}
	opts := []config.Option{
		config.Logger(jaegerLogger{log}),
		config.Gen128Bit(s.TraceID128Bit),
		config.Injector(opentracing.HTTPHeaders, httpPropagator),
		config.Extractor(opentracing.HTTPHeaders, httpPropagator),
	}
	for _, kv := range strings.Split(s.Tags, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.TrimSpace(k) != "" {
			opts = append(opts, config.Tag(strings.TrimSpace(k), strings.TrimSpace(v)))
		}
	}
	tracer, closer, err := cfg.NewTracer(opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("jaeger tracer: %w", err)
	}
	return tracer, closer, nil
}

// jaegerLogger sends the Jaeger client's own messages (reporter errors, logged spans) to slog.
type jaegerLogger struct{ log *slog.Logger }

func (l jaegerLogger) Error(msg string) { l.log.Error("jaeger: " + strings.TrimSpace(msg)) }
func (l jaegerLogger) Infof(msg string, args ...any) {
	l.log.Debug("jaeger: " + strings.TrimSpace(fmt.Sprintf(msg, args...)))
}
