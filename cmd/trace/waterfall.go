package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"tracelab/internal/jaegerapi"
)

// view is how a trace is printed.
type view struct {
	width   int            // of a whole line, in columns
	color   bool           // ANSI colors, for a terminal
	allTags bool           // every tag, not only those that tell the story
	loc     *time.Location // for the trace's start time
}

// Columns of a span line, after the label (indentation, service, operation):
//
//	label…  +offset duration │█████     │
const (
	numberCols   = 7 // "+4.65ms", "+365µs", "12.3ms"
	fixedCols    = 1 + numberCols + 1 + numberCols + 1 + 2
	minWidth     = 60
	minLabelCols = 30
)

// labelCols is the width of the labels and barCells that of the timeline: two fifths of the
// line, 40 cells in 100 columns, unless that leaves the labels fewer than minLabelCols.
func (v view) labelCols() int { return max(v.width-fixedCols-v.width*2/5, minLabelCols) }
func (v view) barCells() int  { return v.width - fixedCols - v.labelCols() }

// indent is two columns a level, up to half the label: below that, a very deep span would
// show nothing but indentation.
func (v view) indent(depth int) string {
	return strings.Repeat(" ", min(2*depth, v.labelCols()/2))
}

func plural(n int, s string) string {
	if n == 1 {
		return "1 " + s
	}
	return strconv.Itoa(n) + " " + s + "s"
}

