package tracing

import (
	"bytes"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/uber/jaeger-client-go"
)

func TestSettingsFromEnv(t *testing.T) {
	const zipkinURL = "http://zipkin:9411/api/v1/spans"
	defaults := Settings{
		ServiceName:   "quoteservice",
		Endpoint:      "http://localhost:14268/api/traces",
		SamplerType:   jaeger.SamplerTypeConst,
		SamplerParam:  1,
		QueueSize:     10000,
		FlushInterval: time.Second,
	}
	with := func(change func(*Settings)) Settings {
		s := defaults
		change(&s)
		return s
	}
	tests := []struct {
		name string
		env  map[string]string
		want Settings
	}{
		{"defaults", nil, defaults},
		{"agent host only", map[string]string{"JAEGER_AGENT_HOST": "jaeger"},
			with(func(s *Settings) { s.Endpoint, s.AgentHostPort = "", "jaeger:6831" })},
		{"agent port only", map[string]string{"JAEGER_AGENT_PORT": "6832"},
			with(func(s *Settings) { s.Endpoint, s.AgentHostPort = "", "localhost:6832" })},
		{"agent host and port", map[string]string{"JAEGER_AGENT_HOST": "agent", "JAEGER_AGENT_PORT": "7000"},
			with(func(s *Settings) { s.Endpoint, s.AgentHostPort = "", "agent:7000" })},
		{"endpoint wins over agent", map[string]string{
			"JAEGER_ENDPOINT": "http://jaeger:14268/api/traces", "JAEGER_AGENT_HOST": "agent"},
			with(func(s *Settings) { s.Endpoint, s.AgentHostPort = "http://jaeger:14268/api/traces", "agent:6831" })},
		{"endpoint", map[string]string{"JAEGER_ENDPOINT": "http://collector:14268/api/traces"},
			with(func(s *Settings) { s.Endpoint = "http://collector:14268/api/traces" })},
		{"service name overrides", map[string]string{"JAEGER_SERVICE_NAME": "quotes-canary"},
			with(func(s *Settings) { s.ServiceName = "quotes-canary" })},
		{"zipkin as well as jaeger", map[string]string{"ZIPKIN_ENDPOINT": zipkinURL},
			with(func(s *Settings) { s.ZipkinEndpoint = zipkinURL })},
		{"zipkin only", map[string]string{"JAEGER_ENDPOINT": "off", "ZIPKIN_ENDPOINT": zipkinURL},
			with(func(s *Settings) { s.Endpoint, s.ZipkinEndpoint = "", zipkinURL })},
		{"off in capitals turns the agent off too", map[string]string{
			"JAEGER_ENDPOINT": "OFF", "JAEGER_AGENT_HOST": "agent", "ZIPKIN_ENDPOINT": zipkinURL},
			with(func(s *Settings) { s.Endpoint, s.ZipkinEndpoint = "", zipkinURL })},
		{"off and disabled", map[string]string{"JAEGER_ENDPOINT": "off", "JAEGER_DISABLED": "true"},
			with(func(s *Settings) { s.Endpoint, s.Disabled = "", true })},
		{"every variable", map[string]string{
			"JAEGER_DISABLED":                "true",
			"JAEGER_USER":                    "u",
			"JAEGER_PASSWORD":                "p",
			"JAEGER_SAMPLER_TYPE":            "probabilistic",
			"JAEGER_SAMPLER_PARAM":           "0.25",
			"JAEGER_TRACEID_128BIT":          "1",
			"JAEGER_REPORTER_MAX_QUEUE_SIZE": "50",
			"JAEGER_REPORTER_FLUSH_INTERVAL": "250ms",
			"JAEGER_REPORTER_LOG_SPANS":      "true",
			"JAEGER_TAGS":                    "zone=eu,team=tracing",
		}, with(func(s *Settings) {
			s.Disabled, s.User, s.Password = true, "u", "p"
			s.SamplerType, s.SamplerParam = "probabilistic", 0.25
			s.TraceID128Bit, s.QueueSize, s.FlushInterval, s.LogSpans = true, 50, 250*time.Millisecond, true
			s.Tags = "zone=eu,team=tracing"
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SettingsFromEnv("quoteservice", mapEnv(tt.env))
			if err != nil {
				t.Fatalf("SettingsFromEnv(%v) error: %v", tt.env, err)
			}
			if got != tt.want {
				t.Errorf("SettingsFromEnv(%v) =\n%+v\nwant\n%+v", tt.env, got, tt.want)
			}
		})
	}
}

func TestSettingsFromEnvBadValues(t *testing.T) {
	tests := []struct {
		key, value string
	}{
		{"JAEGER_DISABLED", "maybe"},
		{"JAEGER_SAMPLER_PARAM", "x"},
		{"JAEGER_REPORTER_FLUSH_INTERVAL", "5"},
		{"JAEGER_REPORTER_MAX_QUEUE_SIZE", "lots"},
		{"JAEGER_TRACEID_128BIT", "yes please"},
		{"JAEGER_REPORTER_LOG_SPANS", "2"},
		{"ZIPKIN_ENDPOINT", "localhost:9411"},
		{"ZIPKIN_ENDPOINT", "ftp://zipkin/api/v1/spans"},
		{"ZIPKIN_ENDPOINT", "http://zipkin:9411"},
		{"ZIPKIN_ENDPOINT", "http://zipkin:9411/"},
		{"ZIPKIN_ENDPOINT", "http://zipkin:9411/api/v2/spans"},
		{"ZIPKIN_ENDPOINT", "http://%zz"},
		{"JAEGER_ENDPOINT", "off"}, // and no ZIPKIN_ENDPOINT: spans would go nowhere
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			env := map[string]string{tt.key: tt.value}
			_, err := SettingsFromEnv("quoteservice", mapEnv(env))
			if err == nil {
				t.Fatalf("SettingsFromEnv(%v) error = nil, want one naming %s", env, tt.key)
			}
			if !strings.Contains(err.Error(), tt.key) {
				t.Errorf("SettingsFromEnv(%v) error = %q, want it to name %s", env, err, tt.key)
			}
		})
	}
	t.Run("zipkin v2 path", func(t *testing.T) {
		env := map[string]string{"ZIPKIN_ENDPOINT": "http://zipkin:9411/api/v2/spans"}
		_, err := SettingsFromEnv("quoteservice", mapEnv(env))
		if err == nil || !strings.Contains(err.Error(), "http://zipkin:9411/api/v1/spans") {
			t.Errorf("SettingsFromEnv(%v) error = %v, want it to suggest the v1 URL", env, err)
		}
	})
	t.Run("every bad variable is named", func(t *testing.T) {
		env := map[string]string{"JAEGER_DISABLED": "maybe", "JAEGER_SAMPLER_PARAM": "x"}
		_, err := SettingsFromEnv("quoteservice", mapEnv(env))
		if err == nil || !strings.Contains(err.Error(), "JAEGER_DISABLED") || !strings.Contains(err.Error(), "JAEGER_SAMPLER_PARAM") {
			t.Errorf("SettingsFromEnv(%v) error = %v, want both variables named", env, err)
		}
	})
}

