//go:build browser

// Package consoletests runs the workshop console in a real browser. It starts the landscape
// as make run does, the console included, on ports of its own (beside a make run and the other
// suites), then runs console.test.js under node: headless Debian Chromium driven by
// playwright-core. make test-browser installs what it needs and runs it:
//
//	go test -tags browser -count=1 ./console-tests/
//
// The build tag keeps it out of go test ./...: it needs Chromium and node_modules.
package consoletests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"tracelab/internal/landscape"
)

// Ports of the suite's own: e2e uses 1xxxx, reliability 2xxxx, make run the defaults.
var ports = map[string]string{
	"EDGE_ADDR":           "127.0.0.1:38765",
	"ACCOUNTSERVICE_ADDR": "127.0.0.1:36767",
	"QUOTESERVICE_ADDR":   "127.0.0.1:38080",
	"IMAGESERVICE_ADDR":   "127.0.0.1:37777",
	"VIPSERVICE_ADDR":     "127.0.0.1:36868",
	"EDGE_ADMIN_ADDR":     "127.0.0.1:38766",
	"CONSOLE_ADDR":        "127.0.0.1:38088",
}

// downConsole is where the test's second console listens: one whose Jaeger is down.
const downConsole = "127.0.0.1:38089"

func TestConsoleInBrowser(t *testing.T) {
	// The other landscape suites share Jaeger's fixed ports: one landscape at a time.
	unlock, err := landscape.Exclusive()
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	build := exec.Command("make", "build")
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("make build: %v", err)
	}

	tmp := t.TempDir()
	logPath := filepath.Join(tmp, "landscape.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	env := append(os.Environ(),
		"JAEGER_DISABLED=false",
		"ACCOUNTSERVICE_DB="+filepath.Join(tmp, "accounts.db"),
		// A queue of the suite's own, so no other vipservice takes its events; one name for
		// every run (the lock makes them one at a time), so RabbitMQ does not collect queues.
		"VIP_QUEUE=console-tests-vip",
		"CONSOLE_INSTRUCTOR=true", // the fault switches are tested too
	)
	for k, port := range landscape.DefaultPorts() {
		if _, ok := ports[k]; !ok { // a service of make new-service: 30000 above its own port
			ports[k] = fmt.Sprintf("127.0.0.1:%d", port+30000)
		}
	}
	for k, v := range ports {
		env = append(env, k+"="+v)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	land, err := landscape.Start(ctx, landscape.Config{Dir: root, Environ: env, Stdout: logFile})
	if err != nil {
		out, _ := os.ReadFile(logPath)
		t.Fatalf("the landscape did not start: %v\n%s", err, out)
	}
	defer land.Stop()
	if land.Console == "" {
		t.Fatal("the landscape started no console")
	}

	// A second console whose Jaeger is not there (nothing listens on port 1): its pages must
	// say so in a sentence, never show a blank screen.
	down := exec.CommandContext(ctx, filepath.Join(root, "bin", "console"))
	down.Dir, down.Stdout, down.Stderr = root, logFile, logFile
	down.Env = append(os.Environ(), "CONSOLE_ADDR="+downConsole, "JAEGER_QUERY_URL=http://127.0.0.1:1", "TRACELAB_ADMIN_URL=http://127.0.0.1:1")
	if err := down.Start(); err != nil {
		t.Fatalf("the console without Jaeger: %v", err)
	}
	defer func() { _ = down.Process.Kill(); _ = down.Wait() }()

	node := exec.CommandContext(ctx, "node", "--test", "--test-concurrency=1", "--test-timeout=600000", "console.test.js")
	node.Stdout, node.Stderr = os.Stdout, os.Stderr
	node.Env = append(os.Environ(),
		"CONSOLE_URL="+land.Console,
		"DOWN_CONSOLE_URL=http://"+downConsole,
		"EDGE_URL="+land.URL("edge"),
		"CONSOLE_INSTRUCTOR=true",
		"SCREENSHOT_DIR="+os.Getenv("SCREENSHOT_DIR"), // docs/ with make test-browser SCREENSHOTS=1
	)
	if err := node.Run(); err != nil {
		out, _ := os.ReadFile(logPath)
		t.Fatalf("the browser tests failed: %v\n--- the landscape's output ---\n%s", err, tail(string(out), 4000))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
