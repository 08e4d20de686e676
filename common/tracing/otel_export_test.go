package tracing

import (
	"context"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/streadway/amqp"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
)

// otlpGRPCReceiver is a real OTLP/gRPC trace receiver on 127.0.0.1: the collector
// TraceService of go.opentelemetry.io/proto/otlp served by grpc-go, as Jaeger's :4317 serves
// it, keeping the names of the spans it received.
type otlpGRPCReceiver struct {
	collectortrace.UnimplementedTraceServiceServer
	addr string

	mu    sync.Mutex
	names []string
}

func newOTLPGRPCReceiver(t *testing.T) *otlpGRPCReceiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &otlpGRPCReceiver{addr: ln.Addr().String()}
	srv := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(srv, r)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return r
}

func (r *otlpGRPCReceiver) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				r.names = append(r.names, s.GetName())
			}
		}
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

func (r *otlpGRPCReceiver) received() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.names...)
}

// newOTelFromEnv is the otel mode's tracer as a service builds it (SettingsFromEnv + New).
func newOTelFromEnv(t *testing.T, env map[string]string) (opentracing.Tracer, *Closer, func() []logLine) {
	t.Helper()
	env["TRACING_SDK"] = "otel"
	s, err := SettingsFromEnv("otelsvc", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	log, lines := jsonLog(t)
	tracer, closer, err := New(s, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = closer.Close() })
	return tracer, closer, lines
}

// publishAndConsume makes the spans of lab 9's messaging hop: root, publish, consume.
func publishAndConsume(tracer opentracing.Tracer) {
	root := tracer.StartSpan("root")
	headers := amqp.Table{}
	StartProducer(opentracing.ContextWithSpan(context.Background(), root), "vip", headers).Finish()
	consumer, _ := StartConsumer(context.Background(), tracer, "vip", headers)
	consumer.Finish()
	root.Finish()
}

// TestOTelZipkinOnly: JAEGER_ENDPOINT=off with the v1 ZIPKIN_ENDPOINT of the jaeger mode
// sends Zipkin v2 JSON to the same host's /api/v2/spans, and nothing by OTLP. v2 keeps the
// producer and consumer kinds; the consumer's FOLLOWS_FROM is a plain parent id.
func TestOTelZipkinOnly(t *testing.T) {
	zipkin := newFakeZipkin(t)
	tracer, closer, lines := newOTelFromEnv(t, map[string]string{
		"JAEGER_ENDPOINT": "off",
		"ZIPKIN_ENDPOINT": zipkin.endpoint(), // .../api/v1/spans
	})
	publishAndConsume(tracer)
	if err := closer.Close(); err != nil {
		t.Fatal(err)
	}
	spans := zipkin.receivedV2(t)
	byName := map[string]zipkinV2Span{}
	for _, s := range spans {
		byName[s.Name] = s
	}
	p, c := byName["publish vip"], byName["consume vip"]
	if len(spans) != 3 || p.Kind != "PRODUCER" || c.Kind != "CONSUMER" || c.ParentID != p.ID || c.TraceID != p.TraceID {
		t.Errorf("Zipkin v2 got %+v, want 3 spans: publish vip PRODUCER, consume vip CONSUMER its child", spans)
	}
	if p.LocalEndpoint.ServiceName != "otelsvc" {
		t.Errorf("Zipkin service %q, want otelsvc", p.LocalEndpoint.ServiceName)
	}
	want := ReporterStats{Started: 3, Finished: 3, Reported: 3, Destinations: []DestinationStats{{Name: "zipkin", Reported: 3}}}
	if got := closer.Stats(); !reflect.DeepEqual(got, want) {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
	assertCloseLine(t, lines(), "INFO", "tracer closed: spans reported 3, dropped 0, unconfirmed 0")
	var said bool
	for _, l := range lines() {
		if strings.Contains(l.Msg, "Zipkin's v2") && l.Attrs["zipkin.v2_endpoint"] == zipkin.srv.URL+"/api/v2/spans" {
			said = true
		}
	}
	if !said {
		t.Errorf("log %v, want a line naming the v2 endpoint %s/api/v2/spans", lines(), zipkin.srv.URL)
	}
}

// TestOTelGRPCAndZipkin: OTEL_EXPORTER_OTLP_PROTOCOL=grpc sends OTLP/gRPC, in plaintext, to a
// real gRPC receiver; with ZIPKIN_ENDPOINT set too every span goes to both, each
// destination counted on its own.
func TestOTelGRPCAndZipkin(t *testing.T) {
	for _, key := range []string{"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"} {
		t.Run(key, func(t *testing.T) {
			receiver, zipkin := newOTLPGRPCReceiver(t), newFakeZipkin(t)
			env := map[string]string{
				key:               "grpc",
				"JAEGER_ENDPOINT": "http://" + receiver.addr + "/api/traces", // its host, on port 4317...
				"ZIPKIN_ENDPOINT": zipkin.endpoint(),
				// ...which is not where this receiver listens: the OTEL_ variable wins.
				"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://" + receiver.addr,
			}
			if key == "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL" {
				env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf" // the traces variable wins
			}
			t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]) // read by the exporter itself
			tracer, closer, lines := newOTelFromEnv(t, env)
			publishAndConsume(tracer)
			if err := closer.Close(); err != nil {
				t.Fatal(err)
			}
			if got := receiver.received(); len(got) != 3 {
				t.Errorf("gRPC receiver got %v, want root, publish vip and consume vip", got)
			}
			if got := zipkin.receivedV2(t); len(got) != 3 {
				t.Errorf("Zipkin got %d spans, want 3", len(got))
			}
			want := ReporterStats{Started: 3, Finished: 3, Reported: 6, Destinations: []DestinationStats{
				{Name: "otlp", Reported: 3}, {Name: "zipkin", Reported: 3}}}
			if got := closer.Stats(); !reflect.DeepEqual(got, want) {
				t.Errorf("Stats() = %+v, want %+v", got, want)
			}
			assertCloseLine(t, lines(), "INFO", "tracer closed: spans reported 6, dropped 0, unconfirmed 0")
		})
	}
}

