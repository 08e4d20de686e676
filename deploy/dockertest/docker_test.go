package dockertest

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// composeEnv is the environment of every command the tests run: the test's own, without
// the variables that would change what docker-compose.yml or the Swarm stack mean
// (COMPOSE_PROFILES, TAG, GELF_ADDRESS, ... from a developer's shell), so the tests run
// the files as a fresh clone has them.
func composeEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "COMPOSE_"), strings.HasPrefix(name, "RABBITMQ_"),
			name == "TAG", name == "GELF_ADDRESS", name == "LOG_LEVEL", name == "TRACING_SDK":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// run runs a command in the repository and returns its standard output. On failure the
// error holds the command line and everything it printed.
func run(name string, args ...string) (string, error) {
	return runWith(nil, name, args...)
}

// runWith is run with more environment variables (KEY=value): a step that sets what a
// user would set in their shell.
func runWith(env []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = repoRoot
	cmd.Env = append(composeEnv(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// must runs a command for a test, logging it and how long it took; a failure fails the test.
func must(t *testing.T, name string, args ...string) string {
	t.Helper()
	start := time.Now()
	out, err := run(name, args...)
	t.Logf("$ %s %s  (%.1fs)", name, strings.Join(args, " "), time.Since(start).Seconds())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// composeArgs prefixes args with the test's project and the repository's compose file.
func composeArgs(args ...string) []string {
	return append([]string{"compose", "-p", project, "-f", "docker-compose.yml"}, args...)
}

// compose runs `docker compose` on docker-compose.yml as the test's project.
func compose(t *testing.T, args ...string) string {
	t.Helper()
	return must(t, "docker", composeArgs(args...)...)
}

// waitFor calls check every half second until it returns nil, and fails the test with its
// last error when that takes longer than timeout.
func waitFor(t *testing.T, what string, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, timeout, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// client talks to the edge, whose certificate is self-signed: it checks that the edge
// answers, not who it is (as `curl -k` in the README).
var client = &http.Client{
	Timeout:   10 * time.Second,
	Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
}

// account is accountservice's answer, as the edge passes it on.
type account struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	ServedBy string `json:"servedBy"`
	Quote    *struct {
		Text     string `json:"quote"`
		Language string `json:"language"`
		ServedBy string `json:"servedBy"`
	} `json:"quote"`
	ImageData *struct {
		ID       string `json:"id"`
		URL      string `json:"url"`
		ServedBy string `json:"servedBy"`
	} `json:"imageData"`
}

// getAccount reads an account through the edge and returns it with the X-Trace-Id of the
// answer. Anything but a 200 with a JSON body is an error.
func getAccount(id string) (account, string, error) {
	var acc account
	resp, err := client.Get(edgeURL + "/api/accounts/" + id)
	if err != nil {
		return acc, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return acc, "", err
	}
	if resp.StatusCode != http.StatusOK {
		return acc, "", fmt.Errorf("GET /api/accounts/%s: %s %s", id, resp.Status, body)
	}
	if err := json.Unmarshal(body, &acc); err != nil {
		return acc, "", fmt.Errorf("GET /api/accounts/%s: %v in %s", id, err, body)
	}
	return acc, resp.Header.Get("X-Trace-Id"), nil
}

// checkAccount checks the shape of a complete answer for id: every part filled in, by the
// service that should have.
func checkAccount(t *testing.T, id string, acc account) {
	t.Helper()
	if acc.ID != id || acc.Name == "" || !strings.HasPrefix(acc.ServedBy, "accountservice@") {
		t.Errorf("GET /api/accounts/%s = id %q name %q servedBy %q, want id %s, a name, servedBy accountservice@<host>", id, acc.ID, acc.Name, acc.ServedBy, id)
	}
	if q := acc.Quote; q == nil || q.Text == "" || !strings.HasPrefix(q.ServedBy, "quoteservice@") {
		t.Errorf("GET /api/accounts/%s: quote = %+v, want a quote served by quoteservice@<host>", id, q)
	}
	if img := acc.ImageData; img == nil || img.ID != id || !strings.HasPrefix(img.URL, edgeURL+"/api/images/file/") ||
		!strings.HasPrefix(img.ServedBy, "imageservice@") {
		t.Errorf("GET /api/accounts/%s: imageData = %+v, want id %s, a URL under %s/api/images/file/, served by imageservice@<host>", id, img, id, edgeURL)
	}
}
