package logging

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// countingWriter counts the writes that reach it.
type countingWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	return c.buf.Write(p)
}

func (c *countingWriter) state() (string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String(), c.writes
}

func TestBufferedWriterBatches(t *testing.T) {
	out := &countingWriter{}
	b := NewBufferedWriter(out, 64, time.Hour)
	for range 10 {
		if _, err := b.Write([]byte("0123456789\n")); err != nil { // 11 bytes
			t.Fatal(err)
		}
	}
	got, writes := out.state()
	if writes != 1 || strings.Count(got, "\n") != 5 {
		t.Errorf("after 110 bytes into a 64-byte buffer: %d writes holding %d lines, want 1 write of 5 whole lines", writes, strings.Count(got, "\n"))
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ = out.state()
	if strings.Count(got, "\n") != 10 {
		t.Errorf("after Close: %d lines out, want all 10", strings.Count(got, "\n"))
	}
	if _, err := b.Write([]byte("late\n")); err != nil {
		t.Fatal(err)
	}
	if got, _ = out.state(); !strings.HasSuffix(got, "late\n") {
		t.Errorf("a line written after Close was held back, want it written at once")
	}
}

func TestBufferedWriterFlushesOnTime(t *testing.T) {
	out := &countingWriter{}
	b := NewBufferedWriter(out, 1<<20, 20*time.Millisecond)
	defer b.Close()
	_, _ = b.Write([]byte("one line\n"))
	deadline := time.Now().Add(5 * time.Second)
	for {
		if got, _ := out.state(); got == "one line\n" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a buffered line was not flushed by the interval")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBufferedWriterLongLine(t *testing.T) {
	out := &countingWriter{}
	b := NewBufferedWriter(out, 8, time.Hour)
	_, _ = b.Write([]byte("ab\n"))
	long := strings.Repeat("x", 20) + "\n"
	_, _ = b.Write([]byte(long))
	if got, _ := out.state(); got != "ab\n"+long {
		t.Errorf("out = %q, want the short line, then the long one whole and in order", got)
	}
	_ = b.Close()
}