// TestOTLPProtocol: grpc on Jaeger's 4317, in plaintext, from JAEGER_ENDPOINT's host or
// localhost; a protocol Go's exporters lack is refused at start.
func TestOTLPProtocol(t *testing.T) {
	for _, tt := range []struct {
		env      map[string]string
		protocol string
		endpoint string
		wantErr  string
	}{
		{env: map[string]string{}, protocol: OTLPHTTP, endpoint: DefaultOTLPEndpoint},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, protocol: OTLPGRPC, endpoint: "http://localhost:4317"},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "JAEGER_ENDPOINT": "http://jaeger:14268/api/traces"},
			protocol: OTLPGRPC, endpoint: "http://jaeger:4317"},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"},
			protocol: OTLPHTTP, endpoint: DefaultOTLPEndpoint},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317"}, protocol: OTLPGRPC},
		{env: map[string]string{"JAEGER_ENDPOINT": "off", "ZIPKIN_ENDPOINT": "http://z:9411/api/v1/spans"}}, // no OTLP
		{env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, wantErr: `OTEL_EXPORTER_OTLP_PROTOCOL="http/json": want http/protobuf (the default) or grpc`},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "udp"}, wantErr: `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL="udp"`},
	} {
		tt.env["TRACING_SDK"] = "otel"
		s, err := SettingsFromEnv("svc", func(k string) string { return tt.env[k] })
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%v: err %v, want one with %q", tt.env, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("%v: %v", tt.env, err)
		case s.OTLPProtocol != tt.protocol || s.OTLPEndpoint != tt.endpoint:
			t.Errorf("%v: protocol %q endpoint %q, want %q %q", tt.env, s.OTLPProtocol, s.OTLPEndpoint, tt.protocol, tt.endpoint)
		}
	}
}

func TestZipkinV2Endpoint(t *testing.T) {
	for v1, want := range map[string]string{
		"http://localhost:9411/api/v1/spans": "http://localhost:9411/api/v2/spans",
		"https://zipkin/api/v1/spans":        "https://zipkin/api/v2/spans",
		"http://jaeger:9411/custom/spans":    "http://jaeger:9411/api/v2/spans",
	} {
		if got := zipkinV2Endpoint(v1); got != want {
			t.Errorf("zipkinV2Endpoint(%q) = %q, want %q", v1, got, want)
		}
	}
}
