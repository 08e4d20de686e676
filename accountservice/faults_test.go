package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go/mocktracer"
	bolt "go.etcd.io/bbolt"

	"tracelab/common/faults"
	"tracelab/common/tracing/tracingtest"
)

// The tests of the faults that act in accountservice: each with the fault on for everyone
// (the baggage path is common/faults' and the e2e suite's), and with it off, where nothing
// may change: no fault tag, no extra span.

// switchOn switches spec on in f for everyone, and fails the test when it cannot.
func (f *fixture) switchOn(t *testing.T, spec string) {
	t.Helper()
	if err := f.sw.Set(spec); err != nil {
		t.Fatalf("Set(%q) = %v, want nil", spec, err)
	}
}

// serverSpan is the one finished server span of GET /accounts/{id}-like route op.
func serverSpan(t *testing.T, tracer *tracingtest.Tracer, op string) *mocktracer.MockSpan {
	t.Helper()
	spans := spansNamed(tracer, op)
	if len(spans) != 1 {
		t.Fatalf("spans named %q = %d (all: %v), want 1", op, len(spans), tracer.Names())
	}
	return spans[0]
}

// assertNoFaultTag checks that no finished span says fault: faults off, traces as before.
func assertNoFaultTag(t *testing.T, tracer *tracingtest.Tracer) {
	t.Helper()
	for _, s := range tracer.FinishedSpans() {
		if v := s.Tag(faults.Tag); v != nil {
			t.Errorf("span %q tag fault = %v, want none (no fault on)", s.OperationName, v)
		}
	}
}

func TestSequentialCallsFault(t *testing.T) {
	quotes, images := fakeQuoteService(t, http.StatusOK, 30*time.Millisecond), fakeImageService(t)
	for _, on := range []bool{false, true} {
		t.Run("on="+strconv.FormatBool(on), func(t *testing.T) {
			f := newFixture(t, quotes.URL, images.URL, time.Second)
			if on {
				f.switchOn(t, "sequential-calls")
			}
			rec, body := f.get(t, "/accounts/10001")
			if rec.Code != http.StatusOK || body["quote"] == nil || body["imageData"] == nil {
				t.Fatalf("GET /accounts/10001 = %d %v, want 200 with quote and image", rec.Code, body)
			}
			server := serverSpan(t, f.tracer, "GET /accounts/{id}")
			quote, image := serverSpan(t, f.tracer, "GET quoteservice"), serverSpan(t, f.tracer, "GET imageservice")
			tracingtest.AssertChildOf(t, f.tracer, quote, server)
			tracingtest.AssertChildOf(t, f.tracer, image, server)
			// The quote answers after 30ms and the image at once: at the same time, the
			// image call starts long before the quote call ends; in a staircase, after.
			staircase := !image.StartTime.Before(quote.FinishTime)
			if staircase != on {
				t.Errorf("image call started %v after the quote call ended (staircase %v), want staircase %v",
					image.StartTime.Sub(quote.FinishTime), staircase, on)
			}
			if got := server.Tag(faults.Tag); on && got != "sequential-calls" {
				t.Errorf("GetAccount server span tag fault = %v, want sequential-calls", got)
			}
			if !on {
				assertNoFaultTag(t, f.tracer)
			}
			if n := len(f.tracer.FinishedSpans()); n != 4 {
				t.Errorf("spans = %d (%v), want 4: server, bolt, quote, image", n, f.tracer.Names())
			}
		})
	}
}

