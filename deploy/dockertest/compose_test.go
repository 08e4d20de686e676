package dockertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ourServices are the five services built from this repository.
var ourServices = []string{"accountservice", "quoteservice", "imageservice", "vipservice", "edge"}

// The bounds the compose run is held to. They are generous on purpose (two shared cores
// here): what they catch is a deployment that does not come up, and the stall that a
// blocking, compressing log driver caused (requests held for 1.2-1.6 s), not a few
// milliseconds. The measured figures are in README.md ("Docker") and BENCHMARKS.md.
const (
	upTimeout  = 180 * time.Second      // docker compose up --build --wait, images cached or not
	loadTime   = "10s"                  // the short load through the edge ...
	loadConns  = "16"                   // ... at this concurrency
	maxLatency = 500 * time.Millisecond // and no request slower than this
)

// TestCompose brings docker-compose.yml's default profile up for real and checks it
// step by step (see the package doc), each step a subtest. Whatever happens, the project
// is taken down with its volumes at the end.
func TestCompose(t *testing.T) {
	before := snapshot(t)
	compose(t, "down", "-v", "--remove-orphans") // what a crashed run may have left
	t.Cleanup(func() {
		run("docker", "rm", "-f", fakeLogstash)
		if _, err := run("docker", composeArgs("down", "-v", "--remove-orphans")...); err != nil {
			t.Error(err)
		}
	})

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"up", composeUp},
		{"gelf-relay listens", gelfRelayListens},
		{"load", composeLoad},
		{"VIP read and its trace", vipReadAndTrace},
		{"one service on OpenTelemetry, one trace", oneServiceOnOTel},
		{"image through the edge", imageThroughEdge},
		{"the admin listener switches every service", adminSwitches},
		{"logs are ECS JSON", logsAreECS},
		{"non-root and read-only", nonRootReadOnly},
		{"gelf delivers every service's lines", gelfDelivers},
		{"accounts survive down and up", accountsSurvive},
		{"VIP events flow after a RabbitMQ restart", rabbitMQRestart},
		{"tracers lost no span", tracersLostNothing},
		{"down -v leaves nothing", func(t *testing.T) { downLeavesNothing(t, before) }},
	}
	// Every step runs, so one run reports every defect; but without the project up there
	// is nothing to check.
	for i, s := range steps {
		if !t.Run(s.name, s.run) && i == 0 {
			return
		}
	}
}

// composeUp: `docker compose up --build --wait`, timed: every service built, started and
// healthy (depends_on waits for each one's dependencies to be healthy first).
func composeUp(t *testing.T) {
	start := time.Now()
	compose(t, "up", "--build", "--wait", "--wait-timeout", strconv.Itoa(int(upTimeout.Seconds())))
	t.Logf("FIGURE compose up --build --wait: %.1fs", time.Since(start).Seconds())
	if out := compose(t, "logs", "--no-log-prefix", "accountservice"); !strings.Contains(out, `"seeded":100`) {
		t.Errorf("accountservice's first start on an empty volume did not seed the 100 accounts; its log:\n%s", out)
	}
}

// gelfRelayListens: the address the services' gelf driver sends to answers nothing back,
// unlike an address without a listener, whose every datagram the kernel refuses and the
// Docker daemon logs a failure for (31,111 lines in a minute of load, before gelf-relay).
func gelfRelayListens(t *testing.T) {
	refused, err := udpRefused("127.0.0.1:12201")
	if err != nil {
		t.Fatal(err)
	}
	if refused {
		t.Errorf("datagrams to 127.0.0.1:12201, the services' gelf-address, are refused: no gelf-relay listens, and the daemon logs a failure for every log line")
	}
}

// loadSummary is what this test reads of `loadgen -json`.
type loadSummary struct {
	Sent          int                `json:"sent"`
	Responses     int                `json:"responses"`
	OK            int                `json:"ok"`
	Errors        int                `json:"errors"`
	ThroughputRPS float64            `json:"throughput_rps"`
	LatencyMS     map[string]float64 `json:"latency_ms"`
	Status        map[string]int     `json:"status"`
	Slowest       []struct {
		TraceID   string  `json:"trace_id"`
		LatencyMS float64 `json:"latency_ms"`
	} `json:"slowest"`
}

