package logging

import (
	"io"
	"sync"
	"time"
)

// BufferedWriter collects log lines and writes them in batches: at most every interval,
// or sooner when size bytes are waiting. An access line per request is one write(2) per
// request otherwise, which costs a busy service about a third of its throughput (measured:
// BENCHMARKS.md). The price is that a process killed hard loses up to interval of lines;
// Close writes what is left, so a graceful stop loses nothing.
type BufferedWriter struct {
	mu   sync.Mutex
	w    io.Writer
	buf  []byte
	size int

	stop chan struct{}
	done chan struct{}
}

// NewBufferedWriter starts a writer that flushes to w every interval.
func NewBufferedWriter(w io.Writer, size int, interval time.Duration) *BufferedWriter {
	b := &BufferedWriter{w: w, buf: make([]byte, 0, size), size: size,
		stop: make(chan struct{}), done: make(chan struct{})}
	go b.flushEvery(interval)
	return b
}

// Write appends p, a whole log line as slog writes it, and writes the batch out when full.
func (b *BufferedWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf)+len(p) > b.size {
		if err := b.flushLocked(); err != nil {
			return 0, err
		}
	}
	if len(p) > b.size {
		return b.w.Write(p)
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

// Flush writes what is waiting.
func (b *BufferedWriter) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flushLocked()
}

func (b *BufferedWriter) flushLocked() error {
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.w.Write(b.buf)
	b.buf = b.buf[:0]
	return err
}

func (b *BufferedWriter) flushEvery(interval time.Duration) {
	defer close(b.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			_ = b.Flush()
		case <-b.stop:
			return
		}
	}
}

// Close stops the timer and writes what is left. Lines written after Close go straight out.
func (b *BufferedWriter) Close() error {
	select {
	case <-b.stop:
	default:
		close(b.stop)
		<-b.done
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	err := b.flushLocked()
	b.size = 0 // from now on every Write goes straight to w
	return err
}
