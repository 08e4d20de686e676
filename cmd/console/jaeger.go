package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"tracelab/common/respond"
	"tracelab/internal/jaegerapi"
)

// jaegerTimeout bounds one call to Jaeger's query API: a Jaeger that hangs gets the page a
// sentence, never a spinner forever.
const jaegerTimeout = 10 * time.Second

// maxJaegerAnswer is the most the console reads of one answer (a search of 1500 big traces).
const maxJaegerAnswer = 64 << 20

// jaegerProxy passes the page's reads on to Jaeger's query API. It checks every id and query
// key itself, so that a typo gets a sentence the page can show instead of Jaeger's parse
// error, and only the reads the page needs reach Jaeger.
type jaegerProxy struct {
	log     *slog.Logger
	base    string
	client  *http.Client
	timeout time.Duration
}

func newJaegerProxy(log *slog.Logger, base string, timeout time.Duration) *jaegerProxy {
	if timeout <= 0 {
		timeout = jaegerTimeout
	}
	return &jaegerProxy{log: log, base: base, client: &http.Client{}, timeout: timeout}
}

// errJaeger is an answer the console could not get from Jaeger: a 502 with a sentence.
type errJaeger struct{ msg string }

func (e errJaeger) Error() string { return e.msg }

// get calls Jaeger and returns its status and body. A Jaeger that does not answer, or not
// in time, is an errJaeger.
func (p *jaegerProxy) get(ctx context.Context, path string, query url.Values) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	u := p.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return 0, nil, errJaeger{fmt.Sprintf("Jaeger's query API at %s did not answer within %v: is it overloaded or stuck?", p.base, p.timeout)}
		}
		return 0, nil, errJaeger{fmt.Sprintf("Jaeger's query API at %s cannot be reached (%v): is Jaeger running? make run starts it; else set JAEGER_QUERY_URL", p.base, rootCause(err))}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJaegerAnswer))
	if err != nil {
		return 0, nil, errJaeger{fmt.Sprintf("Jaeger's query API at %s broke off its answer: %v", p.base, rootCause(err))}
	}
	return resp.StatusCode, body, nil
}

// pass answers the page with Jaeger's answer as it is, or a JSON error saying what went
// wrong: notFound is the sentence for Jaeger's 404.
func (p *jaegerProxy) pass(w http.ResponseWriter, r *http.Request, path string, query url.Values, notFound string) {
	status, body, err := p.get(r.Context(), path, query)
	var ej errJaeger
	switch {
	case errors.As(err, &ej):
		p.log.WarnContext(r.Context(), "jaeger", "url.path", path, "err", err)
		respond.Error(w, http.StatusBadGateway, ej.msg)
	case err != nil:
		p.log.ErrorContext(r.Context(), "jaeger", "url.path", path, "err", err)
		respond.Error(w, http.StatusBadGateway, "the console could not ask Jaeger: "+err.Error())
	case status == http.StatusOK:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	case status == http.StatusNotFound && notFound != "":
		respond.Error(w, http.StatusNotFound, notFound)
	case status >= 400 && status < 500:
		// The console checked the query; what Jaeger still refuses is said in its words.
		respond.Error(w, http.StatusBadRequest, "Jaeger refused the query: "+jaegerMessage(status, body))
	default:
		p.log.WarnContext(r.Context(), "jaeger", "url.path", path, "http.response.status_code", status)
		respond.Error(w, http.StatusBadGateway, fmt.Sprintf("Jaeger's query API at %s answered %d: %s", p.base, status, jaegerMessage(status, body)))
	}
}

