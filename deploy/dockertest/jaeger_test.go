package dockertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// The trace of a VIP read, as e2e/traces_test.go documents it span by span: here only its
// outline is checked, that it crossed every container (e2e checks the tree).
const (
	vipAccount = "10000" // accountservice seeds every tenth account as a VIP
	vipSpans   = 12
)

// vipHops are the two FOLLOWS_FROM references of a VIP read, as child and cause: the
// outbox's relay publishes the event after the answer, and vipservice consumes it after that.
var vipHops = [][2]string{
	{"publish vipQueue", "outbox write"},
	{"consume vipQueue", "publish vipQueue"},
}

// services is every service a VIP read passes through.
var services = []string{"accountservice", "edge", "imageservice", "quoteservice", "vipservice"}

// trace is what Jaeger's query API returns for one trace.
type trace struct {
	TraceID string `json:"traceID"`
	Spans   []struct {
		SpanID        string `json:"spanID"`
		OperationName string `json:"operationName"`
		ProcessID     string `json:"processID"`
		References    []struct {
			RefType string `json:"refType"`
			SpanID  string `json:"spanID"`
		} `json:"references"`
	} `json:"spans"`
	Processes map[string]struct {
		ServiceName string `json:"serviceName"`
		Tags        []struct {
			Key   string `json:"key"`
			Value any    `json:"value"`
		} `json:"tags"`
	} `json:"processes"`
}

// fetchTrace reads one trace from Jaeger's query API on the host.
func fetchTrace(id string) (trace, error) {
	resp, err := http.Get(jaegerURL + "/api/traces/" + id)
	if err != nil {
		return trace{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return trace{}, fmt.Errorf("GET /api/traces/%s: %s", id, resp.Status)
	}
	var env struct {
		Data []trace `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return trace{}, err
	}
	if len(env.Data) != 1 {
		return trace{}, fmt.Errorf("GET /api/traces/%s: %d traces", id, len(env.Data))
	}
	return env.Data[0], nil
}

// serviceNames returns the services that reported spans of tr, sorted.
func (tr trace) serviceNames() []string {
	seen := map[string]bool{}
	for _, s := range tr.Spans {
		seen[tr.Processes[s.ProcessID].ServiceName] = true
	}
	var out []string
	for name := range seen {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// vipTraceComplete says what a VIP read's trace lacks, or nil: twelve spans from the five
// services, the relay's publish FOLLOWS_FROM the outbox write, and the consumer's span
// FOLLOWS_FROM the publish (the hop through RabbitMQ).
func vipTraceComplete(tr trace) error {
	if len(tr.Spans) != vipSpans {
		return fmt.Errorf("trace %s has %d spans, want %d", tr.TraceID, len(tr.Spans), vipSpans)
	}
	if got := tr.serviceNames(); !slices.Equal(got, services) {
		return fmt.Errorf("trace %s has spans of %v, want %v", tr.TraceID, got, services)
	}
	for _, hop := range vipHops {
		if err := tr.followsFrom(hop[0], hop[1]); err != nil {
			return err
		}
	}
	return nil
}

// followsFrom says whether the span named child has a FOLLOWS_FROM reference to the span
// named cause.
func (tr trace) followsFrom(child, cause string) error {
	causeID := ""
	for _, s := range tr.Spans {
		if s.OperationName == cause {
			causeID = s.SpanID
		}
	}
	for _, s := range tr.Spans {
		if s.OperationName != child {
			continue
		}
		for _, r := range s.References {
			if r.RefType == "FOLLOWS_FROM" && r.SpanID == causeID && causeID != "" {
				return nil
			}
		}
		return fmt.Errorf("trace %s: %q has references %+v, want FOLLOWS_FROM %q (%s)", tr.TraceID, child, s.References, cause, causeID)
	}
	return fmt.Errorf("trace %s has no %q span", tr.TraceID, child)
}

// waitForVIPTrace waits until Jaeger holds the complete trace of a VIP read (spans arrive
// a second or so after the answer: the reporters flush every second).
func waitForVIPTrace(t *testing.T, id string) trace {
	t.Helper()
	var tr trace
	waitFor(t, "the VIP read's trace "+id+" in Jaeger", 30*time.Second, func() error {
		var err error
		if tr, err = fetchTrace(id); err != nil {
			return err
		}
		return vipTraceComplete(tr)
	})
	return tr
}

// sdkOf says which SDK reported service's spans in tr, from its process tags: "otel" for
// the OpenTelemetry SDK (telemetry.sdk.language), "jaeger" for jaeger-client-go, whose
// jaeger.version tag (Go-2.30.0) Jaeger v2 stores as OpenTelemetry's and hands back as
// opencensus.exporterversion=Jaeger-Go-2.30.0; "" when neither or the service is not in
// the trace.
func (tr trace) sdkOf(service string) string {
	for _, p := range tr.Processes {
		if p.ServiceName != service {
			continue
		}
		for _, tag := range p.Tags {
			v, _ := tag.Value.(string)
			switch {
			case tag.Key == "telemetry.sdk.language":
				return "otel"
			case tag.Key == "jaeger.version", tag.Key == "opencensus.exporterversion" && strings.HasPrefix(v, "Jaeger-"):
				return "jaeger"
			}
		}
	}
	return ""
}
