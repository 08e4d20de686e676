//go:build k8s

package dockertest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// The one-node cluster of scripts/k8s-cluster.sh, and what this test deploys on it.
const (
	k8sDir    = "/tmp/tracelab-k8s" // the script's K8S_DIR
	k8sBridge = "tlk8s0"
	base      = "deploy/k8s/base"
	overlay   = "deploy/k8s/overlays/observability"
	namespace = "tracelab"
)

// kubectlPath and kubeconfig are set once the cluster is up.
var kubectlPath, kubeconfig string

// kubectl runs kubectl against the test's cluster, logged like every command of the tests;
// a failure fails the test.
func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	return must(t, kubectlPath, append([]string{"--kubeconfig", kubeconfig}, args...)...)
}

// tryKubectl runs kubectl against the test's cluster and hands back its failure, for a
// step that waits or reports rather than fails.
func tryKubectl(args ...string) (string, error) {
	return run(kubectlPath, append([]string{"--kubeconfig", kubeconfig}, args...)...)
}

// TestKubernetes starts a one-node cluster on this machine (scripts/k8s-cluster.sh),
// applies deploy/k8s/base to it with `kubectl apply -k`, as the deploy README tells a
// user, and checks it step by step: every Deployment available; through the edge Service
// (kubectl port-forward on 127.0.0.1:8765, as the manifest's comment says) a VIP read and
// its trace, whole in Jaeger (port-forward on :16686); the observability overlay accepted
// whole by the real apiserver (server-side dry run: its images cannot be built here);
// quoteservice scaled to 0 and back (answers degrade, never fail, then recover); a rolling
// update of quoteservice under load without a failed read; the accounts kept on the
// claim when the accountservice pod is deleted; `kubectl delete -k` leaving nothing. Then
// the cluster is taken down and the machine must hold nothing of it.
func TestKubernetes(t *testing.T) {
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	bin := strings.TrimSpace(must(t, filepath.Join(root, "scripts/ensure-k8s.sh")))
	kubectlPath = filepath.Join(bin, "kubectl")

	// The images first: a build that fails should not cost a cluster.
	compose(t, "build")
	images := manifestImages(t)

	start := time.Now()
	t.Cleanup(func() { clusterDown(t) })
	out := must(t, "scripts/k8s-cluster.sh", "up")
	kubeconfig = lastLine(out)
	t.Logf("FIGURE scripts/k8s-cluster.sh up (the node Ready): %.1fs", time.Since(start).Seconds())
	// The kubelet says which Kubernetes it is (ensure-k8s.sh's version ldflags), as kubectl
	// and a user's tools read it.
	if v := kubectl(t, "get", "node", "-o", "jsonpath={.items[0].status.nodeInfo.kubeletVersion}"); !strings.HasPrefix(v, "v1.") || strings.Contains(v, "master") {
		t.Errorf("the node's kubelet reports version %q, want the release ensure-k8s.sh built (v1.x.y)", v)
	}
	start = time.Now()
	must(t, "scripts/k8s-cluster.sh", append([]string{"load"}, images...)...)
	t.Logf("FIGURE loading %d images into the node: %.1fs", len(images), time.Since(start).Seconds())

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"apply -k, every Deployment available", applyBase},
		{"VIP read through the edge Service and its trace", vipReadAndTrace},
		{"the observability overlay accepted by the apiserver", overlayDryRun},
		{"quoteservice scaled to 0 and back", scaleQuoteservice},
		{"rolling update under load", func(t *testing.T) {
			readsThroughUpdate(t, func() {
				start := time.Now()
				kubectl(t, "-n", namespace, "rollout", "restart", "deployment/quoteservice")
				kubectl(t, "-n", namespace, "rollout", "status", "deployment/quoteservice", "--timeout=180s")
				// The old pods answer the connections accountservice keeps open to them until
				// they stop (their preStop sleep, then the drain): the update is over when they are gone.
				waitFor(t, "quoteservice's old pods gone", 60*time.Second, func() error {
					out, err := tryKubectl("-n", namespace, "get", "pods",
						"-l", "app.kubernetes.io/name=quoteservice", "-o", "name")
					if n := len(strings.Fields(out)); err != nil || n != 2 {
						return fmt.Errorf("%d pods (%v)", n, err)
					}
					return nil
				})
				t.Logf("FIGURE kubectl rollout restart quoteservice (2 replicas) until the old pods are gone: %.1fs", time.Since(start).Seconds())
			})
		}},
		{"accounts survive the pod's deletion", accountsOnTheClaim},
		{"delete -k leaves nothing", deleteBase},
	}
	for i, s := range steps {
		if !t.Run(s.name, s.run) && i == 0 {
			return
		}
	}
}

