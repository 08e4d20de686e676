package landscape

import (
	"slices"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	const runDir = "/repo/.run"
	tests := []struct {
		name    string
		environ []string
		want    map[string]string // variables every service must see, "" for unset
	}{
		{
			name:    "defaults",
			environ: []string{"HOME=/root"},
			want: map[string]string{
				"HOME":                    "/root",
				"QUOTESERVICE_URL":        "http://127.0.0.1:8080",
				"IMAGESERVICE_URL":        "http://127.0.0.1:7777",
				"IMAGESERVICE_PUBLIC_URL": "http://127.0.0.1:7777",
				"ACCOUNTSERVICE_URL":      "http://127.0.0.1:6767",
				"VIPSERVICE_URL":          "http://127.0.0.1:6868",
				"ACCOUNTSERVICE_DB":       "/repo/.run/accounts.db",
				"EDGE_ADMIN_ADDR":         "127.0.0.1:8766",
				// Behind the edge, every service listens on the loopback interface only;
				// the edge, the way in, on every interface.
				"QUOTESERVICE_ADDR":   "127.0.0.1:8080",
				"IMAGESERVICE_ADDR":   "127.0.0.1:7777",
				"VIPSERVICE_ADDR":     "127.0.0.1:6868",
				"ACCOUNTSERVICE_ADDR": "127.0.0.1:6767",
				"EDGE_ADDR":           ":8765",
			},
		},
		{
			name: "the caller's variables pass through",
			environ: []string{"JAEGER_ENDPOINT=http://collector:14268/api/traces", "AMQP_URL=amqp://u:p@rabbit:5672/",
				"LOG_LEVEL=debug", "VIP_QUEUE=q", "EDGE_ADMIN_ADDR=127.0.0.1:18766"},
			want: map[string]string{
				"EDGE_ADMIN_ADDR": "127.0.0.1:18766",
				"JAEGER_ENDPOINT": "http://collector:14268/api/traces",
				"AMQP_URL":        "amqp://u:p@rabbit:5672/",
				"LOG_LEVEL":       "debug",
				"VIP_QUEUE":       "q",
			},
		},
		{
			name:    "a URL follows its service's ADDR",
			environ: []string{"QUOTESERVICE_ADDR=:18080", "IMAGESERVICE_ADDR=127.0.0.1:17777", "ACCOUNTSERVICE_ADDR=0.0.0.0:16767"},
			want: map[string]string{
				"QUOTESERVICE_ADDR":       ":18080",
				"QUOTESERVICE_URL":        "http://localhost:18080",
				"IMAGESERVICE_URL":        "http://127.0.0.1:17777",
				"IMAGESERVICE_PUBLIC_URL": "http://127.0.0.1:17777",
				"ACCOUNTSERVICE_URL":      "http://localhost:16767",
			},
		},
		{
			name: "a URL the caller set wins over its ADDR",
			environ: []string{"QUOTESERVICE_ADDR=:18080", "QUOTESERVICE_URL=http://quotes.example:80",
				"IMAGESERVICE_PUBLIC_URL=https://img.example", "ACCOUNTSERVICE_DB=/data/a.db"},
			want: map[string]string{
				"QUOTESERVICE_URL":        "http://quotes.example:80",
				"IMAGESERVICE_URL":        "http://127.0.0.1:7777",
				"IMAGESERVICE_PUBLIC_URL": "https://img.example",
				"ACCOUNTSERVICE_DB":       "/data/a.db",
			},
		},
		{
			name:    "an empty variable counts as unset",
			environ: []string{"QUOTESERVICE_URL=", "QUOTESERVICE_ADDR=:18080"},
			want:    map[string]string{"QUOTESERVICE_URL": "http://localhost:18080"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _, err := resolve(tt.environ, runDir)
			if err != nil {
				t.Fatalf("resolve(%q) error: %v", tt.environ, err)
			}
			for _, s := range services {
				senv := serviceEnv(env, s)
				for key, want := range tt.want {
					if got := lookup(senv, key); got != want {
						t.Errorf("%s's %s = %q, want %q", s.name, key, got, want)
					}
				}
				if n := countKey(senv, "QUOTESERVICE_URL"); n != 1 {
					t.Errorf("%s's environment has QUOTESERVICE_URL %d times, want once", s.name, n)
				}
			}
		})
	}
}

