package tracetree

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"tracelab/internal/jaegerapi"
)

// The testdata are real traces, as Jaeger v2's query API returned them
// (curl http://localhost:16686/api/traces/<id>), of the same requests to a landscape run
// once with TRACING_SDK=jaeger and once with TRACING_SDK=otel, on the e2e suite's ports
// (each run had a VIP queue of its own, renamed vipQueue in both files):
//
//	vip         GET /api/accounts/10000: twelve spans, five services, the AMQP hop
//	baggage     GET /api/accounts/10010 with uberctx-tenant: acme, over the hop too
//	viperrors   GET /api/accounts/10020 with uberctx-fault: vip-errors: a 500, error=true, an error log
//	unknown     GET /api/accounts/99: a 404, no error
var recorded = []string{"vip", "baggage", "viperrors", "unknown"}

func load(t *testing.T, name, sdk string) jaegerapi.Trace {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name + "-" + sdk + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Data []jaegerapi.Trace `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil || len(env.Data) != 1 {
		t.Fatalf("testdata/%s-%s.json: %v, %d traces, want 1", name, sdk, err, len(env.Data))
	}
	return env.Data[0]
}

func TestSameTreeBothSDKs(t *testing.T) {
	for _, name := range recorded {
		t.Run(name, func(t *testing.T) {
			j, o := load(t, name, "jaeger"), load(t, name, "otel")
			if got := SDK(j); got != SDKJaeger {
				t.Errorf("SDK(%s-jaeger) = %q, want %q", name, got, SDKJaeger)
			}
			if got := SDK(o); got != SDKOTel {
				t.Errorf("SDK(%s-otel) = %q, want %q", name, got, SDKOTel)
			}
			jt, ot := Build(j), Build(o)
			if diffs := Diff("jaeger", jt, "otel", ot); len(diffs) > 0 {
				t.Errorf("Diff(%s) = \n  %s\njaeger's tree:\n%s\notel's tree:\n%s", name, strings.Join(diffs, "\n  "), jt, ot)
			}
			if len(jt.Roots) != 1 || jt.Count() != len(j.Spans) || ot.Count() != len(o.Spans) {
				t.Errorf("Build(%s): %d roots, %d and %d spans, want 1 root and every span (%d, %d)",
					name, len(jt.Roots), jt.Count(), ot.Count(), len(j.Spans), len(o.Spans))
			}
		})
	}
}

func TestVIPTree(t *testing.T) {
	tree := Build(load(t, "vip", "otel"))
	if got := tree.Count(); got != 12 {
		t.Errorf("Count() = %d, want 12", got)
	}
	if got, want := strings.Join(tree.Services(), " "), "accountservice edge imageservice quoteservice vipservice"; got != want {
		t.Errorf("Services() = %q, want %q", got, want)
	}
	text := tree.String()
	for _, want := range []string{
		`vipservice "consume vipQueue" [FOLLOWS_FROM]`,
		`accountservice "publish vipQueue" [FOLLOWS_FROM]`,
		`message_bus.message_id=<id>`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("Build(vip-otel) lacks %q:\n%s", want, text)
		}
	}
	for _, unwanted := range []string{"otel.scope", "sampler.", `span.kind="internal"`, "telemetry.sdk"} {
		if strings.Contains(text, unwanted) {
			t.Errorf("Build(vip-otel) holds %q, which MayDiffer leaves out:\n%s", unwanted, text)
		}
	}
}

func TestBuildIgnoresOrder(t *testing.T) {
	// The API lists spans in no particular order: the tree is the same in any.
	tr := load(t, "vip", "jaeger")
	want := Build(tr).String()
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		r.Shuffle(len(tr.Spans), func(i, j int) { tr.Spans[i], tr.Spans[j] = tr.Spans[j], tr.Spans[i] })
		for i := range tr.Spans {
			tags := tr.Spans[i].Tags
			r.Shuffle(len(tags), func(a, b int) { tags[a], tags[b] = tags[b], tags[a] })
		}
		if got := Build(tr).String(); got != want {
			t.Fatalf("Build of the shuffled trace =\n%s\nwant\n%s", got, want)
		}
	}
}

// mutate returns a copy of the otel trace of name, changed by change.
func mutate(t *testing.T, name string, change func(tr *jaegerapi.Trace)) jaegerapi.Trace {
	t.Helper()
	tr := load(t, name, "otel") // a fresh copy: nothing is shared with another load
	change(&tr)
	return tr
}

// spanNamed returns the span of tr named op.
func spanNamed(t *testing.T, tr *jaegerapi.Trace, op string) *jaegerapi.Span {
	t.Helper()
	for i := range tr.Spans {
		if tr.Spans[i].OperationName == op {
			return &tr.Spans[i]
		}
	}
	t.Fatalf("trace %s has no span %q", tr.TraceID, op)
	return nil
}

// dropTag takes the tag key off s.
func dropTag(t *testing.T, s *jaegerapi.Span, key string) {
	t.Helper()
	for i, kv := range s.Tags {
		if kv.Key == key {
			s.Tags = append(s.Tags[:i], s.Tags[i+1:]...)
			return
		}
	}
	t.Fatalf("span %q has no tag %s", s.OperationName, key)
}

func TestDiffReports(t *testing.T) {
	tests := []struct {
		name   string
		trace  string // which recorded request
		change func(t *testing.T, tr *jaegerapi.Trace)
		want   []string // what the one line of the difference must say
	}{
		{"a missing span", "vip", func(t *testing.T, tr *jaegerapi.Trace) {
			s := spanNamed(t, tr, "record vip event")
			for i := range tr.Spans {
				if tr.Spans[i].SpanID == s.SpanID {
					tr.Spans = append(tr.Spans[:i], tr.Spans[i+1:]...)
					return
				}
			}
		}, []string{`> vipservice "consume vipQueue": span vipservice "record vip event" (0 below it) only in jaeger`}},
		{"CHILD_OF turned FOLLOWS_FROM", "vip", func(t *testing.T, tr *jaegerapi.Trace) {
			spanNamed(t, tr, "GET quoteservice").References[0].RefType = "FOLLOWS_FROM"
		}, []string{`> accountservice "GET quoteservice": reference CHILD_OF in jaeger, FOLLOWS_FROM in otel`}},
		{"FOLLOWS_FROM turned CHILD_OF", "vip", func(t *testing.T, tr *jaegerapi.Trace) {
			spanNamed(t, tr, "consume vipQueue").References[0].RefType = "CHILD_OF"
		}, []string{`> vipservice "consume vipQueue": reference FOLLOWS_FROM in jaeger, CHILD_OF in otel`}},
		{"a lost tag", "vip", func(t *testing.T, tr *jaegerapi.Trace) {
			dropTag(t, spanNamed(t, tr, "GET imageservice"), "peer.service")
		}, []string{`> accountservice "GET imageservice": tag peer.service="imageservice" in jaeger, absent in otel`}},
		{"a lost baggage tag", "baggage", func(t *testing.T, tr *jaegerapi.Trace) {
			dropTag(t, spanNamed(t, tr, "consume vipQueue"), "baggage.tenant")
		}, []string{`"consume vipQueue": tag baggage.tenant="acme" in jaeger, absent in otel`}},
		{"a tag of another type", "unknown", func(t *testing.T, tr *jaegerapi.Trace) {
			s := spanNamed(t, tr, "GET /accounts/{id}")
			for i, kv := range s.Tags {
				if kv.Key == "http.status_code" {
					s.Tags[i] = jaegerapi.KV{Key: kv.Key, Type: "string", Value: "404"}
				}
			}
		}, []string{`tag http.status_code=404 in jaeger, http.status_code="404" in otel`}},
		{"a lost log", "viperrors", func(t *testing.T, tr *jaegerapi.Trace) {
			s := spanNamed(t, tr, "GET /accounts/{id}")
			if len(s.Logs) == 0 {
				t.Fatal("accountservice's server span has no log")
			}
			s.Logs = s.Logs[1:]
		}, []string{`> accountservice "GET /accounts/{id}": log 1 (`, `) in jaeger, absent in otel`}},
		{"a lost error", "viperrors", func(t *testing.T, tr *jaegerapi.Trace) {
			dropTag(t, spanNamed(t, tr, "GET accountservice"), "error")
		}, []string{`edge "GET accountservice": tag error=true in jaeger, absent in otel`}},
		{"the consumer in a trace of its own", "vip", func(t *testing.T, tr *jaegerapi.Trace) {
			s := spanNamed(t, tr, "consume vipQueue")
			for i := range s.References {
				s.References[i].SpanID = "0000000000000001"
			}
		}, []string{"1 root spans in jaeger, 2 in otel",
			`> accountservice "publish vipQueue": span vipservice "consume vipQueue" (1 below it) only in jaeger`,
			`span vipservice "consume vipQueue" (1 below it) only in otel`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := mutate(t, tt.trace, func(tr *jaegerapi.Trace) { tt.change(t, tr) })
			diffs := Diff("jaeger", Build(load(t, tt.trace, "jaeger")), "otel", Build(tr))
			text := strings.Join(diffs, "\n")
			for _, want := range tt.want {
				if !strings.Contains(text, want) {
					t.Errorf("Diff = \n  %s\nwant a line with %q", strings.Join(diffs, "\n  "), want)
				}
			}
			if len(diffs) > len(tt.want) {
				t.Errorf("Diff = \n  %s\nwant %d lines: one change, one difference", strings.Join(diffs, "\n  "), len(tt.want))
			}
		})
	}
}

func TestEqual(t *testing.T) {
	j := Build(load(t, "vip", "jaeger"))
	if !Equal(j, Build(load(t, "vip", "otel"))) {
		t.Error("Equal(vip-jaeger, vip-otel) = false, want true")
	}
	if Equal(j, Build(load(t, "unknown", "jaeger"))) {
		t.Error("Equal(vip, unknown) = true, want false")
	}
}

func TestMayDifferSaysWhy(t *testing.T) {
	for _, a := range MayDiffer {
		if a.what == "" || len(a.why) < 20 {
			t.Errorf("allowance %q: say what may differ and why it is the same fact (why = %q)", a.what, a.why)
		}
	}
}