// render writes the waterfall: a header, then a line per span in tree order, each followed
// by a dimmer line with its kind, references and the tags that matter, when it has any.
func (v view) render(w io.Writer, t *trace) error {
	p := painter{on: v.color, services: t.services}
	var b strings.Builder

	header := []piece{{"trace " + t.id, bold}, {plural(len(t.rows), "span"), ""}}
	if n := t.errors(); n > 0 {
		header = append(header, piece{"✗ " + plural(n, "error"), errorRed})
	}
	header = append(header,
		piece{plural(len(t.services), "service"), ""},
		piece{human(t.end - t.start), ""},
		piece{time.UnixMicro(t.start).In(v.loc).Format("2006-01-02 15:04:05.000 MST"), ""})
	v.wrap(&b, p, "", header, " · ")
	services := make([]piece, len(t.services))
	for i, s := range t.services {
		services[i] = piece{s, p.service(s)}
	}
	v.wrap(&b, p, "services: ", services, ", ")
	b.WriteString("\n")

	for _, r := range t.rows {
		v.spanLine(&b, p, t, r)
		if details := v.details(r.span); len(details) > 0 {
			v.wrap(&b, p, v.indent(r.depth+2), details, "  ")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// spanLine is the label, padded to its column, the offset from the trace's start, the
// duration, and the bar on the timeline.
func (v view) spanLine(b *strings.Builder, p painter, t *trace, r row) {
	s := r.span
	label := []piece{{v.indent(r.depth), ""}}
	if s.isError() {
		label = append(label, piece{"✗ ", errorRed})
	}
	label = append(label, piece{s.service, p.service(s.service)}, piece{" " + s.operation, ""})
	b.WriteString(p.fit(label, v.labelCols()))

	from, to := barSpan(s.start-t.start, s.duration, t.end-t.start, v.barCells())
	barColor := p.service(s.service)
	if s.isError() {
		barColor = errorRed
	}
	fmt.Fprintf(b, " %*s %*s %s%s%s%s%s\n",
		numberCols, "+"+human(s.start-t.start), numberCols, human(s.duration),
		p.paint(dim, "│"), strings.Repeat(" ", from), p.paint(barColor, strings.Repeat("█", to-from)),
		strings.Repeat(" ", v.barCells()-to), p.paint(dim, "│"))
}

// barSpan is the cells [from, to) that a span covers on a timeline of cells for the
// trace's total duration. A span too short to fill a cell still gets one, so that every
// span is seen.
func barSpan(offset, duration, total int64, cells int) (from, to int) {
	if total <= 0 {
		return 0, 1
	}
	n := int64(cells)
	from = int(min(offset*n/total, n-1))
	to = int(min(((offset+duration)*n+total-1)/total, n)) // rounded up: a part of a cell shows
	return from, max(to, from+1)
}

// storyTags are the tags that tell a trace's story in a waterfall; the rest (http.url,
// component, sampler.*) are one `-all-tags` away. Baggage (baggage.*) is shown too. fault
// names the workshop's planted fault that acted on the span (common/faults).
var storyTags = []string{"http.status_code", "peer.service", "message_bus.destination", "fault", "fault.ignored"}

// details are what the span line has no room for: the span's kind, how it hangs in the
// tree when that is not a plain child-of, the tags that matter, and its errors.
func (v view) details(s *span) []piece {
	var out []piece
	if kind := s.tag("span.kind"); kind != "" {
		out = append(out, piece{kind, dim})
	}
	switch {
	case s.inCycle:
		out = append(out, piece{"(reference cycle)", errorRed})
	case s.parentMissing:
		ref := "child of"
		if s.refType == followsFrom {
			ref = "↳ follows from"
		}
		out = append(out, piece{"(parent missing)", yellow}, piece{ref + " span " + s.parentID, dim})
	case s.refType == followsFrom:
		out = append(out, piece{"↳ follows from " + s.parent.operation, bold})
	}

	for _, kv := range v.shownTags(s) {
		color := ""
		if kv.Key == "http.status_code" {
			color = statusColor(value(kv))
		}
		out = append(out, piece{kv.Key + "=" + value(kv), color})
	}

	messages := s.errorMessages()
	for _, msg := range messages {
		out = append(out, piece{"✗ error: " + msg, errorRed})
	}
	if len(messages) == 0 && s.isError() {
		out = append(out, piece{"✗ error", errorRed})
	}
	for _, event := range s.events() {
		out = append(out, piece{"• " + event, dim})
	}
	return out
}

// events are the span's other logs, each as its event and the fields beside it: "waited
// 305 ms for an upstream connection, 3 ahead pool.size=1", "the caller gave up waited=2s".
func (s *span) events() []string {
	var out []string
	for _, l := range s.logs {
		var event string
		var rest []string
		isError := false
		for _, f := range l.Fields {
			switch {
			case f.Key == "event" && value(f) == "error", f.Key == "error.object", f.Key == "error.kind":
				isError = true
			case f.Key == "event":
				event = value(f)
			default:
				rest = append(rest, f.Key+"="+value(f))
			}
		}
		if isError || event == "" {
			continue
		}
		out = append(out, strings.Join(strings.Fields(strings.Join(append([]string{event}, rest...), " ")), " "))
	}
	return out
}

// shownTags are the span's tags worth a place in the waterfall: storyTags in their order,
// then the baggage, then, with -all-tags, the rest in Jaeger's (alphabetical) order. The kind
// and the error tag are left out: they are shown as the kind and the ✗ mark.
func (v view) shownTags(s *span) []jaegerapi.KV {
	var out []jaegerapi.KV
	for _, key := range storyTags {
		for _, kv := range s.tags {
			if kv.Key == key {
				out = append(out, kv)
			}
		}
	}
	for _, kv := range s.tags {
		if strings.HasPrefix(kv.Key, "baggage.") {
			out = append(out, kv)
		}
	}
	if !v.allTags {
		return out
	}
	for _, kv := range s.tags {
		if !slices.Contains(storyTags, kv.Key) && !strings.HasPrefix(kv.Key, "baggage.") &&
			kv.Key != "span.kind" && kv.Key != "error" {
			out = append(out, kv)
		}
	}
	return out
}

// statusColor marks client mistakes (4xx) and server failures (5xx).
func statusColor(code string) string {
	switch {
	case strings.HasPrefix(code, "5"):
		return errorRed
	case strings.HasPrefix(code, "4"):
		return yellow
	}
	return ""
}

// tag is the value of the span's tag key, or "" when it has none.
func (s *span) tag(key string) string {
	for _, kv := range s.tags {
		if kv.Key == key {
			return value(kv)
		}
	}
	return ""
}

// errors counts the spans tagged as errors.
func (t *trace) errors() int {
	n := 0
	for _, r := range t.rows {
		if r.span.isError() {
			n++
		}
	}
	return n
}

// isError follows the OpenTracing convention: the span is tagged error=true.
func (s *span) isError() bool { return s.tag("error") == "true" }

// errorMessages are the messages of the span's error logs: tracing.SetError logs
// event=error with a message; other tracers log error.object or error.kind.
func (s *span) errorMessages() []string {
	var out []string
	for _, l := range s.logs {
		fields := make(map[string]string, len(l.Fields))
		for _, f := range l.Fields {
			fields[f.Key] = value(f)
		}
		_, object := fields["error.object"]
		_, kind := fields["error.kind"]
		if fields["event"] != "error" && !object && !kind {
			continue
		}
		msg := fields["message"]
		for _, alt := range []string{"error.object", "error.kind"} {
			if msg == "" {
				msg = fields[alt]
			}
		}
		if msg == "" {
			msg = "(no message)"
		}
		out = append(out, strings.Join(strings.Fields(msg), " "))
	}
	return out
}

// human is a duration in µs in the unit that reads best, with three significant digits:
// 365µs, 4.65ms, 12.3ms, 1.20s.
func human(us int64) string {
	switch {
	case us < 1000:
		return strconv.FormatInt(us, 10) + "µs"
	case us < 999_500:
		return threeDigits(float64(us)/1e3) + "ms"
	}
	return threeDigits(float64(us)/1e6) + "s"
}

func threeDigits(v float64) string {
	switch {
	case v < 9.995:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case v < 99.95:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// A piece is text in one color; lines are built from pieces so that they can be cut and
// wrapped by their visible width, before the colors' escape codes are added.
type piece struct {
	text  string
	color string
}

// wrap writes the pieces after prefix, separated by sep, and breaks the line before a
// piece that would go past the width; the next line starts under the first piece.
func (v view) wrap(b *strings.Builder, p painter, prefix string, pieces []piece, sep string) {
	hang := strings.Repeat(" ", runes(prefix))
	col := len(hang)
	room := max(v.width-col, 10)
	sepHead := strings.TrimRight(sep, " ") // a comma stays with the piece before it
	gap := sep[len(sepHead):]
	b.WriteString(prefix)
	for i, pc := range pieces {
		text, suffix := pc.text, ""
		if i < len(pieces)-1 {
			suffix = sepHead
			text += suffix
		}
		switch {
		case i == 0:
		case col+len(gap)+runes(text) <= v.width:
			b.WriteString(gap)
			col += len(gap)
		default:
			b.WriteString("\n" + hang)
			col = len(hang)
		}
		// A piece longer than a whole line (a long error message) is cut into lines.
		for runes(text) > v.width-col && runes(text) > room {
			head, tail := splitRunes(text, max(v.width-col, 1))
			b.WriteString(p.paint(pc.color, head) + "\n" + hang)
			col, text = len(hang), tail
		}
		b.WriteString(p.paint(pc.color, strings.TrimSuffix(text, suffix)) + suffix)
		col += runes(text)
	}
	b.WriteString("\n")
}

func runes(s string) int { return utf8.RuneCountInString(s) }

func splitRunes(s string, n int) (head, tail string) {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos], s[pos:]
		}
		i++
	}
	return s, ""
}

// ANSI SGR codes. Colors go to terminals only: see useColor.
const (
	bold     = "1"
	dim      = "2"
	errorRed = "1;31"
	yellow   = "33"
)

// serviceColors tell services apart at a glance; a trace with more services reuses them.
var serviceColors = []string{"36", "35", "34", "32", "33", "96", "95", "94", "92", "93"}

type painter struct {
	on       bool
	services []string
}

func (p painter) paint(color, s string) string {
	if !p.on || color == "" || s == "" {
		return s
	}
	return "\x1b[" + color + "m" + s + "\x1b[0m"
}

// service is the color of a service: by order of appearance, so a waterfall's first
// services get the same colors every time.
func (p painter) service(name string) string {
	for i, s := range p.services {
		if s == name {
			return serviceColors[i%len(serviceColors)]
		}
	}
	return ""
}

// fit cuts the pieces to cols visible columns, ending with … when something was cut, and
// pads them with spaces to exactly cols.
func (p painter) fit(pieces []piece, cols int) string {
	total := 0
	for _, pc := range pieces {
		total += runes(pc.text)
	}
	left := cols
	if total > cols {
		left = cols - 1 // room for the …
	}
	var b strings.Builder
	for _, pc := range pieces {
		head, _ := splitRunes(pc.text, max(left, 0))
		b.WriteString(p.paint(pc.color, head))
		left -= runes(head)
	}
	if total > cols {
		return b.String() + "…"
	}
	return b.String() + strings.Repeat(" ", left)
}
