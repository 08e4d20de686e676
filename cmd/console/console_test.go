package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"tracelab/common/logging"
	"tracelab/internal/servicetest"
)

// repoRoot is the repository, two folders up: its workshop/labs are the labs served.
var repoRoot, _ = filepath.Abs(filepath.Join("..", ".."))

// workshopBin is cmd/workshop built once for the tests: the very command make check runs.
var workshopBin = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "console-test-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "workshop")
	out, err := exec.Command("go", "build", "-o", bin, "tracelab/cmd/workshop").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/workshop: %v\n%s", err, out)
	}
	return bin, nil
})

// closedURL is an http URL where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	return "http://" + servicetest.FreeAddr(t)
}

// testConfig is a console on the repository's labs, with Jaeger and the admin listener
// where nothing listens unless the test says otherwise, and a workshop state of its own.
func testConfig(t *testing.T) config {
	t.Helper()
	bin, err := workshopBin()
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	cfg := config{
		addr: "127.0.0.1:0", jaeger: closedURL(t), admin: closedURL(t), edge: "https://localhost:1",
		dir: repoRoot, workshop: bin, jaegerWait: 2 * time.Second,
	}
	cfg.environ = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"JAEGER_QUERY_URL=" + cfg.jaeger, "EDGE_URL=" + cfg.edge,
		"WORKSHOP_STATE=" + state, "LANDSCAPE_LOG=" + filepath.Join(state, "landscape.log")}
	return cfg
}

