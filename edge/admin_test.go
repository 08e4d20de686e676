package main

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"tracelab/common/faults"
	"tracelab/internal/servicetest"
)

// fakeService stands in for a service behind the edge: its real faults.Admin route,
// on a real switch, and nothing else.
func fakeService(t *testing.T, name string) (*httptest.Server, *faults.Switch) {
	t.Helper()
	sw := faults.NewSwitch(true, nil)
	mux := http.NewServeMux()
	mux.Handle("/faults", faults.Admin(name, sw))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, sw
}

func adminCall(t *testing.T, method, url string) (int, adminAnswer) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var answer adminAnswer
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		t.Fatalf("%s %s: body is no admin answer: %v", method, url, err)
	}
	return resp.StatusCode, answer
}

// TestRunAdmin drives run with the admin listener on: a PUT there switches the fault on
// in the edge and in every service, a GET lists each service's state, an unreachable
// service is named in the answer, and stopping the edge frees the admin port.
func TestRunAdmin(t *testing.T) {
	accounts, accountsSw := fakeService(t, "accountservice")
	quotes, quotesSw := fakeService(t, "quoteservice")
	images, imagesSw := fakeService(t, "imageservice")
	vips, vipsSw := fakeService(t, "vipservice")
	env := map[string]string{
		"EDGE_ADDR":          "127.0.0.1:0",
		"EDGE_ADMIN_ADDR":    servicetest.FreeAddr(t),
		"ACCOUNTSERVICE_URL": accounts.URL,
		"QUOTESERVICE_URL":   quotes.URL,
		"IMAGESERVICE_URL":   images.URL,
		"VIPSERVICE_URL":     vips.URL,
		"JAEGER_DISABLED":    "true",
	}
	svc := servicetest.StartRun(t, run, nil, env)
	waitForLog(t, svc, "listening")
	logged := waitForLog(t, svc, "admin listening")
	if got := logged["server.address"]; got != env["EDGE_ADMIN_ADDR"] {
		t.Errorf("admin listening on %v, want %s", got, env["EDGE_ADMIN_ADDR"])
	}
	admin := "http://" + env["EDGE_ADMIN_ADDR"] + "/faults"
	everyone := []string{"edge", "accountservice", "quoteservice", "imageservice", "vipservice"}

	status, answer := adminCall(t, http.MethodPut, admin+"?set=slow-quote=300ms,lock-contention")
	if status != http.StatusOK || len(answer.Services) != len(everyone) {
		t.Fatalf("PUT /faults?set=... = %d %+v, want 200 and %d services", status, answer, len(everyone))
	}
	for i, s := range answer.Services {
		if s.Service != everyone[i] || s.State == nil || s.State.Active != "lock-contention=25ms,slow-quote=300ms" {
			t.Errorf("PUT /faults answer[%d] = %+v, want %s with lock-contention=25ms,slow-quote=300ms active", i, s, everyone[i])
		}
	}
	for name, sw := range map[string]*faults.Switch{"accountservice": accountsSw, "quoteservice": quotesSw, "imageservice": imagesSw, "vipservice": vipsSw} {
		if got := sw.Active().String(); got != "lock-contention=25ms,slow-quote=300ms" {
			t.Errorf("%s active after PUT = %q, want lock-contention=25ms,slow-quote=300ms", name, got)
		}
	}

	if status, answer := adminCall(t, http.MethodPut, admin+"?clear=slow-quote"); status != http.StatusOK || answer.Services[0].State.Active != "lock-contention=25ms" {
		t.Errorf("PUT /faults?clear=slow-quote = %d %+v, want 200, lock-contention left", status, answer.Services[0])
	}
	if status, answer := adminCall(t, http.MethodPut, admin+"?set=no-such-fault"); status != http.StatusBadRequest || !strings.Contains(answer.Services[0].Error, "no-such-fault") {
		t.Errorf("PUT /faults?set=no-such-fault = %d %+v, want 400 naming the fault", status, answer.Services[0])
	}

	vips.Close() // vipservice goes away
	status, answer = adminCall(t, http.MethodGet, admin)
	if status != http.StatusBadGateway {
		t.Errorf("GET /faults with vipservice down = %d, want 502", status)
	}
	last := answer.Services[len(answer.Services)-1]
	if last.Service != "vipservice" || last.State != nil || !strings.Contains(last.Error, "vipservice did not answer") {
		t.Errorf("GET /faults with vipservice down: its entry = %+v, want an error saying it did not answer", last)
	}
	if got := answer.Services[1]; got.State == nil || got.State.Active != "lock-contention=25ms" || len(got.State.Faults) != len(faults.Catalogue) {
		t.Errorf("GET /faults accountservice entry = %+v, want the catalogue, lock-contention on", got)
	}

	req, _ := http.NewRequest(http.MethodDelete, admin, nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("DELETE /faults = %v, %v, want 405", resp, err)
	}

	svc.Stop()
	if !servicetest.PortFree(env["EDGE_ADMIN_ADDR"]) {
		t.Errorf("EDGE_ADMIN_ADDR %s still taken after the edge stopped", env["EDGE_ADMIN_ADDR"])
	}
}

