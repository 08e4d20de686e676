// Package jaegerapi reads traces from Jaeger's query API (the JSON API behind its UI, on
// :16686), for the tools and tests that check what Jaeger really stored.
package jaegerapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Trace is one trace as the query API returns it.
type Trace struct {
	TraceID   string             `json:"traceID"`
	Spans     []Span             `json:"spans"`
	Processes map[string]Process `json:"processes"`
}

// Process is the service that reported spans.
type Process struct {
	ServiceName string `json:"serviceName"`
	Tags        []KV   `json:"tags"`
}

// Span is one span. Times are in microseconds.
type Span struct {
	TraceID       string      `json:"traceID"`
	SpanID        string      `json:"spanID"`
	OperationName string      `json:"operationName"`
	References    []Reference `json:"references"`
	StartTime     int64       `json:"startTime"`
	Duration      int64       `json:"duration"`
	Tags          []KV        `json:"tags"`
	Logs          []Log       `json:"logs"`
	ProcessID     string      `json:"processID"`
}

// Reference links a span to another: RefType is "CHILD_OF" or "FOLLOWS_FROM".
type Reference struct {
	RefType string `json:"refType"`
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
}

// KV is a tag or a log field.
type KV struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// Log is an event logged on a span.
type Log struct {
	Timestamp int64 `json:"timestamp"`
	Fields    []KV  `json:"fields"`
}

// Tag returns the value of the span's tag key as a string ("" and false when absent).
// Numbers and booleans are formatted the way they read: 200, true.
func (s Span) Tag(key string) (string, bool) {
	for _, kv := range s.Tags {
		if kv.Key == key {
			return fmt.Sprint(kv.Value), true
		}
	}
	return "", false
}

// Service is the name of the service that reported s.
func (t Trace) Service(s Span) string { return t.Processes[s.ProcessID].ServiceName }

// ErrNotFound is returned when Jaeger has no trace with that id.
var ErrNotFound = errors.New("trace not found")

// Client talks to one Jaeger query API.
type Client struct {
	BaseURL string // e.g. http://localhost:16686
	HTTP    *http.Client
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 10 * time.Second}
}

// envelopeOf is how the query API wraps every answer.
type envelopeOf[T any] struct {
	Data   T `json:"data"`
	Errors []struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	} `json:"errors"`
}

type envelope = envelopeOf[[]Trace]

// Trace fetches the trace with the given id.
func (c *Client) Trace(ctx context.Context, id string) (Trace, error) {
	traces, err := c.get(ctx, "/api/traces/"+url.PathEscape(id))
	if err != nil {
		return Trace{}, err
	}
	if len(traces) == 0 {
		return Trace{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return traces[0], nil
}

// Latest returns the newest trace that has a span of service, searching the last hour.
func (c *Client) Latest(ctx context.Context, service string) (Trace, error) {
	// The query API searches between start and end (microseconds); it ignores lookback.
	now := time.Now()
	q := url.Values{
		"service": {service},
		"start":   {strconv.FormatInt(now.Add(-time.Hour).UnixMicro(), 10)},
		"end":     {strconv.FormatInt(now.UnixMicro(), 10)},
		"limit":   {"50"},
	}
	traces, err := c.get(ctx, "/api/traces?"+q.Encode())
	if err != nil {
		return Trace{}, err
	}
	if len(traces) == 0 {
		return Trace{}, fmt.Errorf("%w: none for service %s in the last hour", ErrNotFound, service)
	}
	// The API returns traces in no particular order.
	latest := traces[0]
	for _, t := range traces[1:] {
		if t.start() > latest.start() {
			latest = t
		}
	}
	return latest, nil
}

// start is the trace's earliest span start.
func (t Trace) start() int64 {
	var min int64
	for i, s := range t.Spans {
		if i == 0 || s.StartTime < min {
			min = s.StartTime
		}
	}
	return min
}

func (c *Client) get(ctx context.Context, path string) ([]Trace, error) {
	return fetch[[]Trace](ctx, c, path)
}

// fetch GETs path and returns the data of the answer's envelope.
func fetch[T any](ctx context.Context, c *Client, path string) (T, error) {
	var none T
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+path, nil)
	if err != nil {
		return none, err
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return none, fmt.Errorf("Jaeger query API at %s: %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return none, err
	}
	var env envelopeOf[T]
	if err := json.Unmarshal(body, &env); err != nil {
		return none, fmt.Errorf("Jaeger query API answered %s with %.200q: %w", resp.Status, body, err)
	}
	if resp.StatusCode == http.StatusNotFound {
		return none, ErrNotFound
	}
	if resp.StatusCode != http.StatusOK {
		msg := resp.Status
		if len(env.Errors) > 0 {
			msg = env.Errors[0].Msg
		}
		return none, fmt.Errorf("Jaeger query API: %s", msg)
	}
	return env.Data, nil
}

// Dependency is an edge of Jaeger's dependency graph: Parent called Child CallCount times.
type Dependency struct {
	Parent    string `json:"parent"`
	Child     string `json:"child"`
	CallCount int    `json:"callCount"`
}

// Dependencies returns the graph of which service called which, from the spans of the
// lookback before end (the in-memory store computes it from the traces it holds).
func (c *Client) Dependencies(ctx context.Context, end time.Time, lookback time.Duration) ([]Dependency, error) {
	q := url.Values{
		"endTs":    {strconv.FormatInt(end.UnixMilli(), 10)},
		"lookback": {strconv.FormatInt(lookback.Milliseconds(), 10)},
	}
	return fetch[[]Dependency](ctx, c, "/api/dependencies?"+q.Encode())
}

// Query is a search of the query API: the traces of Service (required by Jaeger) that
// have a span of Operation (optional) carrying every tag of Tags, started between Start
// and End. The workshop's checks search from the moment a lab was set up, so that traces
// made before the learner's change cannot count.
type Query struct {
	Service   string
	Operation string
	Tags      map[string]string
	Start     time.Time
	End       time.Time // zero: now
	Limit     int       // zero: 100
}

// Search returns the traces that match q, oldest first.
func (c *Client) Search(ctx context.Context, q Query) ([]Trace, error) {
	end := q.End
	if end.IsZero() {
		end = time.Now()
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	v := url.Values{
		"service": {q.Service},
		"start":   {strconv.FormatInt(q.Start.UnixMicro(), 10)},
		"end":     {strconv.FormatInt(end.UnixMicro(), 10)},
		"limit":   {strconv.Itoa(limit)},
	}
	if q.Operation != "" {
		v.Set("operation", q.Operation)
	}
	if len(q.Tags) > 0 {
		tags, err := json.Marshal(q.Tags)
		if err != nil {
			return nil, err
		}
		v.Set("tags", string(tags))
	}
	traces, err := c.get(ctx, "/api/traces?"+v.Encode())
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	sort.Slice(traces, func(i, j int) bool { return traces[i].start() < traces[j].start() })
	return traces, nil
}

// Start is when the trace's earliest span started.
func (t Trace) Start() time.Time { return time.UnixMicro(t.start()) }

// IsTraceID accepts what Jaeger accepts: a 64- or 128-bit id in hex, leading zeros
// optional. Checking before asking Jaeger turns a typo into a clear message instead of
// Jaeger's parse error (make trace, the console).
func IsTraceID(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}