// manifestImages lists the images deploy/k8s/base runs, as kustomize renders it, and fails
// when one is in neither the build (ours) nor the engine (the stand-ins).
func manifestImages(t *testing.T) []string {
	t.Helper()
	var images []string
	for _, m := range regexp.MustCompile(`(?m)^\s+image: (\S+)$`).FindAllStringSubmatch(must(t, kubectlPath, "kustomize", base), -1) {
		if !slices.Contains(images, m[1]) {
			images = append(images, m[1])
		}
	}
	if len(images) < 7 {
		t.Fatalf("kubectl kustomize %s names the images %v: want the five services', RabbitMQ's and Jaeger's", base, images)
	}
	return images
}

// applyBase: `kubectl apply -k deploy/k8s/base`, timed until every Deployment is available
// (its pods Ready: the readiness probes answered), and port-forwards to the edge and Jaeger.
func applyBase(t *testing.T) {
	start := time.Now()
	kubectl(t, "apply", "-k", base)
	if _, err := tryKubectl("-n", namespace, "wait", "--for=condition=Available",
		"deployment", "--all", "--timeout=300s"); err != nil {
		out, _ := tryKubectl("-n", namespace, "get", "pods,pvc", "-o", "wide")
		events, _ := tryKubectl("-n", namespace, "get", "events", "--sort-by=.lastTimestamp")
		t.Fatalf("%v\n%s\n%s", err, out, events)
	}
	t.Logf("FIGURE kubectl apply -k %s until every Deployment is available: %.1fs", base, time.Since(start).Seconds())
	t.Log(kubectl(t, "-n", namespace, "get", "pods", "-o", "wide"))
	if out := kubectl(t, "-n", namespace, "logs", "deployment/accountservice"); !strings.Contains(out, `"seeded":100`) {
		t.Errorf("accountservice's first start on an empty claim did not seed the 100 accounts; its log:\n%s", out)
	}
	portForward(t, "svc/edge", "8765")
	portForward(t, "svc/jaeger", "16686")
	waitFor(t, "the edge through kubectl port-forward on 127.0.0.1:8765", 30*time.Second, func() error {
		_, _, err := getAccount("10001")
		return err
	})
}

// forward is a `kubectl port-forward` running, and the file its output goes to.
type forward struct {
	cmd *exec.Cmd
	log string
}

// forwards are the port-forwards running, stopped by stopForwards.
var forwards []forward

// portForward runs `kubectl port-forward` to target on 127.0.0.1:port until the test ends.
// Its output goes to a file that stopForwards prints when the test failed: a forward that
// broke says so there ("an error occurred forwarding ...").
func portForward(t *testing.T, target, port string) {
	t.Helper()
	cmd := exec.Command(kubectlPath, "--kubeconfig", kubeconfig, "-n", namespace, "port-forward",
		"--address", "127.0.0.1", target, port+":"+port)
	log, err := os.CreateTemp("", "tracelab-port-forward-*.log")
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	forwards = append(forwards, forward{cmd, log.Name()})
}

// stopForwards stops the port-forwards and removes their files, printing them first when
// t failed.
func stopForwards(t *testing.T) {
	for _, f := range forwards {
		f.cmd.Process.Kill()
		f.cmd.Wait()
		if out, err := os.ReadFile(f.log); err == nil && t.Failed() {
			t.Logf("%s:\n%s", strings.Join(f.cmd.Args[3:], " "), out)
		}
		os.Remove(f.log)
	}
	forwards = nil
}

