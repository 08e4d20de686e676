package landscape

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tracelab/internal/servicetest"
)

func TestConsoleProcess(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	urls := []Service{{Name: "edge", URL: "https://localhost:18765"}}

	if _, _, err := consoleProcess(ctx, dir, nil, urls); err == nil || !strings.Contains(err.Error(), "make build") || !strings.Contains(err.Error(), "CONSOLE_ADDR=off") {
		t.Errorf("consoleProcess without bin/console = %v, want an error naming make build and CONSOLE_ADDR=off", err)
	}
	if p, url, err := consoleProcess(ctx, dir, []string{"CONSOLE_ADDR=off"}, urls); p != nil || url != "" || err != nil {
		t.Errorf("consoleProcess with CONSOLE_ADDR=off = %v, %q, %v, want no console", p, url, err)
	}

	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "console"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	addr := servicetest.FreeAddr(t)
	env := []string{"CONSOLE_ADDR=" + addr, "EDGE_ADMIN_ADDR=127.0.0.1:18766"}
	p, url, err := consoleProcess(ctx, dir, env, urls)
	if err != nil || p == nil {
		t.Fatalf("consoleProcess(%q) = %v, %v, want a process", env, p, err)
	}
	if want := "http://" + addr; url != want {
		t.Errorf("consoleProcess(%q) URL = %q, want %q", env, url, want)
	}
	for key, want := range map[string]string{
		"CONSOLE_ADDR":       addr,
		"JAEGER_QUERY_URL":   JaegerURL,
		"TRACELAB_ADMIN_URL": "http://127.0.0.1:18766",
		"EDGE_URL":           "https://localhost:18765",
	} {
		if got := lookup(p.env, key); got != want {
			t.Errorf("the console's %s = %q, want %q", key, got, want)
		}
	}
	p, _, _ = consoleProcess(ctx, dir, append(env, "JAEGER_QUERY_URL=http://jaeger.example:16686"), urls)
	if got := lookup(p.env, "JAEGER_QUERY_URL"); got != "http://jaeger.example:16686" {
		t.Errorf("the console's JAEGER_QUERY_URL = %q, want the caller's", got)
	}
}
