package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"tracelab/internal/jaegerapi"
)

// The trees below are what Jaeger must hold for each kind of request. Read them as the
// answer to "what does a correct trace of this look like?".

// accountRead is the part every account read shares: accountservice's server span, its bolt
// read, and the two HTTP calls it makes at the same time, each with the server span of the
// service it called. extra adds what some reads have on top (the VIP event).
func accountRead(extra ...span) span {
	return client("edge", "accountservice", 200,
		server("accountservice", "GET /accounts/{id}", 200, append([]span{
			internal("accountservice", "bolt get account").with("found=true"),
			client("accountservice", "quoteservice", 200,
				server("quoteservice", "GET /api/quote", 200)),
			client("accountservice", "imageservice", 200,
				server("imageservice", "GET /accounts/{id}", 200)),
		}, extra...)...))
}

// edgeRoot is the edge's server span, where every request's trace starts.
func edgeRoot(status int, children ...span) span {
	return server("edge", "GET /api/accounts/{id...}", status, children...).root()
}

// vipTrace: reading a VIP account also sends an event, through the outbox. The outbox
// write (the event committed to accountservice's bolt file, beside the two calls) is a
// child of accountservice's server span. The relay publishes the event a moment later,
// or minutes later if the broker was away: its producer span FOLLOWS_FROM the outbox
// write, whose span context was kept with the event. vipservice's consumer span
// FOLLOWS_FROM the producer, because the publisher does not wait for it either, and
// vipservice's own work is a child of the consumer span. Twelve spans, five services, one
// trace.
func vipTrace() span {
	return edgeRoot(200, accountRead(
		internal("accountservice", "outbox write",
			relayed(producer("accountservice", vipQueue,
				consumer("vipservice", vipQueue,
					internal("vipservice", "record vip event"))))).with("db.type=bolt", "db.instance=outbox")))
}

// relayed is a producer span that FOLLOWS_FROM what it publishes (an outbox write): the
// relay publishes on its own time, not as part of the request.
func relayed(s span) span { s.ref = "FOLLOWS_FROM"; return s }

// regularTrace: a non-VIP account: no messaging spans at all. Eight spans.
func regularTrace() span {
	return edgeRoot(200, accountRead())
}

// unknownTrace: an account that does not exist. accountservice answers 404 after the bolt
// read found nothing, and calls nobody. A 404 is the caller's mistake, not the system's:
// no span says error, on either side.
func unknownTrace() span {
	return edgeRoot(404,
		client("edge", "accountservice", 404,
			server("accountservice", "GET /accounts/{id}", 404,
				internal("accountservice", "bolt get account").with("found=false"))))
}

// quoteDownTrace: quoteservice is stopped. accountservice's call to it fails (error=true,
// with a log saying why) and there is no quoteservice span; the account is still served,
// so every server span says 200.
func quoteDownTrace() span {
	return edgeRoot(200,
		client("edge", "accountservice", 200,
			server("accountservice", "GET /accounts/{id}", 200,
				internal("accountservice", "bolt get account"),
				failedClient("accountservice", "quoteservice"),
				client("accountservice", "imageservice", 200,
					server("imageservice", "GET /accounts/{id}", 200)))))
}

func TestVIPTrace(t *testing.T) {
	t.Parallel()
	resp, body, id := get(t, "/api/accounts/10000", nil)
	assertAccount(t, resp, body, "10000", true)
	tr := waitForTrace(t, id, vipTrace().count())
	assertTrace(t, tr, vipTrace())
	assertCallsConcurrent(t, tr)
}

func TestRegularTrace(t *testing.T) {
	t.Parallel()
	resp, body, id := get(t, "/api/accounts/10001", nil)
	assertAccount(t, resp, body, "10001", true)
	tr := waitForTrace(t, id, regularTrace().count())
	assertTrace(t, tr, regularTrace())
	assertCallsConcurrent(t, tr)
	for _, s := range tr.Spans {
		if kind, _ := s.Tag("span.kind"); kind == "producer" || kind == "consumer" {
			t.Errorf("span %q is a %s span: a regular account sends no message", s.OperationName, kind)
		}
	}
}

