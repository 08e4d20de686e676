package validate

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// loadCompose loads compose files the way `docker compose` does (compose-go, the library
// Docker Compose is built on): merged in order, interpolated, validated against the
// compose-spec schema, checked for consistency (depends_on and volumes that exist, ...),
// with the given profiles on. The environment used for ${VAR} is env only, not the one
// of the process running the tests, and no .env file is read, so a developer's TAG or
// COMPOSE_PROFILES cannot change the result.
func loadCompose(t *testing.T, files []string, profiles []string, env map[string]string) *types.Project {
	t.Helper()
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = repoPath(f)
	}
	var envList []string
	for k, v := range env {
		envList = append(envList, k+"="+v)
	}
	opts, err := cli.NewProjectOptions(paths,
		cli.WithWorkingDirectory(repoRoot),
		cli.WithEnv(envList),
		cli.WithProfiles(profiles),
		cli.WithInterpolation(true),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		t.Fatalf("compose options for %v: %v", files, err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("loading %v with profiles %v: %v", files, profiles, err)
	}
	return p
}

// publishedPorts lists the ports a project publishes on the host, of enabled services,
// as "service host_ip:published->target/protocol" (host_ip empty: every interface).
func publishedPorts(p *types.Project) []string {
	var out []string
	for name, s := range p.Services {
		for _, port := range s.Ports {
			if port.Published == "" {
				continue
			}
			out = append(out, fmt.Sprintf("%s %s:%s->%d/%s", name, port.HostIP, port.Published, port.Target, port.Protocol))
		}
	}
	sort.Strings(out)
	return out
}

// The services of docker-compose.yml, by profile, and what each combination publishes.
var (
	composeBase   = concat(ourServices, []string{"rabbitmq", "jaeger", "zipkin-relay", "gelf-relay"})
	composeZipkin = []string{"zipkin"}
	composeELK    = []string{"elasticsearch", "logstash", "kibana", "kibana-setup"}

	portsBase = []string{
		"edge :8765->8765/tcp",
		// The edge's admin listener (make fault): this machine only, never the network.
		"edge 127.0.0.1:8766->8766/tcp",
		// 127.0.0.1 only: the Docker daemon's gelf driver sends from the host (x-tracelab-service).
		"gelf-relay 127.0.0.1:12201->12201/udp",
		"jaeger :16686->16686/tcp",
		"rabbitmq :15672->15672/tcp",
	}
	portsZipkin = []string{"zipkin :9411->9411/tcp"}
	portsELK    = []string{"kibana :5601->5601/tcp"}
	// deploy/compose/debug.yml: the inner ports, on localhost only.
	// debug.yml publishes every service behind the edge on its own port, on localhost.
	portsDebug    = concat(debugPorts(), []string{"jaeger 127.0.0.1:14268->14268/tcp", "rabbitmq 127.0.0.1:5672->5672/tcp"})
	portsDebugELK = []string{"elasticsearch 127.0.0.1:9200->9200/tcp"}
)

// oneShot are services that run to completion: no healthcheck, and a dependency on them
// waits for service_completed_successfully.
var oneShot = []string{"kibana-setup"}

// concat joins lists into a new sorted one.
// debugPorts are the ports debug.yml publishes for our services: all but the edge's.
func debugPorts() []string {
	var out []string
	for _, name := range ourServices {
		if name != "edge" {
			out = append(out, fmt.Sprintf("%s 127.0.0.1:%d->%d/tcp", name, ourPorts[name], ourPorts[name]))
		}
	}
	return out
}

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	sort.Strings(out)
	return out
}

