package dockertest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// repoRoot is the repository, seen from this package's directory, where `go test` runs.
const repoRoot = "../.."

// project is the name of the compose project and of the Swarm stack the tests run: not
// "tracelab", so that a developer's own `docker compose up` (and its volume of accounts)
// is never the one a test takes down.
const project = "tracelab-test"

// The addresses the deployment publishes on the host, as a user reaches them.
const (
	edgeURL   = "https://localhost:8765"
	jaegerURL = "http://localhost:16686"
)

// loadgen is the path of bin/loadgen, built for this run by TestMain.
var loadgen string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		return fail("no Docker engine answers (docker info: %v: %s)\n"+
			"\tscripts/ensure-docker.sh installs and starts one; `make test-docker` runs it first", err, strings.TrimSpace(string(out)))
	}
	if out, err := exec.Command("docker", "compose", "version").CombinedOutput(); err != nil {
		return fail("the docker compose plugin is missing (docker compose version: %v: %s)\n"+
			"\tscripts/ensure-docker.sh builds it", err, strings.TrimSpace(string(out)))
	}
	if missing := missingImages(); len(missing) > 0 {
		return fail("these pinned images are not in the engine: %s\n"+
			"\tdeploy/standins/standins.sh pulls them or builds their stand-ins; `make test-docker` runs it first",
			strings.Join(missing, ", "))
	}

	// Compose and the routing mesh publish ports that the e2e and reliability suites use
	// too (Jaeger's 16686 among them): one at a time.
	unlock, err := exclusive()
	if err != nil {
		return fail("%v", err)
	}
	defer unlock()
	if err := portsFree(); err != nil {
		return fail("%v", err)
	}

	dir, err := os.MkdirTemp("", "dockertest")
	if err != nil {
		return fail("%v", err)
	}
	defer os.RemoveAll(dir)
	loadgen = filepath.Join(dir, "loadgen")
	build := exec.Command("go", "build", "-o", loadgen, "./cmd/loadgen")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		return fail("building cmd/loadgen: %v\n%s", err, out)
	}
	return m.Run()
}

// fail prints a reason the suite cannot run and returns the exit code for it.
func fail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "dockertest: "+format+"\n", args...)
	return 1
}

// missingImages lists the images of the default profile that this repository does not
// build and the engine does not have: compose would try to pull them.
func missingImages() []string {
	cmd := exec.Command("docker", "compose", "-f", filepath.Join(repoRoot, "docker-compose.yml"), "config", "--images")
	cmd.Env = composeEnv()
	out, err := cmd.Output()
	if err != nil {
		return []string{fmt.Sprintf("(docker compose config --images: %v)", err)}
	}
	var missing []string
	for _, image := range strings.Fields(string(out)) {
		if strings.HasPrefix(image, "localhost/tracelab/") {
			continue // ours: built by the test
		}
		if err := exec.Command("docker", "image", "inspect", image).Run(); err != nil && !slices.Contains(missing, image) {
			missing = append(missing, image)
		}
	}
	return missing
}

// exclusive waits until no other landscape suite of this machine runs, as
// internal/landscape.Exclusive does for the e2e and reliability suites (the same file, so
// the suites exclude each other), and returns the function that lets the next one go.
// The kernel releases the lock when the process dies, so a crashed run never blocks one.
func exclusive() (unlock func(), err error) {
	path := filepath.Join(os.TempDir(), "tracelab-landscape-tests.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// hostPorts are what compose (and, with Zipkin's 9411, the Swarm stack) publish on the
// host: the edge, Jaeger, RabbitMQ's management UI, gelf-relay.
var hostPorts = []struct {
	network, addr, what string
}{
	{"tcp", ":8765", "the edge"},
	{"tcp", ":16686", "Jaeger's UI and query API"},
	{"tcp", ":15672", "RabbitMQ's management UI"},
	{"tcp", ":9411", "Zipkin (the Swarm stack)"},
	{"udp", "127.0.0.1:12201", "gelf-relay"},
}

// portsFree fails, naming them, when ports the deployment publishes are taken: docker
// would refuse to start the container that publishes one, far into the test.
func portsFree() error {
	var taken []string
	for _, p := range hostPorts {
		var err error
		if p.network == "udp" {
			var c net.PacketConn
			if c, err = net.ListenPacket(p.network, p.addr); err == nil {
				c.Close()
			}
		} else {
			var l net.Listener
			if l, err = net.Listen(p.network, p.addr); err == nil {
				l.Close()
			}
		}
		if errors.Is(err, syscall.EADDRINUSE) {
			taken = append(taken, fmt.Sprintf("%s/%s (%s)", p.addr, p.network, p.what))
		} else if err != nil {
			return fmt.Errorf("checking %s/%s: %w", p.addr, p.network, err)
		}
	}
	if len(taken) > 0 {
		return fmt.Errorf("ports the deployment publishes are taken: %s\n"+
			"\ta running `make run`, `docker compose up` or Swarm stack? Stop it and run again", strings.Join(taken, ", "))
	}
	return nil
}
