package tracing

import (
	"fmt"
	"log/slog"

	"github.com/uber/jaeger-client-go"
	jaegertransport "github.com/uber/jaeger-client-go/transport"
	zipkintransport "github.com/uber/jaeger-client-go/transport/zipkin"
	"github.com/uber/jaeger-client-go/utils"
)

// newReporter builds one remote reporter per destination of s (see Settings), each with its
// own queue, flush goroutine and counters tagged destination=<name>, and returns them as
// one reporter with the destinations' names. jaeger-client-go's config package would build
// the Jaeger one by itself, but it cannot set the HTTP batch size and knows no Zipkin.
func newReporter(s Settings, counts *counts, log *slog.Logger) (jaeger.Reporter, []string, error) {
	type destination struct {
		name   string
		sender jaeger.Transport
	}
	var dests []destination
	switch {
	case s.Endpoint != "":
		opts := []jaegertransport.HTTPOption{jaegertransport.HTTPBatchSize(DefaultBatchSize)}
		if s.User != "" && s.Password != "" { // as jaeger-client-go's config does
			opts = append(opts, jaegertransport.HTTPBasicAuth(s.User, s.Password))
		}
		dests = append(dests, destination{"jaeger", jaegertransport.NewHTTPTransport(s.Endpoint, opts...)})
	case s.AgentHostPort != "":
		sender, err := jaeger.NewUDPTransportWithParams(jaeger.UDPTransportParams{
			AgentClientUDPParams: utils.AgentClientUDPParams{HostPort: s.AgentHostPort, Logger: jaegerLogger{log}},
		})
		if err != nil {
			return nil, nil, fmt.Errorf("jaeger agent %s: %w", s.AgentHostPort, err)
		}
		dests = append(dests, destination{"jaeger", sender})
	}
	if s.ZipkinEndpoint != "" {
		sender, err := zipkintransport.NewHTTPTransport(s.ZipkinEndpoint,
			zipkintransport.HTTPBatchSize(DefaultBatchSize), zipkintransport.HTTPLogger(jaegerLogger{log}))
		if err != nil {
			return nil, nil, fmt.Errorf("zipkin %s: %w", s.ZipkinEndpoint, err)
		}
		dests = append(dests, destination{"zipkin", sender})
	}
	if len(dests) == 0 {
		return nil, nil, fmt.Errorf("tracing: no destination for spans: set JAEGER_ENDPOINT, " +
			"JAEGER_AGENT_HOST or ZIPKIN_ENDPOINT (or JAEGER_DISABLED=true)")
	}

	var reporters []jaeger.Reporter
	var names []string
	for _, d := range dests {
		reporters = append(reporters, jaeger.NewRemoteReporter(d.sender,
			jaeger.ReporterOptions.QueueSize(s.QueueSize),
			jaeger.ReporterOptions.BufferFlushInterval(s.FlushInterval),
			// Its error lines ("failed to flush Jaeger spans") name the destination.
			jaeger.ReporterOptions.Logger(jaegerLogger{log.With("destination", d.name)}),
			jaeger.ReporterOptions.Metrics(jaeger.NewMetrics(counts, map[string]string{"destination": d.name})),
		))
		names = append(names, d.name)
	}
	if s.LogSpans {
		reporters = append(reporters, jaeger.NewLoggingReporter(jaegerLogger{log}))
	}
	if len(reporters) == 1 {
		return reporters[0], names, nil
	}
	// Closing the composite closes, and so flushes, each reporter in turn.
	return jaeger.NewCompositeReporter(reporters...), names, nil
}
