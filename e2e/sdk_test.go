package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"tracelab/internal/jaegerapi"
	"tracelab/internal/landscape"
	"tracelab/internal/tracetree"
)

// The proof that moving to OpenTelemetry loses nothing (issue 12): the same requests,
// recorded by the Jaeger client (TRACING_SDK=jaeger) and by the OpenTelemetry SDK behind
// its OpenTracing bridge (TRACING_SDK=otel), and by landscapes that mix the two, make
// traces with the same canonical tree (internal/tracetree: no ids, no timings, and only
// what tracetree.MayDiffer lists may differ).

// sdkRequest is one request of the comparison, and the tree it makes (tree_test.go's
// builders), which the suite's own SDK must make before the other is compared with it.
type sdkRequest struct {
	name   string
	path   string
	header map[string]string
	want   span
}

// sdkRequests are requests whose tree is the same every time: no timeout and no race
// decides their shape. Each crosses the services in its own way: through the queue, with
// baggage riding along (over AMQP too), a 404 that is no error, a 500 that is, with its log.
func sdkRequests() []sdkRequest {
	return []sdkRequest{
		{"a VIP read, through the queue", "/api/accounts/10000", nil, vipTrace()},
		{"a VIP read with baggage", "/api/accounts/10010", map[string]string{"uberctx-tenant": "acme"},
			withBaggage(vipTrace(), "tenant=acme")},
		{"an unknown account", "/api/accounts/99", nil, unknownTrace()},
		{"a VIP read that fails (vip-errors)", "/api/accounts/10020", faultHeader("vip-errors"),
			withBaggage(edgeRoot(500, client("edge", "accountservice", 500,
				server("accountservice", "GET /accounts/{id}", 500,
					internal("accountservice", "bolt get account").with("found=true")).with("fault=vip-errors", "account.vip=true"))),
				"fault=vip-errors")},
	}
}

// TestSDKSameTrees sends the same requests to four landscapes, one after the other:
//
//  1. every service on the suite's SDK (TRACELAB_E2E_SDK, jaeger by default): the trees
//     of tree_test.go, the reference;
//  2. edge and accountservice on the other SDK, the rest on the suite's: a mixed landscape;
//  3. every service on the other SDK: the differential comparison proper;
//  4. edge and accountservice back on the suite's SDK, the rest on the other: the mix the
//     other way round.
//
// Each request must make one trace, with every service it crosses (the consumer of the
// AMQP hop, which FOLLOWS_FROM its producer, included), whose canonical tree equals the
// reference's. The order moves the fewest services: ten restarts in all, and the last
// three at the end, when the suite's SDK comes back.
func TestSDKSameTrees(t *testing.T) {
	here, there := suiteSDK(), otherSDK()
	sw := newSDKSwitch(t)
	reqs := sdkRequests()

	ref := sendForTrees(t, reqs, nil)
	for i, r := range reqs {
		assertTrace(t, ref[i], r.want)
	}
	sw.checkReported(t, "every service on "+here, ref)
	if t.Failed() {
		t.Fatalf("the suite's own SDK (%s) did not make the expected trees: nothing to compare with", here)
	}
	var refTrees []tracetree.Tree
	for _, tr := range ref {
		refTrees = append(refTrees, tracetree.Build(tr))
	}

	front := []string{"edge", "accountservice"}
	stages := []struct {
		name string
		sdk  string   // the SDK the services below move to
		move []string // nil: every service
	}{
		{"edge and accountservice on " + there + ", the rest on " + here, there, front},
		{"every service on " + there, there, nil},
		{"edge and accountservice on " + here + ", the rest on " + there, here, front},
	}
	for _, st := range stages {
		started := time.Now()
		sw.set(t, st.sdk, st.move...)
		restarted := time.Since(started)
		got := sendForTrees(t, reqs, refTrees)
		sw.checkReported(t, st.name, got)
		for i, r := range reqs {
			tree := tracetree.Build(got[i])
			if diffs := tracetree.Diff(here, refTrees[i], st.name, tree); len(diffs) > 0 {
				t.Errorf("%s, %s: trace %s differs from the one on %s (%s):\n  %s\nits tree:\n%s",
					st.name, r.name, got[i].TraceID, here, ref[i].TraceID, strings.Join(diffs, "\n  "), tree)
			}
		}
		t.Logf("%s: services restarted in %v, %d traces compared", st.name, restarted.Round(100*time.Millisecond), len(reqs))
	}
}