// call sends one request to the console's handler and returns the recorder.
func call(t *testing.T, h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// errorOf checks that rec is a JSON error with status want and returns its sentence.
func errorOf(t *testing.T, rec *httptest.ResponseRecorder, want int) string {
	t.Helper()
	if rec.Code != want {
		t.Errorf("status = %d, want %d (body %s)", rec.Code, want, rec.Body)
	}
	body := servicetest.DecodeJSON(t, rec)
	msg, _ := body["error"].(string)
	if msg == "" {
		t.Errorf("body %s has no \"error\" sentence", rec.Body)
	}
	return msg
}

func TestPages(t *testing.T) {
	h := newServer(logging.Discard(), testConfig(t))
	index, err := os.ReadFile(filepath.Join("web", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/", "/trace/abc123", "/trace/not-hex-the-page-says-so", "/compare/1/2", "/graph", "/labs", "/labs/3", "/faults"} {
		rec := call(t, h, http.MethodGet, path, "")
		if rec.Code != http.StatusOK || rec.Body.String() != string(index) || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			t.Errorf("GET %s = %d %q, want 200 with index.html", path, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
	app, _ := os.ReadFile(filepath.Join("web", "app.js"))
	if rec := call(t, h, http.MethodGet, "/assets/app.js", ""); rec.Code != http.StatusOK || rec.Body.String() != string(app) {
		t.Errorf("GET /assets/app.js = %d, want 200 with web/app.js", rec.Code)
	}
	for _, path := range []string{"/nope", "/trace/1/2", "/assets/nope.js", "/api/nope"} {
		if rec := call(t, h, http.MethodGet, path, ""); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, rec.Code)
		}
	}
	errorOf(t, call(t, h, http.MethodGet, "/api/nope", ""), http.StatusNotFound)
}

// TestRefusalsLogged: an error answer gets a log line, a page or a good read none (the page
// polls, and make run's terminal is shared with the services).
func TestRefusalsLogged(t *testing.T) {
	var out bytes.Buffer
	h := newServer(logging.New("console", &out, slog.LevelInfo), testConfig(t))
	call(t, h, http.MethodGet, "/", "")
	call(t, h, http.MethodGet, "/api/labs", "")
	if out.Len() != 0 {
		t.Errorf("a page and a list logged %q, want nothing", out.String())
	}
	call(t, h, http.MethodGet, "/api/jaeger/traces/xyz", "")
	if got := out.String(); !strings.Contains(got, `"refused"`) || !strings.Contains(got, `"http.response.status_code":400`) || !strings.Contains(got, "/api/jaeger/traces/{id}") {
		t.Errorf("a bad trace id logged %q, want a refused line with the route and 400", got)
	}
}

func TestConfigAnswer(t *testing.T) {
	cfg := testConfig(t)
	cfg.instructor = true
	rec := call(t, newServer(logging.Discard(), cfg), http.MethodGet, "/api/config", "")
	body := servicetest.DecodeJSON(t, rec)
	if body["jaeger"] != cfg.jaeger || body["edge"] != cfg.edge || body["instructor"] != true || body["version"] == "" {
		t.Errorf("GET /api/config = %s, want jaeger %s, edge %s, instructor true and a version", rec.Body, cfg.jaeger, cfg.edge)
	}
}

func TestParseConfig(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	cfg, err := parseConfig(nil, getenv, &bytes.Buffer{})
	if err != nil || cfg.addr != "127.0.0.1:8088" || cfg.jaeger != "http://localhost:16686" || cfg.admin != "http://127.0.0.1:8766" || cfg.instructor {
		t.Errorf("parseConfig() = %+v, %v, want the defaults of API.md", cfg, err)
	}
	for k, v := range map[string]string{"CONSOLE_INSTRUCTOR": "perhaps", "JAEGER_QUERY_URL": "localhost:16686", "TRACELAB_ADMIN_URL": "ftp://x", "CONSOLE_ADDR": "off"} {
		env = map[string]string{k: v}
		if _, err := parseConfig(nil, getenv, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("parseConfig() with %s=%q = %v, want an error naming %s", k, v, err, k)
		}
	}
	if got := consoleURL("127.0.0.1:8088"); got != "http://localhost:8088" {
		t.Errorf("consoleURL(127.0.0.1:8088) = %q, want http://localhost:8088", got)
	}
}

// TestRun drives the command as main does: it serves, answers /healthz and stops when
// its context is cancelled.
func TestRun(t *testing.T) {
	addr := servicetest.FreeAddr(t)
	env := map[string]string{"CONSOLE_ADDR": addr, "JAEGER_QUERY_URL": closedURL(t)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out servicetest.LockedBuffer
	go func() { done <- run(ctx, []string{"-dir", repoRoot}, func(k string) string { return env[k] }, &out) }()
	servicetest.WaitFor(t, "the console to answer /healthz", func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	resp, err := http.Get("http://" + addr + "/api/jaeger/services")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("GET /api/jaeger/services with no Jaeger = %d, want 502", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run after cancel = %v, want nil", err)
	}
	if !strings.Contains(out.String(), `"listening"`) {
		t.Errorf("run's output has no listening line:\n%s", out.String())
	}
}

func TestTraceIDs(t *testing.T) {
	h := newServer(logging.Discard(), testConfig(t)) // Jaeger is a closed port: a 400 must come first
	for _, id := range []string{"xyz", "123456789012345678901234567890123", "12ab-cd", "%20", "12%2F34"} {
		t.Run(id, func(t *testing.T) {
			msg := errorOf(t, call(t, h, http.MethodGet, "/api/jaeger/traces/"+id, ""), http.StatusBadRequest)
			if !strings.Contains(msg, "not a trace id") {
				t.Errorf("GET /api/jaeger/traces/%s: error %q, want it to say it is not a trace id", id, msg)
			}
		})
	}
	msg := errorOf(t, call(t, h, http.MethodGet, "/api/jaeger/traces/abc123?x=1", ""), http.StatusBadRequest)
	if !strings.Contains(msg, `unknown query key "x"`) {
		t.Errorf("GET /api/jaeger/traces/abc123?x=1: error %q, want it to name the key", msg)
	}
}

func TestSearchRefusesBadQueries(t *testing.T) {
	h := newServer(logging.Discard(), testConfig(t))
	for _, tc := range []struct{ query, want string }{
		{"service=edge&servce=x", `unknown query key "servce"`},
		{"service=edge&maxDuration=1s", `unknown query key "maxDuration"`},
		{"operation=x", "service is missing"},
		{"service=edge&service=quoteservice", "given 2 times"},
		{"service=edge&minDuration=fast", "minDuration"},
		{"service=edge&minDuration=-1s", "minDuration"},
		{"service=edge&tags=error", "tags"},
		{"service=edge&tags=" + url.QueryEscape(`{"a":1}`), "tags"},
		{"service=edge&lookback=0", "lookback"},
		{"service=edge&lookback=1y", "lookback"},
		{"service=edge&lookback=999h", "lookback"},
		{"service=edge&start=yesterday", "start"},
		{"service=edge&end=-5", "end"},
		{"service=edge&start=2000000000000000&end=1000000000000000", "start is not before end"},
		{"service=edge&limit=0", "limit"},
		{"service=edge&limit=1501", "limit"},
		{"service=" + url.QueryEscape("a\x00b"), "control characters"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			msg := errorOf(t, call(t, h, http.MethodGet, "/api/jaeger/traces?"+tc.query, ""), http.StatusBadRequest)
			if !strings.Contains(msg, tc.want) {
				t.Errorf("GET /api/jaeger/traces?%s: error %q, want it to contain %q", tc.query, msg, tc.want)
			}
		})
	}
	for _, target := range []string{"/api/jaeger/services?x=1", "/api/jaeger/dependencies?lookback=soon", "/api/jaeger/dependencies?endTs=1", "/api/faults?x=1"} {
		errorOf(t, call(t, h, http.MethodGet, target, ""), http.StatusBadRequest)
	}
}

// TestSearchQuery: what a good search becomes on its way to Jaeger.
func TestSearchQuery(t *testing.T) {
	now := time.UnixMicro(1_700_000_000_000_000)
	in, _ := url.ParseQuery(`service=edge&operation=GET /api/accounts/{id}&minDuration=100ms&tags={"error":"true"}&lookback=15m&limit=20`)
	got, err := searchQuery(in, now)
	if err != nil {
		t.Fatalf("searchQuery(%v) = %v", in, err)
	}
	want := url.Values{
		"service": {"edge"}, "operation": {"GET /api/accounts/{id}"}, "minDuration": {"100ms"}, "tags": {`{"error":"true"}`},
		"start": {fmt.Sprint(now.Add(-15 * time.Minute).UnixMicro())}, "end": {fmt.Sprint(now.UnixMicro())}, "limit": {"20"},
	}
	if got.Encode() != want.Encode() {
		t.Errorf("searchQuery(%v) = %v, want %v", in, got, want)
	}
	got, _ = searchQuery(url.Values{"service": {"edge"}, "lookback": {"3600000"}}, now)
	if got.Get("start") != fmt.Sprint(now.Add(-time.Hour).UnixMicro()) || got.Get("limit") != "100" {
		t.Errorf("searchQuery(lookback=3600000) = %v, want an hour back, limit 100", got)
	}
}

func TestJaegerDown(t *testing.T) {
	h := newServer(logging.Discard(), testConfig(t))
	for _, target := range []string{"/api/jaeger/services", "/api/jaeger/services/edge/operations", "/api/jaeger/traces?service=edge", "/api/jaeger/traces/abc123", "/api/jaeger/dependencies"} {
		msg := errorOf(t, call(t, h, http.MethodGet, target, ""), http.StatusBadGateway)
		if !strings.Contains(msg, "cannot be reached") || !strings.Contains(msg, "is Jaeger running?") {
			t.Errorf("GET %s with Jaeger down: error %q, want it to say Jaeger cannot be reached", target, msg)
		}
	}
}

// TestJaegerSlow: a Jaeger that accepts the connection and never answers gets the page a
// 502 with a sentence once the console's patience is over, not a request that hangs.
func TestJaegerSlow(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var conns []net.Conn
	go func() { // accepts, reads nothing, answers nothing: a Jaeger that is stuck
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}()
	cfg := testConfig(t)
	cfg.jaeger, cfg.jaegerWait = "http://"+ln.Addr().String(), 300*time.Millisecond
	rec := call(t, newServer(logging.Discard(), cfg), http.MethodGet, "/api/jaeger/traces/abc123", "")
	if msg := errorOf(t, rec, http.StatusBadGateway); !strings.Contains(msg, "did not answer within 300ms") {
		t.Errorf("GET /api/jaeger/traces/abc123 with Jaeger stuck: error %q, want it to say Jaeger did not answer in time", msg)
	}
}

// TestJaegerAnswersPassThrough uses a stand-in for Jaeger's HTTP answers (the real one is in
// e2e/console_test.go): what reaches Jaeger, and what the page gets back for each status.
func TestJaegerAnswersPassThrough(t *testing.T) {
	var mu sync.Mutex
	var got []string
	standIn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.String())
		mu.Unlock()
		switch r.URL.Path {
		case "/api/traces/abc123":
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"data":null,"errors":[{"code":404,"msg":"trace not found"}]}`)
		case "/api/services/broken/operations":
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"data":null,"errors":[{"code":500,"msg":"storage is on fire"}]}`)
		default:
			fmt.Fprint(w, `{"data":["edge"],"total":1}`)
		}
	}))
	defer standIn.Close()
	cfg := testConfig(t)
	cfg.jaeger = standIn.URL
	h := newServer(logging.Discard(), cfg)

	if rec := call(t, h, http.MethodGet, "/api/jaeger/services", ""); rec.Code != http.StatusOK || rec.Body.String() != `{"data":["edge"],"total":1}` {
		t.Errorf("GET /api/jaeger/services = %d %s, want Jaeger's body as it is", rec.Code, rec.Body)
	}
	if msg := errorOf(t, call(t, h, http.MethodGet, "/api/jaeger/traces/abc123", ""), http.StatusNotFound); !strings.Contains(msg, "no trace abc123 in Jaeger") {
		t.Errorf("GET /api/jaeger/traces/abc123 (unknown) error %q, want it to say there is no such trace", msg)
	}
	if msg := errorOf(t, call(t, h, http.MethodGet, "/api/jaeger/services/broken/operations", ""), http.StatusBadGateway); !strings.Contains(msg, "storage is on fire") {
		t.Errorf("Jaeger's 500: error %q, want Jaeger's own message in it", msg)
	}
	call(t, h, http.MethodGet, "/api/jaeger/dependencies?lookback=2h", "")
	mu.Lock()
	defer mu.Unlock()
	last := got[len(got)-1]
	u, _ := url.Parse(last)
	if u.Path != "/api/dependencies" || u.Query().Get("lookback") != "7200000" || u.Query().Get("endTs") == "" {
		t.Errorf("dependencies reached Jaeger as %s, want /api/dependencies?endTs=<now>&lookback=7200000", last)
	}
}

