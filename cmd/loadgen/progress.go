package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress draws a bar on stderr while a run goes on: by requests in a run by count, by
// time in a run by duration, with the answers and errors so far beside it. It draws only
// on a terminal: piped into a file or CI log a bar is only noise.
type progress struct {
	bar  *progressbar.ProgressBar
	quit chan struct{}
	done chan struct{}
}

// startProgress starts the bar for g's run of n requests or of duration d. With show
// false it draws nothing and stop does nothing.
func startProgress(w io.Writer, show bool, label string, g *generator, n int, d time.Duration) *progress {
	p := &progress{quit: make(chan struct{}), done: make(chan struct{})}
	if !show {
		close(p.done)
		return p
	}
	total := int64(n)
	if n == 0 {
		total = d.Milliseconds()
	}
	p.bar = progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(label),
		progressbar.OptionSetWidth(30),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	start := time.Now()
	go func() {
		defer close(p.done)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-p.quit:
				return
			case <-tick.C:
			}
			answered, failed := g.rec.done.Load(), g.rec.failed.Load()
			p.bar.Describe(fmt.Sprintf("%s %d answered, %d failed", label, answered-failed, failed))
			if n > 0 {
				_ = p.bar.Set64(answered)
			} else {
				_ = p.bar.Set64(min(time.Since(start).Milliseconds(), total))
			}
		}
	}()
	return p
}

// stop removes the bar, so the summary starts on a clean line.
func (p *progress) stop() {
	if p.bar == nil {
		return
	}
	close(p.quit)
	<-p.done
	_ = p.bar.Clear()
	_ = p.bar.Exit()
}

// isTerminal says whether w is a terminal, the only place where a bar helps.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
