package validate

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

// lfFile reports whether a Linux program reads path line by line, in a container or as a
// script, so that a CR at the end of each line would break it: shell scripts (any file
// starting with #!), Dockerfiles, YAML, nginx and Logstash configurations, .dockerignore.
func lfFile(path string, head []byte) bool {
	base := filepath.Base(path)
	switch {
	case bytes.HasPrefix(head, []byte("#!")):
		return true
	case base == "Dockerfile", base == ".dockerignore", base == "Makefile":
		return true
	}
	return slices.Contains([]string{".sh", ".yml", ".yaml", ".conf"}, filepath.Ext(path))
}

// TestLineEndings checks, with git's own reading of .gitattributes, that every file a
// Linux program reads line by line (lfFile), and every file docker-compose.yml mounts
// into a container, is checked out with LF line endings on every platform. Without it a
// Windows checkout (core.autocrlf=true) gets CRLF, and a script mounted into a container
// stops at `set -o pipefail` (the option is "pipefail\r").
func TestLineEndings(t *testing.T) {
	ls := exec.Command("git", "ls-files")
	ls.Dir = repoRoot
	out, err := ls.Output()
	if err != nil {
		t.Fatalf("git ls-files (the test reads .gitattributes as git does, in a clone): %v", err)
	}
	var files []string
	for _, f := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		head := make([]byte, 2)
		if fh, err := os.Open(repoPath(f)); err == nil {
			fh.Read(head)
			fh.Close()
		}
		if lfFile(f, head) {
			files = append(files, f)
		}
	}
	p := loadCompose(t, []string{"docker-compose.yml", "deploy/compose/debug.yml"}, []string{"all"}, nil)
	root := mustAbs(t, repoRoot)
	for _, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			rel, err := filepath.Rel(root, v.Source)
			if err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Stat(v.Source); err == nil && fi.IsDir() {
				for _, f := range strings.Split(strings.TrimSpace(string(out)), "\n") {
					if strings.HasPrefix(f, filepath.ToSlash(rel)+"/") {
						files = append(files, f)
					}
				}
			} else {
				files = append(files, filepath.ToSlash(rel))
			}
		}
	}
	slices.Sort(files)
	files = slices.Compact(files)

	check := exec.Command("git", append([]string{"check-attr", "eol", "--"}, files...)...)
	check.Dir = repoRoot
	attrs, err := check.Output()
	if err != nil {
		t.Fatalf("git check-attr: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(attrs)), "\n") {
		// <path>: eol: <value>
		path, value, _ := strings.Cut(line, ": eol: ")
		if value != "lf" {
			t.Errorf("%s: eol is %q in .gitattributes, want lf: it is read by a Linux program, which would take a CR for part of each line", path, value)
		}
	}
	if len(files) < 20 {
		t.Errorf("only %d files found to need LF endings (%v): the scan lost some", len(files), files)
	}
}
