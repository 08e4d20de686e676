package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go/ext"
	"github.com/opentracing/opentracing-go/mocktracer"

	"tracelab/common/accountid"
	"tracelab/common/faults"
	"tracelab/common/logging"
	"tracelab/common/messaging"
	"tracelab/common/tracing/tracingtest"
	"tracelab/internal/servicetest"
)

// newTestStore opens a real bolt file in a fresh temp dir, seeded.
func newTestStore(t testing.TB) *store {
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
func fakeQuoteService(t testing.TB, status int, delay time.Duration) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(Quote{Text: "Lagom är bäst.", Language: "sv", ServedBy: "fake"})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func fakeImageService(t testing.TB) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := strings.TrimPrefix(r.URL.Path, "/accounts/")
		_ = json.NewEncoder(w).Encode(Image{ID: id, URL: "http://img/file/cake.png", ServedBy: "fake"})
	}))
	t.Cleanup(srv.Close)
	return srv
}

type fixture struct {
	handler http.Handler
	tracer  *tracingtest.Tracer
	outbox  *outbox        // the events VIP reads wrote; no relay publishes them in handler tests
	sw      *faults.Switch // no fault on; a test switches some on for everyone with sw.Set
}

func newFixture(t *testing.T, quoteURL, imageURL string, timeout time.Duration) *fixture {
	t.Helper()
	return newFixtureWithLimit(t, quoteURL, imageURL, timeout, DefaultOutboxLimit)
}

func newFixtureWithLimit(t *testing.T, quoteURL, imageURL string, timeout time.Duration, outboxLimit int) *fixture {
	t.Helper()
	accounts := newTestStore(t)
	f := &fixture{tracer: tracingtest.New(), outbox: newTestOutbox(t, accounts, outboxLimit), sw: faults.NewSwitch(true, nil)}
	f.handler = newServer(logging.Discard(), f.tracer, f.sw, deps{
		accounts: accounts,
		quotes:   &quoteClient{baseURL: quoteURL, http: newTracedClient("quoteservice", timeout)},
		images:   &imageClient{baseURL: imageURL, http: newTracedClient("imageservice", timeout)},
		outbox:   f.outbox,
		broker:   func() messaging.State { return messaging.Connected },
	})
	return f
}

// newTestOutbox opens the outbox in the store's bolt file, as run does.
func newTestOutbox(t testing.TB, accounts *store, limit int) *outbox {
	t.Helper()
	o, err := openOutbox(accounts.db, limit)
	if err != nil {
		t.Fatalf("openOutbox: %v", err)
	}
	return o
}