// fakeFailingImageService fails the attempts numbered up to failing (by the attempt
// header; a call without one is attempt 1) with a 503, and counts the calls.
func fakeFailingImageService(t *testing.T, failing int, calls *atomic.Int64) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		attempt, err := strconv.Atoi(r.Header.Get(AttemptHeader))
		if err != nil {
			attempt = 1
		}
		if attempt <= failing {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error":"failing"}`))
			return
		}
		id := strings.TrimPrefix(r.URL.Path, "/accounts/")
		_ = json.NewEncoder(w).Encode(Image{ID: id, URL: "http://img/file/cake.png", ServedBy: "fake"})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRetryStormFault(t *testing.T) {
	tests := []struct {
		name       string
		fault      bool
		failing    int
		wantCalls  int
		wantImage  bool
		wantFailed int
	}{
		{"off, image failing: one call, no image", false, 3, 1, false, 1},
		{"on, three failing: four calls, the image", true, 3, 4, true, 3},
		{"on, always failing: the safety bound", true, 1000, maxStormAttempts, false, maxStormAttempts},
	}
	quotes := fakeQuoteService(t, http.StatusOK, 0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int64
			images := fakeFailingImageService(t, tt.failing, &calls)
			f := newFixture(t, quotes.URL, images.URL, time.Second)
			if tt.fault {
				f.switchOn(t, "retry-storm")
			}
			rec, body := f.get(t, "/accounts/10001")
			if rec.Code != http.StatusOK || (body["imageData"] != nil) != tt.wantImage {
				t.Errorf("GET /accounts/10001 = %d %v, want 200, image %v", rec.Code, body, tt.wantImage)
			}
			if got := calls.Load(); got != int64(tt.wantCalls) {
				t.Errorf("calls to imageservice = %d, want %d", got, tt.wantCalls)
			}
			server := serverSpan(t, f.tracer, "GET /accounts/{id}")
			attempts := spansNamed(f.tracer, "GET imageservice")
			failed := 0
			for _, a := range attempts {
				tracingtest.AssertChildOf(t, f.tracer, a, server) // siblings, all under the server span
				if a.Tag("error") == true {
					failed++
				}
			}
			if len(attempts) != tt.wantCalls || failed != tt.wantFailed {
				t.Errorf("imageservice client spans = %d, %d with error=true, want %d, %d", len(attempts), failed, tt.wantCalls, tt.wantFailed)
			}
			if !tt.fault {
				assertNoFaultTag(t, f.tracer)
				if got := server.Tag("image.attempts"); got != nil {
					t.Errorf("server span tag image.attempts = %v, want none (fault off)", got)
				}
				return
			}
			if got := server.Tag(faults.Tag); got != "retry-storm" {
				t.Errorf("server span tag fault = %v, want retry-storm", got)
			}
			if got := server.Tag("image.attempts"); got != tt.wantCalls {
				t.Errorf("server span tag image.attempts = %v, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestVIPErrorsFault(t *testing.T) {
	tests := []struct {
		name       string
		fault      bool
		id         string
		wantStatus int
		wantVIP    bool
	}{
		{"off, vip", false, "10000", http.StatusOK, true},
		{"off, regular", false, "10001", http.StatusOK, false},
		{"on, vip fails", true, "10000", http.StatusInternalServerError, true},
		{"on, regular is served", true, "10001", http.StatusOK, false},
	}
	quotes, images := fakeQuoteService(t, http.StatusOK, 0), fakeImageService(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, quotes.URL, images.URL, time.Second)
			if tt.fault {
				f.switchOn(t, "vip-errors")
			}
			rec, body := f.get(t, "/accounts/"+tt.id)
			if rec.Code != tt.wantStatus {
				t.Errorf("GET /accounts/%s = %d %v, want %d", tt.id, rec.Code, body, tt.wantStatus)
			}
			server := serverSpan(t, f.tracer, "GET /accounts/{id}")
			tracingtest.AssertServerSpan(t, server, tt.wantStatus)
			if got := server.Tag("account.vip"); got != tt.wantVIP {
				t.Errorf("server span tag account.vip = %v, want %v", got, tt.wantVIP)
			}
			failed := tt.wantStatus != http.StatusOK
			if got := server.Tag("error") == true; got != failed {
				t.Errorf("server span error = %v, want %v", got, failed)
			}
			if !failed {
				if body["id"] != tt.id || body["imageData"] == nil {
					t.Errorf("GET /accounts/%s body = %v, want the account with its image", tt.id, body)
				}
				assertNoFaultTag(t, f.tracer)
				return
			}
			if msg, _ := body["error"].(string); msg == "" {
				t.Errorf("GET /accounts/%s body = %v, want a JSON error", tt.id, body)
			}
			if got := server.Tag(faults.Tag); got != "vip-errors" {
				t.Errorf("server span tag fault = %v, want vip-errors", got)
			}
			if msg := tracingtest.ErrorMessage(server); !strings.Contains(msg, "vip-errors") {
				t.Errorf("server span error message = %q, want it to name vip-errors", msg)
			}
			if got := f.tracer.Names(); !reflect.DeepEqual(got, []string{"bolt get account", "GET /accounts/{id}"}) {
				t.Errorf("spans = %v, want only the bolt read and the server span: a failed VIP read calls nobody", got)
			}
			if n := f.outbox.Depth(); n != 0 {
				t.Errorf("outbox depth = %d, want 0: a failed read records no event", n)
			}
		})
	}
}

// transactionsBody is the decoded answer of GET /accounts/{id}/transactions.
type transactionsBody struct {
	AccountID    string        `json:"accountId"`
	Transactions []Transaction `json:"transactions"`
	ServedBy     string        `json:"servedBy"`
}

func getTransactions(t *testing.T, f *fixture, id string) (int, transactionsBody) {
	t.Helper()
	rec, _ := f.get(t, "/accounts/"+id+"/transactions")
	var body transactionsBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("GET /accounts/%s/transactions body %q: %v", id, rec.Body, err)
	}
	return rec.Code, body
}

