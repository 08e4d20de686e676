package landscape

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync/atomic"
	"syscall"
	"time"
)

// process is one program the landscape runs, and how to tell that it is ready.
type process struct {
	name  string
	path  string
	args  []string
	dir   string
	env   []string
	ready func(context.Context) error // nil when the process serves
}

// running is a started process.
type running struct {
	process
	cmd  *exec.Cmd
	tail *tail
	done chan struct{} // closed once the process has exited and its output is written
	err  error         // what cmd.Wait returned; read it after done

	paused atomic.Bool // stopped on purpose by Pause: its exit does not stop the landscape
	first  process     // how the landscape first started it: what Resume starts again
}

// tailLines is how many of a process's last lines an error quotes.
const tailLines = 12

// launch starts procs one after another, each once the one before is ready, and then
// watches them until ctx is cancelled, Stop is called or one of them exits. If a process
// exits or does not become ready in time, launch stops the ones it started and says which.
func (l *Landscape) launch(ctx context.Context, procs []process) error {
	l.exited = make(chan *running, len(procs))
	for _, p := range procs {
		r, err := l.start(p)
		if err == nil {
			err = l.waitReady(ctx, r)
		}
		if err != nil {
			l.stopAll()
			return err
		}
		l.note("%s is ready", p.name)
	}
	go l.supervise(ctx)
	return nil
}

func (l *Landscape) start(p process) (*running, error) {
	r := &running{process: p, first: p, tail: newTail(tailLines), done: make(chan struct{})}
	stdout := newLineWriter(l.out, p.name, l.width, r.tail)
	stderr := newLineWriter(l.out, p.name, l.width, r.tail)
	cmd := exec.Command(p.path, p.args...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = p.dir, p.env, stdout, stderr
	// A process group of its own: Ctrl-C in the terminal then reaches only the landscape,
	// which stops the children one by one, callers first, instead of all at once.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A grandchild that inherited the output pipes must not keep Wait from returning.
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", p.name, err)
	}
	r.cmd = cmd
	l.mu.Lock()
	replaced := false
	for i, old := range l.procs {
		if old.name == p.name { // Resume: the new run takes the old one's place in the order
			l.procs[i], replaced = r, true
		}
	}
	if !replaced {
		l.procs = append(l.procs, r)
	}
	l.mu.Unlock()
	go func() {
		r.err = cmd.Wait()
		stdout.flush()
		stderr.flush()
		close(r.done)
		l.exited <- r
	}()
	return r, nil
}

// waitReady polls r until it is ready. It fails when any started process exits meanwhile
// (a service that cannot bind its port, say), on timeout, or when ctx is cancelled.
func (l *Landscape) waitReady(ctx context.Context, r *running) error {
	timeout := time.NewTimer(l.cfg.StartTimeout)
	defer timeout.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		notReady := r.ready(ctx)
		if notReady == nil {
			return nil
		}
		select {
		case dead := <-l.exited:
			when := "while " + r.name + " was starting"
			if dead == r {
				when = "before it was ready"
			}
			return fmt.Errorf("%s %s %s. Its last lines:%s", dead.name, exitReason(dead.err), when, dead.tail)
		case <-ctx.Done():
			return fmt.Errorf("interrupted while waiting for %s: %w", r.name, ctx.Err())
		case <-timeout.C:
			return fmt.Errorf("%s did not become ready within %v (last check: %v). Its last lines:%s",
				r.name, l.cfg.StartTimeout, notReady, r.tail)
		case <-tick.C:
		}
	}
}

// supervise waits for the reason to stop, then stops every process and records why. A
// process stopped by Pause is no reason.
func (l *Landscape) supervise(ctx context.Context) {
	var err error
wait:
	for {
		select {
		case <-ctx.Done():
			l.note("interrupted: stopping")
		case <-l.stopping:
			l.note("stopping")
		case dead := <-l.exited:
			if dead.paused.Load() {
				continue
			}
			err = fmt.Errorf("%s %s; stopped the others. Its last lines:%s", dead.name, exitReason(dead.err), dead.tail)
			l.note("%s %s: stopping the others", dead.name, exitReason(dead.err))
		}
		break wait
	}
	l.stopAll()
	l.err = err
	close(l.done)
}

