package validate

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// dockerfile is the parsed Dockerfile: its stages, its global ARGs with their defaults,
// and what BuildKit's parser and linter (the checks `docker build` prints as warnings)
// said about it.
type dockerfile struct {
	stages   []instructions.Stage
	args     map[string]string
	warnings []string
}

var parsedDockerfile = sync.OnceValues(func() (*dockerfile, error) {
	f, err := os.Open(repoPath("Dockerfile"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("parsing the Dockerfile: %w", err)
	}
	df := &dockerfile{args: map[string]string{}}
	for _, w := range res.Warnings {
		df.warnings = append(df.warnings, fmt.Sprintf("parser: %s (line %d)", w.Short, w.Location.Start.Line))
	}
	lint := linter.New(&linter.Config{Warn: func(rule, _, url, msg string, loc []parser.Range) {
		line := 0
		if len(loc) > 0 {
			line = loc[0].Start.Line
		}
		df.warnings = append(df.warnings, fmt.Sprintf("lint %s: %s (line %d, %s)", rule, msg, line, url))
	}})
	stages, metaArgs, err := instructions.Parse(res.AST, lint)
	if err != nil {
		return nil, fmt.Errorf("the Dockerfile's instructions: %w", err)
	}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if kv.Value != nil {
				df.args[kv.Key] = *kv.Value
			}
		}
	}
	df.stages = stages
	return df, nil
})

// loadDockerfile returns the parsed Dockerfile, failing the test when it does not parse.
func loadDockerfile(t *testing.T) *dockerfile {
	t.Helper()
	df, err := parsedDockerfile()
	if err != nil {
		t.Fatal(err)
	}
	return df
}

// stage returns the stage of that name, or nil.
func (df *dockerfile) stage(name string) *instructions.Stage {
	for i := range df.stages {
		if strings.EqualFold(df.stages[i].Name, name) {
			return &df.stages[i]
		}
	}
	return nil
}

// base returns what a stage is built FROM, its global ARGs expanded.
func (df *dockerfile) base(s *instructions.Stage) (string, error) {
	var env []string
	for k, v := range df.args {
		env = append(env, k+"="+v)
	}
	res, err := shell.NewLex('\\').ProcessWordWithMatches(s.BaseName, shell.EnvsFromSlice(env))
	if err != nil {
		return "", err
	}
	return res.Result, nil
}

// chain returns the stages a stage is built on, itself first, down to the one built FROM
// an image (or scratch), and that image.
func (df *dockerfile) chain(name string) ([]*instructions.Stage, string, error) {
	s := df.stage(name)
	if s == nil {
		return nil, "", fmt.Errorf("no stage %s", name)
	}
	return df.chainFrom(s)
}

// chainFrom is chain for a stage in hand.
func (df *dockerfile) chainFrom(s *instructions.Stage) ([]*instructions.Stage, string, error) {
	var out []*instructions.Stage
	for {
		if slices.Contains(out, s) {
			return nil, "", fmt.Errorf("stage %s: a cycle of FROMs", s.Name)
		}
		out = append(out, s)
		base, err := df.base(s)
		if err != nil {
			return nil, "", fmt.Errorf("stage %s: FROM %s: %w", s.Name, s.BaseName, err)
		}
		next := df.stage(base)
		if next == nil {
			return out, base, nil
		}
		s = next
	}
}

// commands returns the commands of a chain of stages in the order they apply (the base
// stage's first).
func commands(chain []*instructions.Stage) []instructions.Command {
	var out []instructions.Command
	for i := len(chain) - 1; i >= 0; i-- {
		out = append(out, chain[i].Commands...)
	}
	return out
}

// imageEnv returns the ENV a service's final image sets.
func imageEnv(t *testing.T, service string) map[string]string {
	t.Helper()
	df := loadDockerfile(t)
	chain, _, err := df.chain(service)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, c := range commands(chain) {
		if e, ok := c.(*instructions.EnvCommand); ok {
			for _, kv := range e.Env {
				env[kv.Key] = kv.Value
			}
		}
	}
	return env
}

// numericUser matches USER uid or uid:gid, numbers only: Kubernetes' runAsNonRoot can
// check a number without an /etc/passwd, which a scratch image does not have.
var numericUser = regexp.MustCompile(`^(\d+)(:\d+)?$`)