func TestUnknownAccountTrace(t *testing.T) {
	t.Parallel()
	resp, body, id := get(t, "/api/accounts/99", nil)
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, `"error"`) {
		t.Errorf("GET /api/accounts/99 = %d %s, want 404 with a JSON error", resp.StatusCode, body)
	}
	assertTrace(t, waitForTrace(t, id, unknownTrace().count()), unknownTrace())
}

// TestQuoteServiceDownTrace is the one test that is not parallel: Go runs it before the
// parallel ones start, so quoteservice is back before anyone else needs it.
func TestQuoteServiceDownTrace(t *testing.T) {
	if err := land.Pause("quoteservice"); err != nil {
		t.Fatalf("Pause(quoteservice) = %v", err)
	}
	t.Cleanup(func() {
		if err := land.Resume(context.Background(), "quoteservice"); err != nil {
			t.Errorf("Resume(quoteservice) = %v: later tests will miss it", err)
		}
	})
	resp, body, id := get(t, "/api/accounts/10002", nil)
	assertAccount(t, resp, body, "10002", false)

	tr := waitForTrace(t, id, quoteDownTrace().count())
	assertTrace(t, tr, quoteDownTrace())
	for _, s := range tr.Spans {
		if s.OperationName == "GET quoteservice" && !loggedError(s, "connection refused") {
			t.Errorf("span %q logs %v, want an error event saying connection refused", s.OperationName, s.Logs)
		}
	}
}

// assertCallsConcurrent checks that accountservice asked quoteservice and imageservice at
// the same time, which the tree alone cannot tell: the two client spans overlap. On a busy
// machine they may not, the calls lasting half a millisecond: the quote's goroutine can
// start after the image call (made by the handler itself) has ended. What a handler that
// calls one after the other does, the quote first, the image once the quote is back, is
// never the result of a late goroutine, and fails.
func assertCallsConcurrent(t *testing.T, tr jaegerapi.Trace) {
	t.Helper()
	var quote, image *jaegerapi.Span
	for i, s := range tr.Spans {
		if tr.Service(s) != "accountservice" {
			continue
		}
		switch s.OperationName {
		case "GET quoteservice":
			quote = &tr.Spans[i]
		case "GET imageservice":
			image = &tr.Spans[i]
		}
	}
	if quote == nil || image == nil {
		t.Errorf("trace %s lacks accountservice's call to quoteservice or imageservice", tr.TraceID)
		return
	}
	if quoteEnd := quote.StartTime + quote.Duration; quoteEnd <= image.StartTime {
		t.Errorf("the image call began at %d µs, after the quote call ended (%d µs): the calls were made one after the other",
			image.StartTime, quoteEnd)
	}
}

// loggedError reports whether s logged an error event whose fields mention text.
func loggedError(s jaegerapi.Span, text string) bool {
	for _, l := range s.Logs {
		isError, mentions := false, false
		for _, f := range l.Fields {
			v := fmt.Sprint(f.Value)
			isError = isError || (f.Key == "event" && v == "error")
			mentions = mentions || strings.Contains(v, text)
		}
		if isError && mentions {
			return true
		}
	}
	return false
}

// assertAccount checks the answer to an account read: 200, the JSON shape of the design,
// and the quote present only when quoteservice was up.
func assertAccount(t *testing.T, resp *http.Response, body, id string, withQuote bool) {
	t.Helper()
	var acc struct {
		ID        string          `json:"id"`
		Name      string          `json:"name"`
		ServedBy  string          `json:"servedBy"`
		Quote     json.RawMessage `json:"quote"`
		ImageData struct {
			ID, URL, ServedBy string
		} `json:"imageData"`
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET account %s = %d %s, want 200", id, resp.StatusCode, body)
	}
	if err := json.Unmarshal([]byte(body), &acc); err != nil || acc.ID != id || acc.Name == "" || acc.ServedBy == "" || acc.ImageData.URL == "" {
		t.Errorf("account %s body = %s (%v), want id, name, servedBy and imageData", id, body, err)
	}
	if got := acc.Quote != nil; got != withQuote {
		t.Errorf("account %s body has a quote: %v, want %v (%s)", id, got, withQuote, body)
	}
}

// newID returns n random bytes in hex: a trace or span id a caller might make.
func newID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	b[0] |= 0x10 // no leading zero: ids are compared as Jaeger prints them
	return hex.EncodeToString(b)
}
