// Package adminapi is the client of the edge's admin listener (edge/admin.go): GET and PUT
// /faults for the whole landscape at once. `make fault` (cmd/fault) and the workshop
// console (cmd/console) both call it through here.
package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"tracelab/common/faults"
)

// Timeout bounds one call; the admin listener gives each service 3 s, all at once.
const Timeout = 10 * time.Second

// Answer is the admin listener's answer: every service's state, the edge's first.
type Answer struct {
	Services []Service `json:"services"`
}

// Service is one service's part of an Answer: its status and state, or what went wrong.
type Service struct {
	Service string        `json:"service"`
	Status  int           `json:"status"`
	State   *faults.State `json:"state"`
	Error   string        `json:"error"`
}

// Call sends one request to admin's /faults and returns the listener's status and answer.
// admin is the listener's base URL (TRACELAB_ADMIN_URL); the errors say what to check.
func Call(ctx context.Context, admin, method string, query url.Values) (int, Answer, error) {
	base, err := url.Parse(admin)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return 0, Answer{}, fmt.Errorf("TRACELAB_ADMIN_URL=%q: want an http URL such as http://127.0.0.1:8766", admin)
	}
	u := base.JoinPath("faults")
	u.RawQuery = query.Encode()
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return 0, Answer{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without url.Error's `Put "http://...":` in front
		}
		return 0, Answer{}, fmt.Errorf("the edge's admin listener at %s cannot be reached (%v): is the landscape running? make run starts it; else set TRACELAB_ADMIN_URL", admin, err)
	}
	defer resp.Body.Close()
	var answer Answer
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&answer); err != nil || len(answer.Services) == 0 {
		return 0, Answer{}, fmt.Errorf("%s answered %s, but not as the edge's admin listener does: is TRACELAB_ADMIN_URL right?", admin, resp.Status)
	}
	return resp.StatusCode, answer, nil
}