// TestCompose loads docker-compose.yml with each profile combination, and with
// deploy/compose/debug.yml on top, and checks each resulting project: the services, the
// published ports (exactly: a stray one fails), pinned images, our images named under
// localhost/ and never pulled, healthchecks, restart policies, depends_on waiting for
// health, named volumes for the data, bind mounts that exist. That our images build from
// their Dockerfile targets, that their healthchecks pass and that they run read-only and
// log through gelf is proven by running them (deploy/dockertest), not here.
func TestCompose(t *testing.T) {
	main := []string{"docker-compose.yml"}
	debug := []string{"docker-compose.yml", "deploy/compose/debug.yml"}
	tests := []struct {
		name     string
		files    []string
		profiles []string
		services []string
		ports    []string
	}{
		{"no profile", main, nil, concat(composeBase), concat(portsBase)},
		{"zipkin", main, []string{"zipkin"}, concat(composeBase, composeZipkin), concat(portsBase, portsZipkin)},
		{"elk", main, []string{"elk"}, concat(composeBase, composeELK), concat(portsBase, portsELK)},
		{"zipkin and elk", main, []string{"zipkin", "elk"}, concat(composeBase, composeZipkin, composeELK), concat(portsBase, portsZipkin, portsELK)},
		{"all", main, []string{"all"}, concat(composeBase, composeZipkin, composeELK), concat(portsBase, portsZipkin, portsELK)},
		{"debug", debug, nil, concat(composeBase), concat(portsBase, portsDebug)},
		{"debug all", debug, []string{"all"}, concat(composeBase, composeZipkin, composeELK), concat(portsBase, portsZipkin, portsELK, portsDebug, portsDebugELK)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := loadCompose(t, tt.files, tt.profiles, nil)
			if got := p.ServiceNames(); !slices.Equal(got, tt.services) {
				t.Errorf("services of %v with profiles %v = %v, want %v", tt.files, tt.profiles, got, tt.services)
			}
			if got := publishedPorts(p); !slices.Equal(got, tt.ports) {
				t.Errorf("published ports of %v with profiles %v =\n\t%s\nwant\n\t%s",
					tt.files, tt.profiles, strings.Join(got, "\n\t"), strings.Join(tt.ports, "\n\t"))
			}
			for _, name := range p.ServiceNames() {
				checkComposeService(t, p, p.Services[name])
			}
		})
	}
}

// checkComposeService checks one service of a loaded compose project.
func checkComposeService(t *testing.T, p *types.Project, s types.ServiceConfig) {
	t.Helper()
	if isOurs(s.Name) {
		// Under localhost/, a registry nobody else owns, and built, never pulled: compose
		// pulls a missing image even when it has a build section (`docker compose up`
		// without --build, `docker compose pull`), and an unqualified name is Docker Hub's.
		if want := "localhost/tracelab/" + s.Name + ":dev"; s.Image != want {
			t.Errorf("%s: image = %q, want %q (TAG unset means dev)", s.Name, s.Image, want)
		}
		if s.PullPolicy != types.PullPolicyBuild {
			t.Errorf("%s: pull_policy = %q, want %q: a missing image is built, never looked for in a registry", s.Name, s.PullPolicy, types.PullPolicyBuild)
		}
	} else if why := unpinned(s.Image); why != "" {
		t.Errorf("%s: image %q is not pinned: %s", s.Name, s.Image, why)
	}

	if s.Restart == "" || s.Restart == "no" {
		t.Errorf("%s: restart = %q, want a restart policy (unless-stopped, or on-failure for a one-shot)", s.Name, s.Restart)
	}
	if slices.Contains(oneShot, s.Name) {
		if !strings.HasPrefix(s.Restart, "on-failure") {
			t.Errorf("%s: restart = %q, want on-failure: it runs once and exits 0", s.Name, s.Restart)
		}
	} else if s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) == 0 {
		t.Errorf("%s: no healthcheck; depends_on cannot wait for it to be healthy", s.Name)
	}

	for dep, d := range s.DependsOn {
		target, enabled := p.Services[dep]
		if !enabled {
			continue // the loader already refuses a dependency on a service that does not exist
		}
		want := types.ServiceConditionHealthy
		if slices.Contains(oneShot, dep) {
			want = types.ServiceConditionCompletedSuccessfully
		}
		if d.Condition != want {
			t.Errorf("%s: depends_on %s: condition %q, want %q", s.Name, dep, d.Condition, want)
		}
		if want == types.ServiceConditionHealthy && (target.HealthCheck == nil || target.HealthCheck.Disable) {
			t.Errorf("%s: depends_on %s: service_healthy, but %s has no healthcheck: it would never start", s.Name, dep, dep)
		}
	}

	for _, v := range s.Volumes {
		switch v.Type {
		case types.VolumeTypeBind:
			if _, err := os.Stat(v.Source); err != nil {
				t.Errorf("%s: bind mount of %s: %v", s.Name, v.Source, err)
			}
			if !v.ReadOnly {
				t.Errorf("%s: bind mount of %s is writable; a container never writes into the repository", s.Name, v.Source)
			}
		case types.VolumeTypeVolume:
			if _, ok := p.Volumes[v.Source]; !ok {
				t.Errorf("%s: volume %q is not declared under volumes:", s.Name, v.Source)
			}
		default:
			t.Errorf("%s: volume of type %q at %s: want a named volume or a read-only bind mount", s.Name, v.Type, v.Target)
		}
	}
}

