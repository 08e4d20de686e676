// Package rabbitnode runs a private RabbitMQ node for fault tests: a broker a test may stop,
// kill, pause or fill up without touching the one on 127.0.0.1:5672 that every other test
// and every `make run` shares.
//
// The node is the Debian rabbitmq-server, started as a child process with a node name, an
// AMQP port, an Erlang distribution port and a data directory of its own, no plugins, and a
// config and Erlang cookie in its directory (the system node's /etc/rabbitmq and
// /var/lib/rabbitmq are not read, and nothing is written to $HOME). It registers with the
// system's epmd like any other node, under its own name.
//
//	n := rabbitnode.Start(t)    // ~4.5 s until AMQP answers (2 cores); stopped and removed when t ends
//	url := n.URL()              // amqp://guest:guest@127.0.0.1:<port>/
//	n.Stop(); n.Restart()       // same port and data: durable queues, persistent messages survive
//	n.Pause(); n.Resume()       // SIGSTOP / SIGCONT of the Erlang VM: a broker that hangs
//	n.SetMemoryAlarm(true)      // RabbitMQ blocks every publishing connection
//	n.Kill()                    // SIGKILL: a broker that dies; Restart brings it back
//
// Every method fails t when it cannot do what it says (never a skip: a fault test that did
// not run must not report green). Call them from the goroutine that runs the test, as
// t.Fatal requires.
package rabbitnode

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tracelab/common/messaging"
)

// Where the Debian package puts the scripts. The /usr/sbin wrappers switch to the rabbitmq
// user and its cookie; these run as whoever calls them, with the environment we give.
const (
	serverScript = "/usr/lib/rabbitmq/bin/rabbitmq-server"
	ctlScript    = "/usr/lib/rabbitmq/bin/rabbitmqctl"
)

// StartTimeout bounds a start (or restart) until AMQP answers. Measured on an idle 2-core
// machine (TestNode logs it): a first start 4.3 to 4.6 s, a restart about 5 s (a second of
// it the graceful stop); the margin is for a machine busy with other tests.
const StartTimeout = 90 * time.Second

// stopTimeout bounds a graceful stop (about 1 s) before the node is killed instead.
const stopTimeout = 30 * time.Second

// Node is one private RabbitMQ node. Its methods are not safe for concurrent use.
type Node struct {
	t        testing.TB
	name     string // Erlang node name, tracelab-<port>@localhost
	port     int    // AMQP
	distPort int    // Erlang distribution (rabbitmqctl talks to the node on it)
	dir      string // everything the node writes: data, logs, pid file, cookie, config

	cmd    *exec.Cmd     // the rabbitmq-server script, nil when stopped
	exited chan struct{} // closed when cmd has exited
	paused bool
}

// Start starts a node and returns once it accepts AMQP connections. The node is stopped and
// its directory removed when t ends.
func Start(t testing.TB) *Node {
	t.Helper()
	if _, err := os.Stat(serverScript); err != nil {
		t.Fatalf("rabbitnode: %s not found (%v): install RabbitMQ with `apt-get install rabbitmq-server`", serverScript, err)
	}
	reapOrphans()
	dir, err := os.MkdirTemp("", "rabbitnode-")
	if err != nil {
		t.Fatalf("rabbitnode: %v", err)
	}
	n := &Node{t: t, dir: dir, port: freePort(t), distPort: freePort(t)}
	n.name = "tracelab-" + strconv.Itoa(n.port) + "@localhost"
	t.Cleanup(n.cleanup)
	if err := n.writeFiles(); err != nil {
		t.Fatalf("rabbitnode: %v", err)
	}
	n.start()
	return n
}

// URL is the node's AMQP URL, with the guest user RabbitMQ creates on first start (allowed
// from localhost only, which is where the node listens).
func (n *Node) URL() string {
	return "amqp://guest:guest@127.0.0.1:" + strconv.Itoa(n.port) + "/"
}

// Name is the Erlang node name, for rabbitmqctl -n.
func (n *Node) Name() string { return n.name }

// Port is the AMQP port; it stays the same across Stop and Restart.
func (n *Node) Port() int { return n.port }

// Stop stops the node gracefully (SIGTERM, as `rabbitmqctl stop` does) and waits until its
// processes are gone; a paused node is resumed first. Messages and queues stay on disk.
func (n *Node) Stop() {
	n.t.Helper()
	if n.cmd == nil {
		return
	}
	n.Resume()
	n.signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(stopTimeout):
		n.killGroup()
		<-n.exited
		n.t.Errorf("rabbitnode %s: not stopped %v after SIGTERM, killed", n.name, stopTimeout)
	}
	n.cmd = nil
}

// Kill ends the node with SIGKILL, as a crash or the OOM killer would: no goodbye to its
// clients, whose connections just break. What was fsynced survives for Restart.
func (n *Node) Kill() {
	n.t.Helper()
	if n.cmd == nil {
		return
	}
	n.killGroup()
	<-n.exited
	n.cmd, n.paused = nil, false
}

