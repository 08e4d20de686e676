package e2e

import (
	"strings"
	"testing"
)

// TestLab11MovingToOpenTelemetry walks lab 11 as a learner does: the setup reads a VIP
// account with the landscape as it runs (the suite's SDK); the check fails with only that
// SDK's traffic, still fails once one service moved (a trace made by both SDKs compares
// nothing), and passes once every service moved and the same request was sent again. In
// the suite's otel mode (make test-otel) the walk moves from otel to jaeger: the check
// compares the same two kinds of trace either way.
func TestLab11MovingToOpenTelemetry(t *testing.T) {
	w := newWorkshop(t)
	w.setup("11")
	w.mustFail("11", "", "with only "+suiteSDK()+" traffic since the setup")

	sw := newSDKSwitch(t)
	sw.set(t, otherSDK(), "accountservice") // ACCOUNTSERVICE_TRACING_SDK=otel make run
	waitForSpans(t, learnerGet(t, "/api/accounts/10000", nil), vipTrace().count())
	w.mustFail("11", "", "with one service moved: the new trace is made by both SDKs")

	sw.set(t, otherSDK()) // TRACING_SDK=otel make run
	waitForSpans(t, learnerGet(t, "/api/accounts/10000", nil), vipTrace().count())
	out := w.mustPass("11", "", "with every service moved and the same request sent")
	for _, want := range []string{"the same tree: 12 spans, 5 services", "16 and 32 hex digits"} {
		if !strings.Contains(out, want) {
			t.Errorf("Check(lab 11) = %q, want it to say %q", out, want)
		}
	}
}
