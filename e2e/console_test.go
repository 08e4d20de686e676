package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"tracelab/internal/jaegerapi"
	"tracelab/internal/servicetest"
)

// The workshop console (cmd/console) that the suite's landscape runs beside the services,
// as make run does, read as the page reads it: Jaeger through the console, the labs' checks,
// the faults. Its handlers' own cases (bad input, Jaeger down or stuck) are in
// cmd/console's tests; here is what needs the real landscape.

var consoleClient = &http.Client{Timeout: 3 * time.Minute} // a lab's check waits for spans

// consoleCall sends one request to a console and decodes its JSON answer into out.
func consoleCall(t *testing.T, method, url, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := consoleClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json (body %.200s)", method, url, ct, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s %s = %s %.300s: not JSON: %v", method, url, resp.Status, b, err)
	}
	return resp.StatusCode
}

type consoleError struct {
	Error string `json:"error"`
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func TestConsoleRuns(t *testing.T) {
	if land.Console != "http://127.0.0.1:18088" {
		t.Fatalf("the landscape's console is at %q, want http://127.0.0.1:18088 (its CONSOLE_ADDR)", land.Console)
	}
	resp, err := consoleClient.Get(land.Console + "/trace/" + randomHex(16))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "<html") {
		t.Errorf("GET /trace/<id> = %s %.100q, want the page", resp.Status, page)
	}
}

// TestConsoleTrace: a learner's VIP read, found through the console as its page finds it:
// in the search, then by its id, with the spans Jaeger holds and the AMQP hop.
func TestConsoleTrace(t *testing.T) {
	id := learnerGet(t, "/api/accounts/10000", nil)
	if id == "" {
		t.Fatal("the edge's answer has no X-Trace-Id")
	}
	waitForSpans(t, id, 12)

	var one struct {
		Data []jaegerapi.Trace `json:"data"`
	}
	if status := consoleCall(t, http.MethodGet, land.Console+"/api/jaeger/traces/"+id, "", &one); status != http.StatusOK || len(one.Data) != 1 {
		t.Fatalf("GET /api/jaeger/traces/%s = %d, %d traces, want 200 and one", id, status, len(one.Data))
	}
	tr := one.Data[0]
	if n := len(tr.Spans); n < 11 || n > 12 {
		t.Errorf("the VIP read through the console has %d spans, want 11 or 12", n)
	}
	follows := 0
	for _, s := range tr.Spans {
		for _, r := range s.References {
			if r.RefType == "FOLLOWS_FROM" {
				follows++
			}
		}
	}
	if follows == 0 {
		t.Errorf("the VIP read through the console has no FOLLOWS_FROM reference, want the AMQP hop")
	}

	var found struct {
		Data []jaegerapi.Trace `json:"data"`
	}
	search := land.Console + "/api/jaeger/traces?service=vipservice&lookback=10m&limit=200"
	if status := consoleCall(t, http.MethodGet, search, "", &found); status != http.StatusOK {
		t.Fatalf("GET %s = %d, want 200", search, status)
	}
	listed := false
	for _, f := range found.Data {
		listed = listed || f.TraceID == tr.TraceID
	}
	if !listed {
		t.Errorf("GET %s: %d traces, none is %s", search, len(found.Data), id)
	}

	var services struct {
		Data []string `json:"data"`
	}
	consoleCall(t, http.MethodGet, land.Console+"/api/jaeger/services", "", &services)
	if !strings.Contains(strings.Join(services.Data, " "), "vipservice") {
		t.Errorf("GET /api/jaeger/services = %v, want vipservice among them", services.Data)
	}
	var deps struct {
		Data []jaegerapi.Dependency `json:"data"`
	}
	consoleCall(t, http.MethodGet, land.Console+"/api/jaeger/dependencies?lookback=600000", "", &deps)
	calls := false
	for _, d := range deps.Data {
		calls = calls || d.Parent == "edge" && d.Child == "accountservice"
	}
	if !calls {
		t.Errorf("GET /api/jaeger/dependencies = %+v, want edge → accountservice", deps.Data)
	}

	var e consoleError
	unknown := randomHex(16)
	if status := consoleCall(t, http.MethodGet, land.Console+"/api/jaeger/traces/"+unknown, "", &e); status != http.StatusNotFound || !strings.Contains(e.Error, "no trace "+unknown) {
		t.Errorf("GET /api/jaeger/traces/%s (never sent) = %d %q, want 404 saying there is no such trace", unknown, status, e.Error)
	}
	if status := consoleCall(t, http.MethodGet, land.Console+"/api/jaeger/traces/not-an-id", "", &e); status != http.StatusBadRequest {
		t.Errorf("GET /api/jaeger/traces/not-an-id = %d, want 400", status)
	}
}

