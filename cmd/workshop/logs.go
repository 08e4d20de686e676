package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// logLine is one line of make run's output that belongs to a trace.
type logLine struct {
	service string
	at      string // @timestamp: RFC 3339 with fractions, so it sorts as text
	json    string
}

// traceLogs reads the landscape's output (each line "<service> | <JSON>") and returns the
// lines whose trace.id is id, in time order.
func traceLogs(r io.Reader, id string) ([]logLine, error) {
	id = strings.TrimLeft(strings.ToLower(id), "0")
	var out []logLine
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		name, body, ok := strings.Cut(sc.Text(), " | ")
		if !ok || !strings.HasPrefix(body, "{") || !strings.Contains(body, id) {
			continue
		}
		var fields struct {
			At      string `json:"@timestamp"`
			TraceID string `json:"trace.id"`
		}
		if json.Unmarshal([]byte(body), &fields) != nil || strings.TrimLeft(fields.TraceID, "0") != id {
			continue
		}
		out = append(out, logLine{service: strings.TrimSpace(name), at: fields.At, json: body})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].at < out[j].at })
	return out, sc.Err()
}

// printLogs prints a trace's log lines service by service, in the order the services
// first logged for it, each service's lines in time order.
func printLogs(e env, id string) error {
	f, err := os.Open(e.logPath)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s does not exist: make run writes it (with compose, use Kibana: workshop/labs/06-logs-and-traces)", e.logPath)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	lines, err := traceLogs(f, id)
	if err != nil {
		return err
	}
	if len(lines) == 0 {
		return fmt.Errorf("no line of %s has trace.id %s (is it a trace of this make run?)", e.logPath, id)
	}
	var order []string
	by := map[string][]logLine{}
	for _, l := range lines {
		if by[l.service] == nil {
			order = append(order, l.service)
		}
		by[l.service] = append(by[l.service], l)
	}
	for _, svc := range order {
		fmt.Fprintf(e.stdout, "── %s (%d)\n", svc, len(by[svc]))
		for _, l := range by[svc] {
			fmt.Fprintf(e.stdout, "  %s\n", l.json)
		}
	}
	return nil
}
