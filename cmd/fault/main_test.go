package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"tracelab/common/faults"
	"tracelab/internal/adminapi"
	"tracelab/internal/servicetest"
)

// fakeAdmin stands in for the edge's admin listener, which needs a whole landscape: the
// same answer, built from real switches (one per service, faults.Admin's own rules), and
// one service that does not answer when down is set.
type fakeAdmin struct {
	switches map[string]*faults.Switch
	order    []string
	down     string
	last     *http.Request
}

func newFakeAdmin(t *testing.T) (*fakeAdmin, string) {
	t.Helper()
	a := &fakeAdmin{switches: map[string]*faults.Switch{}, order: []string{"edge", "quoteservice", "imageservice"}}
	for _, name := range a.order {
		a.switches[name] = faults.NewSwitch(true, nil)
	}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return a, srv.URL
}

func (a *fakeAdmin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.last = r
	if r.URL.Path != "/faults" {
		http.NotFound(w, r)
		return
	}
	answer := adminapi.Answer{}
	status := http.StatusOK
	for _, name := range a.order {
		if name == a.down {
			answer.Services = append(answer.Services, adminapi.Service{Service: name, Error: name + " did not answer at http://127.0.0.1:1: connection refused"})
			status = http.StatusBadGateway
			continue
		}
		rec := httptest.NewRecorder()
		faults.Admin(name, a.switches[name]).ServeHTTP(rec, r)
		s := adminapi.Service{Service: name, Status: rec.Code}
		if rec.Code == http.StatusOK {
			s.State = new(faults.State)
			_ = json.Unmarshal(rec.Body.Bytes(), s.State)
		} else {
			var e struct{ Error string }
			_ = json.Unmarshal(rec.Body.Bytes(), &e)
			s.Error = e.Error
			if status == http.StatusOK {
				status = rec.Code
			}
		}
		answer.Services = append(answer.Services, s)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(answer)
}

func runFault(t *testing.T, admin string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	getenv := func(k string) string {
		if k == "TRACELAB_ADMIN_URL" {
			return admin
		}
		return ""
	}
	err := run(context.Background(), args, getenv, &out)
	return out.String(), err
}

func TestList(t *testing.T) {
	admin, url := newFakeAdmin(t)
	_ = admin.switches["quoteservice"].Set("slow-quote=300ms")
	out, err := runFault(t, url)
	if err != nil {
		t.Fatalf("fault = %v, want no error; output:\n%s", err, out)
	}
	if admin.last.Method != http.MethodGet {
		t.Errorf("fault sent %s, want GET", admin.last.Method)
	}
	for _, f := range faults.Catalogue {
		if !strings.Contains(out, string(f.Name)) || !strings.Contains(out, f.Summary) {
			t.Errorf("fault output lacks %s and its summary; output:\n%s", f.Name, out)
		}
	}
	for _, want := range []string{"FAULT", "WHERE", "PARAMETER", "300ms: a latency up to 1.5s", "on for everyone:"} {
		if !strings.Contains(out, want) {
			t.Errorf("fault output lacks %q; output:\n%s", want, out)
		}
	}
	if !hasLine(out, "quoteservice", "slow-quote=300ms") || !hasLine(out, "edge", "none") {
		t.Errorf("fault output does not say quoteservice has slow-quote=300ms and the edge none; output:\n%s", out)
	}
}

func TestSetAndClear(t *testing.T) {
	admin, url := newFakeAdmin(t)
	out, err := runFault(t, url, "-set", "slow-quote=300ms,lock-contention")
	if err != nil {
		t.Fatalf("fault -set = %v; output:\n%s", err, out)
	}
	if admin.last.Method != http.MethodPut || admin.last.URL.Query().Get("set") != "slow-quote=300ms,lock-contention" {
		t.Errorf("fault -set sent %s %s, want PUT ?set=slow-quote=300ms,lock-contention", admin.last.Method, admin.last.URL)
	}
	for name, sw := range admin.switches {
		if got := sw.Active().String(); got != "lock-contention=25ms,slow-quote=300ms" {
			t.Errorf("%s active after fault -set = %q, want lock-contention=25ms,slow-quote=300ms", name, got)
		}
	}
	if strings.Contains(out, "FAULT") || !hasLine(out, "imageservice", "lock-contention=25ms,slow-quote=300ms") {
		t.Errorf("fault -set output = \n%s\nwant only what is on, per service", out)
	}

	if out, err := runFault(t, url, "-clear", "slow-quote"); err != nil || !hasLine(out, "edge", "lock-contention=25ms") {
		t.Errorf("fault -clear slow-quote = %v, output:\n%s\nwant lock-contention left", err, out)
	}
	if out, err := runFault(t, url, "-clear", "all"); err != nil || !hasLine(out, "quoteservice", "none") {
		t.Errorf("fault -clear all = %v, output:\n%s\nwant none left", err, out)
	}
}

func TestErrors(t *testing.T) {
	admin, url := newFakeAdmin(t)
	tests := []struct {
		name    string
		admin   string
		args    []string
		down    string
		wantErr string
	}{
		{"unknown fault", url, []string{"-set", "no-such-fault"}, "", `unknown fault "no-such-fault"`},
		{"a service down", url, nil, "imageservice", "imageservice: imageservice did not answer"},
		{"nothing answers", "http://" + servicetest.FreeAddr(t), nil, "", "is the landscape running? make run"},
		{"not the admin listener", url + "/elsewhere", nil, "", "not as the edge's admin listener does"},
		{"bad admin URL", "localhost:8766", nil, "", "TRACELAB_ADMIN_URL"},
		{"a stray argument", url, []string{"slow-quote"}, "", "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			admin.down = tt.down
			out, err := runFault(t, tt.admin, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("fault %v = %v, want an error containing %q; output:\n%s", tt.args, err, tt.wantErr, out)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	out, err := runFault(t, "", "-h")
	if err != nil || !strings.Contains(out, "Usage: fault") || !strings.Contains(out, "TRACELAB_ADMIN_URL") {
		t.Errorf("fault -h = %v, output:\n%s\nwant the usage and its flags", err, out)
	}
}

// hasLine reports whether out has a line with fields service and want, in that order.
func hasLine(out, service, want string) bool {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == service && f[1] == want {
			return true
		}
	}
	return false
}
