package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// reference runs ../shared/reference-chain (a deliberately minimal chain with the same
// hops: HTTPS edge -> account with a bolt read -> quote and image) under exactly the same
// load, right before tracelab in each mode, so the two are compared within one run on one
// machine: its "bare" beside tracelab's "off", its "traced" beside tracelab's "on". Nothing of
// it is copied here: it is built from its own folder into a temporary one.
type reference struct {
	src, bin string
	jaeger   string // Jaeger binary, for the traced runs
}

func newReference(ctx context.Context, src, root string) (*reference, error) {
	if _, err := os.Stat(filepath.Join(src, "go.mod")); err != nil {
		return nil, fmt.Errorf("no reference chain at %s: %w", src, err)
	}
	bin, err := os.MkdirTemp("", "reference-chain-")
	if err != nil {
		return nil, err
	}
	for _, c := range []string{"edge", "account", "quote", "image"} {
		build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(bin, c), "./cmd/"+c)
		build.Dir, build.Stderr = src, os.Stderr
		if err := build.Run(); err != nil {
			return nil, fmt.Errorf("build reference %s: %w", c, err)
		}
	}
	ensure := exec.CommandContext(ctx, filepath.Join(root, "scripts", "ensure-jaeger.sh"))
	ensure.Stderr = os.Stderr
	jaeger, err := ensure.Output()
	if err != nil {
		return nil, fmt.Errorf("ensure-jaeger.sh: %w", err)
	}
	return &reference{src: src, bin: bin, jaeger: string(trimNewline(jaeger))}, nil
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// measure runs the reference in mode "bare" or "traced" under load and stops it.
func (r *reference) measure(ctx context.Context, root, mode string, d, warmup time.Duration, conc int) (result, error) {
	res := result{Mode: "reference " + mode, PeakRSS: map[string]int64{}}
	work, err := os.MkdirTemp("", "reference-run-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(work)

	var procs []*exec.Cmd
	stop := func() {
		for i := len(procs) - 1; i >= 0; i-- {
			_ = procs[i].Process.Signal(syscall.SIGTERM)
			_ = procs[i].Wait()
		}
		procs = nil
	}
	defer stop()
	start := func(name, path string, env ...string) error {
		cmd := exec.Command(path)
		cmd.Dir, cmd.Env = work, append(os.Environ(), env...)
		out, err := os.Create(filepath.Join(work, name+".log"))
		if err != nil {
			return err
		}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			return err
		}
		procs = append(procs, cmd)
		return nil
	}

	trace := "0"
	if mode == "traced" {
		trace = "1"
		if !listening("127.0.0.1:14268") {
			if err := start("jaeger", r.jaeger, "OTEL_TRACES_SAMPLER=always_off"); err != nil {
				return res, err
			}
			if err := waitListening(ctx, "127.0.0.1:14268", "127.0.0.1:16686"); err != nil {
				return res, fmt.Errorf("jaeger: %w", err)
			}
		}
	}
	names := []string{"image", "quote", "account", "edge"}
	for _, n := range names {
		if err := start(n, filepath.Join(r.bin, n), "TRACE="+trace, "JAEGER_QUEUE=10000", "DB_PATH=accounts.db"); err != nil {
			return res, err
		}
	}
	if err := waitListening(ctx, "127.0.0.1:7777", "127.0.0.1:8080", "127.0.0.1:6767", "127.0.0.1:8765"); err != nil {
		return res, fmt.Errorf("reference chain: %w", err)
	}
	first := len(procs) - len(names)
	pids := map[string]int{}
	for i, n := range names {
		pids[n] = procs[first+i].Process.Pid
	}
	if first == 1 {
		pids["jaeger"] = procs[0].Process.Pid
	}
	if res.Load, res.CPU, err = runLoad(ctx, root, "https://127.0.0.1:8765", d, warmup, conc, pids); err != nil {
		return res, err
	}
	for i, n := range names {
		if kib, err := peakRSS(procs[first+i].Process.Pid); err == nil {
			res.PeakRSS[n] = kib
		}
	}
	return res, nil
}

func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func waitListening(ctx context.Context, addrs ...string) error {
	deadline := time.Now().Add(30 * time.Second)
	for _, a := range addrs {
		for !listening(a) {
			if time.Now().After(deadline) {
				return errors.New(a + " did not open within 30s")
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

// runLoad warms up the chain at base, then loads it for d with bin/loadgen and returns its
// JSON summary, and the CPU time each of pids used during the measured part, per answer.
func runLoad(ctx context.Context, root, base string, d, warmup time.Duration, conc int, pids map[string]int) (loadSummary, map[string]float64, error) {
	var load loadSummary
	loadgen := func(d time.Duration) ([]byte, error) {
		cmd := exec.CommandContext(ctx, filepath.Join(root, "bin", "loadgen"), "-json", "-quiet",
			"-url", base+"/api/accounts/{id}", "-ids", "10000-10099",
			"-c", strconv.Itoa(conc), "-d", d.String())
		cmd.Stderr = os.Stderr
		return cmd.Output()
	}
	if warmup > 0 {
		if _, err := loadgen(warmup); err != nil {
			return load, nil, fmt.Errorf("loadgen (warm-up): %w", err)
		}
	}
	before := cpuTimes(pids)
	out, err := loadgen(d)
	if err != nil {
		return load, nil, fmt.Errorf("loadgen: %w", err)
	}
	after := cpuTimes(pids)
	if err := json.Unmarshal(out, &load); err != nil {
		return load, nil, fmt.Errorf("loadgen's JSON: %w", err)
	}
	perAnswer := map[string]float64{}
	for name, t := range after {
		if load.Responses > 0 {
			perAnswer[name] = float64(t-before[name]) / float64(time.Microsecond) / float64(load.Responses)
		}
	}
	return load, perAnswer, nil
}

// cpuTimes reads the user+system CPU time each process has used so far.
func cpuTimes(pids map[string]int) map[string]time.Duration {
	ticks := time.Second / 100 // USER_HZ: 100 on Linux
	times := map[string]time.Duration{}
	for name, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// The command name, in parentheses, may hold spaces: count fields after it.
		fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(fields) < 13 {
			continue
		}
		utime, _ := strconv.ParseInt(fields[11], 10, 64)
		stime, _ := strconv.ParseInt(fields[12], 10, 64)
		times[name] = time.Duration(utime+stime) * ticks
	}
	return times
}

// rabbitMQPID finds the broker's Erlang VM, whose CPU time the VIP events cost.
func rabbitMQPID() (int, bool) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && strings.TrimSpace(string(comm)) == "beam.smp" {
			return pid, true
		}
	}
	return 0, false
}
