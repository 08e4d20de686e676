package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"tracelab/internal/jaegerapi"
)

// Trace ids of the recorded traces in testdata.
const (
	vipID      = "461beb633f824bf9" // trace-10000.json, started at …318486µs
	plainID    = "0ca5e41e1b0842aa" // trace-10001.json, started at …344481µs
	baggageID  = "611075d5d5d14835" // trace-baggage.json, started at …379177µs: the newest
	notFoundID = "0c38cea3d2a7708e" // trace-99.json: account 99, not found
)

// fakeJaegerQuery stands in for Jaeger's query API with answers recorded from a real one
// (testdata/README.md): the tests of the waterfall must not depend on what a live Jaeger
// happens to hold. It serves the recorded answers by trace id, Jaeger's own 404 answer for
// any other id, and a search answer of the traces in search, in that order.
type fakeJaegerQuery struct {
	*httptest.Server
	answers map[string][]byte          // by trace id
	traces  map[string]jaegerapi.Trace // by trace id
	search  []string                   // trace ids that every search answers, in this order

	mu       sync.Mutex
	requests []*url.URL
}

func newFakeJaegerQuery(t *testing.T, search ...string) *fakeJaegerQuery {
	t.Helper()
	f := &fakeJaegerQuery{answers: map[string][]byte{}, traces: map[string]jaegerapi.Trace{}, search: search}
	for _, name := range []string{"trace-10000.json", "trace-10001.json", "trace-baggage.json", "trace-99.json", "trace-quote-down.json"} {
		jt := loadTrace(t, name)
		f.traces[jt.TraceID] = jt
		f.answers[jt.TraceID] = readFile(t, name)
	}
	notFound := readFile(t, "trace-unknown.json")

	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/traces/{id}", func(w http.ResponseWriter, r *http.Request) {
		answer, ok := f.answers[r.PathValue("id")]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			answer = notFound
		}
		w.Write(answer)
	})
	mux.HandleFunc("GET /api/traces", func(w http.ResponseWriter, r *http.Request) {
		data := []jaegerapi.Trace{}
		for _, id := range f.search {
			data = append(data, f.traces[id])
		}
		json.NewEncoder(w).Encode(map[string]any{"data": data})
	})
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.URL)
		f.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeJaegerQuery) Requests() []*url.URL {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*url.URL(nil), f.requests...)
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadTrace(t *testing.T, name string) jaegerapi.Trace {
	t.Helper()
	var resp struct{ Data []jaegerapi.Trace }
	if err := json.Unmarshal(readFile(t, name), &resp); err != nil || len(resp.Data) != 1 {
		t.Fatalf("testdata/%s: %v, %d traces, want one trace", name, err, len(resp.Data))
	}
	return resp.Data[0]
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func runTrace(t *testing.T, jaeger string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), append([]string{"-jaeger", jaeger}, args...), env(nil), &out)
	return out.String(), err
}

