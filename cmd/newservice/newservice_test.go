package main

import (
	"bytes"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// copyRepo copies the files git knows of the repository (tracked, and new ones it does not
// ignore, as they are in the working tree) into a temporary directory, and returns it.
func copyRepo(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("git", "-C", "../..", "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	dst := t.TempDir()
	for _, rel := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join("../..", rel)
		info, err := os.Lstat(src)
		if err != nil {
			continue // deleted in the working tree, not yet in the index
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, rel), b, info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	// The deploy checks read .gitattributes as git does, in a clone: the copy is one.
	inDir(t, dst, "git", "init", "-q")
	inDir(t, dst, "git", "add", "-A")
	inDir(t, dst, "git", "-c", "user.name=newservice test", "-c", "user.email=test@tracelab.invalid", "commit", "-q", "-m", "the copy")
	return dst
}

// snapshot reads every file below dir, with its mode.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir // git's own files; git status checks the tree for it
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[rel] = info.Mode().String() + "\n" + string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// sameTree reports how after differs from before, or "" when it does not.
func sameTree(before, after map[string]string) string {
	var diffs []string
	for _, f := range slices.Sorted(maps.Keys(before)) {
		if a, ok := after[f]; !ok {
			diffs = append(diffs, "missing "+f)
		} else if a != before[f] {
			diffs = append(diffs, "changed "+f)
		}
	}
	for _, f := range slices.Sorted(maps.Keys(after)) {
		if _, ok := before[f]; !ok {
			diffs = append(diffs, "added "+f)
		}
	}
	return strings.Join(diffs, "\n")
}

// inDir runs a command in dir, failing the test with its output when it fails.
func inDir(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s in the copy: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestNewThenRemove is what a workshop does with a copy of the repository: make a service,
// vet it, run its tests and its client's, check the deploy files, run its end-to-end test
// in the copy's landscape, then remove it, after which the tree is what it was, byte for
// byte. It needs what the e2e suite needs: RabbitMQ, and Jaeger (built once).
func TestNewThenRemove(t *testing.T) {
	dir := copyRepo(t)
	before := snapshot(t, dir)

	var out bytes.Buffer
	// The default port, 9090, which lab 10's solution.patch reads.
	if err := run([]string{"-root", dir, "-name", "ledger"}, &out); err != nil {
		t.Fatalf("new-service ledger: %v", err)
	}
	for _, want := range []string{"made ledger", "handleGreeting", "ledgerClient", "LEDGER_URL", "make remove-service NAME=ledger"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("new-service's report lacks %q:\n%s", want, out.String())
		}
	}
	if err := run([]string{"-root", dir, "-name", "ledger", "-port", "9092"}, &out); err == nil {
		t.Error("new-service ledger a second time = nil error, want a refusal")
	}

	inDir(t, dir, "go", "vet", "./ledger", "./accountservice", "./internal/landscape", "./e2e")
	inDir(t, dir, "go", "test", "-race", "-count=1", "./ledger")
	inDir(t, dir, "go", "test", "-race", "-count=1", "-run", "TestLedgerClient|TestServicesTxt|TestResolve", "./accountservice", "./internal/landscape")
	if got := inDir(t, dir, "gofmt", "-l", "ledger", "accountservice"); got != "" {
		t.Errorf("gofmt -l: %s", got)
	}
	inDir(t, dir, "make", "validate")
	// The landscape of the copy, with ledger in it, end to end: the e2e suite builds and
	// starts it (taking the lock the landscape suites share) and runs ledger's test only.
	if got := inDir(t, dir, "go", "test", "-count=1", "-v", "-run", "^TestLedgerTrace$", "./e2e/"); !strings.Contains(got, "--- PASS: TestLedgerTrace") {
		t.Errorf("the e2e suite of the copy did not run TestLedgerTrace:\n%s", got)
	}
	if err := os.RemoveAll(filepath.Join(dir, "bin")); err != nil { // what make build wrote; git ignores it
		t.Fatal(err)
	}
	// Workshop lab 10's solution: accountservice calls ledger, and the deploy files say where.
	const lab10 = "workshop/labs/10-build-a-new-service/solution.patch"
	inDir(t, dir, "git", "apply", lab10)
	inDir(t, dir, "go", "vet", "./accountservice")
	inDir(t, dir, "make", "validate")
	inDir(t, dir, "git", "apply", "-R", lab10)
	if got := inDir(t, dir, "make", "-n", "build"); !strings.Contains(got, "./ledger ") {
		t.Errorf("make build does not build ./ledger: %s", got)
	}

	out.Reset()
	if err := run([]string{"-root", dir, "-remove", "-name", "ledger"}, &out); err != nil {
		t.Fatalf("remove-service ledger: %v", err)
	}
	if diff := sameTree(before, snapshot(t, dir)); diff != "" {
		t.Errorf("after new-service and remove-service, the tree differs:\n%s", diff)
	}
	if st := inDir(t, dir, "git", "status", "--porcelain"); st != "" {
		t.Errorf("after new-service and remove-service, git status =\n%s\nwant it clean", st)
	}
}

// TestNewConsumerThenRemove does the same with a consumer of an AMQP queue: its tests
// consume from the RabbitMQ of the tests.
func TestNewConsumerThenRemove(t *testing.T) {
	dir := copyRepo(t)
	before := snapshot(t, dir)
	var out bytes.Buffer
	if err := run([]string{"-root", dir, "-name", "tally", "-kind", "consumer", "-port", "9095"}, &out); err != nil {
		t.Fatalf("new-service tally KIND=consumer: %v", err)
	}
	for _, want := range []string{"a consumer of the AMQP queue TALLY_QUEUE", "handleMessage", "messaging.Publisher"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("new-service's report lacks %q:\n%s", want, out.String())
		}
	}
	if list, _ := os.ReadFile(filepath.Join(dir, servicesFile)); !strings.Contains(string(list), "\ntally 9095 consumer ") {
		t.Errorf("%s lacks tally, a consumer on port 9095:\n%s", servicesFile, list)
	}
	inDir(t, dir, "go", "vet", "./tally")
	inDir(t, dir, "go", "test", "-race", "-count=1", "./tally")
	if got := inDir(t, dir, "gofmt", "-l", "tally"); got != "" {
		t.Errorf("gofmt -l: %s", got)
	}
	inDir(t, dir, "make", "validate")
	if err := run([]string{"-root", dir, "-remove", "-name", "tally"}, &out); err != nil {
		t.Fatalf("remove-service tally: %v", err)
	}
	if diff := sameTree(before, snapshot(t, dir)); diff != "" {
		t.Errorf("after new-service and remove-service of a consumer, the tree differs:\n%s", diff)
	}
}

// TestRefusals checks what new-service and remove-service refuse, and that a refusal
// writes nothing.
func TestRefusals(t *testing.T) {
	dir := copyRepo(t)
	before := snapshot(t, dir)
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no name", nil, "no name"},
		{"upper case", []string{"-name", "Ledger"}, "DNS label"},
		{"underscore", []string{"-name", "ledger_book"}, "DNS label"},
		{"dash", []string{"-name", "ledger-book"}, "without dashes"},
		{"leading digit", []string{"-name", "1ledger"}, "DNS label"},
		{"too long", []string{"-name", strings.Repeat("a", 64)}, "DNS label"},
		{"a service", []string{"-name", "quoteservice"}, "exists already"},
		{"a folder", []string{"-name", "common"}, "exists already"},
		{"infrastructure", []string{"-name", "rabbitmq"}, "docker-compose.yml has a service rabbitmq"},
		{"a service's port", []string{"-name", "ledger", "-port", "6767"}, "accountservice's"},
		{"the edge's admin port", []string{"-name", "ledger", "-port", "8766"}, "admin listener"},
		{"a privileged port", []string{"-name", "ledger", "-port", "80"}, "1024 to 45535"},
		{"too high for the suites", []string{"-name", "ledger", "-port", "50000"}, "1024 to 45535"},
		{"Jaeger's in the e2e suite", []string{"-name", "ledger", "-port", "6686"}, "in the e2e suite is 16686"},
		{"Jaeger's in the reliability suite", []string{"-name", "ledger", "-port", "7778"}, "in the reliability suite is 27778"},
		{"unknown kind", []string{"-name", "ledger", "-kind", "grpc"}, "http (quoteservice's anatomy) or consumer"},
		{"remove unknown", []string{"-remove", "-name", "ledger"}, "nothing to remove"},
		{"remove the template", []string{"-remove", "-name", "quoteservice"}, "not made by make new-service"},
		{"remove the edge", []string{"-remove", "-name", "edge"}, "not made by make new-service"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(append([]string{"-root", dir}, tt.args...), &out)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("newservice %v = %v, want an error about %q", tt.args, err, tt.wantErr)
			}
		})
	}
	if diff := sameTree(before, snapshot(t, dir)); diff != "" {
		t.Errorf("refusals changed the tree:\n%s", diff)
	}
}

