package serve

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"tracelab/common/logging"
	"tracelab/internal/servicetest"
)

// TestListeningLine: the "listening" line says the scheme in url.scheme, and has no "tls"
// field. The edge logs tls.server.subject and friends; Elasticsearch reads the dots as
// objects, so a "tls": true in the same data stream would make tls a value in some lines
// and an object in others, and whichever came second would be refused.
func TestListeningLine(t *testing.T) {
	ts := httptest.NewTLSServer(http.NotFoundHandler())
	certs := ts.TLS.Certificates
	ts.Close()

	tests := []struct {
		name       string
		tlsConfig  *tls.Config
		wantScheme string
	}{
		{"plain", nil, "http"},
		{"tls", &tls.Config{Certificates: certs}, "https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out servicetest.LockedBuffer
			log := logging.New("servetest", &out, slog.LevelInfo)
			srv := NewServer(http.NotFoundHandler(), log)
			srv.TLSConfig = tt.tlsConfig
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- RunListener(ctx, log, srv, ln) }()

			var line string
			servicetest.WaitFor(t, "the listening line", func() bool {
				for _, l := range strings.Split(out.String(), "\n") {
					if strings.Contains(l, `"message":"listening"`) {
						line = l
						return true
					}
				}
				return false
			})
			cancel()
			if err := <-done; err != nil {
				t.Errorf("RunListener() = %v, want nil", err)
			}
			var fields map[string]any
			if err := json.Unmarshal([]byte(line), &fields); err != nil {
				t.Fatalf("listening line %q: %v", line, err)
			}
			if got := fields["url.scheme"]; got != tt.wantScheme {
				t.Errorf("listening line url.scheme = %v, want %q (line %s)", got, tt.wantScheme, line)
			}
			if v, ok := fields["tls"]; ok {
				t.Errorf("listening line has tls = %v; a value there conflicts with the edge's tls.server.* objects (line %s)", v, line)
			}
		})
	}
}