// overlayDryRun: the whole observability overlay (Elasticsearch, Logstash, Kibana, Zipkin
// beside the base) is accepted by the real apiserver in a server-side dry run: every
// object's schema, defaults and admission, which strict decoding in deploy/validate could
// not check. It runs while the base is applied, so its namespace exists.
func overlayDryRun(t *testing.T) {
	rendered := filepath.Join(t.TempDir(), "overlay.yaml")
	if err := os.WriteFile(rendered, []byte(must(t, kubectlPath, "kustomize", overlay)), 0o644); err != nil {
		t.Fatal(err)
	}
	want := len(regexp.MustCompile(`(?m)^kind: `).FindAllString(mustRead(t, rendered), -1))
	// --force-conflicts: the base was applied client-side (kubectl apply -k, as the deploy
	// README says), so its fields have another manager than a server-side apply; without it
	// the apiserver reports those ownership conflicts (GOMEMLIMIT's resourceFieldRef, every
	// Deployment) before it would check the objects.
	out := kubectl(t, "apply", "--server-side", "--force-conflicts", "--dry-run=server", "-f", rendered)
	got := strings.Count(out, "(server dry run)")
	if got != want || want == 0 {
		t.Errorf("kubectl apply --server-side --dry-run=server of %s: %d objects accepted, want all %d:\n%s", overlay, got, want, out)
	}
	t.Logf("%s: %d objects accepted by the apiserver (server dry run)", overlay, got)
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// scaleQuoteservice: with quoteservice scaled to 0, accountservice answers without a quote
// (degraded, still 200: no read fails); scaled back to 2, the quote returns once the new
// pods are Ready (the Service's endpoints are its Ready pods), and every read after the
// rollout has it.
func scaleQuoteservice(t *testing.T) {
	read := func() (hasQuote bool) {
		acc, _, err := getAccount("10001")
		if err != nil {
			t.Fatalf("a read with quoteservice scaling: %v", err)
		}
		return acc.Quote != nil
	}
	kubectl(t, "-n", namespace, "scale", "deployment/quoteservice", "--replicas=0")
	waitFor(t, "answers without a quote, quoteservice at 0 replicas", 60*time.Second, func() error {
		if read() {
			return fmt.Errorf("the answer still has a quote")
		}
		return nil
	})
	for range 10 {
		if read() {
			t.Errorf("an answer had a quote with quoteservice at 0 replicas")
		}
		time.Sleep(100 * time.Millisecond)
	}

	start := time.Now()
	kubectl(t, "-n", namespace, "scale", "deployment/quoteservice", "--replicas=2")
	waitFor(t, "answers with a quote again, quoteservice back at 2", 120*time.Second, func() error {
		if !read() {
			return fmt.Errorf("the answer has no quote yet")
		}
		return nil
	})
	t.Logf("FIGURE quoteservice from 0 to 2 replicas until answers have a quote again: %.1fs", time.Since(start).Seconds())
	kubectl(t, "-n", namespace, "rollout", "status", "deployment/quoteservice", "--timeout=120s")
	for range 20 {
		if !read() {
			t.Errorf("an answer had no quote with quoteservice back at 2 replicas, both Ready")
		}
	}
}

// accountsOnTheClaim: the accountservice pod deleted, its Deployment starts another on the
// same claim, which finds the accounts and seeds none.
func accountsOnTheClaim(t *testing.T) {
	old := strings.TrimSpace(kubectl(t, "-n", namespace, "get", "pods", "-l", "app.kubernetes.io/name=accountservice", "-o", "name"))
	kubectl(t, "-n", namespace, "delete", old, "--wait=true", "--timeout=60s")
	kubectl(t, "-n", namespace, "rollout", "status", "deployment/accountservice", "--timeout=120s")
	now := strings.TrimSpace(kubectl(t, "-n", namespace, "get", "pods", "-l", "app.kubernetes.io/name=accountservice", "-o", "name"))
	if now == old || now == "" {
		t.Fatalf("after deleting %s the accountservice pods are %q, want a new one", old, now)
	}
	if out := kubectl(t, "-n", namespace, "logs", now); !strings.Contains(out, `"seeded":0`) {
		t.Errorf("the new accountservice pod %s: want an \"accounts ready\" line with seeded 0 (the claim kept them); its log:\n%s", now, out)
	}
	waitFor(t, "a read through the new accountservice pod", 30*time.Second, func() error {
		_, _, err := getAccount("10042")
		return err
	})
	acc, _, err := getAccount("10042")
	if err != nil {
		t.Fatal(err)
	}
	checkAccount(t, "10042", acc)
}

// deleteBase: `kubectl delete -k deploy/k8s/base` removes the namespace and everything in
// it; no object of tracelab's is left anywhere in the cluster, and no container of it runs.
func deleteBase(t *testing.T) {
	stopForwards(t)
	start := time.Now()
	kubectl(t, "delete", "-k", base, "--wait=true", "--timeout=180s")
	t.Logf("FIGURE kubectl delete -k %s until its namespace is gone: %.1fs", base, time.Since(start).Seconds())
	if out, err := tryKubectl("get", "namespace", namespace); err == nil {
		t.Errorf("the namespace %s is still there after delete -k:\n%s", namespace, out)
	}
	kinds := "deployments,replicasets,pods,services,endpointslices,configmaps,secrets,persistentvolumeclaims,serviceaccounts"
	if out := strings.TrimSpace(kubectl(t, "get", kinds, "--all-namespaces", "-l", "app.kubernetes.io/part-of=tracelab", "-o", "name")); out != "" {
		t.Errorf("after delete -k, objects of tracelab are left:\n%s", out)
	}
	waitFor(t, "no container of tracelab's running on the node", 60*time.Second, func() error {
		out, err := run("ctr", "--address", k8sDir+"/containerd/containerd.sock", "-n", "k8s.io", "tasks", "ls")
		if err != nil {
			return err
		}
		if running := strings.Count(out, "RUNNING"); running > 0 {
			return fmt.Errorf("%d tasks still running:\n%s", running, out)
		}
		return nil
	})
}

// clusterDown takes the cluster down and checks that the machine holds nothing of it: no
// process, no network device, no firewall rule, no pod network namespace, no mount, no file.
func clusterDown(t *testing.T) {
	stopForwards(t)
	if out, err := run("scripts/k8s-cluster.sh", "down"); err != nil {
		t.Errorf("scripts/k8s-cluster.sh down: %v\n%s", err, out)
	}
	var left []string
	if out, _ := exec.Command("pgrep", "-af", k8sDir).Output(); len(out) > 0 {
		left = append(left, "processes:\n"+string(out))
	}
	if err := exec.Command("ip", "link", "show", k8sBridge).Run(); err == nil {
		left = append(left, "the bridge "+k8sBridge)
	}
	if out, _ := exec.Command("ip", "netns", "list").Output(); strings.Contains(string(out), "cni-") {
		left = append(left, "pod network namespaces:\n"+string(out))
	}
	for _, save := range []string{"iptables-save", "ip6tables-save"} {
		if out, _ := exec.Command(save).Output(); strings.Contains(string(out), "tracelab-k8s") ||
			strings.Contains(string(out), ":KUBE-") || strings.Contains(string(out), ":CNI-") {
			left = append(left, "firewall rules or chains (tracelab-k8s, KUBE-*, CNI-*) in "+save)
		}
	}
	if b, _ := os.ReadFile("/proc/mounts"); strings.Contains(string(b), k8sDir) {
		left = append(left, "mounts under "+k8sDir)
	}
	if cgroups, _ := filepath.Glob("/sys/fs/cgroup/*/k8s.io"); len(cgroups) > 0 {
		left = append(left, "the pods' cgroups: "+strings.Join(cgroups, " "))
	}
	if _, err := os.Stat(k8sDir); !os.IsNotExist(err) {
		left = append(left, "the folder "+k8sDir)
	}
	if len(left) > 0 {
		t.Errorf("after scripts/k8s-cluster.sh down the machine still holds:\n%s", strings.Join(left, "\n"))
	}
}

// lastLine is the last non-empty line of out.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