// pending reads every event waiting in the outbox, oldest first.
func pending(t *testing.T, o *outbox) []pendingEvent {
	t.Helper()
	events, unreadable, err := o.Oldest(1 << 20)
	if err != nil || len(unreadable) > 0 {
		t.Fatalf("Oldest() = %d unreadable, %v, want none, nil", len(unreadable), err)
	}
	return events
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
	if n := f.outbox.Depth(); n != 0 {
		t.Errorf("outbox depth after a non-VIP read = %d, want 0", n)
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
// bolt read and the two client calls as its children, and for a VIP the outbox write too
// (the relay's publish, later, follows from it: relay_test.go, vip_test.go).
func TestGetAccountSpans(t *testing.T) {
	quotes, images := fakeQuoteService(t, http.StatusOK, 0), fakeImageService(t)
	type child struct {
		op   string
		tags map[string]any
	}
	children := []child{
		{"bolt get account", map[string]any{"db.type": "bolt", "found": true}},
		{"GET quoteservice", map[string]any{"span.kind": ext.SpanKindRPCClientEnum, "peer.service": "quoteservice", "http.status_code": uint16(200)}},
		{"GET imageservice", map[string]any{"span.kind": ext.SpanKindRPCClientEnum, "peer.service": "imageservice", "http.status_code": uint16(200)}},
	}
	tests := []struct {
		name, id string
		extra    []child
	}{
		{"regular", "10002", nil},
		{"vip", "10000", []child{{"outbox write", map[string]any{"db.type": "bolt", "db.instance": "outbox"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, quotes.URL, images.URL, time.Second)
			if rec, body := f.get(t, "/accounts/"+tt.id); rec.Code != http.StatusOK {
				t.Fatalf("GET /accounts/%s = %d %v", tt.id, rec.Code, body)
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
			for _, c := range append(children, tt.extra...) {
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
			if want := 1 + len(children) + len(tt.extra); len(f.tracer.FinishedSpans()) != want {
				t.Errorf("%d spans %v, want %d: the server span and its children above", len(f.tracer.FinishedSpans()), f.tracer.Names(), want)
			}
			if tt.extra != nil {
				write, _ := f.tracer.Span("outbox write")
				if got, want := write.Tag("event.id"), pending(t, f.outbox)[0].ID; got != want {
					t.Errorf("outbox write tag event.id = %v, want the event's %q", got, want)
				}
			}
		})
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

// TestGetVIPAccountWritesOutbox: every VIP read leaves one event in the outbox, with an id
// of its own, before the answer; no name, and nothing for a regular account.
func TestGetVIPAccountWritesOutbox(t *testing.T) {
	quotes, images := fakeQuoteService(t, http.StatusOK, 0), fakeImageService(t)
	f := newFixture(t, quotes.URL, images.URL, time.Second)
	for _, id := range []string{"10000", "10010", "10001", "10090", "10000"} {
		if rec, body := f.get(t, "/accounts/"+id); rec.Code != http.StatusOK {
			t.Fatalf("GET /accounts/%s = %d %v", id, rec.Code, body)
		}
	}
	events := pending(t, f.outbox)
	if len(events) != 4 || f.outbox.Depth() != 4 {
		t.Fatalf("outbox holds %d events (depth %d) after 4 VIP reads and a regular one, want 4", len(events), f.outbox.Depth())
	}
	var accounts []string
	ids := map[string]bool{}
	for _, e := range events {
		var ev VIPEvent
		if err := json.Unmarshal(e.Body, &ev); err != nil || ev.Tier != "vip" || ev.OccurredAt.IsZero() || ev.ID != e.ID || len(ev.ID) != 32 {
			t.Errorf("event = %s (%v) under id %q, want its 32-hex id, an accountId, tier vip, a time", e.Body, err, e.ID)
		}
		if strings.Contains(string(e.Body), seedName(0)) || strings.Contains(string(e.Body), seedName(10)) {
			t.Errorf("event %s carries the account's name: no personal data on the queue", e.Body)
		}
		if len(e.Trace) == 0 {
			t.Errorf("event %s kept no span context: the relay's publish could not follow from the write", e.ID)
		}
		ids[ev.ID] = true
		accounts = append(accounts, ev.AccountID)
	}
	// The reads ran one after the other: the outbox keeps their order.
	if want := []string{"10000", "10010", "10090", "10000"}; !slices.Equal(accounts, want) {
		t.Errorf("events for accounts %v, want %v", accounts, want)
	}
	if len(ids) != 4 {
		t.Errorf("%d distinct event ids for 4 events, want 4: the second read of 10000 is an event of its own", len(ids))
	}
}

// TestOutboxLimit: a full outbox refuses the event, counts it and says so in /healthz;
// the reader still gets the account.
func TestOutboxLimit(t *testing.T) {
	quotes, images := fakeQuoteService(t, http.StatusOK, 0), fakeImageService(t)
	f := newFixtureWithLimit(t, quotes.URL, images.URL, time.Second, 2)
	for _, id := range []string{"10000", "10010", "10020"} {
		if rec, body := f.get(t, "/accounts/"+id); rec.Code != http.StatusOK || body["id"] != id {
			t.Errorf("GET /accounts/%s with the outbox full = %d %v, want 200 with the account", id, rec.Code, body)
		}
	}
	if depth, refused := f.outbox.Depth(), f.outbox.Refused(); depth != 2 || refused != 1 {
		t.Errorf("outbox depth, refused = %d, %d, want 2, 1", depth, refused)
	}
	if write := spansNamed(f.tracer, "outbox write"); len(write) != 3 || write[2].Tag("outbox.full") != true {
		t.Errorf("outbox write spans = %d, the last tagged outbox.full = %v, want 3 and true", len(write), write[len(write)-1].Tag("outbox.full"))
	}
	_, health := f.get(t, "/healthz")
	want := map[string]any{"status": "ok", "service": serviceName, "amqp": "connected",
		"outbox": map[string]any{"depth": 2.0, "limit": 2.0, "refused": 1.0},
		"faults": map[string]any{"enabled": true, "active": "", "ignored": 0.0}}
	if !reflect.DeepEqual(health, want) {
		t.Errorf("GET /healthz = %v, want %v", health, want)
	}
}

// spansNamed returns the finished spans called op, in the order they finished.
func spansNamed(tracer *tracingtest.Tracer, op string) []*mocktracer.MockSpan {
	var spans []*mocktracer.MockSpan
	for _, s := range tracer.FinishedSpans() {
		if s.OperationName == op {
			spans = append(spans, s)
		}
	}
	return spans
}

// TestQuoteAndImageConcurrently: the fake quote and image services each wait (up to 2s)
// until the other one has been called, and answer 503 when it was not: a handler that
// calls them one after the other loses the quote or the image.
func TestQuoteAndImageConcurrently(t *testing.T) {
	quoteCalled, imageCalled := make(chan struct{}), make(chan struct{})
	meet := func(mine, other chan struct{}, next http.Handler) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(mine) // one call each: a second would panic, and fail the test
			select {
			case <-other:
				next.ServeHTTP(w, r)
			case <-time.After(2 * time.Second):
				http.Error(w, "the other call never came while this one was waiting", http.StatusServiceUnavailable)
			}
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	quotes := meet(quoteCalled, imageCalled, fakeQuoteService(t, http.StatusOK, 0).Config.Handler)
	images := meet(imageCalled, quoteCalled, fakeImageService(t).Config.Handler)
	f := newFixture(t, quotes.URL, images.URL, 5*time.Second)

	rec, body := f.get(t, "/accounts/10000")
	if rec.Code != http.StatusOK || body["quote"] == nil || body["imageData"] == nil {
		t.Errorf("GET /accounts/10000 = %d %v, want 200 with a quote and an image: they must be asked for at the same time", rec.Code, body)
	}
}

// TestVIPEventOutlivesTheRequest: the request's context is cancelled the moment the answer
// is written, as net/http does when the handler returns (httptest's never is). The event
// must still be in the outbox, and go out when the relay runs.
func TestVIPEventOutlivesTheRequest(t *testing.T) {
	quotes, images := fakeQuoteService(t, http.StatusOK, 0), fakeImageService(t)
	f := newFixture(t, quotes.URL, images.URL, time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/accounts/10000", nil).WithContext(ctx))
	cancel()
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /accounts/10000 = %d %s, want 200", rec.Code, rec.Body)
	}

	publisher := newFakePublisher()
	runRelay(t, &relay{outbox: f.outbox, publisher: publisher, tracer: f.tracer, log: logging.Discard()})
	servicetest.WaitFor(t, "the event published and deleted", func() bool { return f.outbox.Depth() == 0 })
	if got := publisher.ids(); len(got) != 1 {
		t.Errorf("published %v after a VIP read whose context ended with the answer, want one event", got)
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

// TestHealthz: the broker's state and the outbox are reported and never fail the probe;
// only a bolt file that cannot be read does.
func TestHealthz(t *testing.T) {
	tests := []struct {
		name       string
		state      messaging.State
		closeBolt  bool
		wantStatus int
		want       string
	}{
		{"connected", messaging.Connected, false, http.StatusOK, `{"status":"ok","service":"accountservice","amqp":"connected","outbox":{"depth":0,"limit":10000,"refused":0},"faults":{"enabled":true,"active":"","ignored":0}}`},
		{"reconnecting", messaging.Reconnecting, false, http.StatusOK, `{"status":"ok","service":"accountservice","amqp":"reconnecting","outbox":{"depth":0,"limit":10000,"refused":0},"faults":{"enabled":true,"active":"","ignored":0}}`},
		{"blocked", messaging.Blocked, false, http.StatusOK, `{"status":"ok","service":"accountservice","amqp":"blocked","outbox":{"depth":0,"limit":10000,"refused":0},"faults":{"enabled":true,"active":"","ignored":0}}`},
		{"bolt closed", messaging.Connected, true, http.StatusServiceUnavailable, `{"status":"bolt unavailable","service":"accountservice","amqp":"connected","outbox":{"depth":0,"limit":10000,"refused":0},"faults":{"enabled":true,"active":"","ignored":0}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			accounts := newTestStore(t)
			events := newTestOutbox(t, accounts, DefaultOutboxLimit)
			if tt.closeBolt {
				accounts.Close()
			}
			rec := httptest.NewRecorder()
			handleHealthz(accounts, events, func() messaging.State { return tt.state }, faults.NewSwitch(true, nil)).
				ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
			if got := strings.TrimSpace(rec.Body.String()); rec.Code != tt.wantStatus || got != tt.want {
				t.Errorf("GET /healthz = %d %s, want %d %s", rec.Code, got, tt.wantStatus, tt.want)
			}
		})
	}
}
