package reliability

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"tracelab/common/messaging"
	"tracelab/internal/landscape"
)

// root is the repository, where bin/ holds the services the landscapes run.
var root string

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	// The end-to-end suite starts landscapes too, and they share Jaeger: one at a time.
	unlock, err := landscape.Exclusive()
	if err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		return 1
	}
	defer unlock()
	root, err = filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		return 1
	}
	build := exec.Command("make", "build")
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "reliability: make build:", err)
		return 1
	}
	return m.Run()
}

// ports are where the suite's landscapes listen: apart from `make run` and from the
// end-to-end suite, so the three can run on one machine (and off 27777-27778, which Jaeger
// v2 takes for its expvar and health extensions).
var ports = map[string]string{
	"EDGE_ADDR":           "127.0.0.1:28765",
	"ACCOUNTSERVICE_ADDR": "127.0.0.1:26767",
	"QUOTESERVICE_ADDR":   "127.0.0.1:28080",
	"IMAGESERVICE_ADDR":   "127.0.0.1:29777",
	"VIPSERVICE_ADDR":     "127.0.0.1:26868",
	"EDGE_ADMIN_ADDR":     "127.0.0.1:28766", // the edge's admin listener (make fault)
	"CONSOLE_ADDR":        "off",             // no console: the suite reads Jaeger and the services itself
}

// testLandscape is a landscape one test runs and stops, with what the test reads of it.
type testLandscape struct {
	*landscape.Landscape
	t       *testing.T
	edge    string // https://127.0.0.1:28765
	vips    string // vipservice's base URL
	logPath string
	amqpURL string
	queue   string
}

// startLandscape starts the five services (and Jaeger, unless one runs) with a VIP queue
// of the test's own, plus env (AMQP_URL of a private broker, say). When the test ends it
// stops them and fails the test if any log line tells of a panic or a crash.
func startLandscape(t *testing.T, env map[string]string) *testLandscape {
	t.Helper()
	dir := t.TempDir()
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	all := map[string]string{
		"JAEGER_DISABLED":   "false",
		"ACCOUNTSERVICE_DB": filepath.Join(dir, "accounts.db"),
		"VIP_QUEUE":         "reliability-vip-" + hex.EncodeToString(suffix),
	}
	maps.Copy(all, ports)
	for k, port := range landscape.DefaultPorts() {
		if _, ok := all[k]; !ok { // a service of make new-service: 20000 above its own port
			all[k] = fmt.Sprintf("127.0.0.1:%d", port+20000)
		}
	}
	maps.Copy(all, env)
	environ := os.Environ()
	for k, v := range all {
		environ = append(environ, k+"="+v)
	}
	logPath := filepath.Join(dir, "landscape.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	l, err := landscape.Start(context.Background(), landscape.Config{Dir: root, Environ: environ, Stdout: logFile})
	if err != nil {
		logFile.Close()
		t.Fatalf("the landscape did not start: %v\n--- its output ---\n%s", err, readTail(logPath, 40))
	}
	tl := &testLandscape{
		Landscape: l, t: t, edge: l.URL("edge"), vips: l.URL("vipservice"),
		logPath: logPath, amqpURL: all["AMQP_URL"], queue: all["VIP_QUEUE"],
	}
	if tl.amqpURL == "" {
		tl.amqpURL = landscape.DefaultAMQPURL
	}
	t.Cleanup(func() {
		l.Stop()
		logFile.Close()
		deleteQueues(tl.amqpURL, tl.queue)
		if problems := crashLines(readFile(logPath)); len(problems) > 0 {
			t.Errorf("the landscape's logs tell of crashes:\n  %s", strings.Join(problems, "\n  "))
		}
		if t.Failed() {
			t.Logf("--- the landscape's last output (%s) ---\n%s", logPath, readTail(logPath, 60))
		}
	})
	return tl
}

// crashPatterns are what a Go process prints when it panics or is killed by the runtime,
// and what net/http logs when a handler panicked. An ErrAbortHandler is not among them:
// net/http does not log it, and the edge uses it on purpose to cut an answer short.
var crashPatterns = regexp.MustCompile(`panic:|http: panic serving|fatal error:|goroutine \d+ \[running\]|SIGSEGV|runtime error`)

// crashLines returns the lines of out that match crashPatterns.
func crashLines(out string) []string {
	var found []string
	for _, line := range strings.Split(out, "\n") {
		if crashPatterns.MatchString(line) {
			found = append(found, line)
		}
	}
	return found
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func readTail(path string, n int) string {
	lines := strings.Split(strings.TrimRight(readFile(path), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// deleteQueues removes a test's VIP queue and its dead-letter queue from the broker.
func deleteQueues(amqpURL, queue string) {
	conn, err := messaging.Dial(amqpURL)
	if err != nil {
		return // a private broker that is gone took its queues with it
	}
	defer conn.Close()
	if ch, err := conn.Channel(); err == nil {
		_, _ = ch.QueueDelete(queue, false, false, false)
		_, _ = ch.QueueDelete(messaging.DeadLetterQueue(queue), false, false, false)
	}
}

// edgeClient talks to the landscape's edge the way curl -k does.
var edgeClient = &http.Client{
	Timeout: 30 * time.Second,
	Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, // the edge's self-signed certificate
		MaxIdleConnsPerHost: 64,
	},
}

// account is what the edge answers for GET /api/accounts/{id}.
type account struct {
	ID        string          `json:"id"`
	Quote     json.RawMessage `json:"quote"`
	ImageData json.RawMessage `json:"imageData"`
}

// getAccount reads an account through the edge; it returns the status, the decoded answer
// (for a 200) and the body.
func (l *testLandscape) getAccount(id string, headers map[string]string) (int, account, string, error) {
	req, err := http.NewRequest(http.MethodGet, l.edge+"/api/accounts/"+id, nil)
	if err != nil {
		return 0, account{}, "", err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := edgeClient.Do(req)
	if err != nil {
		return 0, account{}, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, account{}, string(body), err
	}
	var acc account
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &acc); err != nil {
			return resp.StatusCode, acc, string(body), fmt.Errorf("answer is not an account: %v", err)
		}
	}
	return resp.StatusCode, acc, string(body), nil
}

// assertServes checks that a plain request through the edge still gets a whole answer: the
// account with its quote and its image.
func (l *testLandscape) assertServes(t *testing.T, after string) {
	t.Helper()
	status, acc, body, err := l.getAccount("10001", nil)
	switch {
	case err != nil:
		t.Errorf("after %s: GET /api/accounts/10001: %v", after, err)
	case status != http.StatusOK || acc.ID != "10001" || acc.Quote == nil || acc.ImageData == nil:
		t.Errorf("after %s: GET /api/accounts/10001 = %d %s, want 200 with the account, its quote and its image", after, status, body)
	}
}