func TestServiceEnvNamesTheTracer(t *testing.T) {
	// A JAEGER_SERVICE_NAME given to the landscape must not rename every service alike.
	env, _, err := resolve([]string{"JAEGER_SERVICE_NAME=everyone", "PATH=/bin"}, "/run")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range services {
		senv := serviceEnv(env, s)
		if got := lookup(senv, "JAEGER_SERVICE_NAME"); got != s.name {
			t.Errorf("serviceEnv(%s) JAEGER_SERVICE_NAME = %q, want %q", s.name, got, s.name)
		}
		if n := countKey(senv, "JAEGER_SERVICE_NAME"); n != 1 {
			t.Errorf("serviceEnv(%s) has JAEGER_SERVICE_NAME %d times, want once", s.name, n)
		}
		if got := lookup(senv, "PATH"); got != "/bin" {
			t.Errorf("serviceEnv(%s) PATH = %q, want /bin", s.name, got)
		}
	}
	if got := lookup(env, "JAEGER_SERVICE_NAME"); got != "everyone" {
		t.Errorf("serviceEnv changed the shared environment: JAEGER_SERVICE_NAME = %q, want everyone", got)
	}
}

func TestServiceEnvTracingSDK(t *testing.T) {
	// TRACING_SDK moves every service; <NAME>_TRACING_SDK moves one, and wins over it.
	tests := []struct {
		name    string
		environ []string
		want    map[string]string // each service's TRACING_SDK, "" for unset (jaeger)
		note    string
	}{
		{
			name:    "default",
			environ: []string{"PATH=/bin"},
			want:    map[string]string{"edge": "", "accountservice": "", "quoteservice": "", "imageservice": "", "vipservice": ""},
		},
		{
			name:    "one service",
			environ: []string{"ACCOUNTSERVICE_TRACING_SDK=otel"},
			want:    map[string]string{"edge": "", "accountservice": "otel", "quoteservice": "", "imageservice": "", "vipservice": ""},
			note:    "jaeger for quoteservice, imageservice, vipservice, edge; otel for accountservice",
		},
		{
			name:    "all",
			environ: []string{"TRACING_SDK=otel"},
			want:    map[string]string{"edge": "otel", "accountservice": "otel", "quoteservice": "otel", "imageservice": "otel", "vipservice": "otel"},
			note:    "otel for every service",
		},
		{
			name:    "all but one",
			environ: []string{"TRACING_SDK=otel", "VIPSERVICE_TRACING_SDK=jaeger", "EDGE_TRACING_SDK="},
			want:    map[string]string{"edge": "otel", "accountservice": "otel", "quoteservice": "otel", "imageservice": "otel", "vipservice": "jaeger"},
			note:    "otel for quoteservice, imageservice, accountservice, edge; jaeger for vipservice",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, urls, err := resolve(tt.environ, "/run")
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range services {
				want, known := tt.want[s.name]
				if !known { // a service of make new-service follows TRACING_SDK
					want = lookup(tt.environ, "TRACING_SDK")
				}
				senv := serviceEnv(env, s)
				if got := lookup(senv, "TRACING_SDK"); got != want {
					t.Errorf("%s's TRACING_SDK = %q, want %q", s.name, got, want)
				}
				if n := countKey(senv, "TRACING_SDK"); n > 1 {
					t.Errorf("%s's environment has TRACING_SDK %d times, want once at most", s.name, n)
				}
				if want == "" {
					want = "jaeger"
				}
				if got := sdkOf(env, s); got != want {
					t.Errorf("sdkOf(%s) = %q, want %q", s.name, got, want)
				}
			}
			l := &Landscape{Services: urls, SDK: map[string]string{}}
			for _, s := range services {
				l.SDK[s.name] = sdkOf(env, s)
			}
			if len(services) == 5 { // the line names services: today's five
				if got := l.TracingSDKs(); got != tt.note {
					t.Errorf("TracingSDKs() with %q = %q, want %q", tt.environ, got, tt.note)
				}
			}
		})
	}
}

func TestResolveURLs(t *testing.T) {
	_, urls, err := resolve([]string{"EDGE_ADDR=:18765", "VIPSERVICE_ADDR=localhost:16868"}, "/run")
	if err != nil {
		t.Fatal(err)
	}
	want := []Service{
		{"quoteservice", "http://127.0.0.1:8080"},
		{"imageservice", "http://127.0.0.1:7777"},
		{"vipservice", "http://localhost:16868"},
		{"accountservice", "http://127.0.0.1:6767"},
		{"edge", "https://localhost:18765"},
	}
	// The five of today come last, in this order; a service added by make new-service
	// comes first.
	if len(urls) < len(want) || !slices.Equal(urls[len(urls)-len(want):], want) {
		t.Errorf("resolve URLs = %v, want them to end with %v", urls, want)
	}
}

