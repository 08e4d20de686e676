package validate

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/distribution/reference"
)

// repoRoot is the repository, seen from this package's directory (deploy/validate), which
// is where `go test` runs the tests.
const repoRoot = "../.."

// servicesFile is the one list of the services built from this repository
// (internal/landscape/services.txt): a name, a port and a kind a line, in start order.
const servicesFile = "internal/landscape/services.txt"

// ourServices are the services of servicesFile. Each name is at once the directory, the
// binary, the tracer's service name, the Dockerfile target, the compose and Swarm service,
// and the Kubernetes Deployment, Service and container (STYLE.md). TestServiceList fails
// when a service directory is not in the file, or the reverse; the other tests, when a
// deploy file lacks a service of the file or has one more.
var ourServices, ourPorts, servicesErr = readServices()

// readServices reads servicesFile: the names in order, and each one's port.
func readServices() ([]string, map[string]int, error) {
	b, err := os.ReadFile(repoPath(servicesFile))
	if err != nil {
		return nil, nil, err
	}
	var names []string
	ports := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		port, err := strconv.Atoi(f[1%len(f)])
		if len(f) != 3 || err != nil {
			return nil, nil, fmt.Errorf("%s: %q, want a name, a port and a kind", servicesFile, line)
		}
		names = append(names, f[0])
		ports[f[0]] = port
	}
	return names, ports, nil
}

// isOurs reports whether name is one of ourServices.
func isOurs(name string) bool { return slices.Contains(ourServices, name) }

// repoPath joins elem onto the repository root.
func repoPath(elem ...string) string {
	return filepath.Join(append([]string{repoRoot}, elem...)...)
}

// readRepoFile returns the content of a file of the repository, failing the test when it
// cannot be read.
func readRepoFile(t *testing.T, elem ...string) string {
	t.Helper()
	b, err := os.ReadFile(repoPath(elem...))
	if err != nil {
		t.Fatalf("reading %s: %v", filepath.Join(elem...), err)
	}
	return string(b)
}

// TestServiceList checks servicesFile against the repository: every top-level directory
// holding a `package main` with a main.go is a service the deploy files must know about,
// and every service of the file is such a directory, listening by default on its port.
func TestServiceList(t *testing.T) {
	if servicesErr != nil {
		t.Fatalf("the list of services: %v", servicesErr)
	}
	entries, err := os.ReadDir(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		b, err := os.ReadFile(repoPath(e.Name(), "main.go"))
		if err != nil {
			continue
		}
		if regexp.MustCompile(`(?m)^package main\b`).Match(b) {
			found = append(found, e.Name())
		}
	}
	for _, dir := range found {
		if !isOurs(dir) {
			t.Errorf("%s/ is a service (a main.go in package main) with no line in %s: "+
				"add one (make new-service does), and its entries in every deploy file", dir, servicesFile)
		}
	}
	for _, name := range ourServices {
		if !slices.Contains(found, name) {
			t.Errorf("%s lists %s, which has no folder with a main.go in package main", servicesFile, name)
			continue
		}
		if got, want := sourceOf(t, name).port(t), ourPorts[name]; got != want {
			t.Errorf("%s listens on %d by default, but %s says %d", name, got, servicesFile, want)
		}
	}
}

// versionTag is a tag that names one release: major.minor.patch, with a suffix allowed
// ("4.1.4-management", "1.28.0-alpine"). "4.1" or "management" would move under us.
var versionTag = regexp.MustCompile(`^v?\d+\.\d+\.\d+([-.+_][0-9A-Za-z.-]+)?$`)

// unpinned says why image is not pinned to one release, or returns "" when it is: a
// digest, or a tag that names a full version.
func unpinned(image string) string {
	if image == "" {
		return "no image"
	}
	ref, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return fmt.Sprintf("not an image reference: %v", err)
	}
	if _, ok := ref.(reference.Digested); ok {
		return ""
	}
	tagged, ok := ref.(reference.Tagged)
	switch {
	case !ok:
		return "no tag, so Docker pulls :latest, whatever it is that day"
	case tagged.Tag() == "latest":
		return ":latest moves"
	case !versionTag.MatchString(tagged.Tag()):
		return fmt.Sprintf("tag %q is not a full version (major.minor.patch): it moves", tagged.Tag())
	}
	return ""
}

// splitImage returns the repository and the tag of image ("tracelab/edge", "dev").
func splitImage(image string) (repo, tag string) {
	ref, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return image, ""
	}
	if tagged, ok := ref.(reference.Tagged); ok {
		tag = tagged.Tag()
	}
	return reference.FamiliarName(ref), tag
}

// addrPort returns the port of a listen address such as ":6767" or "0.0.0.0:6767", and
// whether the address listens on every interface (what a container must do to be reached).
func addrPort(addr string) (port int, allInterfaces bool, err error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, false, err
	}
	port, err = strconv.Atoi(p)
	if err != nil {
		return 0, false, fmt.Errorf("port %q: %w", p, err)
	}
	return port, host == "" || host == "0.0.0.0" || host == "::", nil
}

// urlPort returns the port of u, or the scheme's default.
func urlPort(u *url.URL) int {
	if p := u.Port(); p != "" {
		n, _ := strconv.Atoi(p)
		return n
	}
	switch u.Scheme {
	case "https":
		return 443
	case "amqp":
		return 5672
	}
	return 80
}

// healthcheckURL returns the URL in a healthcheck command that calls /app/healthcheck
// (cmd/healthcheck) or wget/curl: the first argument that parses as an http(s) URL.
func healthcheckURL(test []string) (*url.URL, bool) {
	for _, arg := range test {
		for _, field := range strings.Fields(arg) {
			field = strings.Trim(field, `'"`)
			if !strings.HasPrefix(field, "http://") && !strings.HasPrefix(field, "https://") {
				continue
			}
			if u, err := url.Parse(field); err == nil {
				return u, true
			}
		}
	}
	return nil, false
}

// sortedKeys returns the keys of m in order, for stable failure messages.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