// TestDockerfile parses the Dockerfile with BuildKit's own parser and linter and checks:
// no warnings; no `# syntax=` line; the Go build on a pinned Go image of the go.mod
// release; a final stage per service, named as the service, built on scratch or a pinned
// image, running as a numeric non-root user, with EXPOSE and HEALTHCHECK on the port the
// code listens on by default, and no ENV the service does not read. That the build makes
// static binaries of every service and the healthcheck, and that each image runs its
// service, is proven by building and running them (deploy/dockertest), not here.
func TestDockerfile(t *testing.T) {
	df := loadDockerfile(t)
	for _, w := range df.warnings {
		t.Errorf("Dockerfile: %s", w)
	}
	// A syntax directive makes BuildKit fetch that frontend from a registry even when
	// every image is local: no build could work offline (a workshop room with pre-pulled
	// images and bad Wi-Fi, our CI machines). The built-in frontend has all the file uses.
	if m := regexp.MustCompile(`(?mi)\A(?:#.*\n)*?#\s*syntax\s*=.*$`).FindString(readRepoFile(t, "Dockerfile")); m != "" {
		t.Errorf("Dockerfile: %q: drop it, BuildKit would pull the frontend it names before building anything", m)
	}

	t.Run("build", func(t *testing.T) {
		goMod := readRepoFile(t, "go.mod")
		m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(goMod)
		if m == nil {
			t.Fatal("go.mod has no go line")
		}
		builds := 0
		for i := range df.stages {
			s := &df.stages[i]
			_, img, err := df.chainFrom(s)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range s.Commands {
				run, ok := c.(*instructions.RunCommand)
				if !ok || !strings.Contains(strings.Join(run.CmdLine, " "), "go build") {
					continue
				}
				builds++
				// Every service of the list, whatever it holds today.
				if line := strings.Join(run.CmdLine, " "); !strings.Contains(line, servicesFile) {
					t.Errorf("stage %s: `go build` does not read %s, so a service added there is not built: %s", s.Name, servicesFile, line)
				}
				if why := unpinned(img); why != "" {
					t.Errorf("stage %s: FROM %s is not pinned: %s", s.Name, img, why)
				}
				if repo, tag := splitImage(img); repo == "golang" && !strings.HasPrefix(tag, m[1]+".") {
					t.Errorf("stage %s: FROM %s, want the Go %s of go.mod", s.Name, img, m[1])
				}
			}
		}
		if builds == 0 {
			t.Error("no stage runs `go build`")
		}
	})

	for _, name := range ourServices {
		t.Run(name, func(t *testing.T) {
			src := sourceOf(t, name)
			port := src.port(t)
			chain, root, err := df.chain(name)
			if err != nil {
				t.Fatalf("%v: every service needs a final stage named after it (docker build --target %s)", err, name)
			}
			if root != "scratch" {
				if why := unpinned(root); why != "" {
					t.Errorf("final image of %s is built FROM %s, which is not pinned: %s", name, root, why)
				}
			}
			var (
				user    string
				exposed []string
				health  *instructions.HealthCheckCommand
			)
			for _, c := range commands(chain) {
				switch c := c.(type) {
				case *instructions.UserCommand:
					user = c.User
				case *instructions.ExposeCommand:
					exposed = append(exposed, c.Ports...)
				case *instructions.HealthCheckCommand:
					health = c
				}
			}
			// Numeric: Kubernetes' runAsNonRoot can check only a number (no /etc/passwd).
			if m := numericUser.FindStringSubmatch(user); m == nil || m[1] == "0" {
				t.Errorf("USER %q in the final image of %s, want a numeric non-root uid[:gid]", user, name)
			}
			if want := strconv.Itoa(port); !slices.Contains(exposed, want) && !slices.Contains(exposed, want+"/tcp") {
				t.Errorf("EXPOSE of %s = %v, want %s (the default of %s)", name, exposed, want, src.addrVar())
			}
			if health == nil || health.Health == nil || len(health.Health.Test) == 0 {
				t.Fatalf("no HEALTHCHECK in the final image of %s", name)
			}
			scheme := "http"
			if name == "edge" {
				scheme = "https"
			}
			u, ok := healthcheckURL(health.Health.Test)
			switch {
			case health.Health.Test[0] != "CMD" || len(health.Health.Test) < 2 || health.Health.Test[1] != "/app/healthcheck":
				t.Errorf("HEALTHCHECK of %s = %q, want CMD [\"/app/healthcheck\", ...]: the image has no shell", name, health.Health.Test)
			case !ok:
				t.Errorf("HEALTHCHECK of %s = %q has no URL", name, health.Health.Test)
			case u.Scheme != scheme || u.Hostname() != "127.0.0.1" || urlPort(u) != port || u.Path != "/healthz":
				t.Errorf("HEALTHCHECK of %s calls %s, want %s://127.0.0.1:%d/healthz", name, u, scheme, port)
			}
			for k := range imageEnv(t, name) {
				if _, ok := src.reads[k]; !ok {
					t.Errorf("the image of %s sets ENV %s, which %s does not read", name, k, name)
				}
			}
		})
	}
}

// TestDockerignore checks that .dockerignore, read by the same library `docker build`
// uses, keeps the repository's history, local build output and tests out of the build
// context. (That it keeps in what the images compile, the build itself proves:
// deploy/dockertest.)
func TestDockerignore(t *testing.T) {
	f, err := os.Open(repoPath(".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatalf(".dockerignore: %v", err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatalf(".dockerignore: %v", err)
	}
	for _, p := range []string{".git/HEAD", "bin/edge", "dist/edge", ".run/accounts.db", "edge/main_test.go"} {
		if excluded, _ := pm.MatchesOrParentMatches(p); !excluded {
			t.Errorf(".dockerignore lets %s into the build context", p)
		}
	}
}
