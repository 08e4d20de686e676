package landscape

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// output is the one writer that every process's lines go to. Each write is a whole line (or
// a whole block, like the box of URLs), so lines of different processes never mix mid-line.
type output struct {
	mu sync.Mutex
	w  io.Writer
}

func (o *output) write(b []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, _ = o.w.Write(b) // our own stdout failing leaves nowhere better to report it
}

// maxLine bounds a line that never ends, so a child printing without newlines cannot make
// the landscape hold its output (and memory) forever.
const maxLine = 64 << 10

// lineWriter is a child's stdout or stderr: it cuts what the child writes into lines and
// hands each to out with the child's name in front ("quoteservice   | {...}"). A partial
// line waits for its end, or for flush once the child has exited.
type lineWriter struct {
	out    *output
	prefix string
	tail   *tail // also gets every line; nil for none

	mu  sync.Mutex
	buf []byte
}

func newLineWriter(out *output, name string, width int, t *tail) *lineWriter {
	return &lineWriter{out: out, prefix: padName(name, width) + " | ", tail: t}
}

// padName left-aligns name in width columns, so the output reads as columns.
func padName(name string, width int) string {
	if n := width - len(name); n > 0 {
		return name + strings.Repeat(" ", n)
	}
	return name
}

// Write never fails: a child must not die of a broken pipe because of its log prefix.
// The complete lines of one write go out in one piece: a busy service writes its logs in
// batches, and a write(2) per line would make the landscape the bottleneck of a benchmark.
func (lw *lineWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	lw.buf = append(lw.buf, p...)
	var batch []byte
	start := 0
	for {
		i := bytes.IndexByte(lw.buf[start:], '\n')
		if i < 0 {
			break
		}
		batch = lw.appendLine(batch, lw.buf[start:start+i])
		start += i + 1
	}
	lw.buf = append(lw.buf[:0], lw.buf[start:]...)
	if len(lw.buf) >= maxLine {
		batch = lw.appendLine(batch, lw.buf)
		lw.buf = lw.buf[:0]
	}
	if len(batch) > 0 {
		lw.out.write(batch)
	}
	return len(p), nil
}

// flush writes a last line that had no newline. It is called once the child has exited.
func (lw *lineWriter) flush() {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if len(lw.buf) > 0 {
		lw.out.write(lw.appendLine(nil, lw.buf))
		lw.buf = lw.buf[:0]
	}
}

// appendLine appends line to batch with the prefix in front and a newline after, and keeps
// it in the tail. The caller holds lw.mu.
func (lw *lineWriter) appendLine(batch, line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte("\r"))
	start := len(batch)
	batch = append(batch, lw.prefix...)
	batch = append(batch, line...)
	if lw.tail != nil {
		lw.tail.add(string(batch[start:]))
	}
	return append(batch, '\n')
}

// tail keeps the last lines of a process, to quote them when it fails: the reason a
// service did not come up is almost always in its last few lines.
type tail struct {
	mu    sync.Mutex
	max   int
	lines []string
}

func newTail(max int) *tail { return &tail{max: max} }

func (t *tail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, line)
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
}

// String returns the kept lines as an indented block for an error message.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == 0 {
		return "\n    (it printed nothing)"
	}
	return "\n    " + strings.Join(t.lines, "\n    ")
}
