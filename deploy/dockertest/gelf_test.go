package dockertest

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A GELF receiver: what Logstash's gelf input is to the Docker daemon's gelf log driver,
// for the test to see what the daemon sends. GELF over UDP (https://go2docs.graylog.org/current/getting_in_log_data/gelf.html):
// a datagram is one message, or one chunk of a message too large for one; a message is
// JSON, plain or compressed with gzip or zlib (the driver's gelf-compression-type).

// gelfMessage is one message as it arrived.
type gelfMessage struct {
	compression string         // "none", "gzip" or "zlib"
	fields      map[string]any // the GELF fields: short_message, host, _container_name, ...
}

// gelfReceiver collects the messages sent to its address.
type gelfReceiver struct {
	conn *net.UDPConn

	mu       sync.Mutex
	messages []gelfMessage
	errs     []string
	chunks   map[string][][]byte // message id -> its chunks so far, by sequence number
	done     chan struct{}
}

// gelfChunkMagic starts a chunk; then come an 8-byte message id, the chunk's sequence
// number and the number of chunks, and the chunk's share of the message.
var gelfChunkMagic = []byte{0x1e, 0x0f}

// listenGELF starts a receiver on addr ("127.0.0.1:0" for any port).
func listenGELF(addr string) (*gelfReceiver, error) {
	udpAddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp", udpAddr)
	if err != nil {
		return nil, err
	}
	r := &gelfReceiver{conn: conn, chunks: map[string][][]byte{}, done: make(chan struct{})}
	go r.receive()
	return r, nil
}

// addr is where the receiver listens.
func (r *gelfReceiver) addr() *net.UDPAddr { return r.conn.LocalAddr().(*net.UDPAddr) }

// close stops the receiver and waits for it to stop.
func (r *gelfReceiver) close() {
	r.conn.Close()
	<-r.done
}

func (r *gelfReceiver) receive() {
	defer close(r.done)
	buf := make([]byte, 65536)
	for {
		n, _, err := r.conn.ReadFromUDP(buf)
		if err != nil {
			return // closed
		}
		r.datagram(bytes.Clone(buf[:n]))
	}
}

// datagram takes one datagram: a whole message, or a chunk of one.
func (r *gelfReceiver) datagram(d []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !bytes.HasPrefix(d, gelfChunkMagic) {
		r.message(d)
		return
	}
	if len(d) < 12 {
		r.errs = append(r.errs, fmt.Sprintf("a chunk of %d bytes: too short for its header", len(d)))
		return
	}
	id, seq, count := string(d[2:10]), int(d[10]), int(d[11])
	if count == 0 || count > 128 || seq >= count {
		r.errs = append(r.errs, fmt.Sprintf("chunk %d of %d: out of range", seq, count))
		return
	}
	parts := r.chunks[id]
	if parts == nil {
		parts = make([][]byte, count)
		r.chunks[id] = parts
	}
	parts[seq] = d[12:]
	for _, p := range parts {
		if p == nil {
			return // more to come
		}
	}
	delete(r.chunks, id)
	r.message(bytes.Join(parts, nil))
}

// message decompresses and decodes one whole message.
func (r *gelfReceiver) message(payload []byte) {
	compression := "none"
	var body io.Reader = bytes.NewReader(payload)
	switch {
	case len(payload) >= 2 && payload[0] == 0x1f && payload[1] == 0x8b:
		compression = "gzip"
		zr, err := gzip.NewReader(body)
		if err != nil {
			r.errs = append(r.errs, "gzip: "+err.Error())
			return
		}
		body = zr
	case len(payload) >= 2 && payload[0]&0x0f == 8 && (uint16(payload[0])<<8|uint16(payload[1]))%31 == 0:
		compression = "zlib"
		zr, err := zlib.NewReader(body)
		if err != nil {
			r.errs = append(r.errs, "zlib: "+err.Error())
			return
		}
		body = zr
	}
	dec := json.NewDecoder(body)
	dec.UseNumber()
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil {
		r.errs = append(r.errs, fmt.Sprintf("a %s message that is not JSON: %v", compression, err))
		return
	}
	r.messages = append(r.messages, gelfMessage{compression: compression, fields: fields})
}

// received returns the messages so far and the datagrams that could not be read.
func (r *gelfReceiver) received() ([]gelfMessage, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]gelfMessage(nil), r.messages...), append([]string(nil), r.errs...)
}

