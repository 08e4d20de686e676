package landscape

import (
	"context"
	"testing"
	"time"

	"tracelab/internal/servicetest"
)

// TestPauseResume: a paused process is stopped while the landscape keeps running (its exit
// is no failure), Resume brings it back, and the final stop still stops everything.
func TestPauseResume(t *testing.T) {
	var out servicetest.LockedBuffer
	l := testLandscape(&out, 10*time.Second, 5*time.Second)
	procs := []process{standInProcess(t, "a", "serve"), standInProcess(t, "b", "serve")}
	ctx := context.Background()
	if err := l.launch(ctx, procs); err != nil {
		t.Fatalf("launch = %v, want nil; output:\n%s", err, out.String())
	}
	defer l.Stop()

	if pids := l.PIDs(); len(pids) != 2 || pids["a"] == 0 || pids["b"] == 0 {
		t.Errorf("PIDs() = %v, want a and b", pids)
	}
	if err := l.Pause("a"); err != nil {
		t.Fatalf("Pause(a) = %v, want nil", err)
	}
	assertStopped(t, procs[0])
	if pids := l.PIDs(); len(pids) != 1 || pids["b"] == 0 {
		t.Errorf("PIDs() after Pause(a) = %v, want only b", pids)
	}
	time.Sleep(300 * time.Millisecond) // the supervisor has seen a exit by now
	select {
	case <-l.done:
		t.Fatalf("the landscape stopped after Pause(a): %v; output:\n%s", l.err, out.String())
	default:
	}
	if err := procs[1].ready(ctx); err != nil {
		t.Errorf("b stopped answering after Pause(a): %v", err)
	}

	if err := l.Resume(ctx, "b"); err == nil {
		t.Errorf("Resume(b) of a running process = nil, want an error")
	}
	if err := l.Pause("nobody"); err == nil {
		t.Errorf("Pause(nobody) = nil, want an error")
	}
	if err := l.Resume(ctx, "a"); err != nil {
		t.Fatalf("Resume(a) = %v, want nil; output:\n%s", err, out.String())
	}
	if err := procs[0].ready(ctx); err != nil {
		t.Errorf("a does not answer after Resume: %v", err)
	}

	l.Stop()
	if err := l.Wait(); err != nil {
		t.Errorf("Wait after Stop = %v, want nil", err)
	}
	assertInOrder(t, out.String(), "landscape | a is ready again", "b | stopping b\n", "a | stopping a\n")
	for _, p := range procs {
		assertStopped(t, p)
	}
}

// TestResumeWith: a process resumed with more environment runs with it (the variable
// given last wins), and Resume afterwards starts it again as the landscape first did.
func TestResumeWith(t *testing.T) {
	var out servicetest.LockedBuffer
	l := testLandscape(&out, 10*time.Second, 5*time.Second)
	procs := []process{standInProcess(t, "a", "serve")}
	ctx := context.Background()
	if err := l.launch(ctx, procs); err != nil {
		t.Fatalf("launch = %v, want nil; output:\n%s", err, out.String())
	}
	defer l.Stop()

	if err := l.ResumeWith(ctx, "a", "", "STANDIN_NAME=a-changed"); err == nil {
		t.Errorf("ResumeWith(a) of a running process = nil, want an error")
	}
	if err := l.Pause("a"); err != nil {
		t.Fatal(err)
	}
	if err := l.ResumeWith(ctx, "a", "", "STANDIN_NAME=a-changed"); err != nil {
		t.Fatalf("ResumeWith(a) = %v, want nil; output:\n%s", err, out.String())
	}
	if err := l.Pause("a"); err != nil {
		t.Fatal(err)
	}
	if err := l.Resume(ctx, "a"); err != nil {
		t.Fatalf("Resume(a) = %v, want nil; output:\n%s", err, out.String())
	}
	l.Stop()
	assertInOrder(t, out.String(), "a | hello from a\n", "a | hello from a-changed\n", "a | stopping a-changed\n", "a | hello from a\n", "a | stopping a\n")
}
