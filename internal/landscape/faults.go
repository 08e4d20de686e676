package landscape

import (
	"fmt"
	"syscall"
)

// The faults below are what the reliability suite does to a running landscape: a process
// that hangs (Freeze: a GC pause, a stuck disk, a laptop lid closed) and one that crashes
// (Kill). Pause and Resume, by contrast, stop a process politely.

// Freeze stops the named process with SIGSTOP: it keeps its sockets open but answers
// nothing, which is what a hung service looks like to the others (and to a broker waiting
// for heartbeats). Thaw lets it go on.
func (l *Landscape) Freeze(name string) error {
	r, err := l.find(name)
	if err != nil {
		return err
	}
	l.note("freezing %s (SIGSTOP)", name)
	return r.cmd.Process.Signal(syscall.SIGSTOP)
}

// Thaw continues a process stopped by Freeze (SIGCONT).
func (l *Landscape) Thaw(name string) error {
	r, err := l.find(name)
	if err != nil {
		return err
	}
	l.note("thawing %s (SIGCONT)", name)
	return r.cmd.Process.Signal(syscall.SIGCONT)
}

// Kill ends the named process with SIGKILL, as a crash or the OOM killer would: no drain,
// no flush, no goodbye to the broker. The rest of the landscape keeps running; Resume
// starts the process again.
func (l *Landscape) Kill(name string) error {
	r, err := l.find(name)
	if err != nil {
		return err
	}
	select {
	case <-r.done:
		return fmt.Errorf("%s is not running", name)
	default:
	}
	r.paused.Store(true) // its exit is on purpose: the landscape does not stop for it
	l.note("killing %s (SIGKILL)", name)
	if err := r.cmd.Process.Kill(); err != nil {
		return err
	}
	<-r.done
	return nil
}
