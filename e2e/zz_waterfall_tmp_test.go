package e2e

import (
	"os/exec"
	"path/filepath"
	"testing"
)

func TestLabZZWaterfalls(t *testing.T) {
	root, _ := filepath.Abs("..")
	for _, c := range []struct{ path, fault string }{
		{"/api/accounts/10000", ""}, {"/api/accounts/10001", ""}, {"/api/images/file/sunset.png?filter=sepia", ""},
	} {
		h := map[string]string{}
		if c.fault != "" {
			h["uberctx-fault"] = c.fault
		}
		id := learnerGet(t, c.path, h)
		waitForSpans(t, id, 4)
		if c.path == "/api/accounts/10000" {
			waitForSpans(t, id, 12)
		}
		out, _ := exec.Command(filepath.Join(root, "bin", "trace"), "-id", id, "-no-color", "-jaeger", land.Jaeger).CombinedOutput()
		t.Logf("%s %s\n%s", c.path, c.fault, out)
	}
}
