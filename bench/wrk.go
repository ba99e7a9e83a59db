package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// wrkStats is one wrk run's outcome, as its done() hook reports it.
type wrkStats struct {
	Requests int64         // completed requests
	Duration time.Duration // the run's actual length
	P50, P99 time.Duration
	Connect  int64 // socket errors by kind
	Read     int64
	Write    int64
	Timeout  int64
	Status   int64 // responses wrk counts as errors: status >= 400
}

// RPS is completed requests per second.
func (s wrkStats) RPS() float64 {
	if s.Duration <= 0 {
		return 0
	}
	return float64(s.Requests) / s.Duration.Seconds()
}

// Errors is the sum of every kind of error.
func (s wrkStats) Errors() int64 {
	return s.Connect + s.Read + s.Write + s.Timeout + s.Status
}

// wrkMarker starts the line the done() hook prints, so the figures are read
// from one JSON object rather than from wrk's human-readable report.
const wrkMarker = "BENCH_JSON "

// wrkScript is the Lua script for a case: the request to make and a done()
// hook printing the summary as JSON (latencies in microseconds).
func wrkScript(c benchCase) string {
	var b strings.Builder
	if c.Method != "GET" {
		fmt.Fprintf(&b, "wrk.method = %q\n", c.Method)
	}
	if len(c.Body) > 0 {
		// The body is given to Lua as a quoted string; the cases post ASCII.
		fmt.Fprintf(&b, "wrk.body = %q\n", c.Body)
		b.WriteString("wrk.headers[\"Content-Type\"] = \"application/octet-stream\"\n")
	}
	b.WriteString(`
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('` + wrkMarker + `{"requests":%.0f,"duration_us":%.0f,"p50_us":%.0f,"p99_us":%.0f,' ..
    '"connect":%.0f,"read":%.0f,"write":%.0f,"timeout":%.0f,"status":%.0f}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.timeout, e.status))
end
`)
	return b.String()
}

// wrkSummary is the JSON object the done() hook prints.
type wrkSummary struct {
	Requests   float64 `json:"requests"`
	DurationUS float64 `json:"duration_us"`
	P50US      float64 `json:"p50_us"`
	P99US      float64 `json:"p99_us"`
	Connect    float64 `json:"connect"`
	Read       float64 `json:"read"`
	Write      float64 `json:"write"`
	Timeout    float64 `json:"timeout"`
	Status     float64 `json:"status"`
}

// parseWrkOutput finds the done() hook's line in wrk's stdout.
func parseWrkOutput(out []byte) (wrkStats, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		rest, ok := strings.CutPrefix(line, wrkMarker)
		if !ok {
			continue
		}
		var s wrkSummary
		if err := json.Unmarshal([]byte(rest), &s); err != nil {
			return wrkStats{}, fmt.Errorf("wrk summary %q: %w", rest, err)
		}
		return wrkStats{
			Requests: int64(s.Requests),
			Duration: time.Duration(s.DurationUS) * time.Microsecond,
			P50:      time.Duration(s.P50US) * time.Microsecond,
			P99:      time.Duration(s.P99US) * time.Microsecond,
			Connect:  int64(s.Connect),
			Read:     int64(s.Read),
			Write:    int64(s.Write),
			Timeout:  int64(s.Timeout),
			Status:   int64(s.Status),
		}, nil
	}
	return wrkStats{}, fmt.Errorf("no %q line in wrk's output", strings.TrimSpace(wrkMarker))
}

// wrkRun is one wrk invocation.
type wrkRun struct {
	Bin      string
	URL      string
	Script   string // path of the Lua script
	Conns    int
	Duration time.Duration
	Timeout  time.Duration // a request slower than this counts as a timeout error
}

// Args is wrk's command line: one thread, since wrk shares the machine's
// cores with the server.
func (r wrkRun) Args() []string {
	return []string{"-t1", "-c" + strconv.Itoa(r.Conns), "-d" + wrkDuration(r.Duration),
		"--timeout", wrkDuration(r.Timeout), "-s", r.Script, r.URL}
}

// wrkDuration formats d for wrk, which takes whole seconds or milliseconds.
func wrkDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return strconv.FormatInt(max(int64(d/time.Millisecond), 1), 10) + "ms"
}

// Run runs wrk and parses its summary.
func (r wrkRun) Run(ctx context.Context) (wrkStats, error) {
	cmd := exec.CommandContext(ctx, r.Bin, r.Args()...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return wrkStats{}, fmt.Errorf("wrk: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return parseWrkOutput(out)
}

// writeScript writes the case's Lua script into dir and returns its path.
func writeScript(dir string, c benchCase) (string, error) {
	path := dir + "/" + c.Name + ".lua"
	return path, os.WriteFile(path, []byte(wrkScript(c)), 0o644)
}
