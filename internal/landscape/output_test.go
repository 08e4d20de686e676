package landscape

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// TestLineWriterConcurrent has several processes' writers write at once, cutting their
// lines at odd places, and checks that every output line is whole, carries the right
// prefix, and that each writer's lines arrive complete and in order.
func TestLineWriterConcurrent(t *testing.T) {
	const writers, lines = 8, 200
	var buf bytes.Buffer
	out := &output{w: &buf}
	var wg sync.WaitGroup
	for w := range writers {
		name := fmt.Sprintf("w%d", w)
		lw := newLineWriter(out, name, 4, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var all strings.Builder
			for i := range lines {
				fmt.Fprintf(&all, "line %d of %s %s\n", i, name, strings.Repeat("x", i%37))
			}
			// Chunks of 1 to 13 bytes: most writes end mid-line, some hold several lines.
			b := []byte(all.String())
			for n := 1; len(b) > 0; n = n%13 + 1 {
				k := min(n, len(b))
				lw.Write(b[:k])
				b = b[k:]
			}
		}()
	}
	wg.Wait()

	shape := regexp.MustCompile(`^(w\d+)   \| line (\d+) of (w\d+) x*$`)
	next := map[string]int{}
	for _, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		m := shape.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("output line %q is not one whole prefixed line", line)
		}
		if m[1] != m[3] {
			t.Fatalf("output line %q: prefix %s, content of %s", line, m[1], m[3])
		}
		if want := fmt.Sprint(next[m[1]]); m[2] != want {
			t.Fatalf("output line %q: line number %s, want %s", line, m[2], want)
		}
		next[m[1]]++
	}
	for w := range writers {
		if got := next[fmt.Sprintf("w%d", w)]; got != lines {
			t.Errorf("writer w%d: %d lines in the output, want %d", w, got, lines)
		}
	}
}

func TestLineWriter(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		flush  bool
		want   string
	}{
		{"whole lines", []string{"a\nb\n"}, false, "quote | a\nquote | b\n"},
		{"a partial line waits", []string{"a\npart"}, false, "quote | a\n"},
		{"a partial line is completed", []string{"pa", "rt", "ial\n"}, false, "quote | partial\n"},
		{"flush writes the partial line", []string{"a\nlast words"}, true, "quote | a\nquote | last words\n"},
		{"flush with nothing pending writes nothing", []string{"a\n"}, true, "quote | a\n"},
		{"carriage returns are dropped", []string{"dos\r\n"}, false, "quote | dos\n"},
		{"empty lines stay", []string{"\n\n"}, false, "quote | \nquote | \n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			lw := newLineWriter(&output{w: &buf}, "quote", 5, nil)
			for _, w := range tt.writes {
				if n, err := lw.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write(%q) = %d, %v, want %d, nil", w, n, err, len(w))
				}
			}
			if tt.flush {
				lw.flush()
			}
			if got := buf.String(); got != tt.want {
				t.Errorf("output after %q = %q, want %q", tt.writes, got, tt.want)
			}
		})
	}
}

// TestLineWriterEndlessLine checks that a line without end is written once it reaches
// maxLine, instead of growing in memory.
func TestLineWriterEndlessLine(t *testing.T) {
	var buf bytes.Buffer
	lw := newLineWriter(&output{w: &buf}, "x", 1, nil)
	lw.Write(bytes.Repeat([]byte("y"), maxLine+10))
	if got, want := buf.Len(), len("x | ")+maxLine+10+1; got != want {
		t.Errorf("output of a %d byte line without newline is %d bytes, want %d", maxLine+10, got, want)
	}
}

func TestPadName(t *testing.T) {
	tests := []struct {
		name  string
		width int
		want  string
	}{
		{"quoteservice", 14, "quoteservice  "},
		{"accountservice", 14, "accountservice"},
		{"toolongforit", 4, "toolongforit"},
	}
	for _, tt := range tests {
		if got := padName(tt.name, tt.width); got != tt.want {
			t.Errorf("padName(%q, %d) = %q, want %q", tt.name, tt.width, got, tt.want)
		}
	}
}

func TestTail(t *testing.T) {
	var buf bytes.Buffer
	tl := newTail(2)
	if got, want := tl.String(), "\n    (it printed nothing)"; got != want {
		t.Errorf("empty tail = %q, want %q", got, want)
	}
	lw := newLineWriter(&output{w: &buf}, "q", 1, tl)
	lw.Write([]byte("one\ntwo\nthree\n"))
	if got, want := tl.String(), "\n    q | two\n    q | three"; got != want {
		t.Errorf("tail of 2 after three lines = %q, want %q", got, want)
	}
}
