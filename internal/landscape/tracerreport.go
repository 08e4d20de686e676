package landscape

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// TracerReport is what one service's tracer said when it closed: the "tracer closed"
// line that common/tracing logs once every span is flushed (see the README, "No span is
// lost, and you can tell"). The counts are summed over the destinations (Jaeger, Zipkin).
type TracerReport struct {
	Service     string // service.name
	Level       string // info when every span was reported, warn otherwise
	Message     string // "tracer closed: spans reported N, dropped D, unconfirmed U"
	Finished    int64  // sampled spans finished
	Reported    int64  // accepted by a collector
	Dropped     int64  // thrown away: the reporter's queue was full
	Unconfirmed int64  // sent, the collector did not confirm them: maybe stored all the same
}

// TracerReports reads the tracer lines out of a landscape's output, where each line is
// "<name> | <the process's own line>". make bench adds them up; the end-to-end and
// reliability suites check them when their landscape has stopped.
func TracerReports(output io.Reader) ([]TracerReport, error) {
	var reports []TracerReport
	sc := bufio.NewScanner(output)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		_, js, ok := strings.Cut(sc.Text(), "| ")
		if !ok || !strings.Contains(js, `"tracer closed`) {
			continue
		}
		var line map[string]any
		if err := json.Unmarshal([]byte(js), &line); err != nil {
			return reports, fmt.Errorf("tracer line %q: %w", js, err)
		}
		r := TracerReport{}
		r.Service, _ = line["service.name"].(string)
		r.Level, _ = line["log.level"].(string)
		r.Message, _ = line["message"].(string)
		// spans.finished, and spans.<destination>.reported / .dropped / .unconfirmed
		for k, v := range line {
			n, _ := v.(float64)
			switch {
			case k == "spans.finished":
				r.Finished += int64(n)
			case strings.HasPrefix(k, "spans.") && strings.HasSuffix(k, ".reported"):
				r.Reported += int64(n)
			case strings.HasPrefix(k, "spans.") && strings.HasSuffix(k, ".dropped"):
				r.Dropped += int64(n)
			case strings.HasPrefix(k, "spans.") && strings.HasSuffix(k, ".unconfirmed"):
				r.Unconfirmed += int64(n)
			}
		}
		reports = append(reports, r)
	}
	return reports, sc.Err()
}
