// Package tracetree turns a trace from Jaeger's query API into its canonical tree: what the
// trace says about the request (which services did what, below what, how each span refers
// to its parent, the tags and logs that carry meaning) and nothing of what changes from one
// recording of the same request to the next (ids, timings, the reporting process).
//
// Two traces of the same request, one made with TRACING_SDK=jaeger and one with
// TRACING_SDK=otel, must have equal trees: that is how tracelab proves that moving to
// OpenTelemetry loses nothing. Diff says, one line a difference, where two trees part.
// What the two SDKs may write differently is the one list MayDiffer; anything else that
// differs is a difference.
package tracetree

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"tracelab/internal/jaegerapi"
)

// Tree is a trace's canonical tree. Its roots are the spans whose parent is not in the
// trace: a whole trace has one.
type Tree struct {
	Roots []*Span
}

// Span is one span of a canonical tree.
type Span struct {
	Service   string
	Operation string
	// Ref is how the span refers to its parent (its first reference, as Jaeger's UI draws
	// it): CHILD_OF or FOLLOWS_FROM; "" for a root.
	Ref string
	// Tags are the span's tags, as key=value with strings quoted (http.method="GET",
	// http.status_code=200), sorted, less what MayDiffer leaves out.
	Tags []string
	// Logs are the span's logs in the order they were logged, each its fields as
	// key=value, sorted, without the timestamp.
	Logs []string
	// Children are the spans that refer to this one first, sorted by their text (String),
	// so that the same children come in the same order whatever their timing.
	Children []*Span
}

// An allowance is one thing that two recordings of the same request may say differently,
// and why it is the same fact. tag, when set, is how Build treats a span tag it concerns:
// it returns the value to keep (a mask for a value that differs by nature) or false to
// leave the tag out. The allowances without tag concern what Build never reads.
type allowance struct {
	what, why string
	tag       func(key, value string) (string, bool)
}

// MayDiffer is everything two recordings of the same request, by the same SDK or by the
// two, may differ in. Nothing else may.
var MayDiffer = []allowance{
	{
		what: "trace and span ids, and their width",
		why:  "the OpenTelemetry SDK makes 128-bit trace ids, the Jaeger client 64-bit ones; each request gets new ones either way. The tree holds no ids: a span's place in it says what its ids said",
	},
	{
		what: "the values of the tags that hold an id: event.id, message_bus.message_id, caller.trace_id, caller.span_id",
		why:  "a new VIP event, a new message, a new caller for each request: the tag must be there, its value is new every time",
		tag: func(key, value string) (string, bool) {
			switch key {
			case "event.id", "message_bus.message_id", "caller.trace_id", "caller.span_id":
				return "<id>", true
			}
			return value, true
		},
	},
	{
		what: "timings: start times, durations, the timestamps of logs",
		why:  "no two requests take the same time; the order of a span's logs is kept",
	},
	{
		what: "process tags: hostname, ip, client-uuid, jaeger.version against telemetry.sdk.*, service.*",
		why:  "they describe the process and the SDK that reported the span, not the request; the service's name is kept",
	},
	{
		what: "otel.scope.* tags",
		why:  "the instrumentation scope (tracelab/common/tracing) is where the OpenTelemetry SDK says which tracer made a span; the Jaeger client has no such thing",
		tag:  func(key, value string) (string, bool) { return value, !strings.HasPrefix(key, "otel.scope.") },
	},
	{
		what: "sampler.* tags",
		why:  "the Jaeger client writes its sampler's decision on the root span (sampler.type=const, sampler.param=true); the OpenTelemetry SDK keeps it in the trace flags. The trace is sampled either way, or there would be no trace",
		tag:  func(key, value string) (string, bool) { return value, !strings.HasPrefix(key, "sampler.") },
	},
	{
		what: "span.kind=internal",
		why:  "OpenTelemetry gives every span a kind, and Jaeger's OTLP translation writes internal too; the Jaeger client writes none for internal work. Internal and absent are the same kind",
		tag:  func(key, value string) (string, bool) { return value, !(key == "span.kind" && value == `"internal"`) },
	},
	{
		what: "the order of a span's tags and of a log's fields",
		why:  "tags and fields are sets of keys; the SDKs and Jaeger's translation list them in orders of their own",
	},
}

