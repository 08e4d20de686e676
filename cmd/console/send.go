package main

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"tracelab/common/respond"
)

// sendRequest is the body of POST /api/send: a request for the console to send through the
// edge on the learner's behalf, so that a learner without a terminal can make a trace and
// open it. Path is the edge's path ("/api/accounts/10000"); Fault, when set, goes in the
// request's baggage as the item fault, exactly as the curl command of the fault panel sends it.
type sendRequest struct {
	Path  string `json:"path"`
	Fault string `json:"fault"`
}

// sendAnswer is what the page gets back: the edge's status, the trace the request made
// (its X-Trace-Id), how long it took, and the start of the body.
type sendAnswer struct {
	Status     int     `json:"status"`
	TraceID    string  `json:"traceId"`
	DurationMs float64 `json:"durationMs"`
	Body       string  `json:"body"`
}

const (
	maxSendBody = 4 << 10 // a path and a fault: anything bigger is not what the page sends
	maxShown    = 2 << 10 // the start of the edge's answer, enough to read an account
)

// edgeClient talks to the landscape's own edge. Its certificate is self-signed (the edge
// makes one at start, README "Configuration"), so it is not verified: the console only ever
// calls the one edge it was configured with, never a URL from the page.
var edgeClient = &http.Client{
	Timeout:   15 * time.Second,
	Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
}

// handleSend is POST /api/send: one GET through the edge, as `curl -k` would send it.
func handleSend(log *slog.Logger, cfg config) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := readSend(r)
		if err != nil {
			respond.Error(w, http.StatusBadRequest, err.Error())
			return
		}
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, strings.TrimRight(cfg.edge, "/")+in.Path, nil)
		if err != nil {
			respond.Error(w, http.StatusBadRequest, fmt.Sprintf("path %q: %v", in.Path, err))
			return
		}
		if in.Fault != "" {
			req.Header.Set("uberctx-fault", url.QueryEscape(in.Fault))
		}
		start := time.Now()
		resp, err := edgeClient.Do(req)
		if err != nil {
			log.WarnContext(r.Context(), "send through the edge", "err", err)
			respond.Error(w, http.StatusBadGateway, fmt.Sprintf("the edge (%s) did not answer: %v. Is make run still running?", cfg.edge, rootCause(err)))
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxShown))
		respond.JSON(w, http.StatusOK, sendAnswer{
			Status:     resp.StatusCode,
			TraceID:    resp.Header.Get("X-Trace-Id"),
			DurationMs: float64(time.Since(start).Microseconds()) / 1000,
			Body:       string(body),
		})
	})
}

// readSend reads and checks the body: a path on the edge under /api/, nothing else (no
// scheme, no host, no ..), and a fault of the catalogue's syntax, left to the services to
// judge (an unknown name is ignored and counted there, as for curl).
func readSend(r *http.Request) (sendRequest, error) {
	var in sendRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSendBody+1))
	if err != nil {
		return in, fmt.Errorf("the request's body could not be read: %v", err)
	}
	if len(body) > maxSendBody {
		return in, fmt.Errorf("the body is over %d bytes: send {\"path\": \"/api/accounts/10000\"}", maxSendBody)
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return in, fmt.Errorf("want a JSON body such as {\"path\": \"/api/accounts/10000\", \"fault\": \"slow-quote=300ms\"}: %v", err)
	}
	if err := checkSendPath(in.Path); err != nil {
		return in, err
	}
	if strings.ContainsAny(in.Fault, "\r\n") || len(in.Fault) > 200 {
		return in, errors.New("fault: one line of at most 200 characters, such as slow-quote=300ms")
	}
	return in, nil
}

// checkSendPath allows a path of the edge's API only: the console sends to the edge, and to
// nothing the page could name.
func checkSendPath(p string) error {
	u, err := url.Parse(p)
	switch {
	case p == "":
		return errors.New("path: say what to read, such as /api/accounts/10000")
	case err != nil:
		return fmt.Errorf("path %q: %v", p, err)
	case u.Scheme != "" || u.Host != "" || !strings.HasPrefix(p, "/api/"):
		return fmt.Errorf("path %q: want a path on the edge under /api/, such as /api/accounts/10000", p)
	case strings.Contains(p, "..") || strings.ContainsAny(p, "\r\n#"):
		return fmt.Errorf("path %q: no .., # or line breaks", p)
	}
	return nil
}