// mustAbs returns the absolute form of a path.
func mustAbs(t *testing.T, p string) string {
	t.Helper()
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// namedVolumeAt returns the named volume a service mounts at target, or "".
func namedVolumeAt(s types.ServiceConfig, target string) string {
	for _, v := range s.Volumes {
		if v.Type == types.VolumeTypeVolume && path.Clean(v.Target) == path.Clean(target) {
			return v.Source
		}
	}
	return ""
}

// TestComposeData checks that what must survive `docker compose down` lives on named
// volumes: Elasticsearch's data, RabbitMQ's queues. (The accounts do too: deploy/dockertest
// takes the project down and up and finds them.)
func TestComposeData(t *testing.T) {
	p := loadCompose(t, []string{"docker-compose.yml"}, []string{"all"}, nil)
	tests := []struct {
		service, target string
	}{
		{"elasticsearch", "/usr/share/elasticsearch/data"},
		{"rabbitmq", "/var/lib/rabbitmq"},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			if v := namedVolumeAt(p.Services[tt.service], tt.target); v == "" {
				t.Errorf("%s: no named volume mounted at %s; its data would go with the container", tt.service, tt.target)
			}
		})
	}
}

// TestComposeVariables checks that the compose file follows its variables: TAG picks our
// images' tag, RABBITMQ_USER/RABBITMQ_PASSWORD change the broker's user and the AMQP_URL
// of both its clients together, and GELF_ADDRESS (Docker Desktop's daemon is in a VM)
// moves every service's gelf-address, which is gelf-relay's published port without it.
func TestComposeVariables(t *testing.T) {
	const desktop = "udp://host.docker.internal:12201"
	p := loadCompose(t, []string{"docker-compose.yml"}, nil, map[string]string{
		"TAG": "1a2b3c4", "RABBITMQ_USER": "alice", "RABBITMQ_PASSWORD": "s3cret", "GELF_ADDRESS": desktop,
	})
	unset := loadCompose(t, []string{"docker-compose.yml"}, nil, nil)
	for _, name := range ourServices {
		if want := "localhost/tracelab/" + name + ":1a2b3c4"; p.Services[name].Image != want {
			t.Errorf("with TAG=1a2b3c4: %s image = %q, want %q", name, p.Services[name].Image, want)
		}
		if l := p.Services[name].Logging; l == nil || l.Options["gelf-address"] != desktop {
			t.Errorf("with GELF_ADDRESS=%s: %s logging = %+v, want that gelf-address", desktop, name, l)
		}
		if l := unset.Services[name].Logging; l == nil || l.Options["gelf-address"] != "udp://127.0.0.1:12201" {
			t.Errorf("without GELF_ADDRESS: %s logging = %+v, want gelf-address udp://127.0.0.1:12201 (gelf-relay)", name, l)
		}
	}
	rabbit := p.Services["rabbitmq"].Environment
	if u, pw := deref(rabbit["RABBITMQ_DEFAULT_USER"]), deref(rabbit["RABBITMQ_DEFAULT_PASS"]); u != "alice" || pw != "s3cret" {
		t.Errorf("with RABBITMQ_USER=alice RABBITMQ_PASSWORD=s3cret: rabbitmq user %q password %q, want alice s3cret", u, pw)
	}
	for _, name := range []string{"accountservice", "vipservice"} {
		if got, want := deref(p.Services[name].Environment["AMQP_URL"]), "amqp://alice:s3cret@rabbitmq:5672/"; got != want {
			t.Errorf("with RABBITMQ_USER=alice RABBITMQ_PASSWORD=s3cret: %s AMQP_URL = %q, want %q", name, got, want)
		}
	}
}