// TestRunAdminNotOnThePublicPort: the public HTTPS port has no /faults; it is only on
// the admin listener.
func TestRunAdminNotOnThePublicPort(t *testing.T) {
	accounts, _ := fakeService(t, "accountservice")
	svc := servicetest.StartRun(t, run, nil, map[string]string{
		"EDGE_ADDR":          "127.0.0.1:0",
		"EDGE_ADMIN_ADDR":    servicetest.FreeAddr(t),
		"ACCOUNTSERVICE_URL": accounts.URL,
		"JAEGER_DISABLED":    "true",
	})
	addr, _ := waitForLog(t, svc, "listening")["server.address"].(string)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	for _, method := range []string{http.MethodGet, http.MethodPut} {
		req, _ := http.NewRequest(method, "https://"+addr+"/faults?set=slow-quote", nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s /faults on the public port: %v", method, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s /faults on the public port = %d, want 404", method, resp.StatusCode)
		}
	}
	svc.Stop()
}

// TestRunFaultsDisabledRefusesBaggage: with TRACELAB_FAULTS_ENABLED=false the edge drops a
// caller's fault item (and only it) before accountservice sees the request; with faults
// enabled it passes it on.
func TestRunFaultsDisabledRefusesBaggage(t *testing.T) {
	for _, tt := range []struct {
		enabled   string
		wantFault string
	}{{"false", ""}, {"true", "slow-quote"}} {
		t.Run("TRACELAB_FAULTS_ENABLED="+tt.enabled, func(t *testing.T) {
			upstream := &headerRecorder{}
			accounts := httptest.NewServer(upstream)
			defer accounts.Close()
			collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusAccepted)
			}))
			defer collector.Close()
			svc := servicetest.StartRun(t, run, nil, map[string]string{
				"EDGE_ADDR":               "127.0.0.1:0",
				"EDGE_ADMIN_ADDR":         "off",
				"ACCOUNTSERVICE_URL":      accounts.URL,
				"JAEGER_ENDPOINT":         collector.URL + "/api/traces",
				"TRACELAB_FAULTS_ENABLED": tt.enabled,
			})
			addr, _ := waitForLog(t, svc, "listening")["server.address"].(string)
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 10 * time.Second}
			defer client.CloseIdleConnections()
			for _, h := range []http.Header{
				{"Uberctx-Fault": {"slow-quote"}, "Uberctx-Tenant": {"acme"}},
				{"Jaeger-Baggage": {"fault=slow-quote, tenant=acme"}},
			} {
				req, _ := http.NewRequest(http.MethodGet, "https://"+addr+"/api/accounts/10000", nil)
				for k, v := range h {
					req.Header[k] = v
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatalf("GET /api/accounts/10000: %v", err)
				}
				resp.Body.Close()
				got := upstream.last()
				if got.Get("Uberctx-Fault") != tt.wantFault || got.Get("Uberctx-Tenant") != "acme" {
					t.Errorf("caller sent %v: accountservice got uberctx-fault %q, uberctx-tenant %q; want %q and acme",
						h, got.Get("Uberctx-Fault"), got.Get("Uberctx-Tenant"), tt.wantFault)
				}
			}
			svc.Stop()
		})
	}
}
