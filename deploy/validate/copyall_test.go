package validate

import (
	"bytes"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The shell scripts of the deployment: copyall.sh, the Kibana setup that runs in the
// curl image's busybox sh, what `make test-docker` runs first (the engine and plugins, the
// stand-in images), the stand-ins' entrypoints, and the build of a one-node Kubernetes.
var scripts = []struct {
	path  string
	shell string // what runs it
}{
	{"copyall.sh", "bash"},
	{"deploy/compose/kibana/setup.sh", "sh"},
	{"scripts/ensure-docker.sh", "bash"},
	{"scripts/ensure-k8s.sh", "bash"},
	{"scripts/k8s-cluster.sh", "bash"},
	{"deploy/standins/standins.sh", "bash"},
	{"deploy/standins/rabbitmq/docker-entrypoint.sh", "bash"},
	{"deploy/standins/nginx/docker-entrypoint.sh", "sh"},
}

// TestScriptSyntax checks each script with its shell's -n (parse, run nothing) and with
// shellcheck. shellcheck missing is a failure, not a skip: CI installs it (.ci/run).
func TestScriptSyntax(t *testing.T) {
	shellcheck, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Errorf("shellcheck is not installed: apt-get install shellcheck (or brew install shellcheck); .ci/run installs it in CI")
	}
	for _, s := range scripts {
		t.Run(filepath.Base(s.path), func(t *testing.T) {
			if out, err := exec.Command(s.shell, "-n", repoPath(s.path)).CombinedOutput(); err != nil {
				t.Errorf("%s -n %s: %v\n%s", s.shell, s.path, err, out)
			}
			if shellcheck == "" {
				return
			}
			// -x follows sourced files; the shebang tells shellcheck the dialect.
			if out, err := exec.Command(shellcheck, "-x", repoPath(s.path)).CombinedOutput(); err != nil {
				t.Errorf("shellcheck %s: %v\n%s", s.path, err, out)
			}
		})
	}
}

// TestCopyall runs ./copyall.sh the way a developer does, with Docker made unreachable
// (DOCKER_HOST pointing at a socket that does not exist) so that it stops after the
// binaries whether or not this machine has Docker, and checks that it says so, that
// it exits 0, and that every service is in dist/ as a static linux/amd64 ELF: no program
// interpreter (PT_INTERP) and no shared library needed (DT_NEEDED), so it runs FROM scratch.
// dist/ is the script's only output directory; it is removed afterwards unless it was
// there before.
func TestCopyall(t *testing.T) {
	t.Parallel()
	dist := repoPath("dist")
	if _, err := os.Stat(dist); errors.Is(err, os.ErrNotExist) {
		t.Cleanup(func() { os.RemoveAll(dist) })
	}

	t.Run("usage", func(t *testing.T) {
		out, err := exec.Command("bash", repoPath("copyall.sh"), "-h").CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "usage: ./copyall.sh") {
			t.Errorf("copyall.sh -h = %v, %q; want exit 0 and a usage message", err, out)
		}
		out, err = exec.Command("bash", repoPath("copyall.sh"), "--no-such-option").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "usage:") || !strings.Contains(string(out), "unknown option") {
			t.Errorf("copyall.sh --no-such-option = %v, %q; want a failure naming the option, with the usage", err, out)
		}
	})

	cmd := exec.Command("bash", repoPath("copyall.sh"), "-t", "validate")
	var env []string
	for _, kv := range os.Environ() {
		// A developer's Docker settings must not turn this into an image build.
		if !strings.HasPrefix(kv, "DOCKER_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "DOCKER_HOST=unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("./copyall.sh: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "skipping the images") {
		t.Errorf("./copyall.sh without Docker did not say it skipped the images:\n%s", out.String())
	}

	for _, name := range ourServices {
		t.Run(name, func(t *testing.T) {
			f, err := elf.Open(filepath.Join(dist, name))
			if err != nil {
				t.Fatalf("dist/%s: %v", name, err)
			}
			defer f.Close()
			if f.Machine != elf.EM_X86_64 || f.Class != elf.ELFCLASS64 || f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX {
				t.Errorf("dist/%s: %v %v %v, want a linux/amd64 (x86-64, 64-bit) executable", name, f.Machine, f.Class, f.OSABI)
			}
			if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
				t.Errorf("dist/%s: ELF type %v, want an executable", name, f.Type)
			}
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP {
					t.Errorf("dist/%s has a program interpreter (PT_INTERP): it is dynamically linked; build with CGO_ENABLED=0", name)
				}
			}
			libs, err := f.ImportedLibraries()
			if err != nil {
				t.Errorf("dist/%s: reading its dynamic section: %v", name, err)
			}
			if len(libs) > 0 {
				t.Errorf("dist/%s needs shared libraries %v (DT_NEEDED); it would not run FROM scratch", name, libs)
			}
		})
	}
}