// sendForTrees sends each request through the edge and returns its trace once Jaeger holds
// it whole: the spans of reqs[i].want, or as many as trees[i] when given.
func sendForTrees(t *testing.T, reqs []sdkRequest, trees []tracetree.Tree) []jaegerapi.Trace {
	t.Helper()
	ids := make([]string, len(reqs))
	want := make([]int, len(reqs))
	for i, r := range reqs {
		_, _, ids[i] = get(t, r.path, r.header)
		want[i] = r.want.count()
		if trees != nil {
			want[i] = trees[i].Count()
		}
	}
	return waitForTraces(t, ids, want)
}

// waitForTraces is waitForTrace for several traces at once, which arrive side by side: it
// waits until each holds its number of spans, then one flush more for stragglers.
func waitForTraces(t *testing.T, ids []string, want []int) []jaegerapi.Trace {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	read := func() ([]jaegerapi.Trace, bool) {
		out := make([]jaegerapi.Trace, len(ids))
		whole := true
		for i, id := range ids {
			tr, err := jaeger.Trace(ctx, id)
			if err != nil && !errors.Is(err, jaegerapi.ErrNotFound) && ctx.Err() == nil {
				t.Fatalf("reading trace %s from Jaeger: %v", id, err)
			}
			out[i] = tr
			whole = whole && len(tr.Spans) >= want[i]
		}
		return out, whole
	}
	for {
		out, whole := read()
		if whole {
			time.Sleep(1200 * time.Millisecond)
			out, _ = read()
			return out
		}
		if ctx.Err() != nil {
			return out // the comparison says what is missing
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// suiteSDK is the SDK the suite's landscape runs on; otherSDK the one it does not.
func suiteSDK() string {
	if sdk := os.Getenv("TRACELAB_E2E_SDK"); sdk != "" {
		return sdk
	}
	return "jaeger"
}

func otherSDK() string {
	if suiteSDK() == "otel" {
		return "jaeger"
	}
	return "otel"
}

// sdkSwitch moves services of the suite's landscape from one tracing SDK to the other by
// restarting them with TRACING_SDK set (landscape.ResumeWith), as a learner restarts
// make run with ACCOUNTSERVICE_TRACING_SDK=otel, and puts every one back on the suite's
// SDK when the test ends.
type sdkSwitch struct {
	now map[string]string // each service's SDK
}

func newSDKSwitch(t *testing.T) *sdkSwitch {
	sw := &sdkSwitch{now: map[string]string{}}
	for _, name := range landscape.ServiceNames() {
		sw.now[name] = suiteSDK()
	}
	t.Cleanup(func() {
		if err := sw.move(suiteSDK()); err != nil {
			t.Errorf("putting the services back on %s: %v (the tests after this one run on a mixed landscape)", suiteSDK(), err)
		}
	})
	return sw
}

// set moves the named services (every one without names) to sdk.
func (sw *sdkSwitch) set(t *testing.T, sdk string, names ...string) {
	t.Helper()
	if err := sw.move(sdk, names...); err != nil {
		t.Fatal(err)
	}
}

func (sw *sdkSwitch) move(sdk string, names ...string) error {
	if len(names) == 0 {
		names = landscape.ServiceNames()
	}
	var moving []string // in start order: callers last
	for _, name := range landscape.ServiceNames() {
		if slices.Contains(names, name) && sw.now[name] != sdk {
			moving = append(moving, name)
		}
	}
	// Callers stop first and start last, so that no request meets a service half gone.
	for i := len(moving) - 1; i >= 0; i-- {
		if err := land.Pause(moving[i]); err != nil {
			return err
		}
	}
	ctx := context.Background()
	for _, name := range moving {
		var err error
		if sdk == suiteSDK() {
			err = land.Resume(ctx, name) // as the landscape first started it
		} else {
			err = land.ResumeWith(ctx, name, "", "TRACING_SDK="+sdk)
		}
		if err != nil {
			return fmt.Errorf("restarting %s on %s: %w", name, sdk, err)
		}
		sw.now[name] = sdk
	}
	return nil
}

// checkReported checks that every span of the traces was reported by the SDK its service
// runs now, as the process tags say: else the comparison would compare a mode with itself.
func (sw *sdkSwitch) checkReported(t *testing.T, stage string, traces []jaegerapi.Trace) {
	t.Helper()
	for _, tr := range traces {
		for service, sdk := range tracetree.SDKs(tr) {
			if sdk != sw.now[service] {
				t.Errorf("%s: trace %s: %s's spans were reported by %q, want %s", stage, tr.TraceID, service, sdk, sw.now[service])
			}
		}
	}
}
