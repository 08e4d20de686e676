package e2e

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tracelab/common/messaging"
	"tracelab/internal/jaegerapi"
	"tracelab/internal/landscape"
)

// The landscape under test. Its services listen on ports of their own, so the suite runs
// beside a `make run` in another terminal (it shares that one's Jaeger then).
var (
	land     *landscape.Landscape
	edgeURL  string
	jaeger   *jaegerapi.Client
	vipQueue string // a queue of the suite's own, so no other vipservice takes its events
	// landscapeLog is the landscape's output, as make run's .run/landscape.log (lab 6 greps it).
	landscapeLog string
	edgeClient   = &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, // the edge's self-signed certificate
			MaxIdleConnsPerHost: 64,
		},
	}
)

// consoleWorkshopState is where the console's setups and checks keep their state.
var consoleWorkshopState string

var ports = map[string]string{
	"EDGE_ADDR":           "127.0.0.1:18765",
	"ACCOUNTSERVICE_ADDR": "127.0.0.1:16767",
	"QUOTESERVICE_ADDR":   "127.0.0.1:18080",
	"IMAGESERVICE_ADDR":   "127.0.0.1:17777",
	"VIPSERVICE_ADDR":     "127.0.0.1:16868",
	"EDGE_ADMIN_ADDR":     "127.0.0.1:18766", // the edge's admin listener (make fault)
	"CONSOLE_ADDR":        "127.0.0.1:18088", // the workshop console (console_test.go)
}

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	// The reliability suite starts landscapes too, and they share Jaeger: one at a time.
	unlock, err := landscape.Exclusive()
	if err != nil {
		return fail("%v", err)
	}
	defer unlock()
	root, err := filepath.Abs("..")
	if err != nil {
		return fail("%v", err)
	}
	build := exec.Command("make", "build")
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fail("make build: %v", err)
	}

	tmp, err := os.MkdirTemp("", "tracelab-e2e-")
	if err != nil {
		return fail("%v", err)
	}
	defer os.RemoveAll(tmp)
	logPath := filepath.Join(tmp, "landscape.log")
	landscapeLog = logPath
	logFile, err := os.Create(logPath)
	if err != nil {
		return fail("%v", err)
	}
	defer logFile.Close()

	consoleWorkshopState = filepath.Join(tmp, "console-workshop")
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	vipQueue = "e2e-vip-" + hex.EncodeToString(suffix)
	env := append(os.Environ(),
		"JAEGER_DISABLED=false",
		"ACCOUNTSERVICE_DB="+filepath.Join(tmp, "accounts.db"),
		"VIP_QUEUE="+vipQueue,
		// The console runs the workshop command with these: a lab checked from its page
		// reads the suite's log and keeps its state in the suite's folder.
		"LANDSCAPE_LOG="+logPath,
		"WORKSHOP_STATE="+consoleWorkshopState,
	)
	// TRACELAB_E2E_SDK=otel runs the services on the OpenTelemetry SDK (TRACING_SDK): the
	// suite reads Jaeger's API, the same for both, so the same tests prove the same trees.
	if sdk := os.Getenv("TRACELAB_E2E_SDK"); sdk != "" {
		env = append(env, "TRACING_SDK="+sdk)
	}
	for k, port := range landscape.DefaultPorts() {
		if _, ok := ports[k]; !ok { // a service of make new-service: 10000 above its own port
			ports[k] = fmt.Sprintf("127.0.0.1:%d", port+10000)
		}
	}
	for k, v := range ports {
		env = append(env, k+"="+v)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	land, err = landscape.Start(ctx, landscape.Config{Dir: root, Environ: env, Stdout: logFile})
	if err != nil {
		return fail("the landscape did not start: %v\n(full output: %s)", err, logPath)
	}
	edgeURL = land.URL("edge")
	jaeger = &jaegerapi.Client{BaseURL: land.Jaeger}

	code := m.Run()

	land.Stop()
	deleteQueue(vipQueue)
	out, _ := os.ReadFile(logPath)
	if err := checkTracerReports(string(out)); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		code = 1
	}
	if code != 0 {
		fmt.Fprintf(os.Stderr, "\n--- the landscape's last output ---\n%s\n", lastLines(string(out), 60))
	}
	return code
}

func fail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "e2e: "+format+"\n", args...)
	return 1
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func deleteQueue(queue string) {
	url := os.Getenv("AMQP_URL")
	if url == "" {
		url = landscape.DefaultAMQPURL
	}
	conn, err := messaging.Dial(url)
	if err != nil {
		return
	}
	defer conn.Close()
	if ch, err := conn.Channel(); err == nil {
		_, _ = ch.QueueDelete(queue, false, false, false)
		_, _ = ch.QueueDelete(messaging.DeadLetterQueue(queue), false, false, false)
	}
}

// checkTracerReports reads what each service's tracer said when it closed, at the end of
// the suite: every service must have flushed (a "tracer closed" line), and no span may have
// been dropped or left unconfirmed, over the whole run, the load test included.
func checkTracerReports(out string) error {
	reports, err := landscape.TracerReports(strings.NewReader(out))
	if err != nil {
		return err
	}
	closed := map[string]bool{}
	var problems []string
	for _, r := range reports {
		closed[r.Service] = true
		if r.Level != "info" {
			problems = append(problems, r.Service+": "+r.Message)
		}
	}
	for _, svc := range []string{"edge", "accountservice", "quoteservice", "imageservice", "vipservice"} {
		if !closed[svc] {
			problems = append(problems, svc+" logged no \"tracer closed\" line: its spans were not flushed at stop")
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("tracer reports at stop:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}
