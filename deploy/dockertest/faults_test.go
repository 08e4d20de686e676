package dockertest

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// adminURL is the edge's admin listener as docker-compose.yml publishes it: on this
// machine's loopback interface only.
const adminURL = "http://127.0.0.1:8766/faults"

// adminSwitches: make fault's calls work against compose: PUT ?set= through the edge's
// admin listener switches the fault on in every one of the five services (each answers
// for itself, over the compose network), and ?clear=all switches it off again.
func adminSwitches(t *testing.T) {
	client := &http.Client{Timeout: 15 * time.Second}
	call := func(method, query string) map[string]string {
		t.Helper()
		req, _ := http.NewRequest(method, adminURL+query, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s%s: %v", method, adminURL, query, err)
		}
		defer resp.Body.Close()
		var answer struct {
			Services []struct {
				Service string `json:"service"`
				Error   string `json:"error"`
				State   *struct {
					Enabled bool   `json:"enabled"`
					Active  string `json:"active"`
				} `json:"state"`
			} `json:"services"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s%s = %d (%v) %+v, want 200 from every service", method, adminURL, query, resp.StatusCode, err, answer)
		}
		active := map[string]string{}
		for _, s := range answer.Services {
			if s.State == nil || !s.State.Enabled {
				t.Errorf("%s %s%s: %s answered %+v (error %q), want its state, faults enabled", method, adminURL, query, s.Service, s.State, s.Error)
				continue
			}
			active[s.Service] = s.State.Active
		}
		return active
	}
	t.Cleanup(func() { call(http.MethodPut, "?clear=all") })
	services := []string{"edge", "accountservice", "quoteservice", "imageservice", "vipservice"}
	if got := call(http.MethodGet, ""); len(got) != len(services) {
		t.Errorf("GET /faults answered for %v, want %v", got, services)
	}
	got := call(http.MethodPut, "?set=slow-quote=50ms")
	for _, s := range services {
		if got[s] != "slow-quote=50ms" {
			t.Errorf("PUT /faults?set=slow-quote=50ms: %s has %q on, want slow-quote=50ms", s, got[s])
		}
	}
	got = call(http.MethodPut, "?clear=all")
	for _, s := range services {
		if v, ok := got[s]; !ok || v != "" {
			t.Errorf("PUT /faults?clear=all: %s has %q on, want none", s, v)
		}
	}
}
