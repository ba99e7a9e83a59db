package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// result is one measurement: one server, worker count, case and wrk
// connection count.
type result struct {
	Server  string
	Workers int // 0: the server has no workers
	Case    string
	Conns   int
	Stats   wrkStats
	CPU     time.Duration // user + system time of the server's process tree over the load
	PeakRSS int64         // bytes, summed over the server's processes
	Err     string        // why there is no figure
}

// CPUPerRequest is the server's CPU time per request wrk completed.
func (r result) CPUPerRequest() time.Duration {
	return perRequest(r.CPU, r.Stats.Requests)
}

// failure is what a result that is no figure shows instead, or "" for a
// figure: the server failed the case, or failed some of its requests. A
// server that fails requests did not do the work the others did, so its
// speed is never shown nor compared.
func (r result) failure() string {
	return failureText(r.Err, r.Stats.Errors())
}

// failureText is "failed", with the count of failed requests if any, or ""
// when there is neither an error nor a failed request.
func failureText(err string, errors int64) string {
	switch {
	case errors > 0:
		return fmt.Sprintf("failed (%d errors)", errors)
	case err != "":
		return "failed"
	}
	return ""
}

// skip is a server that did not run at all.
type skip struct{ Server, Reason string }

// report is everything the markdown report is made from.
type report struct {
	Header  header
	Servers []serverKind
	Cases   []benchCase
	Workers []int
	Results []result
	Light   []lightResult
	Skipped []skip
}

// find is the server's result for the case, worker count and connection
// count. A server without workers matches every worker count.
func (r *report) find(server, caseName string, workers, conns int) (result, bool) {
	for _, res := range r.Results {
		if res.Server == server && res.Case == caseName && res.Conns == conns && (res.Workers == workers || res.Workers == 0) {
			return res, true
		}
	}
	return result{}, false
}

// rows are the results for conns, by case, then worker count (servers
// without workers last), then server.
func (r *report) rows(conns int) []result {
	caseIndex := make(map[string]int)
	for i, c := range r.Cases {
		caseIndex[c.Name] = i
	}
	serverIndex := make(map[string]int)
	for i, s := range r.Servers {
		serverIndex[s.Name] = i
	}
	workersKey := func(w int) int {
		if w == 0 {
			return 1 << 30
		}
		return w
	}
	var out []result
	for _, res := range r.Results {
		if res.Conns == conns {
			out = append(out, res)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if caseIndex[a.Case] != caseIndex[b.Case] {
			return caseIndex[a.Case] < caseIndex[b.Case]
		}
		if workersKey(a.Workers) != workersKey(b.Workers) {
			return workersKey(a.Workers) < workersKey(b.Workers)
		}
		return serverIndex[a.Server] < serverIndex[b.Server]
	})
	return out
}

// Markdown renders the report.
func (r *report) Markdown() string {
	var b strings.Builder
	b.WriteString("# gowsgi benchmark results\n\n")
	r.Header.write(&b)

	b.WriteString("\nCPU/request: user + system time of the server's whole process tree (every process and thread, " +
		"and the children they reaped; /proc/PID/stat) over exactly the wrk -t1 -c32 load, divided by the requests wrk completed: " +
		"the figure that decides throughput once every core is busy. " +
		"Ratios are gowsgi's figure divided by the server's, in the same run: below 1, gowsgi spends less CPU per request; " +
		"above 1, it serves more requests per second. " +
		"A server that failed the case, or any of its requests, shows as failed with its error count, never as a speed, and is not compared. " +
		"† a server without workers: its single figure stands for every worker count.\n")
	for _, w := range r.Workers {
		title := fmt.Sprintf("%d workers", w)
		if w == 1 {
			title = "1 worker (per core)"
		}
		b.WriteString("\n## " + title + "\n\n")
		r.writeWorkers(&b, w)
	}

	if len(r.Light) > 0 {
		b.WriteString("\n## Light load: one paced keep-alive connection, hello, 1 worker\n\n")
		b.WriteString("One client sends one request at a time at a fixed rate and never retries; idle is the CPU the server " +
			"uses with no request at all, after those loads. CPU/request as above, over the paced run.\n\n")
		r.writeLight(&b)
	}

	b.WriteString("\n## All figures, wrk -t1 -c32\n\n")
	writeFigures(&b, r.rows(32))
	b.WriteString("\n## All figures, wrk -t1 -c1\n\n")
	writeFigures(&b, r.rows(1))
	b.WriteString("\nErrors: wrk's connect, read, write and timeout errors, and responses with status >= 400.\n")

	if len(r.Skipped) > 0 {
		b.WriteString("\n## Skipped\n\n")
		for _, s := range r.Skipped {
			fmt.Fprintf(&b, "- %s: %s\n", s.Server, s.Reason)
		}
	}
	if failed := r.failures(); len(failed) > 0 {
		b.WriteString("\n## Failed\n\n" + strings.Join(failed, "\n") + "\n")
	}
	return b.String()
}

