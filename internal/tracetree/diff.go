package tracetree

import (
	"fmt"
	"sort"
	"strings"
)

// Diff lists the differences between tree a, named aName in the lines it writes (say
// "jaeger"), and tree b, named bName: a line each, naming the span by its path from the
// root. It returns none when the trees are equal.
//
// Spans are paired by service and operation among the children of paired spans, in the
// trees' order; a span without a partner is reported once, without the spans below it.
func Diff(aName string, a Tree, bName string, b Tree) []string {
	d := &differ{aName: aName, bName: bName}
	if len(a.Roots) != len(b.Roots) {
		d.add("", "%d root spans in %s, %d in %s: a whole trace has one", len(a.Roots), aName, len(b.Roots), bName)
	}
	d.spans("", a.Roots, b.Roots)
	return d.lines
}

// Equal reports whether the trees are the same.
func Equal(a, b Tree) bool { return len(Diff("a", a, "b", b)) == 0 }

type differ struct {
	aName, bName string
	lines        []string
}

func (d *differ) add(path, format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	if path != "" {
		line = path + ": " + line
	}
	d.lines = append(d.lines, line)
}

// spans pairs the spans of as and bs, siblings below path, and compares each pair.
func (d *differ) spans(path string, as, bs []*Span) {
	var names []string
	byA, byB := map[string][]*Span{}, map[string][]*Span{}
	for _, s := range as {
		if byA[s.name()] == nil {
			names = append(names, s.name())
		}
		byA[s.name()] = append(byA[s.name()], s)
	}
	for _, s := range bs {
		if byA[s.name()] == nil && byB[s.name()] == nil {
			names = append(names, s.name())
		}
		byB[s.name()] = append(byB[s.name()], s)
	}
	for _, name := range names {
		x, y := byA[name], byB[name]
		for i := range max(len(x), len(y)) {
			switch {
			case i >= len(y):
				d.add(path, "span %s (%d below it) only in %s", name, x[i].count()-1, d.aName)
			case i >= len(x):
				d.add(path, "span %s (%d below it) only in %s", name, y[i].count()-1, d.bName)
			default:
				d.span(path, x[i], y[i])
			}
		}
	}
}

func (d *differ) span(path string, x, y *Span) {
	if path != "" {
		path += " > "
	}
	path += x.name()
	if x.Ref != y.Ref {
		d.add(path, "reference %s in %s, %s in %s", refName(x.Ref), d.aName, refName(y.Ref), d.bName)
	}
	d.tags(path, x.Tags, y.Tags)
	d.logs(path, x.Logs, y.Logs)
	d.spans(path, x.Children, y.Children)
}

func refName(ref string) string {
	if ref == "" {
		return "none (a root)"
	}
	return ref
}

func (d *differ) tags(path string, xs, ys []string) {
	x, y := tagMap(xs), tagMap(ys)
	var keys []string
	for k := range x {
		keys = append(keys, k)
	}
	for k := range y {
		if _, ok := x[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		xv, inX := x[k]
		yv, inY := y[k]
		switch {
		case !inY:
			d.add(path, "tag %s=%s in %s, absent in %s", k, xv, d.aName, d.bName)
		case !inX:
			d.add(path, "tag %s absent in %s, %s=%s in %s", k, d.aName, k, yv, d.bName)
		case xv != yv:
			d.add(path, "tag %s=%s in %s, %s=%s in %s", k, xv, d.aName, k, yv, d.bName)
		}
	}
}

// tagMap splits key=value tags; a key holds no "=" (tracelab's never do).
func tagMap(tags []string) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		k, v, _ := strings.Cut(t, "=")
		m[k] = v
	}
	return m
}

func (d *differ) logs(path string, xs, ys []string) {
	for i := range max(len(xs), len(ys)) {
		switch {
		case i >= len(ys):
			d.add(path, "log %d (%s) in %s, absent in %s", i+1, xs[i], d.aName, d.bName)
		case i >= len(xs):
			d.add(path, "log %d absent in %s, (%s) in %s", i+1, d.aName, ys[i], d.bName)
		case xs[i] != ys[i]:
			d.add(path, "log %d (%s) in %s, (%s) in %s", i+1, xs[i], d.aName, ys[i], d.bName)
		}
	}
}