// TestConsoleCheck walks lab 9 through the console's page calls: the same verdict and the
// same words as bin/workshop check, ✗ for an id never sent, ✓ for the learner's own.
func TestConsoleCheck(t *testing.T) {
	var setup struct {
		OK     bool   `json:"ok"`
		Output string `json:"output"`
	}
	if status := consoleCall(t, http.MethodPost, land.Console+"/api/labs/9/setup", "", &setup); status != http.StatusOK || !setup.OK || !strings.Contains(setup.Output, "X-B3-TraceId") {
		t.Fatalf("POST /api/labs/9/setup = %d %+v, want ok and the lab's request", status, setup)
	}
	type checkAnswer struct {
		Passed *bool  `json:"passed"`
		Output string `json:"output"`
	}
	wrong := randomHex(16)
	var got checkAnswer
	consoleCall(t, http.MethodPost, land.Console+"/api/labs/9/check", fmt.Sprintf(`{"answer":%q}`, wrong), &got)
	// The learner in the terminal, with the console's state: the setup above is theirs too.
	cli := &workshop{t: t, state: consoleWorkshopState}
	out, ok := cli.run("check", "9", wrong)
	if got.Passed == nil || *got.Passed || ok || got.Output != out || !strings.Contains(out, "✗ lab 9") {
		t.Errorf("check of lab 9 with an id never sent: console passed=%v %q; bin/workshop ok=%v %q; want both ✗, word for word", got.Passed, got.Output, ok, out)
	}

	traceID, spanID := randomHex(16), randomHex(8)
	learnerGet(t, "/api/accounts/10000", map[string]string{"X-B3-TraceId": traceID, "X-B3-SpanId": spanID, "X-B3-Sampled": "1"})
	waitForSpans(t, traceID, 12)
	got = checkAnswer{}
	consoleCall(t, http.MethodPost, land.Console+"/api/labs/9/check", fmt.Sprintf(`{"answer":%q}`, traceID), &got)
	if got.Passed == nil || !*got.Passed || !strings.Contains(got.Output, "✓ lab 9") {
		t.Errorf("check of lab 9 with the learner's B3 id, through the console = %+v, want passed and a ✓", got)
	}
}

type consoleFaults struct {
	Catalogue []struct {
		Name     string   `json:"name"`
		Services []string `json:"services"`
	} `json:"catalogue"`
	Active     map[string][]string `json:"active"`
	Instructor bool                `json:"instructor"`
}

