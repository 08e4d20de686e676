package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go/ext"

	"tracelab/common/accountid"
	"tracelab/common/logging"
	"tracelab/common/messaging"
	"tracelab/common/tracing/tracingtest"
)

// newTestStore opens a real bolt file in a fresh temp dir, seeded.
func newTestStore(t *testing.T) *store {
	t.Helper()
	s, err := openStore(filepath.Join(t.TempDir(), "accounts.db"))
	if err != nil {
		t.Fatalf("openStore: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Seed(); err != nil {
		t.Fatalf("Seed: %v", err)
	}
	return s
}

// fakeQuoteService and fakeImageService stand in for the real services in handler tests:
// they answer what the real ones answer, or fail on demand.
func fakeQuoteService(t *testing.T, status int, delay time.Duration) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(Quote{Text: "Lagom är bäst.", Language: "sv", ServedBy: "fake"})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func fakeImageService(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := strings.TrimPrefix(r.URL.Path, "/accounts/")
		_ = json.NewEncoder(w).Encode(Image{ID: id, URL: "http://img/file/cake.png", ServedBy: "fake"})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// recordingPublisher stands in for RabbitMQ in handler tests (the real broker is used in
// vip_test.go). It records what was published, or fails.
type recordingPublisher struct {
	mu     sync.Mutex
	bodies [][]byte
	err    error
}

func (p *recordingPublisher) Publish(ctx context.Context, m messaging.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	p.bodies = append(p.bodies, m.Body)
	return nil
}

type fixture struct {
	handler   http.Handler
	tracer    *tracingtest.Tracer
	publisher *recordingPublisher
	events    *vipEvents // Wait for it before reading what was published
}

func newFixture(t *testing.T, quoteURL, imageURL string, timeout time.Duration) *fixture {
	t.Helper()
	f := &fixture{tracer: tracingtest.New(), publisher: &recordingPublisher{}}
	f.events = &vipEvents{log: logging.Discard(), publisher: f.publisher}
	f.handler = newServer(logging.Discard(), f.tracer, deps{
		accounts:      newTestStore(t),
		quotes:        &quoteClient{baseURL: quoteURL, http: newTracedClient("quoteservice", timeout)},
		images:        &imageClient{baseURL: imageURL, http: newTracedClient("imageservice", timeout)},
		vips:          f.events,
		amqpConnected: func() bool { return true },
	})
	return f
}

func (f *fixture) get(t *testing.T, path string) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("GET %s: body %q is not JSON: %v", path, rec.Body.String(), err)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s: Content-Type = %q, want application/json", path, ct)
	}
	return rec, body
}

