package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

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

// getJSON GETs u and decodes a 200 answer into v; anything else is an error.
func getJSON(ctx context.Context, client *http.Client, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
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