func TestNewDisabledIsNoop(t *testing.T) {
	settings, err := SettingsFromEnv("quoteservice", mapEnv(map[string]string{"JAEGER_DISABLED": "true"}))
	if err != nil {
		t.Fatalf("SettingsFromEnv error: %v", err)
	}
	log, lines := jsonLog(t)
	tracer, closer, err := New(settings, log)
	if err != nil {
		t.Fatalf("New(%+v) error: %v", settings, err)
	}
	defer func() {
		if err := closer.Close(); err != nil {
			t.Errorf("Close() = %v, want nil", err)
		}
		if got := closer.Stats(); !reflect.DeepEqual(got, ReporterStats{}) {
			t.Errorf("disabled tracer: Stats() = %+v, want zero", got)
		}
		if got := lines(); len(got) != 0 {
			t.Errorf("disabled tracer logged %+v, want nothing", got)
		}
	}()
	switch tracer.(type) {
	case opentracing.NoopTracer, *opentracing.NoopTracer:
	default:
		t.Fatalf("New(JAEGER_DISABLED=true) = %T, want opentracing.NoopTracer", tracer)
	}
	// A disabled tracer still serves requests; it just names no trace.
	rec := httptest.NewRecorder()
	Middleware(tracer)(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if got := rec.Header().Get(TraceIDHeader); got != "" {
		t.Errorf("disabled tracer: %s = %q, want none", TraceIDHeader, got)
	}
	if rec.Code != http.StatusNotFound {
		t.Errorf("disabled tracer: status = %d, want %d", rec.Code, http.StatusNotFound)
	}
}

// TestNewReportsToEndpoint checks the whole path a span takes out of a service: New reads
// JAEGER_ENDPOINT and JAEGER_SERVICE_NAME, and Close flushes to the collector.
func TestNewReportsToEndpoint(t *testing.T) {
	tracer := newRealTracer(t, map[string]string{"JAEGER_SERVICE_NAME": "renamed"})
	span := tracer.StartSpan("work")
	span.SetTag("answer", 42)
	span.Finish()
	wantTrace, _ := SpanIDs(span)

	service, spans := tracer.recorded(t)
	if service != "renamed" {
		t.Errorf("collector got service %q, want %q", service, "renamed")
	}
	if len(spans) != 1 {
		t.Fatalf("collector got %d spans, want 1", len(spans))
	}
	if got := thriftTraceID(spans[0]); got != wantTrace || spans[0].OperationName != "work" {
		t.Errorf("collector got span %q in trace %s, want %q in trace %s", spans[0].OperationName, got, "work", wantTrace)
	}
	if v, _ := thriftTag(spans[0], "answer"); v != "42" {
		t.Errorf("recorded tag answer = %q, want 42", v)
	}
}

// TestNewReportsToAgent checks that JAEGER_AGENT_HOST/PORT, without JAEGER_ENDPOINT, sends
// spans as UDP datagrams to that agent.
func TestNewReportsToAgent(t *testing.T) {
	agent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen udp: %v", err)
	}
	defer agent.Close()
	host, port, _ := net.SplitHostPort(agent.LocalAddr().String())
	env := map[string]string{"JAEGER_AGENT_HOST": host, "JAEGER_AGENT_PORT": port}
	settings, err := SettingsFromEnv("quoteservice", mapEnv(env))
	if err != nil {
		t.Fatalf("SettingsFromEnv(%v) error: %v", env, err)
	}
	tracer, closer, err := New(settings, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("New(%+v) error: %v", settings, err)
	}
	tracer.StartSpan("work").Finish()
	_ = closer.Close() // flushes

	_ = agent.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 65000)
	n, _, err := agent.ReadFrom(buf)
	if err != nil {
		t.Fatalf("agent at %s received nothing: %v", agent.LocalAddr(), err)
	}
	if !bytes.Contains(buf[:n], []byte("quoteservice")) || !bytes.Contains(buf[:n], []byte("work")) {
		t.Errorf("agent received %d bytes without the service and span names", n)
	}
}

func TestNewProcessTags(t *testing.T) {
	c := newFakeCollector(t)
	settings := Settings{ServiceName: "svc", Endpoint: c.endpoint(), SamplerType: jaeger.SamplerTypeConst, SamplerParam: 1, Tags: "zone = eu , bad, =x"}
	tracer, closer, err := New(settings, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("New(%+v) error: %v", settings, err)
	}
	jt, ok := tracer.(*jaeger.Tracer)
	if !ok {
		t.Fatalf("New(%+v) = %T, want *jaeger.Tracer", settings, tracer)
	}
	got := map[string]any{}
	for _, tag := range jt.Tags() {
		got[tag.Key] = tag.Value
	}
	_ = closer.Close()
	if got["zone"] != "eu" {
		t.Errorf("JAEGER_TAGS %q: process tag zone = %v, want eu", settings.Tags, got["zone"])
	}
	for _, k := range []string{"bad", "", " bad"} {
		if _, ok := got[k]; ok {
			t.Errorf("JAEGER_TAGS %q: process tag %q present, want malformed pairs skipped", settings.Tags, k)
		}
	}
}

func mapEnv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}
