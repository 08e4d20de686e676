package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tracelab/internal/jaegerapi"
)

// The walks below go through each lab of workshop/ as a learner would, with the command a
// learner runs (bin/workshop, what make setup and make check run), against the suite's
// landscape and Jaeger: the check must fail before (the fault on, the code unchanged, the
// wrong answer) and pass after. Then no lab can rot when the code changes.

// workshop is one learner: a state folder of their own, and the suite's edge and Jaeger.
type workshop struct {
	t     *testing.T
	state string
}

func newWorkshop(t *testing.T) *workshop {
	return &workshop{t: t, state: t.TempDir()}
}

// run runs bin/workshop with args and returns its output and whether it exited 0.
func (w *workshop) run(args ...string) (string, bool) {
	w.t.Helper()
	root, _ := filepath.Abs("..")
	cmd := exec.Command(filepath.Join(root, "bin", "workshop"), args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		"JAEGER_QUERY_URL="+land.Jaeger,
		"EDGE_URL="+edgeURL,
		"WORKSHOP_STATE="+w.state,
		"LANDSCAPE_LOG="+landscapeLog,
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if _, exit := err.(*exec.ExitError); err != nil && !exit {
		w.t.Fatalf("workshop %q: %v", args, err)
	}
	return out.String(), err == nil
}

func (w *workshop) setup(lab string) string {
	w.t.Helper()
	out, ok := w.run("setup", lab)
	if !ok {
		w.t.Fatalf("workshop setup %s failed:\n%s", lab, out)
	}
	return out
}

// mustFail and mustPass run a check and hold its verdict to what the walk expects.
func (w *workshop) mustFail(lab, answer, why string) {
	w.t.Helper()
	if out, ok := w.run("check", lab, answer); ok || !strings.Contains(out, "✗") {
		w.t.Errorf("Check(lab %s, %q) %s = %q, want ✗", lab, answer, why, out)
	}
}

func (w *workshop) mustPass(lab, answer, why string) string {
	w.t.Helper()
	out, ok := w.run("check", lab, answer)
	if !ok || !strings.Contains(out, "✓") {
		w.t.Errorf("Check(lab %s, %q) %s = %q, want ✓", lab, answer, why, out)
	}
	return out
}

func (w *workshop) stateOf(lab string) map[string]any {
	w.t.Helper()
	b, err := os.ReadFile(filepath.Join(w.state, "lab-"+lab+".json"))
	if err != nil {
		w.t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(b, &st); err != nil {
		w.t.Fatal(err)
	}
	return st
}

// learnerGet is a learner's curl through the edge; it returns the X-Trace-Id.
func learnerGet(t *testing.T, path string, header map[string]string) string {
	t.Helper()
	id, err := traceIDOf(path, header)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// traceIDOf is learnerGet for goroutines, which must not call t.Fatal.
func traceIDOf(path string, header map[string]string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, edgeURL+path, nil)
	if err != nil {
		return "", err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := edgeClient.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	return resp.Header.Get("X-Trace-Id"), nil
}

// waitForSpans waits until Jaeger holds at least n spans of trace id.
func waitForSpans(t *testing.T, id string, n int) jaegerapi.Trace {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		tr, err := jaeger.Trace(context.Background(), id)
		if err == nil && len(tr.Spans) >= n {
			return tr
		}
		if time.Now().After(deadline) {
			t.Fatalf("trace %s: %d spans after 15 s (err %v), want %d", id, len(tr.Spans), err, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestLab1ReadATrace(t *testing.T) {
	w := newWorkshop(t)
	w.setup("1")
	w.mustFail("1", "12 2", "before any VIP read since the setup")
	id := learnerGet(t, "/api/accounts/10000", nil)
	waitForSpans(t, id, 12)
	w.mustFail("1", "11 2", "with the wrong count of spans")
	out := w.mustPass("1", "12 2", "after a VIP read, with its 12 spans and 2 FOLLOWS_FROM")
	if !strings.Contains(out, id) {
		t.Errorf("Check(lab 1) = %q, want it to name the learner's trace %s", out, id)
	}

	// make logs TRACE=<id>: the trace's lines, service by service, every one with its id.
	logs, ok := w.run("logs", id)
	if !ok {
		t.Fatalf("Logs(%s) failed: %s", id, logs)
	}
	for _, svc := range []string{"── edge", "── accountservice", "── quoteservice", "── imageservice"} {
		if !strings.Contains(logs, svc) {
			t.Errorf("Logs(%s) = %q, want a section %q", id, logs, svc)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if !strings.HasPrefix(line, "──") && !strings.Contains(line, `"trace.id":"`+id+`"`) {
			t.Errorf("Logs(%s) has a line of another trace: %s", id, line)
		}
	}
}

func TestLab2FindTheSlowdown(t *testing.T) {
	w := newWorkshop(t)
	w.setup("2")
	seed, _ := w.stateOf("2")["seed"].(string)
	if seed == "" {
		t.Fatalf("the setup stored no seed: %v", w.stateOf("2"))
	}
	right := mysteryAnswer(seed)
	w.mustFail("2", right, "before any request with the mystery")
	var id string
	for range 5 {
		id = learnerGet(t, "/api/accounts/10001", map[string]string{"uberctx-fault": "mystery=" + seed})
	}
	waitForSpans(t, id, 8)
	w.mustFail("2", wrongMysteryAnswer(seed), "with the wrong fault")
	w.mustPass("2", right, "with the service and fault the seed picked")
}

func TestLab7Sampling(t *testing.T) {
	w := newWorkshop(t)
	w.setup("7")
	w.mustFail("7", "0.25", "with the default sampler, which keeps every trace")
	// The learner restarts with a probabilistic sampler; the edge's decision is the one
	// that counts (it starts every trace), so the walk restarts only the edge.
	restartWith(t, "edge", "", "JAEGER_SAMPLER_TYPE=probabilistic", "JAEGER_SAMPLER_PARAM=0.25")
	w.mustPass("7", "0.25", "with a probabilistic sampler of 0.25")
	w.mustFail("7", "0.8", "with a probabilistic sampler of 0.25 but the answer 0.8")
}

func TestLab8WhatTracingCosts(t *testing.T) {
	w := newWorkshop(t)
	w.setup("8")
	w.mustFail("8", "7", "with a wrong count of spans")
	w.mustPass("8", "8", "with the 8 spans of a regular read")
}

func TestLab9JaegerAndZipkin(t *testing.T) {
	w := newWorkshop(t)
	w.setup("9")
	const traceID, spanID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	w.mustFail("9", "5bf92f3577b34da6a3ce929d0e0e4736", "with an id never sent")
	learnerGet(t, "/api/accounts/10000", map[string]string{"X-B3-TraceId": traceID, "X-B3-SpanId": spanID, "X-B3-Sampled": "1"})
	waitForSpans(t, traceID, 12)
	out := w.mustPass("9", traceID, "after a request with the learner's B3 ids")
	if !strings.Contains(out, spanID) {
		t.Errorf("Check(lab 9) = %q, want it to name the learner's span %s", out, spanID)
	}
}

// restartWith stops a service of the suite's landscape and starts it from path ("" for
// its own binary) with more environment, until the test ends; then the original again.
func restartWith(t *testing.T, name, path string, env ...string) {
	t.Helper()
	ctx := context.Background()
	if err := land.Pause(name); err != nil {
		t.Fatal(err)
	}
	if err := land.ResumeWith(ctx, name, path, env...); err != nil {
		t.Fatalf("ResumeWith(%s) = %v", name, err)
	}
	t.Cleanup(func() {
		if err := land.Pause(name); err != nil {
			t.Errorf("Pause(%s) = %v", name, err)
		}
		if err := land.Resume(ctx, name); err != nil {
			t.Errorf("Resume(%s) = %v", name, err)
		}
	})
}

func TestLab4AddASpan(t *testing.T) {
	w := newWorkshop(t)
	out := w.setup("4")
	if !strings.Contains(out, "png decode") {
		t.Errorf("Setup(lab 4) = %q, want it to list imageservice's png decode span", out)
	}
	w.mustFail("4", "", "with imageservice unchanged")
	// The learner's change: the lab's solution.patch, applied to a copy of the source.
	bin := buildPatched(t, "workshop/labs/04-add-a-span/solution.patch", "imageservice")
	restartWith(t, "imageservice", bin)
	out = w.mustPass("4", "", "with the solution's span")
	if !strings.Contains(out, `"gallery lookup", a child of "GET /file/{name}"`) {
		t.Errorf("Check(lab 4) = %q, want gallery lookup under GET /file/{name}", out)
	}
}

func TestLab6LogsAndTraces(t *testing.T) {
	w := newWorkshop(t)
	w.setup("6")
	traces, _ := w.stateOf("6")["traces"].([]any)
	if len(traces) != 10 {
		t.Fatalf("Setup(lab 6) stored %d trace ids, want 10", len(traces))
	}
	w.mustFail("6", traces[0].(string), "with a trace whose quote did not fail")
	// The learner greps the log for the warning, as the lab says, and takes its trace.id.
	degraded := warnedTrace(t, "quote unavailable")
	w.mustPass("6", degraded, "with the trace.id of the quote unavailable line")
}

// warnedTrace returns the trace.id of the newest line of the suite's landscape output that
// has message.
func warnedTrace(t *testing.T, message string) string {
	t.Helper()
	out, err := os.ReadFile(landscapeLog)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	for _, line := range strings.Split(string(out), "\n") {
		_, body, ok := strings.Cut(line, " | ")
		if !ok || !strings.Contains(body, `"message":"`+message+`"`) {
			continue
		}
		var fields struct {
			TraceID string `json:"trace.id"`
		}
		if json.Unmarshal([]byte(body), &fields) == nil && fields.TraceID != "" {
			id = fields.TraceID
		}
	}
	if id == "" {
		t.Fatalf("no %q line in the landscape's output", message)
	}
	return id
}

// buildPatched copies the source tree (the files git knows, as they are now) to a
// temporary folder, applies patch there, builds service and returns the binary: the
// checkout itself is never changed.
func buildPatched(t *testing.T, patch, service string) string {
	t.Helper()
	root, _ := filepath.Abs("..")
	dir := t.TempDir()
	files, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(files), "\x00"), "\x00") {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			continue // deleted in the working tree
		}
		dst := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	apply := exec.Command("git", "apply", filepath.Join(root, patch))
	apply.Dir = dir
	if out, err := apply.CombinedOutput(); err != nil {
		t.Fatalf("git apply %s: %v\n%s", patch, err, out)
	}
	bin := filepath.Join(dir, "bin", service)
	build := exec.Command("go", "build", "-o", bin, "./"+service)
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./%s with %s: %v\n%s", service, patch, err, out)
	}
	return bin
}

func TestLab5AcrossTheQueue(t *testing.T) {
	w := newWorkshop(t)
	w.setup("5")
	// A VIP read without the fault: its baggage crosses the queue, but it is no backlog.
	plain := learnerGet(t, "/api/accounts/10000", map[string]string{"uberctx-team": "blue"})
	waitForSpans(t, plain, 12)
	w.mustFail("5", "0", "with no backlogged request")

	// Four VIP reads at once, with the backlog for them only, as the lab's loadgen does.
	ids := make(chan string, 4)
	for range 4 {
		go func() {
			id, err := traceIDOf("/api/accounts/10000", map[string]string{"uberctx-fault": "queue-backlog=300ms"})
			if err != nil {
				t.Error(err)
			}
			ids <- id
		}()
	}
	var longest int64
	for range 4 {
		tr := waitForSpans(t, <-ids, 13) // the consumer span, with handle vip event slowly, ends last
		var publishEnd, consumeStart int64
		for _, s := range tr.Spans {
			switch s.OperationName {
			case "publish " + vipQueue:
				publishEnd = s.StartTime + s.Duration
			case "consume " + vipQueue:
				consumeStart = s.StartTime
			}
		}
		longest = max(longest, consumeStart-publishEnd)
	}
	// The learner reads the waits off make trace; so does the walk, from the same spans.
	if longest < 300_000 {
		t.Errorf("the longest wait of four backlogged events is %d µs, want at least 300 ms (one event's handling)", longest)
	}
	w.mustFail("5", fmt.Sprint(longest/1000/3), "with a third of the longest wait")
	w.mustPass("5", fmt.Sprint(longest/1000), "with the longest wait, read from the spans")
}

func TestLab3FixItInCode(t *testing.T) {
	w := newWorkshop(t)
	out := w.setup("3")
	if !strings.Contains(out, "overlap in 0 of") {
		t.Errorf("Setup(lab 3) = %q, want the staircase measured: overlap in 0 of the reads", out)
	}
	w.mustFail("3", "", "with accountservice unchanged: the faults' code paths make a staircase and N+1 reads")
	// The learner's change: the lab's solution.patch, applied to a copy of the source.
	bin := buildPatched(t, "workshop/labs/03-fix-it-in-code/solution.patch", "accountservice")
	restartWith(t, "accountservice", bin)
	out = w.mustPass("3", "", "with the solution: the calls side by side, the transactions in one read")
	// Side by side, the calls overlap unless the machine runs one late (see gradeStaircase):
	// at least half of the reads, where the staircase gave none.
	var together, of int
	if _, err := fmt.Sscanf(out[strings.Index(out, "overlap in ")+len("overlap in "):], "%d of %d", &together, &of); err != nil || together*2 < of {
		t.Errorf("Check(lab 3) = %q, want the calls to overlap in at least half of the reads", out)
	}
}

// TestLab9ZipkinV1Loses holds lab 9's answers about the Zipkin v1 format: with
// accountservice and vipservice reporting to Jaeger's Zipkin receiver, as the lab's
// JAEGER_ENDPOINT=off ZIPKIN_ENDPOINT=... make run does, the FOLLOWS_FROM references of the
// messaging hop arrive as plain parents and the producer and consumer kinds are gone.
// With TRACING_SDK=otel the same setting sends Zipkin v2 (OpenTelemetry's exporter has no
// v1), which keeps the kinds but has only a parent id too.
func TestLab9ZipkinV1Loses(t *testing.T) {
	otelMode := os.Getenv("TRACELAB_E2E_SDK") == "otel"
	zipkin := []string{"JAEGER_ENDPOINT=off", "ZIPKIN_ENDPOINT=http://localhost:9411/api/v1/spans"}
	restartWith(t, "accountservice", "", zipkin...)
	restartWith(t, "vipservice", "", zipkin...)
	id := learnerGet(t, "/api/accounts/10000", nil)
	tr := waitForSpans(t, id, 12)
	for _, s := range tr.Spans {
		op := s.OperationName
		if op != "publish "+vipQueue && op != "consume "+vipQueue {
			continue
		}
		kind, _ := s.Tag("span.kind")
		refs := []string{}
		for _, r := range s.References {
			refs = append(refs, r.RefType)
		}
		t.Logf("%s: span.kind=%q references=%v", op, kind, refs)
		if len(refs) != 1 || refs[0] != "CHILD_OF" {
			t.Errorf("Zipkin %s references = %v, want one CHILD_OF (v1 and v2 have only a parent id)", op, refs)
		}
		if otelMode {
			want := "consumer"
			if strings.HasPrefix(op, "publish ") {
				want = "producer"
			}
			if kind != want {
				t.Errorf("Zipkin v2 %s span.kind = %q, want %q (v2 knows PRODUCER and CONSUMER)", op, kind, want)
			}
			continue
		}
		if kind == "producer" || kind == "consumer" {
			t.Errorf("Zipkin v1 %s span.kind = %q, want it lost (v1 knows client and server only)", op, kind)
		}
	}
}