// stopAll stops the started processes in reverse start order, so that callers go before
// the services they call and Jaeger goes last, after every service has flushed its spans.
func (l *Landscape) stopAll() {
	l.mu.Lock()
	procs := append([]*running(nil), l.procs...)
	l.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		l.stop(procs[i])
	}
}

// Pause stops the named process, as a crash or a deploy would, while the rest of the
// landscape keeps running: the way to see in a trace what a missing service looks like.
// Resume starts it again.
func (l *Landscape) Pause(name string) error {
	r, err := l.find(name)
	if err != nil {
		return err
	}
	r.paused.Store(true)
	l.stop(r)
	return nil
}

// Resume starts a process stopped by Pause again, as the landscape first started it, and
// waits until it is ready.
func (l *Landscape) Resume(ctx context.Context, name string) error {
	return l.ResumeWith(ctx, name, "")
}

// ResumeWith is Resume from another binary (path; "" for the landscape's own) and with
// more environment variables (KEY=value, winning over the landscape's): the workshop's
// walks run a service changed by a lab's solution, or the edge with another sampler.
// Resume afterwards brings back the original.
func (l *Landscape) ResumeWith(ctx context.Context, name, path string, env ...string) error {
	old, err := l.find(name)
	if err != nil {
		return err
	}
	select {
	case <-old.done:
	default:
		return fmt.Errorf("%s is running: Pause it first", name)
	}
	p := old.first
	if path != "" {
		p.path = path
	}
	p.env = append(p.env[:len(p.env):len(p.env)], env...)
	r, err := l.start(p)
	if err != nil {
		return err
	}
	r.first = old.first
	timeout := time.NewTimer(l.cfg.StartTimeout)
	defer timeout.Stop()
	for {
		notReady := r.ready(ctx)
		if notReady == nil {
			l.note("%s is ready again", name)
			return nil
		}
		select {
		case <-r.done:
			return fmt.Errorf("%s %s before it was ready. Its last lines:%s", name, exitReason(r.err), r.tail)
		case <-ctx.Done():
			return ctx.Err()
		case <-timeout.C:
			return fmt.Errorf("%s did not become ready within %v: %v", name, l.cfg.StartTimeout, notReady)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// find returns the named process.
func (l *Landscape) find(name string) (*running, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.procs {
		if r.name == name {
			return r, nil
		}
	}
	return nil, fmt.Errorf("no process named %q in the landscape", name)
}

// stop asks r to stop with SIGTERM, the signal the services drain and flush on, and kills
// it if it has not exited within StopTimeout.
func (l *Landscape) stop(r *running) {
	select {
	case <-r.done:
		return
	default:
	}
	l.note("stopping %s", r.name)
	_ = r.cmd.Process.Signal(syscall.SIGTERM) // fails only if it has just exited
	_ = r.cmd.Process.Signal(syscall.SIGCONT) // a process left frozen (Freeze) gets the SIGTERM too
	timeout := time.NewTimer(l.cfg.StopTimeout)
	defer timeout.Stop()
	select {
	case <-r.done:
	case <-timeout.C:
		l.note("%s did not stop within %v: killing it", r.name, l.cfg.StopTimeout)
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}

// exitReason phrases how a process ended, for an error message.
func exitReason(err error) string {
	var exit *exec.ExitError
	switch {
	case err == nil:
		return "exited (status 0)"
	case errors.As(err, &exit):
		return "exited (" + exit.String() + ")"
	default:
		return "failed: " + err.Error()
	}
}

// PIDs returns the process id of every running process by name, for tools that watch the
// processes (make bench reads their peak memory from /proc).
func (l *Landscape) PIDs() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	pids := map[string]int{}
	for _, r := range l.procs {
		select {
		case <-r.done:
		default:
			pids[r.name] = r.cmd.Process.Pid
		}
	}
	return pids
}
