package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"time"

	"tracelab/common/faults"
	"tracelab/common/respond"
)

// The edge's admin listener is where an instructor switches faults for the whole
// landscape (make fault, cmd/fault): one call to the edge, passed on to every service's
// own /faults route. It is a server of its own, on a port of its own (EDGE_ADMIN_ADDR,
// 127.0.0.1:8766 unless set), never the public HTTPS port: whoever reaches the edge from
// outside does not reach it, and compose publishes it on the loopback interface only.

// adminCallTimeout bounds each call the admin listener passes on to a service.
const adminCallTimeout = 3 * time.Second

// peer is a service whose /faults the admin listener calls.
type peer struct {
	name string
	base *url.URL
}

// adminAnswer is what the admin listener answers: the state of every service, the edge
// first, in a fixed order.
type adminAnswer struct {
	Services []serviceFaults `json:"services"`
}

// serviceFaults is one service's answer to a /faults call: its state, or what went wrong
// (an unknown name, faults switched off there, the service not answering).
type serviceFaults struct {
	Service string        `json:"service"`
	Status  int           `json:"status,omitempty"` // the service's HTTP status; 0 when it did not answer
	State   *faults.State `json:"state,omitempty"`
	Error   string        `json:"error,omitempty"`
}

// handleAdminFaults serves GET and PUT /faults on the admin listener: the edge's own
// switch first, then the same call to each of peers. The answer is 200 when every service
// took the call, else the status of the first that did not (502 for one that did not
// answer at all), and always lists every service.
func handleAdminFaults(log *slog.Logger, sw *faults.Switch, peers []peer) http.Handler {
	own := faults.Admin(serviceName, sw)
	client := &http.Client{Timeout: adminCallTimeout}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodPut {
			w.Header().Set("Allow", "GET, PUT")
			respond.Error(w, http.StatusMethodNotAllowed, "use GET to read the faults, PUT to change them")
			return
		}
		answer := adminAnswer{Services: make([]serviceFaults, 1+len(peers))}
		rec := httptest.NewRecorder()
		own.ServeHTTP(rec, r)
		answer.Services[0] = decodeFaults(serviceName, rec.Code, rec.Body)

		var wg sync.WaitGroup
		for i, p := range peers {
			wg.Go(func() {
				answer.Services[1+i] = callFaults(r.Context(), client, p, r.Method, r.URL.RawQuery)
			})
		}
		wg.Wait()

		status := http.StatusOK
		for _, s := range answer.Services {
			if s.Error != "" {
				log.WarnContext(r.Context(), "faults call failed", "service.target.name", s.Service, "http.response.status_code", s.Status, "err", s.Error)
				if status == http.StatusOK {
					status = statusOr(s.Status, http.StatusBadGateway)
				}
			}
		}
		log.InfoContext(r.Context(), "faults", "http.request.method", r.Method, "url.query", r.URL.RawQuery, "http.response.status_code", status)
		respond.JSON(w, status, answer)
	})
}

// statusOr is s, or def when s is 0 (no answer).
func statusOr(s, def int) int {
	if s == 0 {
		return def
	}
	return s
}

// callFaults passes one admin call on to p's /faults.
func callFaults(ctx context.Context, client *http.Client, p peer, method, query string) serviceFaults {
	u := p.base.JoinPath("faults")
	u.RawQuery = query
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return serviceFaults{Service: p.name, Error: err.Error()}
	}
	resp, err := client.Do(req)
	if err != nil {
		return serviceFaults{Service: p.name, Error: fmt.Sprintf("%s did not answer at %s: %v", p.name, p.base, unwrapURLError(err))}
	}
	defer resp.Body.Close()
	return decodeFaults(p.name, resp.StatusCode, io.LimitReader(resp.Body, 1<<20))
}

// unwrapURLError drops the "Put "http://...": " that url.Error puts in front.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// decodeFaults reads a /faults answer: a faults.State when it is a 200, else {"error": ...}.
func decodeFaults(service string, status int, body io.Reader) serviceFaults {
	out := serviceFaults{Service: service, Status: status}
	if status == http.StatusOK {
		var st faults.State
		if err := json.NewDecoder(body).Decode(&st); err != nil {
			out.Error = "unreadable answer: " + err.Error()
			return out
		}
		out.State = &st
		return out
	}
	var e struct {
		Error string `json:"error"`
	}
	if err := json.NewDecoder(body).Decode(&e); err != nil || e.Error == "" {
		e.Error = http.StatusText(status)
	}
	out.Error = e.Error
	return out
}

// newAdminServer lists the admin listener's routes: /faults, and a JSON 404 beside it.
func newAdminServer(log *slog.Logger, sw *faults.Switch, peers []peer) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("/faults", handleAdminFaults(log, sw, peers))
	mux.Handle("/", respond.NotFound())
	return &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      2 * adminCallTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// startAdmin listens on addr (none when addr is "off") and serves srv there until the
// returned stop is called; an address that cannot be listened on is a startup error.
func startAdmin(log *slog.Logger, addr string, srv *http.Server) (stop func(), err error) {
	if addr == adminOff {
		log.Info("admin listener off", "setting", "EDGE_ADMIN_ADDR="+adminOff)
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("EDGE_ADMIN_ADDR=%q: %w", addr, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin listener stopped", "err", err)
		}
	}()
	log.Info("admin listening", "server.address", ln.Addr().String(), "url.path", "/faults")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*adminCallTimeout)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, nil
}

// adminOff is the EDGE_ADMIN_ADDR that turns the admin listener off (an empty value means
// the default, as for every setting).
const adminOff = "off"