// deref returns *s, or "" for nil (an environment entry without a value).
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// TestSwarm loads deploy/swarm/tracelab-stack.yml with the compose loader, as `docker
// stack deploy` does, and checks what Swarm needs: every service with deploy resources
// (reservations and limits) and a restart policy, our images tagged with $TAG (Swarm does
// not build), the others pinned, healthchecks, the published ports, and accountservice as
// a single task replaced stop-first (BoltDB locks its file).
func TestSwarm(t *testing.T) {
	const tag = "swarmtag1"
	p := loadCompose(t, []string{"deploy/swarm/tracelab-stack.yml"}, nil, map[string]string{"TAG": tag})
	wantServices := concat(ourServices, []string{"rabbitmq", "jaeger", "zipkin"})
	if got := p.ServiceNames(); !slices.Equal(got, wantServices) {
		t.Errorf("swarm services = %v, want %v", got, wantServices)
	}
	// What compose publishes with the zipkin profile, but gelf-relay and the edge's admin
	// listener: the stack has Zipkin, and no ELK, its services log to Docker's default
	// driver, and a swarm port is published on every node's every interface.
	wantPorts := slices.DeleteFunc(concat(portsBase, portsZipkin), func(p string) bool {
		return strings.HasPrefix(p, "gelf-relay ") || strings.HasPrefix(p, "edge 127.0.0.1:8766->")
	})
	if got := publishedPorts(p); !slices.Equal(got, wantPorts) {
		t.Errorf("swarm published ports =\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(wantPorts, "\n\t"))
	}
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		t.Run(name, func(t *testing.T) {
			if isOurs(name) {
				if want := "localhost/tracelab/" + name + ":" + tag; s.Image != want {
					t.Errorf("image with TAG=%s = %q, want %q: the stack must deploy the images copyall.sh tagged", tag, s.Image, want)
				}
			} else if why := unpinned(s.Image); why != "" {
				t.Errorf("image %q is not pinned: %s", s.Image, why)
			}
			if s.Build != nil {
				t.Errorf("has a build section; docker stack deploy ignores it, the images come from copyall.sh")
			}
			if s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) == 0 {
				t.Errorf("no healthcheck: Swarm would route to a task before it answers")
			}
			d := s.Deploy
			if d == nil {
				t.Fatalf("no deploy section")
			}
			if d.RestartPolicy == nil || d.RestartPolicy.Condition == "" {
				t.Errorf("deploy.restart_policy = %+v, want a condition", d.RestartPolicy)
			}
			if d.Resources.Limits == nil || d.Resources.Limits.MemoryBytes <= 0 {
				t.Errorf("deploy.resources.limits.memory missing: one task could take a node's memory")
			}
			if d.Resources.Reservations == nil || d.Resources.Reservations.MemoryBytes <= 0 {
				t.Errorf("deploy.resources.reservations.memory missing: the scheduler cannot place tasks by memory")
			}
			if isOurs(name) && (d.Resources.Limits == nil || d.Resources.Limits.NanoCPUs <= 0) {
				t.Errorf("deploy.resources.limits.cpus missing")
			}
		})
	}
	acc := p.Services["accountservice"].Deploy
	if acc == nil || acc.Replicas == nil || *acc.Replicas != 1 {
		t.Errorf("accountservice: deploy.replicas = %v, want 1: BoltDB locks its file", acc)
	} else if acc.UpdateConfig == nil || acc.UpdateConfig.Order != "stop-first" {
		t.Errorf("accountservice: deploy.update_config = %+v, want order stop-first: a new task waits forever for the old one's lock", acc.UpdateConfig)
	}
	noTag := loadCompose(t, []string{"deploy/swarm/tracelab-stack.yml"}, nil, nil)
	if got, want := noTag.Services["edge"].Image, "localhost/tracelab/edge:dev"; got != want {
		t.Errorf("swarm edge image without TAG = %q, want %q", got, want)
	}
}
