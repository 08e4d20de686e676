package adminapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestCall(t *testing.T) {
	listener := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/faults" || r.Method != http.MethodPut || r.URL.Query().Get("set") != "slow-quote" {
			t.Errorf("the listener got %s %s, want PUT /faults?set=slow-quote", r.Method, r.URL)
		}
		w.WriteHeader(http.StatusConflict)
		w.Write([]byte(`{"services":[{"service":"edge","status":409,"error":"faults are disabled"}]}`))
	}))
	defer listener.Close()
	status, answer, err := Call(context.Background(), listener.URL, http.MethodPut, url.Values{"set": {"slow-quote"}})
	if err != nil || status != http.StatusConflict || len(answer.Services) != 1 || answer.Services[0].Error != "faults are disabled" {
		t.Errorf("Call = %d, %+v, %v; want 409 and the edge's refusal", status, answer, err)
	}

	notAdmin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"data":[]}`))
	}))
	defer notAdmin.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for _, tc := range []struct{ admin, want string }{
		{"127.0.0.1:8766", "want an http URL"},
		{notAdmin.URL, "not as the edge's admin listener does"},
		{closed.URL, "cannot be reached"},
	} {
		if _, _, err := Call(context.Background(), tc.admin, http.MethodGet, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Call(%s) error = %v, want it to say %q", tc.admin, err, tc.want)
		}
	}
}
