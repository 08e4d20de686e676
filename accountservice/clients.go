package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/opentracing/opentracing-go"

	"tracelab/common/tracing"
)

// Quote is quoteservice's answer, passed through.
type Quote struct {
	Text     string `json:"quote"`
	Language string `json:"language"`
	ServedBy string `json:"servedBy"`
}

// Image is imageservice's answer, passed through.
type Image struct {
	ID       string `json:"id"`
	URL      string `json:"url"`
	ServedBy string `json:"servedBy"`
}

// newTracedClient is the HTTP client for calls to peer: every call gets a client span and
// carries the trace in its headers. timeout bounds the whole call, body included.
func newTracedClient(peer string, timeout time.Duration) *http.Client {
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.MaxIdleConnsPerHost = 256 // the default 2 makes a busy service reconnect constantly
	return &http.Client{Transport: tracing.Transport(base, peer), Timeout: timeout}
}

// quoteClient asks quoteservice for the quote of the day.
type quoteClient struct {
	baseURL string
	http    *http.Client
}

func (c *quoteClient) Get(ctx context.Context) (Quote, error) {
	var q Quote
	err := getJSON(ctx, c.http, c.baseURL+"/api/quote", &q)
	return q, err
}

// imageClient asks imageservice for the account's image.
type imageClient struct {
	baseURL string
	http    *http.Client
}

func (c *imageClient) Get(ctx context.Context, accountID string) (Image, error) {
	var img Image
	err := getJSON(ctx, c.http, c.baseURL+"/accounts/"+url.PathEscape(accountID), &img)
	return img, err
}

// AttemptHeader numbers the attempts of a call that the retry-storm fault retries, so
// that imageservice fails the first ones and answers the next (it reads the same header).
const AttemptHeader = "X-Tracelab-Attempt"

// maxStormAttempts is the retry storm's only bound: a safety net, not a budget. The fault
// fails at most 20 attempts (faults.Catalogue), so the 21st gets through.
const maxStormAttempts = 25

// getRetryingAtOnce is the retry-storm fault's way to call imageservice: a failed call is
// made again at once, with no backoff and no budget, up to maxStormAttempts. Each attempt
// is a client span of its own, a sibling of the others, error=true on the failed ones:
// lab 2's "many identical calls side by side, all red but the last".
func (c *imageClient) getRetryingAtOnce(ctx context.Context, accountID string) (Image, error) {
	u := c.baseURL + "/accounts/" + url.PathEscape(accountID)
	var err error
	attempt := 1
	for ; attempt <= maxStormAttempts; attempt++ {
		var img Image
		header := http.Header{AttemptHeader: {strconv.Itoa(attempt)}}
		if err = getJSONWith(ctx, c.http, u, header, &img); err == nil {
			tagAttempts(ctx, attempt)
			return img, nil
		}
		if ctx.Err() != nil {
			break // the request is over: nobody waits for the answer any more
		}
	}
	attempt = min(attempt, maxStormAttempts)
	tagAttempts(ctx, attempt)
	return Image{}, fmt.Errorf("gave up after %d attempts: %w", attempt, err)
}

// tagAttempts says on the server span how many calls the image took.
func tagAttempts(ctx context.Context, attempts int) {
	if span := opentracing.SpanFromContext(ctx); span != nil {
		span.SetTag("image.attempts", attempts)
	}
}

// getJSON GETs u and decodes a 200 answer into v; anything else is an error.
func getJSON(ctx context.Context, client *http.Client, u string, v any) error {
	return getJSONWith(ctx, client, u, nil, v)
}

// getJSONWith is getJSON with extra request headers (nil for none).
func getJSONWith(ctx context.Context, client *http.Client, u string, header http.Header, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // keep the connection reusable
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v); err != nil {
		return fmt.Errorf("GET %s: decode: %w", u, err)
	}
	// The decoder stops after the value, before the encoder's closing newline. A body not
	// read to its end makes the transport close the connection instead of reusing it: a new
	// TCP connection per call, which cost more CPU than the call itself (BENCHMARKS.md).
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return nil
}