// Restart stops the node if it runs, starts it again with the same port, name and data
// directory, and returns once AMQP answers. The memory alarm does not survive it: the
// watermark is back to RabbitMQ's default.
func (n *Node) Restart() {
	n.t.Helper()
	n.Stop()
	n.start()
}

// Pause freezes the node (SIGSTOP of the Erlang VM): connections stay open, nothing
// answers, heartbeats stop. Clients see a broker that hangs, not one that is gone.
func (n *Node) Pause() {
	n.t.Helper()
	if n.cmd == nil || n.paused {
		return
	}
	n.signal(syscall.SIGSTOP)
	n.paused = true
}

// Resume undoes Pause.
func (n *Node) Resume() {
	n.t.Helper()
	if n.cmd == nil || !n.paused {
		return
	}
	n.signal(syscall.SIGCONT)
	n.paused = false
}

// SetMemoryAlarm raises (true) or clears (false) RabbitMQ's memory alarm, by setting the
// memory high watermark far below what the node uses, or back to the default 0.4. While the
// alarm is on, RabbitMQ blocks every connection that publishes (connection.blocked) and
// stops reading from it; consumers go on. It returns once the node reports the alarm state.
func (n *Node) SetMemoryAlarm(on bool) {
	n.t.Helper()
	watermark := "0.4"
	if on {
		watermark = "0.0000001"
	}
	if out, err := n.Ctl("set_vm_memory_high_watermark", watermark); err != nil {
		n.t.Fatalf("rabbitnode %s: set_vm_memory_high_watermark %s: %v\n%s", n.name, watermark, err, out)
	}
	deadline := time.Now().Add(StartTimeout)
	for {
		// check_local_alarms exits 0 when the node has no alarm.
		_, err := n.ctl("rabbitmq-diagnostics", "check_local_alarms")
		if (err != nil) == on {
			break
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("rabbitnode %s: memory alarm still %v %v after setting the watermark to %s", n.name, !on, StartTimeout, watermark)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Ctl runs rabbitmqctl against the node (list_queues, close_all_connections, ...) and
// returns what it printed. Each call starts an Erlang VM: about half a second.
func (n *Node) Ctl(args ...string) (string, error) {
	return n.ctl("rabbitmqctl", args...)
}

func (n *Node) ctl(tool string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(filepath.Dir(ctlScript), tool), append([]string{"-n", n.name}, args...)...)
	cmd.Env = n.environ()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// start launches rabbitmq-server and waits for AMQP.
func (n *Node) start() {
	n.t.Helper()
	_ = os.Remove(n.pidFile())
	logFile, err := os.OpenFile(filepath.Join(n.dir, "console.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		n.t.Fatalf("rabbitnode: %v", err)
	}
	defer logFile.Close() // the child has its own copy
	cmd := exec.Command(serverScript)
	cmd.Dir = n.dir
	cmd.Env = n.environ()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// A process group of its own: the script, the Erlang VM and its helpers, so that Kill
	// and the cleanup reach all of them, and a Ctrl-C in the terminal reaches none.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	began := time.Now()
	if err := cmd.Start(); err != nil {
		n.t.Fatalf("rabbitnode: start %s: %v", serverScript, err)
	}
	n.cmd, n.exited, n.paused = cmd, make(chan struct{}), false
	go func(exited chan struct{}) { _ = cmd.Wait(); close(exited) }(n.exited)

	deadline := began.Add(StartTimeout)
	for {
		conn, err := messaging.Dial(n.URL())
		if err == nil {
			_ = conn.Close()
			return
		}
		select {
		case <-n.exited:
			n.cmd = nil
			n.t.Fatalf("rabbitnode %s: rabbitmq-server exited during start:\n%s", n.name, n.logTail())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("rabbitnode %s: AMQP not answering on port %d %v after start (last: %v):\n%s",
				n.name, n.port, StartTimeout, err, n.logTail())
		}
	}
}

// signal sends sig to the Erlang VM, whose pid RabbitMQ writes to its pid file early in
// boot; before that, to the whole process group.
func (n *Node) signal(sig syscall.Signal) {
	n.t.Helper()
	pid := n.beamPID()
	if pid == 0 {
		pid = -n.cmd.Process.Pid
	}
	if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		n.t.Fatalf("rabbitnode %s: kill(%d, %v): %v", n.name, pid, sig, err)
	}
}

// killGroup sends SIGKILL to everything the node's start launched (its process group);
// SIGKILL ends a paused process too.
func (n *Node) killGroup() {
	_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
}

func (n *Node) beamPID() int {
	b, err := os.ReadFile(n.pidFile())
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

func (n *Node) pidFile() string { return filepath.Join(n.dir, "rabbitmq.pid") }

// cleanup stops the node at the end of the test and removes its directory.
func (n *Node) cleanup() {
	if n.cmd != nil {
		n.Stop()
	}
	if err := os.RemoveAll(n.dir); err != nil {
		n.t.Errorf("rabbitnode: remove %s: %v", n.dir, err)
	}
}

// writeFiles writes the node's own configuration: a listener on 127.0.0.1 only, no plugins,
// no env file (the system's would name the node rabbit@localhost), and a cookie.
func (n *Node) writeFiles() error {
	cookie := make([]byte, 16)
	_, _ = rand.Read(cookie)
	files := []struct {
		name, content string
		mode          os.FileMode
	}{
		{"rabbitmq.conf", "listeners.tcp.local = 127.0.0.1:" + strconv.Itoa(n.port) + "\n", 0o600},
		{"rabbitmq-env.conf", "ERL_EPMD_ADDRESS=127.0.0.1\n", 0o600},
		{"enabled_plugins", "[].\n", 0o600},
		{".erlang.cookie", strings.ToUpper(hex.EncodeToString(cookie)), 0o400},
		{"owner", strconv.Itoa(os.Getpid()), 0o600}, // for reapOrphans
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(n.dir, f.name), []byte(f.content), f.mode); err != nil {
			return err
		}
	}
	return nil
}

// environ is the environment of the node and of rabbitmqctl: the caller's PATH and little
// else, so that no RABBITMQ_* setting of the caller's leaks in. HOME is the node's directory,
// where the Erlang VM and the CLI tools both find the node's cookie.
func (n *Node) environ() []string {
	d := func(name string) string { return filepath.Join(n.dir, name) }
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + n.dir,
		"LANG=C.UTF-8",
		"RABBITMQ_NODENAME=" + n.name,
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
		"RABBITMQ_NODE_PORT=" + strconv.Itoa(n.port),
		"RABBITMQ_DIST_PORT=" + strconv.Itoa(n.distPort),
		"RABBITMQ_CONFIG_FILE=" + d("rabbitmq.conf"),
		"RABBITMQ_ADVANCED_CONFIG_FILE=" + d("advanced.config"), // never written: none
		"RABBITMQ_CONF_ENV_FILE=" + d("rabbitmq-env.conf"),
		"RABBITMQ_ENABLED_PLUGINS_FILE=" + d("enabled_plugins"),
		"RABBITMQ_PLUGINS_EXPAND_DIR=" + d("plugins-expand"),
		"RABBITMQ_MNESIA_BASE=" + d("mnesia"),
		"RABBITMQ_LOG_BASE=" + d("log"),
		"RABBITMQ_PID_FILE=" + n.pidFile(),
		"RABBITMQ_FEATURE_FLAGS_FILE=" + d("feature_flags"),
		"RABBITMQ_QUORUM_DIR=" + d("quorum"),
		"RABBITMQ_STREAM_DIR=" + d("stream"),
		"ERL_EPMD_ADDRESS=127.0.0.1",
		"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}",
	}
}

// logTail is the end of what the node wrote, for a failure message.
func (n *Node) logTail() string {
	var b bytes.Buffer
	for _, f := range []string{filepath.Join(n.dir, "console.log"), filepath.Join(n.dir, "log", n.name+".log")} {
		out, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
		fmt.Fprintf(&b, "--- %s (last lines) ---\n%s\n", f, strings.Join(lines[max(0, len(lines)-30):], "\n"))
	}
	return b.String()
}

// freePort returns a local TCP port nothing listens on right now.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("rabbitnode: listen on a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

var reapOnce sync.Once

// reapOrphans stops the nodes that a test binary left behind when it died without its
// cleanups (a -timeout panic, a SIGKILL): each node directory names its owner's pid, and a
// directory whose owner is gone has its node killed, by the pid in its pid file, and removed.
func reapOrphans() {
	reapOnce.Do(func() {
		dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "rabbitnode-*"))
		for _, dir := range dirs {
			owner, err := os.ReadFile(filepath.Join(dir, "owner"))
			if err != nil {
				continue
			}
			pid, err := strconv.Atoi(string(owner))
			if err != nil || pid == os.Getpid() || syscall.Kill(pid, 0) == nil {
				continue // still owned by a live process
			}
			if b, err := os.ReadFile(filepath.Join(dir, "rabbitmq.pid")); err == nil {
				if beam, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && isBeam(beam, dir) {
					_ = syscall.Kill(beam, syscall.SIGKILL)
				}
			}
			_ = os.RemoveAll(dir)
		}
	})
}

// isBeam reports whether pid is still the Erlang VM of the node in dir, not a process that
// reused the pid since.
func isBeam(pid int, dir string) bool {
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return err == nil && bytes.Contains(cmdline, []byte("beam")) && bytes.Contains(environOf(pid), []byte(dir))
}

func environOf(pid int) []byte {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	return b
}