func TestGetAccount(t *testing.T) {
	quotes, images := fakeQuoteService(t, http.StatusOK, 0), fakeImageService(t)
	f := newFixture(t, quotes.URL, images.URL, time.Second)

	rec, body := f.get(t, "/accounts/10001")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /accounts/10001 = %d %v, want 200", rec.Code, body)
	}
	want := map[string]any{
		"id": "10001", "name": seedName(1), "servedBy": servedBy,
		"quote":     map[string]any{"quote": "Lagom är bäst.", "language": "sv", "servedBy": "fake"},
		"imageData": map[string]any{"id": "10001", "url": "http://img/file/cake.png", "servedBy": "fake"},
	}
	if got, _ := json.Marshal(body); string(got) != mustJSON(t, want) {
		t.Errorf("GET /accounts/10001 = %s, want %s", got, mustJSON(t, want))
	}
	f.events.Wait()
	if len(f.publisher.bodies) != 0 {
		t.Errorf("non-VIP account published %d events, want 0", len(f.publisher.bodies))
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestGetAccountSpans is the trace of one account read, as a test: the server span, the
// bolt read and the two client calls as its children.
func TestGetAccountSpans(t *testing.T) {
	quotes, images := fakeQuoteService(t, http.StatusOK, 0), fakeImageService(t)
	f := newFixture(t, quotes.URL, images.URL, time.Second)
	if rec, body := f.get(t, "/accounts/10002"); rec.Code != http.StatusOK {
		t.Fatalf("GET /accounts/10002 = %d %v", rec.Code, body)
	}

	server, ok := f.tracer.Span("GET /accounts/{id}")
	if !ok {
		t.Fatalf("no single server span; spans: %v", f.tracer.Names())
	}
	tracingtest.AssertRoot(t, f.tracer, server) // no tracing headers were sent
	tracingtest.AssertServerSpan(t, server, http.StatusOK)
	if got := server.Tag("http.method"); got != "GET" {
		t.Errorf("server span tag http.method = %v (%T), want GET", got, got)
	}
	children := []struct {
		op   string
		tags map[string]any
	}{
		{"bolt get account", map[string]any{"db.type": "bolt", "found": true}},
		{"GET quoteservice", map[string]any{"span.kind": ext.SpanKindRPCClientEnum, "peer.service": "quoteservice", "http.status_code": uint16(200)}},
		{"GET imageservice", map[string]any{"span.kind": ext.SpanKindRPCClientEnum, "peer.service": "imageservice", "http.status_code": uint16(200)}},
	}
	for _, c := range children {
		span, ok := f.tracer.Span(c.op)
		if !ok {
			t.Errorf("no single span %q; spans: %v", c.op, f.tracer.Names())
			continue
		}
		tracingtest.AssertChildOf(t, f.tracer, span, server)
		for tag, want := range c.tags {
			if got := span.Tag(tag); got != want {
				t.Errorf("span %q tag %s = %v (%T), want %v", c.op, tag, got, got, want)
			}
		}
	}
}

func TestGetAccountBadInput(t *testing.T) {
	f := newFixture(t, "http://127.0.0.1:1", "http://127.0.0.1:1", time.Second)
	tests := []struct {
		path   string
		status int
		error  string
	}{
		{"/accounts/abc", 400, accountid.ErrInvalid.Error()},
		{"/accounts/-1", 400, accountid.ErrInvalid.Error()},
		{"/accounts/1e5", 400, accountid.ErrInvalid.Error()},
		{"/accounts/12345678901234567890", 400, accountid.ErrInvalid.Error()},
		{"/accounts/%20", 400, accountid.ErrInvalid.Error()},
		{"/accounts/99", 404, "no account with id 99"},
		{"/accounts/10100", 404, "no account with id 10100"},
		{"/accounts/", 404, "no route for GET /accounts/"},
		{"/nothing/here", 404, "no route for GET /nothing/here"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec, body := f.get(t, tt.path)
			if rec.Code != tt.status || body["error"] != tt.error {
				t.Errorf("GET %s = %d %v, want %d {error: %q}", tt.path, rec.Code, body, tt.status, tt.error)
			}
		})
	}
	// A client mistake is not a system error: no span may carry error=true.
	for _, s := range f.tracer.FinishedSpans() {
		if s.Tag("error") == true {
			t.Errorf("span %q tagged error for a client mistake", s.OperationName)
		}
	}
}

// TestGetAccountDegrades: with quoteservice failing, slow or down, the account is still
// served, without the quote, and the client span says what went wrong.
func TestGetAccountDegrades(t *testing.T) {
	images := fakeImageService(t)
	tests := []struct {
		name     string
		quoteURL string
	}{
		{"quoteservice down", "http://127.0.0.1:1"},
		{"quoteservice 503", fakeQuoteService(t, http.StatusServiceUnavailable, 0).URL},
		{"quoteservice slow", fakeQuoteService(t, http.StatusOK, 2*time.Second).URL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.quoteURL, images.URL, 300*time.Millisecond)
			start := time.Now()
			rec, body := f.get(t, "/accounts/10003")
			if rec.Code != http.StatusOK {
				t.Fatalf("GET /accounts/10003 = %d %v, want 200", rec.Code, body)
			}
			if elapsed := time.Since(start); elapsed > 1500*time.Millisecond {
				t.Errorf("answer took %v: the call timeout of 300ms was not applied", elapsed)
			}
			if _, has := body["quote"]; has {
				t.Errorf("body has a quote %v, want none", body["quote"])
			}
			if _, has := body["imageData"]; !has {
				t.Errorf("body lost its imageData: %v", body)
			}
			span, ok := f.tracer.Span("GET quoteservice")
			if !ok {
				t.Fatalf("no client span for quoteservice; spans: %v", f.tracer.Names())
			}
			if span.Tag("error") != true || len(span.Logs()) == 0 {
				t.Errorf("quoteservice client span: error=%v, %d logs; want error=true and a log saying why", span.Tag("error"), len(span.Logs()))
			}
			if server, _ := f.tracer.Span("GET /accounts/{id}"); server != nil && server.Tag("error") != nil {
				t.Errorf("server span tagged error=%v for a degraded 200", server.Tag("error"))
			}
		})
	}
}