// jaegerMessage is the first error of Jaeger's envelope, else the status text.
func jaegerMessage(status int, body []byte) string {
	var env struct {
		Errors []struct {
			Msg string `json:"msg"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &env) == nil && len(env.Errors) > 0 && env.Errors[0].Msg != "" {
		return env.Errors[0].Msg
	}
	return http.StatusText(status)
}

// services is GET /api/jaeger/services: the services Jaeger has spans of.
func (p *jaegerProxy) services() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if badKeys(w, r, nil) {
			return
		}
		p.pass(w, r, "/api/services", nil, "")
	})
}

// operations is GET /api/jaeger/services/{svc}/operations: the span names of one service.
func (p *jaegerProxy) operations() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		svc := r.PathValue("svc")
		if err := checkName("service", svc); err != nil {
			respond.Error(w, http.StatusBadRequest, err.Error())
			return
		}
		if badKeys(w, r, nil) {
			return
		}
		p.pass(w, r, "/api/services/"+url.PathEscape(svc)+"/operations", nil, "")
	})
}

// trace is GET /api/jaeger/traces/{id}: one trace, the deep link's read.
func (p *jaegerProxy) trace() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if !jaegerapi.IsTraceID(id) {
			respond.Error(w, http.StatusBadRequest, fmt.Sprintf("%.80q is not a trace id: want 1 to 32 hex digits, as in the X-Trace-Id header of an answer", id))
			return
		}
		if badKeys(w, r, nil) {
			return
		}
		p.pass(w, r, "/api/traces/"+id, nil,
			fmt.Sprintf("no trace %s in Jaeger: its spans may not have arrived yet (try again in a second), or Jaeger was restarted (it keeps traces in memory)", id))
	})
}

// searchKeys are the query keys a search may carry; any other is refused, so the page's
// mistakes show up here instead of being ignored by Jaeger.
var searchKeys = []string{"service", "operation", "minDuration", "tags", "lookback", "start", "end", "limit"}

// maxLimit is the most traces a search returns: enough for a workshop, small enough for a page.
const maxLimit = 1500

// search is GET /api/jaeger/traces: Jaeger's trace search, with every value checked.
func (p *jaegerProxy) search() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if badKeys(w, r, searchKeys) {
			return
		}
		q, err := searchQuery(r.URL.Query(), time.Now())
		if err != nil {
			respond.Error(w, http.StatusBadRequest, err.Error())
			return
		}
		p.pass(w, r, "/api/traces", q, "")
	})
}

// searchQuery checks the page's search and turns it into Jaeger's: lookback becomes start
// and end (Jaeger's API ignores lookback; its UI does the same), an hour when neither is given.
func searchQuery(in url.Values, now time.Time) (url.Values, error) {
	out := url.Values{}
	svc := in.Get("service")
	if svc == "" {
		return nil, errors.New("service is missing: Jaeger searches the traces of one service (GET /api/jaeger/services lists them)")
	}
	if err := checkName("service", svc); err != nil {
		return nil, err
	}
	out.Set("service", svc)
	if op := in.Get("operation"); op != "" {
		if err := checkName("operation", op); err != nil {
			return nil, err
		}
		out.Set("operation", op)
	}
	if v := in.Get("minDuration"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("minDuration=%.40q: want a duration such as 100ms or 1.5s", v)
		}
		out.Set("minDuration", v)
	}
	if v := in.Get("tags"); v != "" {
		var tags map[string]string
		if err := json.Unmarshal([]byte(v), &tags); err != nil || len(tags) == 0 {
			return nil, fmt.Errorf("tags=%.80q: want a JSON object of strings, such as {\"error\":\"true\"} or {\"fault\":\"slow-quote\"}", v)
		}
		out.Set("tags", v)
	}
	end := now
	if v := in.Get("end"); v != "" {
		us, err := micros("end", v)
		if err != nil {
			return nil, err
		}
		end = time.UnixMicro(us)
	}
	start := end.Add(-time.Hour)
	if v := in.Get("lookback"); v != "" {
		d, err := lookback(v)
		if err != nil {
			return nil, err
		}
		start = end.Add(-d)
	}
	if v := in.Get("start"); v != "" {
		us, err := micros("start", v)
		if err != nil {
			return nil, err
		}
		start = time.UnixMicro(us)
	}
	if !start.Before(end) {
		return nil, errors.New("start is not before end: the search window is empty")
	}
	out.Set("start", strconv.FormatInt(start.UnixMicro(), 10))
	out.Set("end", strconv.FormatInt(end.UnixMicro(), 10))
	limit := 100
	if v := in.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return nil, fmt.Errorf("limit=%.20q: want a whole number from 1 to %d", v, maxLimit)
		}
		limit = n
	}
	out.Set("limit", strconv.Itoa(limit))
	return out, nil
}

// dependencies is GET /api/jaeger/dependencies?lookback=: who called whom, up to now.
func (p *jaegerProxy) dependencies() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if badKeys(w, r, []string{"lookback"}) {
			return
		}
		d := time.Hour
		if v := r.URL.Query().Get("lookback"); v != "" {
			var err error
			if d, err = lookback(v); err != nil {
				respond.Error(w, http.StatusBadRequest, err.Error())
				return
			}
		}
		q := url.Values{
			"endTs":    {strconv.FormatInt(time.Now().UnixMilli(), 10)},
			"lookback": {strconv.FormatInt(d.Milliseconds(), 10)},
		}
		p.pass(w, r, "/api/dependencies", q, "")
	})
}

// maxLookback is the longest window a search or the graph reads: Jaeger keeps its traces in
// memory, so a week is more than any run holds.
const maxLookback = 7 * 24 * time.Hour

// lookback reads a window: a whole number of milliseconds (as Jaeger's dependencies API
// takes it), or a duration such as 15m or 2h.
func lookback(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if ms, errMS := strconv.ParseInt(v, 10, 64); errMS == nil {
		d, err = time.Duration(ms)*time.Millisecond, nil
	}
	if err != nil || d <= 0 || d > maxLookback {
		return 0, fmt.Errorf("lookback=%.40q: want milliseconds (3600000) or a duration (1h, 15m), more than 0 and at most %v", v, maxLookback)
	}
	return d, nil
}

// micros reads a time as microseconds since the epoch, as Jaeger's start and end are.
func micros(key, v string) (int64, error) {
	us, err := strconv.ParseInt(v, 10, 64)
	if err != nil || us <= 0 {
		return 0, fmt.Errorf("%s=%.40q: want microseconds since 1970 (Date.now()*1000)", key, v)
	}
	return us, nil
}

// badKeys refuses, with a 400, a query with a key not in allowed or a key given twice.
func badKeys(w http.ResponseWriter, r *http.Request, allowed []string) bool {
	for key, values := range r.URL.Query() {
		known := false
		for _, a := range allowed {
			known = known || a == key
		}
		switch {
		case !known && len(allowed) == 0:
			respond.Error(w, http.StatusBadRequest, fmt.Sprintf("unknown query key %.40q: %s takes none", key, r.URL.Path))
			return true
		case !known:
			respond.Error(w, http.StatusBadRequest, fmt.Sprintf("unknown query key %.40q: %s takes %s", key, r.URL.Path, strings.Join(allowed, ", ")))
			return true
		case len(values) > 1:
			respond.Error(w, http.StatusBadRequest, fmt.Sprintf("query key %q is given %d times: give it once", key, len(values)))
			return true
		}
	}
	return false
}

// checkName accepts a service or operation name: printable, not too long.
func checkName(what, s string) error {
	if s == "" || len(s) > 200 {
		return fmt.Errorf("%s %.40q: want a name of 1 to 200 characters", what, s)
	}
	for _, c := range s {
		if !unicode.IsPrint(c) {
			return fmt.Errorf("%s %.40q: a name has no control characters", what, s)
		}
	}
	return nil
}

// rootCause drops url.Error's "Get "http://...": " in front of what went wrong.
func rootCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