// Build makes the canonical tree of trace t.
func Build(t jaegerapi.Trace) Tree {
	ids := map[string]bool{}
	for _, s := range t.Spans {
		ids[s.SpanID] = true
	}
	nodes := map[string]*Span{}
	for _, s := range t.Spans {
		nodes[s.SpanID] = canonical(t, s)
	}
	var tree Tree
	for _, s := range t.Spans {
		n := nodes[s.SpanID]
		if len(s.References) > 0 && ids[s.References[0].SpanID] && s.References[0].SpanID != s.SpanID {
			parent := nodes[s.References[0].SpanID]
			parent.Children = append(parent.Children, n)
			continue
		}
		n.Ref = "" // its parent is not in the trace: a root, whatever it referred to
		tree.Roots = append(tree.Roots, n)
	}
	for _, r := range tree.Roots {
		r.sort()
	}
	sortSpans(tree.Roots)
	return tree
}

// canonical is span s without its place in the tree.
func canonical(t jaegerapi.Trace, s jaegerapi.Span) *Span {
	n := &Span{Service: t.Service(s), Operation: s.OperationName}
	if len(s.References) > 0 {
		n.Ref = s.References[0].RefType
	}
	for _, kv := range s.Tags {
		if tag, ok := keep(kv.Key, value(kv)); ok {
			n.Tags = append(n.Tags, tag)
		}
	}
	sort.Strings(n.Tags)
	for _, l := range s.Logs {
		var fields []string
		for _, kv := range l.Fields {
			fields = append(fields, kv.Key+"="+value(kv))
		}
		sort.Strings(fields)
		n.Logs = append(n.Logs, strings.Join(fields, " "))
	}
	return n
}

// keep applies MayDiffer to one tag: key=value as the tree holds it, or false.
func keep(key, value string) (string, bool) {
	for _, a := range MayDiffer {
		if a.tag == nil {
			continue
		}
		var ok bool
		if value, ok = a.tag(key, value); !ok {
			return "", false
		}
	}
	return key + "=" + value, true
}

// value prints a tag's or a field's value as Jaeger typed it: a string quoted, so that
// "200" and 200 read apart.
func value(kv jaegerapi.KV) string {
	switch v := kv.Value.(type) {
	case string:
		if kv.Type == "string" || kv.Type == "" {
			return strconv.Quote(v)
		}
		return kv.Type + ":" + v // binary, or a number Jaeger wrote as a string
	case float64: // how JSON hands every number over
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}

func (s *Span) sort() {
	for _, c := range s.Children {
		c.sort()
	}
	sortSpans(s.Children)
}

func sortSpans(spans []*Span) {
	text := map[*Span]string{}
	for _, s := range spans {
		text[s] = s.String()
	}
	sort.SliceStable(spans, func(i, j int) bool { return text[spans[i]] < text[spans[j]] })
}

// Count is the number of spans in the tree.
func (t Tree) Count() int {
	n := 0
	for _, r := range t.Roots {
		n += r.count()
	}
	return n
}

func (s *Span) count() int {
	n := 1
	for _, c := range s.Children {
		n += c.count()
	}
	return n
}

// Services are the services that have a span in the tree, sorted.
func (t Tree) Services() []string {
	seen := map[string]bool{}
	var walk func(*Span)
	walk = func(s *Span) {
		seen[s.Service] = true
		for _, c := range s.Children {
			walk(c)
		}
	}
	for _, r := range t.Roots {
		walk(r)
	}
	var out []string
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// String is the tree as indented text, a span a line with its reference and tags, its
// logs below it: what a failed comparison prints.
func (t Tree) String() string {
	var b strings.Builder
	for _, r := range t.Roots {
		r.write(&b, 0)
	}
	return b.String()
}

// String is the span and the spans below it, as Tree.String prints them.
func (s *Span) String() string {
	var b strings.Builder
	s.write(&b, 0)
	return b.String()
}

func (s *Span) write(b *strings.Builder, depth int) {
	indent := strings.Repeat("  ", depth)
	fmt.Fprintf(b, "%s%s", indent, s.name())
	if s.Ref != "" {
		fmt.Fprintf(b, " [%s]", s.Ref)
	}
	if len(s.Tags) > 0 {
		fmt.Fprintf(b, " %s", strings.Join(s.Tags, " "))
	}
	b.WriteString("\n")
	for _, l := range s.Logs {
		fmt.Fprintf(b, "%s    log: %s\n", indent, l)
	}
	for _, c := range s.Children {
		c.write(b, depth+1)
	}
}

// name is how a difference names the span: its service and operation.
func (s *Span) name() string { return fmt.Sprintf("%s %q", s.Service, s.Operation) }