// failures lists every result that is no figure, and why.
func (r *report) failures() []string {
	var out []string
	for _, res := range r.Results {
		why := res.Err
		if why == "" && res.Stats.Errors() > 0 {
			why = "errors: " + formatErrors(res.Stats)
		}
		if why != "" {
			out = append(out, fmt.Sprintf("- %s, workers %s, %s, -c%d: %s", res.Server, workersLabel(res.Workers), res.Case, res.Conns, oneLine(why)))
		}
	}
	for _, l := range r.Light {
		why := l.Err
		if l.Stats.Errors > 0 {
			why = fmt.Sprintf("%d errors, the first: %s", l.Stats.Errors, l.Stats.FirstErr)
		}
		if why != "" {
			out = append(out, fmt.Sprintf("- %s, light load %s: %s", l.Server, l.loadLabel(), oneLine(why)))
		}
	}
	return out
}

// writeWorkers writes the table of worker count w: per case and server,
// req/s and CPU/request at -c32, p50 at -c1, peak RSS at -c32, and gowsgi's
// ratios to the server.
func (r *report) writeWorkers(b *strings.Builder, w int) {
	b.WriteString("| case | server | req/s | CPU/request | p50, 1 conn | peak RSS | gowsgi CPU/request ÷ | gowsgi req/s ÷ |\n")
	b.WriteString("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, c := range r.Cases {
		own, haveOwn := r.find("gowsgi", c.Name, w, 32)
		haveOwn = haveOwn && own.failure() == ""
		for _, s := range r.Servers {
			tput, ok := r.find(s.Name, c.Name, w, 32)
			if !ok {
				continue
			}
			name := s.Name
			if tput.Workers == 0 {
				name += " †"
			}
			cells := []string{c.Name, name, "", "–", "–", formatRSS(tput.PeakRSS), "–", "–"}
			switch f := tput.failure(); {
			case f != "":
				cells[2] = f
			case s.Name == "gowsgi":
				cells[2], cells[3] = fmt.Sprintf("%.0f", tput.Stats.RPS()), formatCPU(tput.CPUPerRequest())
				cells[6], cells[7] = "", ""
			default:
				cells[2], cells[3] = fmt.Sprintf("%.0f", tput.Stats.RPS()), formatCPU(tput.CPUPerRequest())
				if haveOwn {
					cells[6] = formatRatio(float64(own.CPUPerRequest()), float64(tput.CPUPerRequest()))
					cells[7] = formatRatio(own.Stats.RPS(), tput.Stats.RPS())
				}
			}
			if lat, ok := r.find(s.Name, c.Name, w, 1); ok {
				cells[4] = lat.failure()
				if cells[4] == "" {
					cells[4] = formatLatency(lat.Stats.P50)
				}
			}
			b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
		}
	}
}