func TestLabs(t *testing.T) {
	h := newServer(logging.Discard(), testConfig(t))
	rec := call(t, h, http.MethodGet, "/api/labs", "")
	var list []labInfo
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("GET /api/labs = %d %s: %v", rec.Code, rec.Body, err)
	}
	if len(list) != 11 {
		t.Fatalf("GET /api/labs has %d labs, want 11", len(list))
	}
	if l := list[0]; l.Number != 1 || l.Slug != "01-read-a-trace" || l.Title != "Read a trace" || !strings.Contains(l.Summary, "span") {
		t.Errorf("lab 1 = %+v, want number 1, slug 01-read-a-trace, title Read a trace, a summary", l)
	}
	if l := list[10]; l.Number != 11 || l.Title != "Moving to OpenTelemetry" {
		t.Errorf("lab 11 = %+v, want Moving to OpenTelemetry", l)
	}
	for _, l := range list {
		readme, _ := os.ReadFile(filepath.Join(repoRoot, "workshop", "labs", l.Slug, "README.md"))
		solution, err := os.ReadFile(filepath.Join(repoRoot, "workshop", "labs", l.Slug, "SOLUTION.md"))
		if err != nil {
			t.Fatal(err)
		}
		rec := call(t, h, http.MethodGet, fmt.Sprintf("/api/labs/%d", l.Number), "")
		var text labText
		if err := json.Unmarshal(rec.Body.Bytes(), &text); err != nil || text.Markdown != string(readme) || text.Solution || text.Number != l.Number {
			t.Errorf("GET /api/labs/%d = %d, want its README.md and solution false (err %v)", l.Number, rec.Code, err)
		}
		if line := solutionLine(string(solution)); strings.Contains(rec.Body.String(), line) {
			t.Errorf("GET /api/labs/%d serves SOLUTION.md's line %q", l.Number, line)
		}
	}
	errorOf(t, call(t, h, http.MethodGet, "/api/labs/12", ""), http.StatusNotFound)
	errorOf(t, call(t, h, http.MethodGet, "/api/labs/one", ""), http.StatusBadRequest)
}

