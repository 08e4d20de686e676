package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// lab is one lab of the workshop: its folder is workshop/labs/<NN>-<slug>.
type lab struct {
	n     int
	slug  string
	title string
}

var labs = []lab{
	{1, "read-a-trace", "Read a trace"},
	{2, "find-the-slowdown", "Find the slowdown"},
	{3, "fix-it-in-code", "Fix it in code"},
	{4, "add-a-span", "Add a span"},
	{5, "across-the-queue", "Across the queue"},
	{6, "logs-and-traces", "Logs and traces"},
	{7, "sampling", "Sampling"},
	{8, "what-tracing-costs", "What tracing costs"},
	{9, "jaeger-and-zipkin", "Jaeger and Zipkin"},
	{10, "build-a-new-service", "Build a new service"},
	{11, "moving-to-opentelemetry", "Moving to OpenTelemetry"},
}

func (l lab) dir(e env) string { return filepath.Join(e.labsDir, fmt.Sprintf("%02d-%s", l.n, l.slug)) }

func findLab(arg string) (lab, error) {
	n, err := strconv.Atoi(strings.TrimSpace(arg))
	if err == nil {
		for _, l := range labs {
			if l.n == n {
				return l, nil
			}
		}
	}
	return lab{}, fmt.Errorf("LAB=%q: there are labs 1 to %d (make lab LAB=1)", arg, len(labs))
}

func printLab(e env, l lab) error {
	text, err := os.ReadFile(filepath.Join(l.dir(e), "README.md"))
	if err != nil {
		return fmt.Errorf("lab %d's text: %w (run this from the repository root)", l.n, err)
	}
	_, err = e.stdout.Write(text)
	return err
}

// hints returns the numbered items of the lab's "## Hints" section, each with its
// continuation lines: the first gives a direction, the last nearly the answer.
func hints(readme string) []string {
	var out []string
	in := false
	for _, line := range strings.Split(readme, "\n") {
		if strings.HasPrefix(line, "## ") {
			in = strings.EqualFold(strings.TrimSpace(line[3:]), "Hints")
			continue
		}
		if !in {
			continue
		}
		if num, rest, ok := strings.Cut(line, ". "); ok && isNumber(num) {
			out = append(out, rest)
			continue
		}
		if len(out) > 0 && strings.TrimSpace(line) != "" {
			out[len(out)-1] += "\n" + strings.TrimSpace(line)
		}
	}
	return out
}

func isNumber(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil && s != "" && s[0] != '-' && s[0] != '+'
}

// printHint prints hint k, or with k 0 the one after the last shown, and remembers it.
func printHint(e env, l lab, k int) error {
	text, err := os.ReadFile(filepath.Join(l.dir(e), "README.md"))
	if err != nil {
		return fmt.Errorf("lab %d's text: %w (run this from the repository root)", l.n, err)
	}
	all := hints(string(text))
	if len(all) == 0 {
		return errors.New("this lab has no hints")
	}
	st, _ := loadState(e, l) // no setup yet is fine for a hint
	if k == 0 {
		k = st.Hints + 1
	}
	if k > len(all) {
		fmt.Fprintf(e.stdout, "That was the last hint (%d of %d). SOLUTION.md in %s has the answer.\n", len(all), len(all), l.dir(e))
		return nil
	}
	fmt.Fprintf(e.stdout, "Hint %d of %d:\n%s\n", k, len(all), all[k-1])
	if k > st.Hints {
		st.Hints = k
		return saveState(e, l, st)
	}
	return nil
}