func TestResolveBadAddr(t *testing.T) {
	for _, addr := range []string{"8080", ":0", "localhost"} {
		_, _, err := resolve([]string{"QUOTESERVICE_ADDR=" + addr}, "/run")
		if err == nil || !strings.Contains(err.Error(), "QUOTESERVICE_ADDR") {
			t.Errorf("resolve(QUOTESERVICE_ADDR=%q) error = %v, want one naming QUOTESERVICE_ADDR", addr, err)
		}
	}
}

func TestBaseURL(t *testing.T) {
	tests := []struct {
		addr string
		tls  bool
		want string
	}{
		{":8080", false, "http://localhost:8080"},
		{"0.0.0.0:8080", false, "http://localhost:8080"},
		{"[::]:8080", false, "http://localhost:8080"},
		{"127.0.0.1:8080", false, "http://127.0.0.1:8080"},
		{"[::1]:8080", false, "http://[::1]:8080"},
		{":8765", true, "https://localhost:8765"},
	}
	for _, tt := range tests {
		got, err := baseURL(tt.addr, tt.tls)
		if err != nil || got != tt.want {
			t.Errorf("baseURL(%q, %v) = %q, %v, want %q, nil", tt.addr, tt.tls, got, err, tt.want)
		}
	}
}

func countKey(environ []string, key string) int {
	n := 0
	for _, kv := range environ {
		if strings.HasPrefix(kv, key+"=") {
			n++
		}
	}
	return n
}

func TestJaegerEnv(t *testing.T) {
	tests := []struct {
		environ []string
		want    string
	}{
		{[]string{"PATH=/bin"}, "always_off"},
		{[]string{"OTEL_TRACES_SAMPLER=always_on"}, "always_on"},
	}
	for _, tt := range tests {
		env := jaegerEnv(tt.environ)
		if got := lookup(env, "OTEL_TRACES_SAMPLER"); got != tt.want {
			t.Errorf("jaegerEnv(%q) OTEL_TRACES_SAMPLER = %q, want %q", tt.environ, got, tt.want)
		}
		if got := lookup(env, "PATH"); got != lookup(tt.environ, "PATH") {
			t.Errorf("jaegerEnv(%q) PATH = %q, want the caller's", tt.environ, got)
		}
	}
}

func TestServicesTxt(t *testing.T) {
	want := []string{"quoteservice", "imageservice", "vipservice", "accountservice", "edge"}
	if got := ServiceNames(); !slices.Equal(got[len(got)-len(want):], want) {
		t.Errorf("ServiceNames() = %v, want it to end with %v (today's five, in start order)", got, want)
	}
	for _, bad := range []string{"", "# only a comment\n", "ledger 9090\n", "ledger port http\n", "ledger 70000 http\n", "ledger 9090 grpc\n"} {
		if list, err := parseServices(bad); err == nil {
			t.Errorf("parseServices(%q) = %v, want an error", bad, list)
		}
	}
	list, err := parseServices("ledger-x 9090 http # a comment\nedge 8765 https\n")
	if err != nil {
		t.Fatalf("parseServices: %v", err)
	}
	want2 := []service{
		{name: "ledger-x", addrEnv: "LEDGER_X_ADDR", sdkEnv: "LEDGER_X_TRACING_SDK", addr: "127.0.0.1:9090", urlEnvs: []string{"LEDGER_X_URL"}},
		{name: "edge", addrEnv: "EDGE_ADDR", sdkEnv: "EDGE_TRACING_SDK", addr: ":8765", tls: true},
	}
	for i := range want2 {
		g, w := list[i], want2[i]
		if g.name != w.name || g.addrEnv != w.addrEnv || g.sdkEnv != w.sdkEnv || g.addr != w.addr || g.tls != w.tls || !slices.Equal(g.urlEnvs, w.urlEnvs) {
			t.Errorf("parseServices line %d = %+v, want %+v", i+1, g, w)
		}
	}
}

func TestDefaultPorts(t *testing.T) {
	ports := DefaultPorts()
	for env, want := range map[string]int{"QUOTESERVICE_ADDR": 8080, "EDGE_ADDR": 8765, "VIPSERVICE_ADDR": 6868} {
		if ports[env] != want {
			t.Errorf("DefaultPorts()[%s] = %d, want %d", env, ports[env], want)
		}
	}
	if len(ports) != len(services) {
		t.Errorf("DefaultPorts() has %d entries, want one per service (%d)", len(ports), len(services))
	}
}