// solutionLine is the longest line of a SOLUTION.md: one no README repeats.
func solutionLine(md string) string {
	longest := ""
	for _, line := range strings.Split(md, "\n") {
		if len(line) > len(longest) {
			longest = line
		}
	}
	return longest
}

// workshopCLI runs the workshop command as make check does, with the console's environment.
func workshopCLI(t *testing.T, cfg config, args ...string) (string, bool) {
	t.Helper()
	c := exec.Command(cfg.workshop, args...)
	c.Dir, c.Env = cfg.dir, cfg.environ
	out, err := c.CombinedOutput()
	if _, isExit := err.(*exec.ExitError); err != nil && !isExit {
		t.Fatal(err)
	}
	return string(out), err == nil
}

// TestSetupAndCheck: the page's setup and check are the workshop command's, word for word
// and verdict for verdict. Lab 7's setup needs no landscape; its check, with Jaeger away,
// is a ✗ that says why.
func TestSetupAndCheck(t *testing.T) {
	cfg := testConfig(t)
	h := newServer(logging.Discard(), cfg)

	rec := call(t, h, http.MethodPost, "/api/labs/2/check", `{"answer":"quoteservice slow-quote"}`)
	var answer struct {
		Passed *bool  `json:"passed"`
		OK     *bool  `json:"ok"`
		Output string `json:"output"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil || answer.Passed == nil {
		t.Fatalf("POST /api/labs/2/check = %d %s, want {passed, output}", rec.Code, rec.Body)
	}
	cli, cliOK := workshopCLI(t, cfg, "check", "2", "quoteservice slow-quote")
	if *answer.Passed || cliOK || answer.Output != cli || !strings.Contains(cli, "make setup LAB=2") {
		t.Errorf("check of lab 2 before its setup: console passed=%v %q, workshop ok=%v %q; want both ✗, the same words, saying to set up first",
			*answer.Passed, answer.Output, cliOK, cli)
	}

	rec = call(t, h, http.MethodPost, "/api/labs/7/setup", "")
	answer.OK, answer.Output = nil, ""
	if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil || answer.OK == nil || !*answer.OK || !strings.Contains(answer.Output, "JAEGER_SAMPLER_TYPE") {
		t.Fatalf("POST /api/labs/7/setup = %d %s, want ok true and the setup's words", rec.Code, rec.Body)
	}
	state := strings.TrimPrefix(cfg.environ[4], "WORKSHOP_STATE=")
	if _, err := os.Stat(filepath.Join(state, "lab-7.json")); err != nil {
		t.Errorf("after POST /api/labs/7/setup: %v, want the state the workshop command keeps", err)
	}
	rec = call(t, h, http.MethodPost, "/api/labs/7/check", `{"answer":"0.25"}`)
	answer.Passed, answer.Output = nil, ""
	if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil || answer.Passed == nil || *answer.Passed || !strings.Contains(answer.Output, "✗ lab 7") {
		t.Errorf("POST /api/labs/7/check with Jaeger down = %d %s, want passed false and a ✗ line", rec.Code, rec.Body)
	}

	for _, tc := range []struct {
		target, body string
		status       int
	}{
		{"/api/labs/12/check", "", http.StatusNotFound},
		{"/api/labs/x/setup", "", http.StatusBadRequest},
		{"/api/labs/2/check", "quoteservice", http.StatusBadRequest},
		{"/api/labs/2/check", `{"answer":"x","extra":1}`, http.StatusBadRequest},
		{"/api/labs/2/check", `{"answer":"` + strings.Repeat("x", 5000) + `"}`, http.StatusBadRequest},
	} {
		errorOf(t, call(t, h, http.MethodPost, tc.target, tc.body), tc.status)
	}
	errorOf(t, call(t, h, http.MethodGet, "/api/labs/2/check", ""), http.StatusNotFound) // a check is a POST
}

func TestWorkshopMissing(t *testing.T) {
	cfg := testConfig(t)
	cfg.workshop = filepath.Join(t.TempDir(), "workshop")
	msg := errorOf(t, call(t, newServer(logging.Discard(), cfg), http.MethodPost, "/api/labs/7/setup", ""), http.StatusInternalServerError)
	if !strings.Contains(msg, "make build") {
		t.Errorf("setup without bin/workshop: error %q, want it to say make build", msg)
	}
}

func TestFaultsWithoutAdmin(t *testing.T) {
	cfg := testConfig(t) // the admin listener is a closed port
	h := newServer(logging.Discard(), cfg)
	if msg := errorOf(t, call(t, h, http.MethodPut, "/api/faults?set=slow-quote", ""), http.StatusForbidden); !strings.Contains(msg, "CONSOLE_INSTRUCTOR") {
		t.Errorf("PUT /api/faults as a learner: error %q, want it to name CONSOLE_INSTRUCTOR", msg)
	}
	if msg := errorOf(t, call(t, h, http.MethodGet, "/api/faults", ""), http.StatusBadGateway); !strings.Contains(msg, "cannot be reached") {
		t.Errorf("GET /api/faults with no admin listener: error %q, want it to say it cannot be reached", msg)
	}
	cfg.instructor = true
	h = newServer(logging.Discard(), cfg)
	errorOf(t, call(t, h, http.MethodPut, "/api/faults", ""), http.StatusBadRequest)
	errorOf(t, call(t, h, http.MethodPut, "/api/faults?sett=slow-quote", ""), http.StatusBadRequest)
	errorOf(t, call(t, h, http.MethodPut, "/api/faults?set=slow-quote", ""), http.StatusBadGateway)
}