// composeLoad: ten seconds of load through the edge at 16 connections: every request
// answered 200, none slower than maxLatency.
func composeLoad(t *testing.T) {
	s := runLoad(t, "-d", loadTime, "-c", loadConns)
	if s.Errors > 0 || s.OK != s.Sent || s.Sent == 0 {
		t.Errorf("loadgen -d %s -c %s: %d sent, %d answered 2xx, %d errors (status %v), want every one 2xx", loadTime, loadConns, s.Sent, s.OK, s.Errors, s.Status)
	}
	if max := time.Duration(s.LatencyMS["max"] * float64(time.Millisecond)); max > maxLatency {
		t.Errorf("loadgen -d %s -c %s: the slowest request took %v, want at most %v (the slowest: %+v)", loadTime, loadConns, max, maxLatency, s.Slowest)
	}
}

// runLoad runs bin/loadgen against the edge on the host and returns its summary.
func runLoad(t *testing.T, args ...string) loadSummary {
	t.Helper()
	out := must(t, loadgen, append([]string{"-url", edgeURL + "/api/accounts/{id}", "-json", "-quiet"}, args...)...)
	var s loadSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("loadgen -json: %v\n%s", err, out)
	}
	t.Logf("FIGURE loadgen %s: %.0f req/s, latency p50 %.1fms p99 %.1fms max %.1fms, %d requests, %d errors",
		strings.Join(args, " "), s.ThroughputRPS, s.LatencyMS["p50"], s.LatencyMS["p99"], s.LatencyMS["max"], s.Sent, s.Errors)
	return s
}

// vipReadAndTrace: a VIP account through https://localhost:8765 answers with every part
// and an X-Trace-Id, and Jaeger on :16686 holds that trace whole.
func vipReadAndTrace(t *testing.T) {
	acc, id, err := getAccount(vipAccount)
	if err != nil {
		t.Fatal(err)
	}
	checkAccount(t, vipAccount, acc)
	if id == "" {
		t.Fatalf("GET /api/accounts/%s: no X-Trace-Id header", vipAccount)
	}
	waitForVIPTrace(t, id)
}

// oneServiceOnOTel: accountservice recreated with TRACING_SDK=otel, as the compose file
// says a user switches one service, and a VIP read still makes one whole trace, its
// accountservice spans from the OpenTelemetry SDK (by OTLP to jaeger:4318) and the others'
// from jaeger-client-go. Then back to the default, for the steps after this one.
func oneServiceOnOTel(t *testing.T) {
	wait := []string{"--wait", "--wait-timeout", strconv.Itoa(int(upTimeout.Seconds()))}
	switchTo := func(sdk string) {
		args := composeArgs(append([]string{"up", "-d", "--no-deps"}, append(wait, "accountservice")...)...)
		start := time.Now()
		if out, err := runWith([]string{"TRACING_SDK=" + sdk}, "docker", args...); err != nil {
			t.Fatalf("TRACING_SDK=%s: %v\n%s", sdk, err, out)
		}
		t.Logf("TRACING_SDK=%s docker compose up -d accountservice: %s", sdk, time.Since(start).Round(time.Second))
	}
	switchTo("otel")
	defer switchTo("jaeger")
	var tr trace
	waitFor(t, "a VIP read through an otel accountservice, its trace whole", 60*time.Second, func() error {
		_, id, err := getAccount(vipAccount)
		if err != nil {
			return err
		}
		time.Sleep(1500 * time.Millisecond) // a flush interval, and the consumer's
		if tr, err = fetchTrace(id); err != nil {
			return err
		}
		return vipTraceComplete(tr)
	})
	for _, svc := range services {
		want := "jaeger"
		if svc == "accountservice" {
			want = "otel"
		}
		if got := tr.sdkOf(svc); got != want {
			t.Errorf("trace %s: %s's spans came from the %q SDK, want %q", tr.TraceID, svc, got, want)
		}
	}
}

