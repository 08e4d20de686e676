package landscape

import (
	_ "embed"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
)

// service is one tracelab service as the landscape runs it.
type service struct {
	name    string
	addrEnv string   // the variable that sets where it listens
	sdkEnv  string   // the variable that sets its tracing SDK alone, over TRACING_SDK
	addr    string   // where it listens when addrEnv is not set
	tls     bool     // edge serves HTTPS
	urlEnvs []string // variables through which others reach it: they follow addrEnv unless set
}

// services lists the landscape in start order, as services.txt says (each service starts
// after the ones it calls, so the first request finds them up). Ports and variables are
// the contract of the README: <NAME>_ADDR sets where a service listens, <NAME>_URL is how
// the others reach it.
//
// The edge is the way in and listens on every interface; the services behind it listen
// on the loopback interface only, so that on a laptop in a workshop's network nobody
// else goes around the edge to accountservice or vipservice's /vips. (Compose and
// Kubernetes set addresses of their own.)
var services = mustParseServices(servicesTxt)

//go:embed services.txt
var servicesTxt string

// extraURLEnvs are the variables, besides <NAME>_URL, that follow a service's address.
// Clients load images straight from imageservice, so the public URL follows its port too.
var extraURLEnvs = map[string][]string{"imageservice": {"IMAGESERVICE_PUBLIC_URL"}}

// ServiceNames are the names of services.txt, in start order.
func ServiceNames() []string {
	names := make([]string, len(services))
	for i, s := range services {
		names[i] = s.name
	}
	return names
}

// DefaultPorts maps each service's <NAME>_ADDR to its port in services.txt. The e2e and
// reliability suites run the landscape on ports of their own, beside a `make run`: a service
// they do not place themselves (one of make new-service) they place 10000 and 20000 above.
func DefaultPorts() map[string]int {
	ports := map[string]int{}
	for _, s := range services {
		_, p, _ := net.SplitHostPort(s.addr)
		ports[s.addrEnv], _ = strconv.Atoi(p)
	}
	return ports
}

// mustParseServices reads services.txt; a malformed one is a bug of the build, not of a run.
func mustParseServices(txt string) []service {
	list, err := parseServices(txt)
	if err != nil {
		panic("internal/landscape/services.txt: " + err.Error())
	}
	return list
}

// parseServices reads lines of "name port kind"; # starts a comment.
func parseServices(txt string) ([]service, error) {
	var list []service
	for i, line := range strings.Split(txt, "\n") {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("line %d: %q, want name, port and kind", i+1, line)
		}
		name, port, kind := f[0], f[1], f[2]
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return nil, fmt.Errorf("line %d: port %q of %s is not a port", i+1, port, name)
		}
		prefix := strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		s := service{name: name, addrEnv: prefix + "_ADDR", sdkEnv: prefix + "_TRACING_SDK", addr: "127.0.0.1:" + port}
		switch kind {
		case "http", "consumer":
			s.urlEnvs = append([]string{prefix + "_URL"}, extraURLEnvs[name]...)
		case "https": // the way in: every interface, and nobody inside calls it
			s.addr, s.tls = ":"+port, true
		default:
			return nil, fmt.Errorf("line %d: kind %q of %s, want http, https or consumer", i+1, kind, name)
		}
		list = append(list, s)
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("no services")
	}
	return list, nil
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

// serviceEnv is the shared environment plus what is one service's own: the tracer's name,
// set even when the caller set JAEGER_SERVICE_NAME (one name for all would merge every
// service into one in Jaeger), and its tracing SDK (sdkOf).
func serviceEnv(shared []string, s service) []string {
	env := setenv(shared, "JAEGER_SERVICE_NAME", s.name)
	if sdk := lookup(shared, s.sdkEnv); sdk != "" {
		env = setenv(env, "TRACING_SDK", sdk)
	}
	return env
}

// sdkOf is the tracing SDK service s runs on: <NAME>_TRACING_SDK when set, so that
// ACCOUNTSERVICE_TRACING_SDK=otel make run moves one service to OpenTelemetry (the
// workshop's lab 11), else TRACING_SDK, which moves them all, else jaeger, common/tracing's
// default.
func sdkOf(shared []string, s service) string {
	if sdk := lookup(serviceEnv(shared, s), "TRACING_SDK"); sdk != "" {
		return sdk
	}
	return "jaeger"
}

// describeSDKs says which of the services (names, in start order) run which tracing SDK:
// "jaeger for quoteservice, edge; otel for accountservice", "otel for every service", or
// "" when every one runs jaeger, the default.
func describeSDKs(names []string, sdkOf map[string]string) string {
	var sdks []string // in the order first met
	by := map[string][]string{}
	for _, name := range names {
		sdk := sdkOf[name]
		if sdk == "" {
			sdk = "jaeger"
		}
		if by[sdk] == nil {
			sdks = append(sdks, sdk)
		}
		by[sdk] = append(by[sdk], name)
	}
	switch {
	case len(sdks) == 0 || len(sdks) == 1 && sdks[0] == "jaeger":
		return ""
	case len(sdks) == 1:
		return sdks[0] + " for every service"
	}
	var parts []string
	for _, sdk := range sdks {
		parts = append(parts, sdk+" for "+strings.Join(by[sdk], ", "))
	}
	return strings.Join(parts, "; ")
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
