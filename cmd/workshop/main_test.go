package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testEnv points the command at a labs folder and a state folder of the test's own.
func testEnv(t *testing.T) func(string) string {
	t.Helper()
	dir := t.TempDir()
	lab := filepath.Join(dir, "labs", "02-find-the-slowdown")
	if err := os.MkdirAll(lab, 0o755); err != nil {
		t.Fatal(err)
	}
	readme := "# Find the slowdown\n\n## Hints\n\n1. first\n2. second\n\n## Check\n"
	if err := os.WriteFile(filepath.Join(lab, "README.md"), []byte(readme), 0o644); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{
		"WORKSHOP_LABS":    filepath.Join(dir, "labs"),
		"WORKSHOP_STATE":   filepath.Join(dir, "state"),
		"JAEGER_QUERY_URL": "http://127.0.0.1:1", // nothing listens: a check must not reach Jaeger here
	}
	return func(k string) string { return vars[k] }
}

func TestHintRemembers(t *testing.T) {
	getenv := testEnv(t)
	for i, want := range []string{"Hint 1 of 2:\nfirst", "Hint 2 of 2:\nsecond", "That was the last hint"} {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"hint", "2"}, getenv, &out); err != nil {
			t.Fatalf("run(hint 2) #%d = %v", i+1, err)
		}
		if !strings.Contains(out.String(), want) {
			t.Errorf("run(hint 2) #%d = %q, want %q", i+1, out.String(), want)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"hint", "2", "1"}, getenv, &out); err != nil || !strings.Contains(out.String(), "first") {
		t.Errorf("run(hint 2 1) = %q, %v, want hint 1 again", out.String(), err)
	}
}

func TestCheckNeedsSetup(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"check", "2", "quoteservice slow-quote"}, testEnv(t), &out)
	var failed checkFailed
	if !errors.As(err, &failed) || !strings.Contains(out.String(), "make setup LAB=2") {
		t.Errorf("run(check 2) before setup = %q, %v, want ✗ saying to run make setup LAB=2", out.String(), err)
	}
}

func TestBadArguments(t *testing.T) {
	for _, args := range [][]string{{"lab", "0"}, {"lab", "x"}, {"check"}, {"hint", "2", "-1"}, {"logs"}, {"frobnicate", "1"}} {
		if err := run(context.Background(), args, testEnv(t), &bytes.Buffer{}); err == nil {
			t.Errorf("run(%q) = nil, want an error", args)
		}
	}
}

func TestLabTexts(t *testing.T) {
	// Every lab the command knows has its folder, a README with hints and a SOLUTION.md.
	getenv := func(k string) string {
		if k == "WORKSHOP_LABS" {
			return filepath.Join("..", "..", "workshop", "labs")
		}
		return ""
	}
	for _, l := range labs {
		e := env{labsDir: getenv("WORKSHOP_LABS")}
		text, err := os.ReadFile(filepath.Join(l.dir(e), "README.md"))
		if err != nil {
			t.Errorf("lab %d: %v", l.n, err)
			continue
		}
		if n := len(hints(string(text))); n < 2 {
			t.Errorf("lab %d has %d hints, want at least 2", l.n, n)
		}
		for _, section := range []string{"## What you'll learn", "## Setup", "## What to do", "## Questions", "## Hints", "## Check"} {
			if !strings.Contains(string(text), section) {
				t.Errorf("lab %d's README has no %q section", l.n, section)
			}
		}
		if _, err := os.Stat(filepath.Join(l.dir(e), "SOLUTION.md")); err != nil {
			t.Errorf("lab %d: %v", l.n, err)
		}
	}
}
