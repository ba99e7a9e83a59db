package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseWrkOutput(t *testing.T) {
	human := "Running 5s test @ http://127.0.0.1:8000/\n  1 threads and 32 connections\n" +
		"  Thread Stats   Avg      Stdev     Max   +/- Stdev\n    Latency   1.02ms  300.00us   5.00ms   90.00%\n" +
		"  150000 requests in 5.00s, 20.00MB read\nRequests/sec:  30000.00\nTransfer/sec:      4.00MB\n"
	tests := []struct {
		name    string
		out     string
		want    wrkStats
		wantErr string
	}{
		{
			name: "summary after the human report",
			out: human + `BENCH_JSON {"requests":150000,"duration_us":5000000,"p50_us":712,"p99_us":4580,` +
				`"connect":0,"read":3,"write":0,"timeout":1,"status":2}` + "\n",
			want: wrkStats{Requests: 150000, Duration: 5 * time.Second, P50: 712 * time.Microsecond, P99: 4580 * time.Microsecond, Read: 3, Timeout: 1, Status: 2},
		},
		{
			name: "no request",
			out:  `BENCH_JSON {"requests":0,"duration_us":1000000,"p50_us":0,"p99_us":0,"connect":32,"read":0,"write":0,"timeout":0,"status":0}`,
			want: wrkStats{Duration: time.Second, Connect: 32},
		},
		{name: "no summary", out: human, wantErr: "no \"BENCH_JSON\" line"},
		{name: "broken summary", out: "BENCH_JSON {\"requests\":", wantErr: "wrk summary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseWrkOutput([]byte(tt.out))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestWrkStats(t *testing.T) {
	s := wrkStats{Requests: 30000, Duration: 2 * time.Second, Connect: 1, Read: 2, Write: 3, Timeout: 4, Status: 5}
	if got := s.RPS(); got != 15000 {
		t.Errorf("RPS %v, want 15000", got)
	}
	if got := s.Errors(); got != 15 {
		t.Errorf("Errors %d, want 15", got)
	}
	if got := (wrkStats{Requests: 5}).RPS(); got != 0 {
		t.Errorf("RPS without a duration %v, want 0", got)
	}
}

func TestWrkScript(t *testing.T) {
	for _, c := range allCases {
		t.Run(c.Name, func(t *testing.T) {
			s := wrkScript(c)
			if !strings.Contains(s, "function done(") || !strings.Contains(s, wrkMarker) {
				t.Fatalf("no done() hook printing %q:\n%s", wrkMarker, s)
			}
			posts := strings.Contains(s, `wrk.method = "POST"`)
			if posts != (c.Method == "POST") {
				t.Fatalf("method %s, script sets POST: %v", c.Method, posts)
			}
			if c.Body != nil && !strings.Contains(s, `wrk.body = "`+string(c.Body)+`"`) {
				t.Fatalf("script does not post the %d-byte body", len(c.Body))
			}
		})
	}
}

func TestWrkDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{10 * time.Second, "10s"},
		{1500 * time.Millisecond, "1500ms"},
		{time.Microsecond, "1ms"},
	}
	for _, tt := range tests {
		if got := wrkDuration(tt.d); got != tt.want {
			t.Errorf("wrkDuration(%s) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// statLine is a /proc/PID/stat line: fields 3 to 23 are filler but for
// state, ppid, pgrp and the CPU times (utime 10, stime 5, cutime 2, cstime
// 1); rss (field 24) follows.
func statLine(pid, comm, state, ppid, pgrp, rss string) string {
	return pid + " (" + comm + ") " + state + " " + ppid + " " + pgrp +
		" 1 0 -1 4194560 100 0 0 0 10 5 2 1 20 0 3 0 12345 123456789 " + rss +
		" 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0"
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		want    procStat
		wantErr bool
	}{
		{name: "plain", line: statLine("1234", "gowsgi", "S", "1", "1234", "7000"),
			want: procStat{PID: 1234, PPID: 1, PGRP: 1234, State: 'S', UTime: 10, STime: 5, CUTime: 2, CSTime: 1, RSSPages: 7000}},
		{name: "name with spaces and parentheses", line: statLine("42", "uWSGI worker (1) )", "R", "41", "41", "9"),
			want: procStat{PID: 42, PPID: 41, PGRP: 41, State: 'R', UTime: 10, STime: 5, CUTime: 2, CSTime: 1, RSSPages: 9}},
		{name: "zombie", line: statLine("7", "gunicorn", "Z", "6", "6", "0"),
			want: procStat{PID: 7, PPID: 6, PGRP: 6, State: 'Z', UTime: 10, STime: 5, CUTime: 2, CSTime: 1}},
		{name: "bad utime", line: strings.Replace(statLine("7", "x", "S", "1", "1", "9"), " 10 5 2 1 ", " x 5 2 1 ", 1), wantErr: true},
		{name: "truncated", line: "7 (x) S 1 1 1", wantErr: true},
		{name: "no name", line: "7 x S 1 1 1", wantErr: true},
		{name: "bad rss", line: statLine("7", "x", "S", "1", "1", "lots"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat([]byte(tt.line + "\n"))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("no error for %q", tt.line)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestServerProcsAndRSS(t *testing.T) {
	procs := []procStat{
		{PID: 1, PPID: 0, PGRP: 1, State: 'S', RSSPages: 1000},   // init: not the server's
		{PID: 100, PPID: 1, PGRP: 100, State: 'S', RSSPages: 10}, // leader
		{PID: 101, PPID: 100, PGRP: 100, State: 'S', RSSPages: 20},
		{PID: 102, PPID: 101, PGRP: 102, State: 'S', RSSPages: 40}, // grandchild in its own group
		{PID: 103, PPID: 1, PGRP: 100, State: 'S', RSSPages: 80},   // orphaned worker, same group
		{PID: 104, PPID: 100, PGRP: 100, State: 'Z'},               // zombie: left out
		{PID: 200, PPID: 1, PGRP: 200, State: 'S', RSSPages: 5000}, // unrelated
	}
	got := serverProcs(procs, 100)
	pids := make(map[int]bool)
	for _, p := range got {
		pids[p.PID] = true
	}
	for _, want := range []int{100, 101, 102, 103} {
		if !pids[want] {
			t.Errorf("process %d missing from the server's", want)
		}
	}
	if len(got) != 4 {
		t.Errorf("got %d processes, want 4: %+v", len(got), got)
	}
	if rss := sumRSS(got, 4096); rss != 150*4096 {
		t.Errorf("RSS %d, want %d", rss, 150*4096)
	}
	if left := serverProcs(procs[:1], 100); len(left) != 0 {
		t.Errorf("a stopped server still has processes: %+v", left)
	}
}

func TestParseCPUInfo(t *testing.T) {
	info := "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n\n" +
		"processor\t: 1\nmodel name\t: AMD EPYC 7B13\n"
	cores, model := parseCPUInfo([]byte(info))
	if cores != 2 || model != "AMD EPYC 7B13" {
		t.Errorf("got %d cores, %q", cores, model)
	}
	if _, model := parseCPUInfo(nil); model != "unknown CPU" {
		t.Errorf("empty cpuinfo: model %q", model)
	}
}

func TestWrkVersion(t *testing.T) {
	out := "wrk debian/4.1.0-3+b2 [epoll] Copyright (C) 2012 Will Glozer\nUsage: wrk <options> <url>\n"
	if got := wrkVersion(out); got != "debian/4.1.0-3+b2 [epoll]" {
		t.Errorf("got %q", got)
	}
}

func TestFormats(t *testing.T) {
	tests := []struct{ got, want string }{
		{formatLatency(712 * time.Microsecond), "712 µs"},
		{formatLatency(4580 * time.Microsecond), "4.58 ms"},
		{formatLatency(1500 * time.Millisecond), "1.50 s"},
		{formatRatio(30000, 10000), "3.00×"},
		{formatRatio(1, 0), "–"},
		{formatRSS(30 << 20), "30.0 MiB"},
		{formatRSS(0), "–"},
		{formatErrors(wrkStats{}), "0"},
		{formatErrors(wrkStats{Read: 3, Status: 2}), "5 (read 3, status 2)"},
		{workersLabel(0), "–"},
		{workersLabel(2), "2"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestSelect(t *testing.T) {
	tests := []struct {
		filter  string
		want    string
		wantErr bool
	}{
		{filter: "", want: "gowsgi,gunicorn-sync,gunicorn-gthread,uwsgi-http,uwsgi-http11,waitress,nginx,ceiling"},
		{filter: "uwsgi, gowsgi", want: "uwsgi-http,uwsgi-http11,gowsgi"},
		{filter: "gunicorn-sync,gunicorn", want: "gunicorn-sync,gunicorn-gthread"},
		{filter: "nginx", want: "nginx"},
		{filter: "apache", wantErr: true},
	}
	for _, tt := range tests {
		got, err := selectServers(tt.filter)
		if (err != nil) != tt.wantErr {
			t.Errorf("selectServers(%q) error %v", tt.filter, err)
			continue
		}
		var names []string
		for _, s := range got {
			names = append(names, s.Name)
		}
		if !tt.wantErr && strings.Join(names, ",") != tt.want {
			t.Errorf("selectServers(%q) = %v, want %s", tt.filter, names, tt.want)
		}
	}
	if cases, err := selectCases("flask,hello"); err != nil || len(cases) != 2 || cases[0].Name != "flask" {
		t.Errorf("selectCases: %v, %v", cases, err)
	}
	if _, err := selectCases("nope"); err == nil {
		t.Error("selectCases accepted an unknown case")
	}
}

func TestReportMarkdown(t *testing.T) {
	// stats is n requests in one second, with the server's CPU time.
	stats := func(n int64, cpu time.Duration) (wrkStats, time.Duration) {
		return wrkStats{Requests: n, Duration: time.Second, P50: time.Millisecond, P99: 2 * time.Millisecond}, cpu
	}
	res := func(server string, workers int, caseName string, conns int, n int64, cpu time.Duration) result {
		st, c := stats(n, cpu)
		return result{Server: server, Workers: workers, Case: caseName, Conns: conns, Stats: st, CPU: c}
	}
	withErrors := func(r result, read int64) result {
		r.Stats.Read = read
		return r
	}
	withErr := func(r result, err string) result {
		r.Err = err
		return r
	}
	var servers []serverKind
	for _, s := range allServers {
		if s.Name != "gunicorn-gthread" && s.Name != "ceiling" {
			servers = append(servers, s)
		}
	}
	gowsgi1 := res("gowsgi", 1, "hello", 32, 30000, 1200*time.Millisecond) // 40 µs a request
	gowsgi1.PeakRSS = 30 << 20
	rep := &report{
		Servers: servers,
		Cases:   []benchCase{allCases[0], allCases[3]},
		Workers: []int{1, 2},
		Results: []result{
			gowsgi1,
			res("gowsgi", 1, "hello", 1, 4000, 400*time.Millisecond),
			res("gunicorn-sync", 1, "hello", 32, 10000, 2*time.Second),
			// uWSGI failing every request: no speed, no ratio.
			withErrors(res("uwsgi-http", 1, "hello", 32, 12000, 600*time.Millisecond), 12000),
			withErrors(res("uwsgi-http", 1, "hello", 1, 3000, 300*time.Millisecond), 7),
			res("uwsgi-http11", 1, "hello", 32, 15000, 750*time.Millisecond),
			res("waitress", 0, "hello", 32, 5000, time.Second),
			res("nginx", 1, "hello", 32, 60000, 600*time.Millisecond),
			// gowsgi failing requests at 2 workers: no ratio for anyone.
			withErrors(res("gowsgi", 2, "hello", 32, 40000, time.Second), 3),
			withErr(res("gunicorn-sync", 2, "hello", 32, 0, 0), "failed to start: boom"),
			res("uwsgi-http11", 2, "hello", 32, 20000, time.Second),
			res("gowsgi", 1, "stream", 32, 1000, time.Second),
			withErr(withErrors(res("uwsgi-http11", 1, "stream", 32, 1, 0), 1), "stalled: 1 requests in 1s"),
		},
		Light: []lightResult{
			{Server: "gowsgi", Rate: 100, Stats: paceStats{Requests: 300, Duration: 3 * time.Second}, CPU: 240 * time.Millisecond},
			{Server: "uwsgi-http11", Rate: 100, Stats: paceStats{Requests: 300, Duration: 3 * time.Second}, CPU: 60 * time.Millisecond},
			{Server: "nginx", Rate: 100, Stats: paceStats{Requests: 297, Errors: 3, FirstErr: "request 5: EOF", Duration: 3 * time.Second}, CPU: 10 * time.Millisecond},
			{Server: "gowsgi", Stats: paceStats{Duration: 2 * time.Second}},
		},
		Skipped: []skip{{Server: "ceiling", Reason: "go build failed"}},
	}
	md := rep.Markdown()
	for _, want := range []string{
		"## 1 worker (per core)",
		"## 2 workers",
		"| hello | gowsgi | 30000 | 40.0 µs | 1.00 ms | 30.0 MiB |  |  |",
		"| hello | gunicorn-sync | 10000 | 200 µs | – | – | 0.20× | 3.00× |",
		"| hello | uwsgi-http | failed (12000 errors) | – | failed (7 errors) | – | – | – |",
		"| hello | uwsgi-http11 | 15000 | 50.0 µs | – | – | 0.80× | 2.00× |",
		"| hello | waitress † | 5000 | 200 µs | – | – | 0.20× | 6.00× |",
		"| hello | nginx | 60000 | 10.0 µs | – | – | 4.00× | 0.50× |",
		"| hello | gowsgi | failed (3 errors) | – | – | – | – | – |",
		"| hello | gunicorn-sync | failed | – | – | – | – | – |",
		"| hello | uwsgi-http11 | 20000 | 50.0 µs | – | – | – | – |",
		"| stream | uwsgi-http11 | failed (1 errors) | – | – | – | – | – |",
		"| idle | gowsgi | – | 0 ms in 2s |  |",
		"| 100/s | gowsgi | 300 in 3s | 800 µs |  |",
		"| 100/s | uwsgi-http11 | 300 in 3s | 200 µs | 4.00× |",
		"| 100/s | nginx | – | failed (3 errors) | – |",
		"| uwsgi-http | 1 | hello | failed (12000 errors) | | | | 12000 (read 12000) | – |",
		"- ceiling: go build failed",
		"- gunicorn-sync, workers 2, hello, -c32: failed to start: boom",
		"- uwsgi-http, workers 1, hello, -c32: errors: 12000 (read 12000)",
		"- uwsgi-http11, workers 1, stream, -c32: stalled: 1 requests in 1s",
		"- nginx, light load 100/s: 3 errors, the first: request 5: EOF",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	// A failed server's request rate is never shown as a speed.
	for _, never := range []string{"| 12000 |", "| 40000 |", "| 297 in"} {
		if strings.Contains(md, never) {
			t.Errorf("report shows a failed row's figure %q:\n%s", never, md)
		}
	}
	// The worker-count tables list waitress's single figure in both.
	if n := strings.Count(md, "| hello | waitress † | 5000 |"); n != 2 {
		t.Errorf("waitress's figure appears in %d worker tables, want 2:\n%s", n, md)
	}
}

func TestCheckProgress(t *testing.T) {
	tests := []struct {
		name    string
		stats   wrkStats
		conns   int
		d       time.Duration
		wantErr bool
	}{
		{name: "busy", stats: wrkStats{Requests: 5000}, conns: 32, d: 5 * time.Second},
		{name: "slow but moving", stats: wrkStats{Requests: 160}, conns: 32, d: 5 * time.Second},
		{name: "stalled", stats: wrkStats{Requests: 1, Read: 1, Timeout: 1}, conns: 32, d: 5 * time.Second, wantErr: true},
		{name: "nothing", stats: wrkStats{}, conns: 1, d: 500 * time.Millisecond, wantErr: true},
	}
	for _, tt := range tests {
		err := checkProgress(tt.stats, tt.conns, tt.d)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: error %v, want error: %v", tt.name, err, tt.wantErr)
		}
	}
}