// TestRemoveRefusesAnEditedEntry: an entry changed since new-service wrote it is not
// guessed at; remove-service says which file, and changes nothing.
func TestRemoveRefusesAnEditedEntry(t *testing.T) {
	dir := copyRepo(t)
	if err := run([]string{"-root", dir, "-name", "ledger", "-port", "9093"}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if list, _ := os.ReadFile(filepath.Join(dir, servicesFile)); !strings.Contains(string(list), "\nledger 9093 http ") {
		t.Errorf("%s lacks ledger on port 9093:\n%s", servicesFile, list)
	}
	stack := filepath.Join(dir, "deploy/swarm/tracelab-stack.yml")
	b, _ := os.ReadFile(stack)
	edited := strings.Replace(string(b), "  ledger:\n    image: \"localhost/tracelab/ledger:${TAG:-dev}\"\n    environment:\n      <<: *tracelab-env\n",
		"  ledger:\n    image: \"localhost/tracelab/ledger:${TAG:-dev}\"\n    environment:\n      <<: *tracelab-env\n      LOG_LEVEL: debug\n", 1)
	if edited == string(b) {
		t.Fatal("the Swarm stack has no ledger entry to edit")
	}
	if err := os.WriteFile(stack, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir)
	err := run([]string{"-root", dir, "-remove", "-name", "ledger"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "deploy/swarm/tracelab-stack.yml") {
		t.Errorf("remove-service with an edited Swarm entry = %v, want an error naming the file", err)
	}
	if diff := sameTree(before, snapshot(t, dir)); diff != "" {
		t.Errorf("a refused remove-service changed the tree:\n%s", diff)
	}
}