func TestGetVIPAccountPublishes(t *testing.T) {
	quotes, images := fakeQuoteService(t, http.StatusOK, 0), fakeImageService(t)
	f := newFixture(t, quotes.URL, images.URL, time.Second)
	for _, id := range []string{"10000", "10010", "10090"} {
		if rec, body := f.get(t, "/accounts/"+id); rec.Code != http.StatusOK {
			t.Fatalf("GET /accounts/%s = %d %v", id, rec.Code, body)
		}
	}
	f.events.Wait() // the events go out in the background
	if len(f.publisher.bodies) != 3 {
		t.Fatalf("published %d events for 3 VIP reads, want 3", len(f.publisher.bodies))
	}
	// The events go out concurrently: in any order.
	var ids []string
	for _, body := range f.publisher.bodies {
		var ev VIPEvent
		if err := json.Unmarshal(body, &ev); err != nil || ev.Tier != "vip" || ev.OccurredAt.IsZero() {
			t.Errorf("event = %s (%v), want an accountId, tier vip, a time", body, err)
		}
		if ev.AccountID == "10000" && strings.Contains(string(body), seedName(0)) {
			t.Errorf("event %s carries the account's name: no personal data on the queue", body)
		}
		ids = append(ids, ev.AccountID)
	}
	if slices.Sort(ids); !slices.Equal(ids, []string{"10000", "10010", "10090"}) {
		t.Errorf("events for accounts %v, want 10000, 10010 and 10090", ids)
	}

	// A broker failure is logged and counted; the reader still gets the account.
	f.publisher.mu.Lock()
	f.publisher.err = errors.New("broker gone")
	f.publisher.mu.Unlock()
	if rec, body := f.get(t, "/accounts/10020"); rec.Code != http.StatusOK || body["id"] != "10020" {
		t.Errorf("GET /accounts/10020 with the broker gone = %d %v, want 200 with the account", rec.Code, body)
	}
	f.events.Wait()
	if len(f.publisher.bodies) != 3 {
		t.Errorf("%d events recorded after a failed publish, want still 3", len(f.publisher.bodies))
	}
}

func TestSeedIsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accounts.db")
	for i, want := range []int{seededCount, 0} {
		s, err := openStore(path)
		if err != nil {
			t.Fatalf("openStore: %v", err)
		}
		added, err := s.Seed()
		s.Close()
		if err != nil || added != want {
			t.Errorf("Seed() run %d = %d, %v; want %d, nil", i+1, added, err, want)
		}
	}
	s, _ := openStore(path)
	defer s.Close()
	vips := 0
	for i := range seededCount {
		acc, err := s.Get(context.Background(), itoa(firstSeededID+i))
		if err != nil {
			t.Fatalf("Get(%d) = %v", firstSeededID+i, err)
		}
		if acc.VIP {
			vips++
		}
	}
	if vips != 10 {
		t.Errorf("seeded %d VIPs, want 10 (10000 and every 10th)", vips)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// blockedPublisher waits for release before it confirms, like a broker syncing its disk.
type blockedPublisher struct {
	release chan struct{}
	done    chan struct{}
}

func (p *blockedPublisher) Publish(ctx context.Context, m messaging.Message) error {
	defer close(p.done)
	select {
	case <-p.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestVIPAnswerDoesNotWaitForBroker: a VIP reader is answered while the event's publish is
// still waiting for the broker, and the event is still sent after the answer.
func TestVIPAnswerDoesNotWaitForBroker(t *testing.T) {
	quotes, images := fakeQuoteService(t, http.StatusOK, 0), fakeImageService(t)
	f := newFixture(t, quotes.URL, images.URL, time.Second)
	blocked := &blockedPublisher{release: make(chan struct{}), done: make(chan struct{})}
	f.events.publisher = blocked

	if rec, body := f.get(t, "/accounts/10000"); rec.Code != http.StatusOK {
		t.Fatalf("GET /accounts/10000 = %d %v, want 200 while the broker has not confirmed", rec.Code, body)
	}
	select {
	case <-blocked.done:
		t.Fatal("the publish ended before it was released: it was not waiting for the broker")
	default:
	}
	close(blocked.release)
	f.events.Wait()
	select {
	case <-blocked.done:
	default:
		t.Error("Wait returned before the publish ended")
	}
}