// waitForShortMessage waits until a message whose short_message contains text arrives.
func (r *gelfReceiver) waitForShortMessage(text string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		msgs, _ := r.received()
		for _, m := range msgs {
			if s, _ := m.fields["short_message"].(string); strings.Contains(s, text) {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("no GELF message with %q within %v", text, timeout)
}

// udpRefused reports whether datagrams to addr come back refused: nothing listens there,
// the kernel answers with ICMP port unreachable, and a connected socket's next write or
// read says ECONNREFUSED. That is what the Docker daemon's gelf driver runs into, and logs
// ("Failed to log msg"), for every line, when its address has no listener.
func udpRefused(addr string) (bool, error) {
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	probe := []byte(`{"version":"1.1","host":"dockertest","short_message":"refused?"}`)
	for range 3 {
		if _, err := conn.Write(probe); err != nil {
			return errors.Is(err, syscall.ECONNREFUSED), nil
		}
		conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := conn.Read(make([]byte, 1)); err != nil && errors.Is(err, syscall.ECONNREFUSED) {
			return true, nil
		}
	}
	return false, nil
}

// mappingConflicts finds the fields that Elasticsearch could not map one way: a name that
// is a value (a string, a number, ...) in one line and an object in another. The dots of
// a name are objects there ("tls.server.subject" is tls: {server: {subject: ...}}), so
// "tls": true in one line and "tls.server.subject" in another is such a conflict, and
// whichever line comes second is refused, silently. lines are the JSON lines; each
// conflict names the field and a line of each kind.
func mappingConflicts(lines []map[string]any) []string {
	values := map[string]string{}  // field -> a line where it is a value
	objects := map[string]string{} // field -> a line where it is an object
	var walk func(prefix string, obj map[string]any, line string)
	walk = func(prefix string, obj map[string]any, line string) {
		for k, v := range obj {
			path := prefix + k
			parts := strings.Split(path, ".")
			for i := 1; i < len(parts); i++ {
				p := strings.Join(parts[:i], ".")
				if _, ok := objects[p]; !ok {
					objects[p] = line
				}
			}
			if nested, ok := v.(map[string]any); ok {
				if _, ok := objects[path]; !ok {
					objects[path] = line
				}
				walk(path+".", nested, line)
			} else if _, ok := values[path]; !ok {
				values[path] = line
			}
		}
	}
	for _, l := range lines {
		b, _ := json.Marshal(l)
		walk("", l, string(b))
	}
	var out []string
	for field, vline := range values {
		if oline, ok := objects[field]; ok {
			out = append(out, fmt.Sprintf("%s: a value in %s\n\tand an object in %s", field, vline, oline))
		}
	}
	sort.Strings(out)
	return out
}

// TestGELFReceiver checks the receiver itself, on messages made the ways the driver makes
// them: plain, gzip, zlib, and a gzip message in three chunks that arrive out of order.
func TestGELFReceiver(t *testing.T) {
	r, err := listenGELF("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	conn, err := net.DialUDP("udp", nil, r.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	msg := func(text string) []byte {
		return []byte(`{"version":"1.1","host":"h","short_message":"` + text + `","_n":1}`)
	}
	var gz, zl bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write(msg("gzip"))
	gw.Close()
	zw := zlib.NewWriter(&zl)
	zw.Write(msg("zlib"))
	zw.Close()
	var big bytes.Buffer
	bw := gzip.NewWriter(&big)
	bw.Write(msg("chunked " + strings.Repeat("x", 3000)))
	bw.Close()
	chunk := func(seq, count int, part []byte) []byte {
		return append(append(bytes.Clone(gelfChunkMagic), []byte("ID123456")...), append([]byte{byte(seq), byte(count)}, part...)...)
	}
	b := big.Bytes()
	third := len(b)/3 + 1
	parts := [][]byte{b[:third], b[third : 2*third], b[2*third:]}

	tests := []struct {
		name      string
		datagrams [][]byte
		want      string // short_message prefix
		wantComp  string
	}{
		{"plain", [][]byte{msg("plain")}, "plain", "none"},
		{"gzip", [][]byte{gz.Bytes()}, "gzip", "gzip"},
		{"zlib", [][]byte{zl.Bytes()}, "zlib", "zlib"},
		{"chunked", [][]byte{chunk(2, 3, parts[2]), chunk(0, 3, parts[0]), chunk(1, 3, parts[1])}, "chunked", "gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, d := range tt.datagrams {
				if _, err := conn.Write(d); err != nil {
					t.Fatal(err)
				}
			}
			if err := r.waitForShortMessage(tt.want, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			msgs, errs := r.received()
			for _, m := range msgs {
				if s, _ := m.fields["short_message"].(string); strings.HasPrefix(s, tt.want) && m.compression != tt.wantComp {
					t.Errorf("message %q: compression %q, want %q", tt.want, m.compression, tt.wantComp)
				}
			}
			if len(errs) > 0 {
				t.Errorf("receiver errors: %v", errs)
			}
		})
	}
}

// TestMappingConflicts checks mappingConflicts on the conflict that the listening line
// and the edge's certificate line had (tls: a value, tls.server.*: an object), on dotted
// names against nested objects, and on lines that agree.
func TestMappingConflicts(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  []string // conflicting fields
	}{
		{"value then dotted object", []string{`{"tls":true}`, `{"tls.server.subject":"CN=x"}`}, []string{"tls"}},
		{"nested object then value", []string{`{"db":{"file":"a"}}`, `{"db":"x"}`}, []string{"db"}},
		{"deeper", []string{`{"a.b":1}`, `{"a.b.c":2}`}, []string{"a.b"}},
		{"agree", []string{`{"url.scheme":"https","url.path":"/"}`, `{"url":{"path":"/x"}}`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lines []map[string]any
			for _, l := range tt.lines {
				var m map[string]any
				if err := json.Unmarshal([]byte(l), &m); err != nil {
					t.Fatal(err)
				}
				lines = append(lines, m)
			}
			var got []string
			for _, c := range mappingConflicts(lines) {
				field, _, _ := strings.Cut(c, ":")
				got = append(got, field)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("mappingConflicts(%v) fields = %v, want %v", tt.lines, got, tt.want)
			}
		})
	}
}