// pngMagic starts every PNG file.
var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// imageThroughEdge: the image URL of an answer leads, through the edge, to a PNG.
func imageThroughEdge(t *testing.T) {
	acc, _, err := getAccount("10001")
	if err != nil {
		t.Fatal(err)
	}
	if acc.ImageData == nil {
		t.Fatalf("GET /api/accounts/10001: no imageData")
	}
	resp, err := client.Get(acc.ImageData.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" || !bytes.HasPrefix(body, pngMagic) {
		t.Errorf("GET %s = %s, Content-Type %q, %d bytes starting %q; want 200, image/png, a PNG",
			acc.ImageData.URL, resp.Status, resp.Header.Get("Content-Type"), len(body), body[:min(8, len(body))])
	}
}

// ecsFields are the fields every line of a tracelab service has (common/logging).
var ecsFields = []string{"@timestamp", "log.level", "message", "service.name"}

// checkECSLine says what is wrong with one log line of service, or "": JSON, the ECS
// fields, its own service.name, and trace.id and span.id on an access line.
func checkECSLine(service, line string) string {
	var fields map[string]any
	if err := json.Unmarshal([]byte(line), &fields); err != nil {
		return fmt.Sprintf("not JSON (%v)", err)
	}
	for _, f := range ecsFields {
		if _, ok := fields[f]; !ok {
			return "no " + f
		}
	}
	if fields["service.name"] != service {
		return fmt.Sprintf("service.name %v", fields["service.name"])
	}
	if fields["message"] == "access" && (fields["trace.id"] == nil || fields["span.id"] == nil) {
		return "an access line without trace.id and span.id"
	}
	return ""
}

// logsAreECS: what `docker compose logs` shows of each service is its ECS JSON lines
// (through the gelf driver: Docker keeps a local copy for any driver), the request lines
// with their trace ids.
func logsAreECS(t *testing.T) {
	for _, name := range ourServices {
		out := compose(t, "logs", "--no-color", "--no-log-prefix", name)
		lines, traced := 0, 0
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			lines++
			if why := checkECSLine(name, line); why != "" {
				t.Errorf("docker compose logs %s: %s: %s", name, why, line)
			}
			if strings.Contains(line, `"trace.id":`) {
				traced++
			}
		}
		if traced == 0 {
			t.Errorf("docker compose logs %s: %d lines, none with a trace.id", name, lines)
		}
	}
}

// containers returns the ids of the project's running containers.
func containers(t *testing.T) []string {
	t.Helper()
	return strings.Fields(compose(t, "ps", "-q"))
}

// nonRootReadOnly: every container of the default profile, ours and the infrastructure's,
// runs as a user that is not root, on a read-only root file system.
func nonRootReadOnly(t *testing.T) {
	ids := containers(t)
	if len(ids) == 0 {
		t.Fatal("no containers")
	}
	out := must(t, "docker", append([]string{"inspect", "--format",
		`{{.Name}} {{if .Config.User}}{{.Config.User}}{{else}}(none){{end}} {{.HostConfig.ReadonlyRootfs}}`}, ids...)...)
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("docker inspect: %q", line)
		}
		name, user, readOnly := strings.TrimPrefix(f[0], "/"), f[1], f[2]
		if uid, _, _ := strings.Cut(user, ":"); uid == "(none)" || uid == "0" || uid == "root" {
			t.Errorf("%s runs as user %s, want a user that is not root", name, user)
		}
		if readOnly != "true" {
			t.Errorf("%s: root file system read-only = %s, want true", name, readOnly)
		}
	}
}

// fakeLogstash is the container that stands in for Logstash's GELF input in
// gelfDelivers: a FAKE (nginx passing the datagrams on to the test's receiver).
const fakeLogstash = project + "-fake-logstash"

// fakeLogstashConf is its nginx.conf; %s is the test receiver's address.
const fakeLogstashConf = `# fake Logstash for deploy/dockertest: GELF datagrams in, passed to the test's receiver.
worker_processes 1;
error_log /dev/stderr warn;
pid /tmp/nginx.pid;
events { worker_connections 1024; }
stream {
    server {
        listen 12201 udp;
        proxy_pass %s;
        proxy_responses 0;
    }
}
`

