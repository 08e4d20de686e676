package tracetree

import (
	"fmt"
	"strings"

	"tracelab/internal/jaegerapi"
)

// The SDKs a trace can say it was made with.
const (
	SDKJaeger = "jaeger" // jaeger-client-go: TRACING_SDK=jaeger, the default
	SDKOTel   = "otel"   // the OpenTelemetry Go SDK: TRACING_SDK=otel
	SDKMixed  = "mixed"  // some services with one, some with the other
)

// SDKOf says which SDK reported a process's spans, from the process tags that MayDiffer
// leaves out of the tree: the OpenTelemetry SDK writes telemetry.sdk.language (go); the
// Jaeger client writes jaeger.version (Go-2.30.0), which Jaeger v2, storing spans as
// OpenTelemetry's, hands back as opencensus.exporterversion=Jaeger-Go-2.30.0. "" when
// neither says.
func SDKOf(p jaegerapi.Process) string {
	for _, kv := range p.Tags {
		v := fmt.Sprint(kv.Value)
		switch {
		case kv.Key == "telemetry.sdk.language":
			return SDKOTel
		case kv.Key == "jaeger.version", kv.Key == "opencensus.exporterversion" && strings.HasPrefix(v, "Jaeger-"):
			return SDKJaeger
		}
	}
	return ""
}

// SDKs says which SDK reported each service's spans in t: SDKOf its processes, SDKMixed
// for a service whose processes disagree (restarted with the other SDK mid-trace).
func SDKs(t jaegerapi.Trace) map[string]string {
	out := map[string]string{}
	for _, s := range t.Spans {
		p := t.Processes[s.ProcessID]
		sdk := SDKOf(p)
		if old, seen := out[p.ServiceName]; seen && old != sdk {
			sdk = SDKMixed
		}
		out[p.ServiceName] = sdk
	}
	return out
}

// SDK says which SDK made the whole of t: SDKJaeger or SDKOTel when every service's spans
// say the same, SDKMixed when they do not, "" for a trace without spans or whose
// processes do not say.
func SDK(t jaegerapi.Trace) string {
	sdk := ""
	for _, s := range SDKs(t) {
		switch {
		case s == "" || s == SDKMixed:
			return s
		case sdk == "":
			sdk = s
		case sdk != s:
			return SDKMixed
		}
	}
	return sdk
}