// TestConsoleFaults: the suite's console is a learner's (CONSOLE_INSTRUCTOR unset): it shows
// the faults and refuses to switch them; an instructor's console, started here beside it on
// the same admin listener, switches them for everyone.
func TestConsoleFaults(t *testing.T) {
	var learner consoleFaults
	if status := consoleCall(t, http.MethodGet, land.Console+"/api/faults", "", &learner); status != http.StatusOK {
		t.Fatalf("GET /api/faults = %d, want 200", status)
	}
	if len(learner.Catalogue) != 10 || learner.Instructor || len(learner.Active) != 5 || len(learner.Active["imageservice"]) != 0 {
		t.Errorf("GET /api/faults = %+v, want 10 faults, instructor false, five services with none on", learner)
	}
	var e consoleError
	if status := consoleCall(t, http.MethodPut, land.Console+"/api/faults?set=lock-contention", "", &e); status != http.StatusForbidden || !strings.Contains(e.Error, "CONSOLE_INSTRUCTOR") {
		t.Errorf("PUT /api/faults?set=lock-contention on a learner's console = %d %q, want 403", status, e.Error)
	}

	instructor := startConsole(t, "CONSOLE_INSTRUCTOR=true", "TRACELAB_ADMIN_URL=http://"+ports["EDGE_ADMIN_ADDR"])
	t.Cleanup(func() { // whatever happened above, the rest of the suite runs without faults
		var ignored consoleFaults
		consoleCall(t, http.MethodPut, instructor+"/api/faults?clear=all", "", &ignored)
	})
	var after consoleFaults
	if status := consoleCall(t, http.MethodPut, instructor+"/api/faults?set=lock-contention", "", &after); status != http.StatusOK || !after.Instructor {
		t.Fatalf("PUT /api/faults?set=lock-contention on the instructor's console = %d, want 200", status)
	}
	if got := after.Active["imageservice"]; len(got) != 1 || got[0] != "lock-contention=25ms" {
		t.Errorf("after set=lock-contention imageservice has %q on, want lock-contention=25ms", got)
	}
	var seen consoleFaults
	consoleCall(t, http.MethodGet, land.Console+"/api/faults", "", &seen)
	if got := seen.Active["imageservice"]; len(got) != 1 || got[0] != "lock-contention=25ms" {
		t.Errorf("the learner's console sees %q on in imageservice, want the instructor's lock-contention=25ms", got)
	}
	if status := consoleCall(t, http.MethodPut, instructor+"/api/faults?set=no-such-fault", "", &e); status != http.StatusBadRequest || !strings.Contains(e.Error, "no-such-fault") {
		t.Errorf("PUT /api/faults?set=no-such-fault = %d %q, want 400 naming it", status, e.Error)
	}
	after = consoleFaults{}
	consoleCall(t, http.MethodPut, instructor+"/api/faults?clear=all", "", &after)
	for svc, on := range after.Active {
		if len(on) != 0 {
			t.Errorf("after clear=all %s has %q on, want none", svc, on)
		}
	}
}

// startConsole runs bin/console (make build built it) on a port of its own with the
// landscape's environment plus env, and returns its URL; it is stopped when the test ends.
func startConsole(t *testing.T, env ...string) string {
	t.Helper()
	root, _ := filepath.Abs("..")
	addr := servicetest.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, filepath.Join(root, "bin", "console"), "-dir", root)
	cmd.Env = append(append(os.Environ(), "CONSOLE_ADDR="+addr, "JAEGER_QUERY_URL="+land.Jaeger, "EDGE_URL="+edgeURL), env...)
	var out servicetest.LockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) } // a clean stop
	cmd.WaitDelay = 15 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	url := "http://" + addr
	servicetest.WaitFor(t, "the instructor's console to answer", servicetest.Answers200(http.DefaultClient, url+"/healthz"))
	return url
}

// TestConsoleSend: the page's "send a request" goes through the suite's edge, with the
// fault of the form in its baggage, and hands back the trace it made; a path off the edge's
// API is refused before anything is sent.
func TestConsoleSend(t *testing.T) {
	var sent struct {
		Status  int    `json:"status"`
		TraceID string `json:"traceId"`
		Body    string `json:"body"`
	}
	body := `{"path": "/api/accounts/10000", "fault": "slow-quote=150ms"}`
	if status := consoleCall(t, http.MethodPost, land.Console+"/api/send", body, &sent); status != http.StatusOK {
		t.Fatalf("POST /api/send = %d, want 200", status)
	}
	if sent.Status != http.StatusOK || sent.TraceID == "" || !strings.Contains(sent.Body, `"10000"`) {
		t.Fatalf("POST /api/send = %+v, want the edge's 200, a trace id and account 10000", sent)
	}
	tr := waitForSpans(t, sent.TraceID, 12)
	tagged := false
	for _, s := range tr.Spans {
		if v, _ := s.Tag("fault"); v == "slow-quote" && tr.Processes[s.ProcessID].ServiceName == "quoteservice" {
			tagged = true
		}
	}
	if !tagged {
		t.Errorf("trace %s: no quoteservice span tagged fault=slow-quote, want the fault of the page's form to have reached it", sent.TraceID)
	}

	var e consoleError
	for _, bad := range []string{`{"path": "https://example.com/api/x"}`, `{"path": "/faults"}`, `{"path": "/api/../faults"}`, `not json`} {
		if status := consoleCall(t, http.MethodPost, land.Console+"/api/send", bad, &e); status != http.StatusBadRequest || e.Error == "" {
			t.Errorf("POST /api/send %s = %d %q, want 400 with a sentence", bad, status, e.Error)
		}
	}
}