// gelfDelivers: the Docker daemon's gelf driver delivers every service's lines, through
// gelf-relay, to whatever answers to "logstash" on the compose network, as it would with
// the elk profile: here a fake that passes them on to a GELF receiver of the test's. Each
// line is ECS JSON, uncompressed (gelf-compression-type none), and no field is a value in
// one line and an object in another, which Elasticsearch would refuse. The services are
// restarted once the fake is there, so their start-up lines are among those checked.
func gelfDelivers(t *testing.T) {
	network := project + "_default"
	gateway := strings.TrimSpace(must(t, "docker", "network", "inspect", "--format", "{{(index .IPAM.Config 0).Gateway}}", network))
	// On the network's gateway, this machine's side of the bridge: the fake reaches it,
	// nothing outside this machine does.
	rcv, err := listenGELF(net.JoinHostPort(gateway, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.close()
	conf := filepath.Join(t.TempDir(), "nginx.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(fakeLogstashConf, rcv.addr())), 0o644); err != nil {
		t.Fatal(err)
	}
	must(t, "docker", "run", "-d", "--name", fakeLogstash, "--network", network, "--network-alias", "logstash",
		"-v", conf+":/etc/nginx/nginx.conf:ro", "nginx:1.28.0-alpine")
	defer run("docker", "rm", "-f", fakeLogstash)

	// gelf-relay looks "logstash" up again every few seconds: until then it drops.
	probe, err := net.Dial("udp", "127.0.0.1:12201")
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	waitFor(t, "a datagram through gelf-relay to the fake Logstash", 30*time.Second, func() error {
		text := "probe " + strconv.FormatInt(time.Now().UnixNano(), 10)
		probe.Write([]byte(`{"version":"1.1","host":"dockertest","short_message":"` + text + `"}`))
		return rcv.waitForShortMessage(text, time.Second)
	})

	compose(t, append([]string{"restart"}, ourServices...)...)
	compose(t, "up", "--wait", "--wait-timeout", "120")
	acc, id, err := getAccount(vipAccount)
	if err != nil {
		t.Fatal(err)
	}
	checkAccount(t, vipAccount, acc)
	for _, path := range []string{"/api/accounts/10001", "/api/accounts/99", "/api/accounts/abc"} {
		if resp, err := client.Get(edgeURL + path); err == nil {
			resp.Body.Close()
		}
	}
	// Every service logs a line of the VIP read (vipservice the event it recorded).
	waitFor(t, "a line with trace.id "+id+" from every service", 30*time.Second, func() error {
		msgs, _ := rcv.received()
		seen := map[string]bool{}
		for _, m := range msgs {
			if s, _ := m.fields["short_message"].(string); strings.Contains(s, `"trace.id":"`+id+`"`) {
				seen[fmt.Sprint(m.fields["_com.docker.compose.service"])] = true
			}
		}
		for _, name := range ourServices {
			if !seen[name] {
				return fmt.Errorf("none from %s yet (from %v)", name, seen)
			}
		}
		return nil
	})

	msgs, errs := rcv.received()
	for _, e := range errs {
		t.Errorf("GELF receiver: %s", e)
	}
	var lines []map[string]any
	count := map[string]int{}
	compressed := map[string]int{} // "edge gzip" -> messages
	for _, m := range msgs {
		service := fmt.Sprint(m.fields["_com.docker.compose.service"])
		if !slices.Contains(ourServices, service) {
			continue // the probes
		}
		count[service]++
		if m.compression != "none" {
			compressed[service+" "+m.compression]++
		}
		line, _ := m.fields["short_message"].(string)
		if why := checkECSLine(service, line); why != "" {
			t.Errorf("GELF message from %s: %s: %s", service, why, line)
			continue
		}
		var fields map[string]any
		json.Unmarshal([]byte(line), &fields)
		lines = append(lines, fields)
	}
	for _, k := range slices.Sorted(maps.Keys(compressed)) {
		service, compression, _ := strings.Cut(k, " ")
		t.Errorf("%d of %d GELF messages from %s came %s-compressed: the daemon compresses every line while the service waits to write the next (want gelf-compression-type: none)",
			compressed[k], count[service], service, compression)
	}
	for _, c := range mappingConflicts(lines) {
		t.Errorf("Elasticsearch mapping conflict: %s", c)
	}
	t.Logf("GELF messages received from each service: %v", count)
}

// accountsSurvive: `docker compose down` (no -v) keeps the named volume of accounts: the
// next start finds them and seeds none.
func accountsSurvive(t *testing.T) {
	compose(t, "down")
	compose(t, "up", "--wait", "--wait-timeout", strconv.Itoa(int(upTimeout.Seconds())))
	if out := compose(t, "logs", "--no-log-prefix", "accountservice"); !strings.Contains(out, `"seeded":0`) {
		t.Errorf("accountservice after down and up: want an \"accounts ready\" line with seeded 0 (the volume kept them); its log:\n%s", out)
	}
	acc, _, err := getAccount("10042")
	if err != nil {
		t.Fatal(err)
	}
	checkAccount(t, "10042", acc)
}

// rabbitMQRestart: after `docker compose restart rabbitmq`, VIP events flow again: the
// publisher and the consumer reconnect by themselves, and a VIP read's trace is whole.
func rabbitMQRestart(t *testing.T) {
	compose(t, "restart", "rabbitmq")
	compose(t, "up", "--wait", "--wait-timeout", "120")
	// The first reads after the restart may find a client still reconnecting (the event
	// is then logged as lost, the answer still complete): read until one trace is whole.
	waitFor(t, "a VIP read whose trace crosses RabbitMQ again", 90*time.Second, func() error {
		_, id, err := getAccount(vipAccount)
		if err != nil {
			return err
		}
		var lastErr error
		for range 10 {
			time.Sleep(500 * time.Millisecond)
			tr, err := fetchTrace(id)
			if err == nil {
				if err = vipTraceComplete(tr); err == nil {
					return nil
				}
			}
			lastErr = err
		}
		return lastErr
	})
}

// tracersLostNothing: stopped, every service's tracer says it reported every span, to
// Jaeger and to the Zipkin relay, dropping and failing none.
func tracersLostNothing(t *testing.T) {
	compose(t, append([]string{"stop"}, ourServices...)...)
	for _, name := range ourServices {
		out := compose(t, "logs", "--no-log-prefix", name)
		var closed string
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, `"message":"tracer closed`) {
				closed = line
			}
		}
		if closed == "" {
			t.Errorf("%s: no \"tracer closed\" line after docker compose stop", name)
			continue
		}
		var fields map[string]any
		if err := json.Unmarshal([]byte(closed), &fields); err != nil {
			t.Errorf("%s: %v: %s", name, err, closed)
			continue
		}
		for _, k := range []string{"spans.jaeger.dropped", "spans.jaeger.unconfirmed", "spans.zipkin.dropped", "spans.zipkin.unconfirmed"} {
			if n, ok := fields[k].(float64); !ok || n != 0 {
				t.Errorf("%s: %s = %v, want 0: %s", name, k, fields[k], closed)
			}
		}
	}
}

// dockerState is what exists in the engine: containers, volumes, networks.
type dockerState map[string][]string

// snapshot lists the engine's containers (running or not), volumes and networks.
func snapshot(t *testing.T) dockerState {
	t.Helper()
	s := dockerState{}
	for kind, args := range map[string][]string{
		"containers": {"ps", "-a", "-q", "--no-trunc"},
		"volumes":    {"volume", "ls", "-q"},
		"networks":   {"network", "ls", "-q", "--no-trunc"},
	} {
		out := must(t, "docker", args...)
		s[kind] = strings.Fields(out)
		slices.Sort(s[kind])
	}
	return s
}

// downLeavesNothing: `docker compose down -v` removes every container, network and volume
// the project made (anonymous volumes of the images included): the engine is as it was.
func downLeavesNothing(t *testing.T, before dockerState) {
	compose(t, "down", "-v")
	after := snapshot(t)
	for kind, was := range before {
		for _, id := range after[kind] {
			if !slices.Contains(was, id) {
				t.Errorf("after docker compose down -v, %s %s is left behind", strings.TrimSuffix(kind, "s"), id)
			}
		}
	}
}