func TestRunByID(t *testing.T) {
	jaeger := newFakeJaegerQuery(t)
	out, err := runTrace(t, jaeger.URL, "-id", vipID)
	if err != nil {
		t.Fatalf("run(-id %s) = %v, want nil", vipID, err)
	}
	for _, want := range []string{
		"trace " + vipID + " · 11 spans · 5 services · 4.65ms · ",
		"services: edge, accountservice, vipservice, quoteservice, imageservice",
		"        vipservice consume vipQueue       +1.93ms   329µs │                ████                    │",
		"            consumer  ↳ follows from publish vipQueue  message_bus.destination=vipQueue",
		"in the browser: http://localhost:8088/trace/" + vipID,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("run(-id %s) lacks %q:\n%s", vipID, want, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("run(-id %s) into a buffer has color codes, want none off a terminal:\n%q", vipID, out)
	}
	if reqs := jaeger.Requests(); len(reqs) != 1 || reqs[0].Path != "/api/traces/"+vipID {
		t.Errorf("run(-id %s) asked Jaeger for %v, want /api/traces/%s once", vipID, reqs, vipID)
	}
}

// JAEGER_QUERY_URL is the contract, as for the services' settings; -jaeger mirrors it.
func TestRunJaegerFromEnv(t *testing.T) {
	jaeger := newFakeJaegerQuery(t)
	var out bytes.Buffer
	err := run(context.Background(), []string{"-id", plainID}, env(map[string]string{"JAEGER_QUERY_URL": jaeger.URL}), &out)
	if err != nil || !strings.Contains(out.String(), "trace "+plainID) {
		t.Errorf("run(-id %s) with JAEGER_QUERY_URL = %v, output:\n%s\nwant the trace", plainID, err, out.String())
	}
}

// CONSOLE_URL moves the trace's link at the end to another console; off leaves it out.
func TestRunConsoleLink(t *testing.T) {
	jaeger := newFakeJaegerQuery(t)
	var out bytes.Buffer
	err := run(context.Background(), []string{"-id", plainID}, env(map[string]string{"JAEGER_QUERY_URL": jaeger.URL, "CONSOLE_URL": "http://class.example:9000/"}), &out)
	if want := "in the browser: http://class.example:9000/trace/"; err != nil || !strings.Contains(out.String(), want) {
		t.Errorf("run(-id %s) with CONSOLE_URL = %v, output:\n%s\nwant %q", plainID, err, out.String(), want)
	}
	out.Reset()
	err = run(context.Background(), []string{"-id", plainID, "-console", "off"}, env(map[string]string{"JAEGER_QUERY_URL": jaeger.URL}), &out)
	if err != nil || strings.Contains(out.String(), "in the browser") {
		t.Errorf("run(-id %s -console off) = %v, output:\n%s\nwant no link", plainID, err, out.String())
	}
}

func TestRunNotFound(t *testing.T) {
	jaeger := newFakeJaegerQuery(t)
	out, err := runTrace(t, jaeger.URL, "-id", "abcd")
	if !errors.Is(err, jaegerapi.ErrNotFound) || !strings.Contains(err.Error(), "abcd") {
		t.Errorf("run(-id abcd) = %v, want ErrNotFound naming the id", err)
	}
	if out != "" {
		t.Errorf("run(-id abcd) printed %q, want nothing on stdout", out)
	}
}

func TestRunLatestOfService(t *testing.T) {
	// Jaeger answers a search in no particular order: the newest is in the middle.
	jaeger := newFakeJaegerQuery(t, vipID, baggageID, plainID)
	out, err := runTrace(t, jaeger.URL, "-service", "vipservice")
	if err != nil {
		t.Fatalf("run(-service vipservice) = %v, want nil", err)
	}
	if first := strings.SplitN(out, "\n", 2)[0]; !strings.HasPrefix(first, "trace "+baggageID+" ") {
		t.Errorf("run(-service vipservice) printed %q first, want the newest trace, %s", first, baggageID)
	}

	reqs := jaeger.Requests()
	if len(reqs) != 1 || reqs[0].Path != "/api/traces" {
		t.Fatalf("run(-service vipservice) asked Jaeger for %v, want one search", reqs)
	}
	if q := reqs[0].Query(); q.Get("service") != "vipservice" || q.Get("limit") == "" {
		t.Errorf("search %s: want service=vipservice and a limit", reqs[0].RawQuery)
	}
}

func TestRunServiceWithoutTraces(t *testing.T) {
	jaeger := newFakeJaegerQuery(t) // every search answers no trace
	_, err := runTrace(t, jaeger.URL, "-service", "vipservise")
	if !errors.Is(err, jaegerapi.ErrNotFound) {
		t.Fatalf("run(-service vipservise) = %v, want ErrNotFound", err)
	}
	// A misspelt name is the usual cause: the error says how to list the names Jaeger knows.
	if want := "curl -s " + jaeger.URL + "/api/services"; !strings.Contains(err.Error(), want) {
		t.Errorf("run(-service vipservise) = %v, want it to suggest %s", err, want)
	}
}

func TestRunJaegerUnreachable(t *testing.T) {
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close() // its port now refuses connections
	_, err := runTrace(t, gone.URL, "-id", vipID)
	if !errors.Is(err, errUnreachable) || !strings.Contains(err.Error(), gone.URL) {
		t.Errorf("run(-id) against a closed port = %v, want errUnreachable naming %s", err, gone.URL)
	}
}

// An address that answers, but not as Jaeger: a mistyped -jaeger pointing at a service.
func TestRunNotJaeger(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html>hello</html>"))
	}))
	defer srv.Close()
	_, err := runTrace(t, srv.URL, "-id", vipID)
	if err == nil || !strings.Contains(err.Error(), "query API") {
		t.Errorf("run(-id) against a web page = %v, want an error saying it is not the query API", err)
	}
}

func TestRunBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no trace", nil, "which trace?"},
		{"both", []string{"-id", vipID, "-service", "edge"}, "not both"},
		{"not hex", []string{"-id", "../services"}, "not a trace id"},
		{"too long", []string{"-id", strings.Repeat("a", 33)}, "not a trace id"},
		{"positional id", []string{vipID}, "unexpected arguments"},
		{"unknown flag", []string{"-trace", vipID}, "trace -h"},
		{"narrow", []string{"-id", vipID, "-width", "30"}, "too narrow"},
		{"not a URL", []string{"-id", vipID, "-jaeger", "localhost:16686"}, "-jaeger"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jaeger := newFakeJaegerQuery(t)
			args := append([]string{"-jaeger", jaeger.URL}, tt.args...)
			var out bytes.Buffer
			err := run(context.Background(), args, env(nil), &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%q) = %v, want an error containing %q", tt.args, err, tt.want)
			}
			if n := len(jaeger.Requests()); n != 0 {
				t.Errorf("run(%q) sent %d requests to Jaeger, want none for bad flags", tt.args, n)
			}
		})
	}
}

func TestRunHelp(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, env(nil), &out); err != nil {
		t.Fatalf("run(-h) = %v, want nil", err)
	}
	for _, want := range []string{"Usage: trace -id", "make trace ID=", "-service", "JAEGER_QUERY_URL"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("run(-h) lacks %q:\n%s", want, out.String())
		}
	}
}
