package main

import (
	"fmt"
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
	PeakRSS int64  // bytes, summed over the server's processes
	Err     string // why there is no figure
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
	Skipped []skip
}

// peerGroup is the column a server's figures go to when compared: the uWSGI
// variants share one, which shows the better of them.
func peerGroup(server string) string {
	if strings.HasPrefix(server, "uwsgi-") {
		return "uwsgi"
	}
	return server
}

// variant is what distinguishes a server within its peer group ("http11" of
// "uwsgi-http11"), or "".
func variant(server string) string {
	if g := peerGroup(server); g != server {
		return strings.TrimPrefix(server, g+"-")
	}
	return ""
}

// groups are the peer groups of the report's servers, in order.
func (r *report) groups() []string {
	var out []string
	seen := make(map[string]bool)
	for _, s := range r.Servers {
		if g := peerGroup(s.Name); !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	return out
}

// best is the group's successful result with the most requests per second
// for the case, worker count and connection count. A server without workers
// matches every worker count.
func (r *report) best(group, caseName string, workers, conns int) (result, bool) {
	var found result
	ok := false
	for _, res := range r.Results {
		if peerGroup(res.Server) != group || res.Case != caseName || res.Conns != conns || res.Err != "" {
			continue
		}
		if res.Workers != workers && res.Workers != 0 {
			continue
		}
		if !ok || res.Stats.RPS() > found.Stats.RPS() {
			found, ok = res, true
		}
	}
	return found, ok
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

	b.WriteString("\n## Throughput: wrk -t1 -c32\n\n")
	writeFigures(&b, r.rows(32))
	b.WriteString("\nErrors: wrk's connect, read, write and timeout errors, and responses with status >= 400. " +
		"A response without Content-Length on a connection that is not kept alive ends when the server closes; " +
		"wrk counts that response, and then the close as a read error, so about one read error per request there is not a failure.\n")

	b.WriteString("\n## gowsgi relative to each peer (throughput, -c32)\n\n")
	b.WriteString("gowsgi's req/s divided by the peer's, in the same run: above 1, gowsgi serves more. " +
		"uwsgi is the better of --http-socket and --http11-socket, named in brackets. " +
		"† a server without workers: its single figure stands for every worker count.\n\n")
	r.writeRatios(&b)

	b.WriteString("\n## Latency: wrk -t1 -c1 (p50 / p99)\n\n")
	b.WriteString("One connection, one request at a time. uwsgi is the variant with the more req/s at -c1.\n\n")
	r.writeLatency(&b)

	b.WriteString("\n## All figures, wrk -t1 -c1\n\n")
	writeFigures(&b, r.rows(1))

	if len(r.Skipped) > 0 {
		b.WriteString("\n## Skipped\n\n")
		for _, s := range r.Skipped {
			fmt.Fprintf(&b, "- %s: %s\n", s.Server, s.Reason)
		}
	}
	var failed []string
	for _, res := range r.Results {
		if res.Err != "" {
			failed = append(failed, fmt.Sprintf("- %s, workers %s, %s, -c%d: %s", res.Server, workersLabel(res.Workers), res.Case, res.Conns, oneLine(res.Err)))
		}
	}
	if len(failed) > 0 {
		b.WriteString("\n## Failed\n\n" + strings.Join(failed, "\n") + "\n")
	}
	return b.String()
}

// writeFigures writes every figure of rows as one table.
func writeFigures(b *strings.Builder, rows []result) {
	b.WriteString("| server | workers | case | req/s | p50 | p99 | errors | peak RSS |\n")
	b.WriteString("| --- | --- | --- | ---: | ---: | ---: | --- | ---: |\n")
	for _, res := range rows {
		if res.Err != "" {
			fmt.Fprintf(b, "| %s | %s | %s | failed | | | | %s |\n", res.Server, workersLabel(res.Workers), res.Case, formatRSS(res.PeakRSS))
			continue
		}
		fmt.Fprintf(b, "| %s | %s | %s | %.0f | %s | %s | %s | %s |\n",
			res.Server, workersLabel(res.Workers), res.Case, res.Stats.RPS(),
			formatLatency(res.Stats.P50), formatLatency(res.Stats.P99), formatErrors(res.Stats), formatRSS(res.PeakRSS))
	}
}

func (r *report) writeRatios(b *strings.Builder) {
	var peers []string
	for _, g := range r.groups() {
		if g != "gowsgi" {
			peers = append(peers, g)
		}
	}
	b.WriteString("| case | workers | gowsgi req/s | " + strings.Join(peers, " | ") + " |\n")
	b.WriteString("| --- | --- | ---:" + strings.Repeat(" | ---:", len(peers)) + " |\n")
	for _, c := range r.Cases {
		for _, w := range r.Workers {
			own, haveOwn := r.best("gowsgi", c.Name, w, 32)
			ownCell := "–"
			if haveOwn {
				ownCell = fmt.Sprintf("%.0f", own.Stats.RPS())
			}
			cells := []string{c.Name, workersLabel(w), ownCell}
			for _, g := range peers {
				peer, ok := r.best(g, c.Name, w, 32)
				if !haveOwn || !ok {
					cells = append(cells, "–")
					continue
				}
				cells = append(cells, formatRatio(own.Stats.RPS(), peer.Stats.RPS())+peerNote(peer))
			}
			b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
		}
	}
}

func (r *report) writeLatency(b *strings.Builder) {
	groups := r.groups()
	b.WriteString("| case | workers | " + strings.Join(groups, " | ") + " |\n")
	b.WriteString("| --- | ---" + strings.Repeat(" | ---:", len(groups)) + " |\n")
	for _, c := range r.Cases {
		for _, w := range r.Workers {
			cells := []string{c.Name, workersLabel(w)}
			for _, g := range groups {
				res, ok := r.best(g, c.Name, w, 1)
				if !ok {
					cells = append(cells, "–")
					continue
				}
				cell := formatLatency(res.Stats.P50) + " / " + formatLatency(res.Stats.P99) + peerNote(res)
				if n := res.Stats.Errors(); n > 0 {
					cell += fmt.Sprintf(" (%d errors)", n)
				}
				cells = append(cells, cell)
			}
			b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
		}
	}
}

// peerNote names the variant chosen and marks a figure reused across
// worker counts.
func peerNote(res result) string {
	note := ""
	if v := variant(res.Server); v != "" {
		note += " (" + v + ")"
	}
	if res.Workers == 0 {
		note += " †"
	}
	return note
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