func TestListTransactions(t *testing.T) {
	f := newFixture(t, "http://127.0.0.1:1", "http://127.0.0.1:1", time.Second)
	status, body := getTransactions(t, f, "10001")
	if status != http.StatusOK || body.AccountID != "10001" || body.ServedBy != servedBy {
		t.Fatalf("GET /accounts/10001/transactions = %d %+v, want 200 for account 10001", status, body)
	}
	want := seedTransactionsOf(1, "10001") // oldest first
	if len(body.Transactions) != len(want) {
		t.Fatalf("transactions = %d, want %d", len(body.Transactions), len(want))
	}
	for i, got := range body.Transactions {
		if w := want[len(want)-1-i]; !reflect.DeepEqual(got, w) {
			t.Errorf("transaction %d = %+v, want %+v (newest first)", i, got, w)
		}
	}
	server := serverSpan(t, f.tracer, "GET /accounts/{id}/transactions")
	list := serverSpan(t, f.tracer, "bolt list transactions")
	tracingtest.AssertChildOf(t, f.tracer, list, server)
	if got := list.Tag("transactions"); got != len(want) {
		t.Errorf("bolt list transactions tag transactions = %v, want %d", got, len(want))
	}
	if got := f.tracer.Names(); !reflect.DeepEqual(got, []string{"bolt get account", "bolt list transactions", "GET /accounts/{id}/transactions"}) {
		t.Errorf("spans = %v, want the account read, one list, the server span", got)
	}
	assertNoFaultTag(t, f.tracer)

	for _, tt := range []struct {
		id   string
		want int
	}{{"99999", http.StatusNotFound}, {"abc", http.StatusBadRequest}, {"0100", http.StatusBadRequest}} {
		rec, body := f.get(t, "/accounts/"+tt.id+"/transactions")
		if rec.Code != tt.want || body["error"] == nil {
			t.Errorf("GET /accounts/%s/transactions = %d %v, want %d with a JSON error", tt.id, rec.Code, body, tt.want)
		}
	}
}

func TestNPlusOneFault(t *testing.T) {
	f := newFixture(t, "http://127.0.0.1:1", "http://127.0.0.1:1", time.Second)
	_, right := getTransactions(t, f, "10002")
	f.tracer.Reset()
	f.switchOn(t, "n-plus-one")
	status, body := getTransactions(t, f, "10002")
	if status != http.StatusOK || !reflect.DeepEqual(body, right) {
		t.Errorf("GET /accounts/10002/transactions with n-plus-one = %d %+v, want the same answer as without: %+v", status, body, right)
	}
	n := len(right.Transactions)
	server := serverSpan(t, f.tracer, "GET /accounts/{id}/transactions")
	if got := server.Tag(faults.Tag); got != "n-plus-one" {
		t.Errorf("server span tag fault = %v, want n-plus-one", got)
	}
	keys := serverSpan(t, f.tracer, "bolt list transaction keys")
	reads := spansNamed(f.tracer, "bolt get transaction")
	if len(reads) != n {
		t.Errorf("bolt get transaction spans = %d, want %d: one per transaction", len(reads), n)
	}
	for _, s := range append(reads, keys) {
		tracingtest.AssertChildOf(t, f.tracer, s, server)
		if got := s.Tag(faults.Tag); got != "n-plus-one" {
			t.Errorf("span %q tag fault = %v, want n-plus-one", s.OperationName, got)
		}
	}
	if got := spansNamed(f.tracer, "bolt list transactions"); len(got) != 0 {
		t.Errorf("bolt list transactions spans = %d, want 0 with n-plus-one", len(got))
	}
}

// TestSeedTransactionsOldFile: a bolt file from before the transactions bucket (accounts
// only) gets every seeded account's transactions at the next Seed, and a second Seed
// changes nothing.
func TestSeedTransactionsOldFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accounts.db")
	old, err := openStore(path)
	if err != nil {
		t.Fatalf("openStore: %v", err)
	}
	err = old.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket(accountsBucket)
		if err != nil {
			return err
		}
		return b.Put([]byte("10000"), []byte(`{"id":"10000","name":"Ada Hopper","vip":true}`))
	})
	if err != nil {
		t.Fatalf("writing the old file: %v", err)
	}
	old.Close()

	s, err := openStore(path)
	if err != nil {
		t.Fatalf("openStore: %v", err)
	}
	defer s.Close()
	count := func() (n int) {
		_ = s.db.View(func(tx *bolt.Tx) error {
			for i := range seededCount {
				if b := accountTransactions(tx, strconv.Itoa(firstSeededID+i)); b != nil {
					n += b.Stats().KeyN
				}
			}
			return nil
		})
		return n
	}
	if n := count(); n != 0 {
		t.Fatalf("transactions before Seed = %d, want 0", n)
	}
	if added, err := s.Seed(); err != nil || added != seededCount-1 {
		t.Fatalf("Seed() = %d, %v, want %d, nil", added, err, seededCount-1)
	}
	want := 0
	for i := range seededCount {
		n := len(seedTransactionsOf(i, "x"))
		if n < 10 || n > 20 {
			t.Errorf("seeded account %d has %d transactions, want 10 to 20", i, n)
		}
		want += n
	}
	if n := count(); n != want {
		t.Errorf("transactions after Seed = %d, want %d", n, want)
	}
	if _, err := s.Seed(); err != nil || count() != want {
		t.Errorf("second Seed() = %v, transactions %d, want nil, %d", err, count(), want)
	}
}
