package landscape

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
)

// service is one tracelab service as the landscape runs it.
type service struct {
	name    string
	addrEnv string   // the variable that sets where it listens
	addr    string   // where it listens when addrEnv is not set
	tls     bool     // edge serves HTTPS
	urlEnvs []string // variables through which others reach it: they follow addrEnv unless set
}

// services lists the landscape in start order: each service starts after the ones it calls,
// so the first request finds them up. Ports and variables are the contract of the README.
//
// The edge is the way in and listens on every interface; the services behind it listen
// on the loopback interface only, so that on a laptop in a workshop's network nobody
// else goes around the edge to accountservice or vipservice's /vips. (Compose and
// Kubernetes set addresses of their own.)
var services = []service{
	{name: "quoteservice", addrEnv: "QUOTESERVICE_ADDR", addr: "127.0.0.1:8080", urlEnvs: []string{"QUOTESERVICE_URL"}},
	// Clients load images straight from imageservice, so the public URL follows its port too.
	{name: "imageservice", addrEnv: "IMAGESERVICE_ADDR", addr: "127.0.0.1:7777", urlEnvs: []string{"IMAGESERVICE_URL", "IMAGESERVICE_PUBLIC_URL"}},
	// The edge's admin listener reaches every service's /faults (make fault), vipservice too.
	{name: "vipservice", addrEnv: "VIPSERVICE_ADDR", addr: "127.0.0.1:6868", urlEnvs: []string{"VIPSERVICE_URL"}},
	{name: "accountservice", addrEnv: "ACCOUNTSERVICE_ADDR", addr: "127.0.0.1:6767", urlEnvs: []string{"ACCOUNTSERVICE_URL"}},
	{name: "edge", addrEnv: "EDGE_ADDR", addr: ":8765", tls: true},
}

// DefaultAdminAddr is where the landscape's edge serves its admin listener (GET and PUT
// /faults for the whole landscape: make fault), unless EDGE_ADMIN_ADDR says otherwise.
const DefaultAdminAddr = "127.0.0.1:8766"

const adminAddrEnv = "EDGE_ADMIN_ADDR"

// Service is where a running service answers.
type Service struct {
	Name string
	URL  string // base URL, e.g. http://localhost:8080; health is URL + "/healthz"
}

// resolve composes the environment every service gets: the caller's, so that JAEGER_*,
// AMQP_URL and *_ADDR given to `make run` reach them, plus the defaults that keep the
// landscape consistent: each service's address (the landscape's, which is not always the
// service's own default) and the URLs others reach it by. A service moved with
// QUOTESERVICE_ADDR=127.0.0.1:18080 is then still found by its callers, because
// QUOTESERVICE_URL follows unless the caller set it. It also returns each service's base
// URL, in start order.
func resolve(environ []string, runDir string) ([]string, []Service, error) {
	env := append([]string(nil), environ...)
	var urls []Service
	for _, s := range services {
		addr := s.addr
		if v := lookup(environ, s.addrEnv); v != "" {
			addr = v
		} else {
			env = setenv(env, s.addrEnv, addr)
		}
		base, err := baseURL(addr, s.tls)
		if err != nil {
			return nil, nil, fmt.Errorf("%s=%q: %w", s.addrEnv, addr, err)
		}
		for _, key := range s.urlEnvs {
			if lookup(environ, key) == "" {
				env = setenv(env, key, base)
			}
		}
		urls = append(urls, Service{Name: s.name, URL: base})
	}
	if lookup(environ, adminAddrEnv) == "" {
		// The edge's admin listener (make fault), on the loopback interface only: whoever
		// reaches the workshop's edge from the network does not switch its faults.
		env = setenv(env, adminAddrEnv, DefaultAdminAddr)
	}
	if lookup(environ, "ACCOUNTSERVICE_DB") == "" {
		// Kept out of the source tree, and across runs, so accounts survive a restart.
		env = setenv(env, "ACCOUNTSERVICE_DB", filepath.Join(runDir, "accounts.db"))
	}
	return env, urls, nil
}

// serviceEnv is the shared environment plus the tracer's name for one service. It is set
// even when the caller set JAEGER_SERVICE_NAME: one name for all would merge every service
// into one in Jaeger.
func serviceEnv(shared []string, name string) []string {
	return setenv(shared, "JAEGER_SERVICE_NAME", name)
}

// baseURL turns a listen address into the URL a local client uses: ":8080" and
// "0.0.0.0:8080" become http://localhost:8080.
func baseURL(addr string, tls bool) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	if port == "" || port == "0" {
		return "", fmt.Errorf("need a fixed port, so the other services can find it")
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port), nil
}

// lookup returns the value of key in environ, the last one if it appears twice (as
// os/exec does); empty means unset, as it does for the services' own settings.
func lookup(environ []string, key string) string {
	v := ""
	for _, kv := range environ {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// setenv returns a copy of environ with key set to value, and no other entry for key.
func setenv(environ []string, key, value string) []string {
	out := make([]string, 0, len(environ)+1)
	for _, kv := range environ {
		if k, _, _ := strings.Cut(kv, "="); k != key {
			out = append(out, kv)
		}
	}
	return append(out, key+"="+value)
}