// writeLight writes the light-load table: per load (idle first, then the
// rates), each server's requests, CPU/request and gowsgi's ratio to it.
func (r *report) writeLight(b *strings.Builder) {
	b.WriteString("| load | server | requests | CPU/request | gowsgi CPU/request ÷ |\n")
	b.WriteString("| --- | --- | ---: | ---: | ---: |\n")
	var rates []int
	for _, l := range r.Light {
		if !slices.Contains(rates, l.Rate) {
			rates = append(rates, l.Rate)
		}
	}
	slices.Sort(rates)
	for _, rate := range rates {
		var own lightResult
		for _, l := range r.Light {
			if l.Server == "gowsgi" && l.Rate == rate {
				own = l
			}
		}
		for _, l := range r.Light {
			if l.Rate != rate {
				continue
			}
			cells := []string{l.loadLabel(), l.Server, "–", "–", "–"}
			switch f := l.failure(); {
			case f != "":
				cells[3] = f
			case rate == 0:
				cells[3] = fmt.Sprintf("%s in %s", formatIdle(l.CPU), l.Stats.Duration.Round(time.Millisecond))
				if l.Server == "gowsgi" {
					cells[4] = ""
				}
			default:
				cells[2] = fmt.Sprintf("%d in %s", l.Stats.Requests, l.Stats.Duration.Round(time.Millisecond))
				cells[3] = formatCPU(l.CPUPerRequest())
				if l.Server == "gowsgi" {
					cells[4] = ""
				} else if own.Server != "" && own.failure() == "" {
					cells[4] = formatRatio(float64(own.CPUPerRequest()), float64(l.CPUPerRequest()))
				}
			}
			b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
		}
	}
}

// writeFigures writes every figure of rows as one table.
func writeFigures(b *strings.Builder, rows []result) {
	b.WriteString("| server | workers | case | req/s | CPU/request | p50 | p99 | errors | peak RSS |\n")
	b.WriteString("| --- | --- | --- | ---: | ---: | ---: | ---: | --- | ---: |\n")
	for _, res := range rows {
		if f := res.failure(); f != "" {
			fmt.Fprintf(b, "| %s | %s | %s | %s | | | | %s | %s |\n", res.Server, workersLabel(res.Workers), res.Case, f, formatErrors(res.Stats), formatRSS(res.PeakRSS))
			continue
		}
		fmt.Fprintf(b, "| %s | %s | %s | %.0f | %s | %s | %s | %s | %s |\n",
			res.Server, workersLabel(res.Workers), res.Case, res.Stats.RPS(), formatCPU(res.CPUPerRequest()),
			formatLatency(res.Stats.P50), formatLatency(res.Stats.P99), formatErrors(res.Stats), formatRSS(res.PeakRSS))
	}
}

// formatCPU shows a CPU time per request in µs, with a decimal below 100 µs.
func formatCPU(d time.Duration) string {
	us := float64(d) / float64(time.Microsecond)
	if us < 100 {
		return fmt.Sprintf("%.1f µs", us)
	}
	return fmt.Sprintf("%.0f µs", us)
}

// formatIdle shows the CPU time of an idle window in ms.
func formatIdle(d time.Duration) string {
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}

// workersLabel is the worker count as the tables show it.
func workersLabel(w int) string {
	if w == 0 {
		return "–"
	}
	return fmt.Sprint(w)
}

// formatRatio is a/b as "1.23×".
func formatRatio(a, b float64) string {
	if b <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// formatLatency shows d in µs below a millisecond, ms below a second.
func formatLatency(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d/time.Microsecond)
	case d < time.Second:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
}

// formatRSS shows bytes in MiB.
func formatRSS(n int64) string {
	if n <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// formatErrors is the total of s's errors, with the kinds that occurred.
func formatErrors(s wrkStats) string {
	total := s.Errors()
	if total == 0 {
		return "0"
	}
	var kinds []string
	for _, k := range []struct {
		name string
		n    int64
	}{{"connect", s.Connect}, {"read", s.Read}, {"write", s.Write}, {"timeout", s.Timeout}, {"status", s.Status}} {
		if k.n > 0 {
			kinds = append(kinds, fmt.Sprintf("%s %d", k.name, k.n))
		}
	}
	return fmt.Sprintf("%d (%s)", total, strings.Join(kinds, ", "))
}

// oneLine folds a multi-line message for a list item.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
