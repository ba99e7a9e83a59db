// Command bench compares gowsgi with the other Python WSGI servers, and with
// a Python-free ceiling, on one machine in one run:
//
//	go run ./bench [-duration 10s] [-warmup 2s] [-servers gowsgi,uwsgi] [-cases hello,flask] [-workers 1,2]
//	               [-light-rates 100,1000] [-light-duration 3s] [-idle 2s]
//
// Run it from the repository root after `make build` and bench/deps.sh
// (which installs wrk, gunicorn, uWSGI, waitress and nginx from Debian when
// missing).
//
// # Method
//
// For each server, worker count and case, the benchmark starts the server on
// a fresh loopback port as the leader of its own process group, waits until
// it answers the case's request with exactly the expected bytes (and, for
// gowsgi, until every worker has logged that it is ready), then:
//
//  1. warms it up with wrk -t1 -c32 for -warmup (figures discarded);
//  2. loads it with wrk -t1 -c32 for -duration: throughput, and CPU time
//     per request;
//  3. loads it with wrk -t1 -c1 for -latency-duration: latency of one client.
//
// The worker counts are 1 (the per-core comparison) and the machine's cores
// by default.
//
// CPU time per request is the figure that decides throughput once every
// core is busy: the user + system time of the server's whole process tree,
// read from /proc/PID/stat of each of its processes (which counts all their
// threads, and the children each has reaped) right before wrk starts and
// right after it exits, divided by the requests wrk completed (cpu.go).
//
// wrk reports through a Lua done() hook that prints one JSON line (requests,
// duration, p50/p99 latency, errors by kind), so nothing depends on the layout
// of wrk's human-readable report. Errors are wrk's socket errors (connect,
// read, write, timeout) plus responses it counts as bad (status >= 400); the
// check before loading already proved the server answers 200 with the right
// body. A response ended by the server closing the connection (no
// Content-Length, no keep-alive: uWSGI --http-socket streaming) is counted
// by wrk and then also counted as a read error: such a load is reported as
// failed, since wrk cannot tell a whole body from a cut one there.
//
// During each load a sampler reads /proc every 100 ms and sums the RSS
// of the server's whole process tree (leader, workers, anything they started);
// the peak is reported. RSS counts pages shared by forked workers once per
// process, so prefork servers look heavier than their private memory.
//
// Light load: the servers marked for it (gowsgi, uWSGI --http11-socket and
// nginx) are started once more with one worker serving hello; one client
// (pace.go) sends requests one at a time on one keep-alive connection at
// each of -light-rates for -light-duration, never retrying, and the CPU
// time per request of each rate is reported; then the server is left with
// no request for -idle, and the CPU time it used meanwhile is reported.
//
// Then the server gets SIGTERM, its process group SIGKILL if anything of it
// is alive 10 s later, and the benchmark waits until its port can be bound
// again before the next server starts. It leaves no process behind, also when
// interrupted (SIGINT/SIGTERM), and stops by itself.
//
// Servers: gowsgi (bin/gowsgi serve --workers N), gunicorn with sync workers
// (-w N -k sync) and with gthread workers (-k gthread --threads 4), uWSGI
// serving HTTP itself with --http-socket and with --http11-socket (keep-alive)
// (--master --processes N), waitress (waitress-serve, 4 threads, one
// process), nginx answering the hello case's bytes itself (`return 200`, no
// application: the cost of an HTTP exchange on this kernel; the other cases
// are not run on it), and the ceiling (bench/ceiling, Go net/http, no
// Python, GOMAXPROCS = workers). The Python servers are Debian's, running
// /usr/bin/python3 (Python 3.11), the interpreter gowsgi embeds. A server without workers (waitress) runs once and that figure
// stands for every worker count. Every server runs with its default
// logging, minus access logs (uWSGI's is turned off with --disable-logging).
//
// Cases (bench/apps, plain WSGI, and the samples in pyapps): hello (13 bytes
// with Content-Length), body10k (10 KiB), echo (POST of 10 KiB read with
// wsgi.input.read() and sent back), stream (a generator of 100 chunks, no
// Content-Length), flask and django (the samples' "/" view).
//
// wrk and the server share the machine's cores; the ceiling shows how much of
// the machine that leaves. Compare figures within one run only.
//
// The report (a header naming the machine and every version, the figures,
// and gowsgi's ratio to each peer on CPU per request and on req/s, one table
// per worker count) goes to stdout and to -out. A server that is not
// installed is listed as skipped; one that fails to start or to answer
// correctly, or fails any request of a load, is listed as failed with its
// error count and never compared, and the run goes on.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

// config is the run's settings, from the flags.
type config struct {
	duration        time.Duration
	latencyDuration time.Duration
	warmup          time.Duration
	startTimeout    time.Duration
	servers         []serverKind
	cases           []benchCase
	workers         []int
	lightRates      []int         // requests per second of the paced light loads
	lightDuration   time.Duration // length of each light load; 0: none
	idle            time.Duration // length of the idle window
	out             string
	gowsgi          string // absolute path of the gowsgi binary
	wrk             string
	root            string // the repository root (the working directory)
	tmp             string // scripts, logs and the ceiling binary
	ceiling         string // path of the built ceiling binary
	ceilingErr      error  // why the ceiling cannot run, if it cannot
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		stop()
		os.Exit(1)
	}
}

func parseFlags(args []string) (*config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	cfg := &config{}
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "length of each throughput load (wrk -c32)")
	fs.DurationVar(&cfg.latencyDuration, "latency-duration", 0, "length of each latency load (wrk -c1); 0: same as -duration")
	fs.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "warm-up load before measuring; 0: none")
	fs.DurationVar(&cfg.startTimeout, "start-timeout", 30*time.Second, "time a server has to start serving")
	servers := fs.String("servers", "", "comma list of servers to run (default all): gowsgi, gunicorn-sync, gunicorn-gthread, uwsgi-http, uwsgi-http11, waitress, nginx, ceiling; a prefix such as uwsgi selects its variants")
	cases := fs.String("cases", "", "comma list of cases to run (default all): hello, body10k, echo, stream, flask, django")
	workers := fs.String("workers", defaultWorkers(), "comma list of worker counts (default 1 and one per core)")
	lightRates := fs.String("light-rates", "100,1000", "comma list of the light loads' rates, in requests per second")
	fs.DurationVar(&cfg.lightDuration, "light-duration", 3*time.Second, "length of each light load (one paced keep-alive client, hello); 0: no light load")
	fs.DurationVar(&cfg.idle, "idle", 2*time.Second, "length of the idle window after the light loads")
	fs.StringVar(&cfg.out, "out", "bench/RESULTS.md", "file the markdown report is written to")
	fs.StringVar(&cfg.gowsgi, "gowsgi", "bin/gowsgi", "path of the gowsgi binary")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if cfg.latencyDuration == 0 {
		cfg.latencyDuration = cfg.duration
	}
	if cfg.duration <= 0 || cfg.latencyDuration < 0 || cfg.warmup < 0 {
		return nil, errors.New("durations must be positive")
	}
	var err error
	if cfg.servers, err = selectServers(*servers); err != nil {
		return nil, err
	}
	if cfg.cases, err = selectCases(*cases); err != nil {
		return nil, err
	}
	if cfg.workers, err = parseCounts("-workers", *workers); err != nil {
		return nil, err
	}
	if cfg.lightRates, err = parseCounts("-light-rates", *lightRates); err != nil {
		return nil, err
	}
	if cfg.lightDuration < 0 || cfg.idle < 0 {
		return nil, errors.New("durations must be positive")
	}
	return cfg, nil
}

// defaultWorkers is "1,N" with N the machine's cores, or "1" on one core.
func defaultWorkers() string {
	if n := runtime.NumCPU(); n > 1 {
		return "1," + strconv.Itoa(n)
	}
	return "1"
}

// parseCounts parses a comma list of positive numbers given to flag.
func parseCounts(flag, list string) ([]int, error) {
	var out []int
	for _, f := range splitList(list) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s: %q is not a positive number", flag, f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no number", flag)
	}
	return out, nil
}

func run(ctx context.Context, cfg *config) error {
	var err error
	if cfg.root, err = os.Getwd(); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(cfg.root, "bench", "apps", "hello.py")); err != nil {
		return errors.New("run from the repository root (bench/apps not found)")
	}
	if cfg.gowsgi, err = filepath.Abs(cfg.gowsgi); err != nil {
		return err
	}
	if cfg.wrk, err = exec.LookPath("wrk"); err != nil {
		return errors.New("wrk not found: run bench/deps.sh")
	}
	if cfg.tmp, err = os.MkdirTemp("", "gowsgi-bench-"); err != nil {
		return err
	}
	defer os.RemoveAll(cfg.tmp)
	for _, s := range cfg.servers {
		if s.Name == "ceiling" {
			cfg.ceiling, cfg.ceilingErr = buildCeiling(ctx, cfg.tmp)
		}
	}
	scripts := make(map[string]string)
	for _, c := range cfg.cases {
		if scripts[c.Name], err = writeScript(cfg.tmp, c); err != nil {
			return err
		}
	}

	rep := &report{
		Header:  collectHeader(cfg),
		Servers: cfg.servers,
		Cases:   cfg.cases,
		Workers: cfg.workers,
	}
	for _, s := range cfg.servers {
		if err := s.Check(cfg); err != nil {
			progress("%s: skipped: %v", s.Name, err)
			rep.Skipped = append(rep.Skipped, skip{Server: s.Name, Reason: err.Error()})
			continue
		}
		counts := cfg.workers
		if !s.HasWorkers {
			counts = []int{0}
		}
		for _, w := range counts {
			for _, c := range cfg.cases {
				if !s.Serves(c) {
					continue
				}
				results := runCase(ctx, cfg, s, w, c, scripts[c.Name])
				if ctx.Err() != nil {
					return errors.New("interrupted")
				}
				rep.Results = append(rep.Results, results...)
			}
		}
		if hello, ok := lightCase(cfg); ok && s.LightLoad {
			rep.Light = append(rep.Light, runLight(ctx, cfg, s, hello)...)
			if ctx.Err() != nil {
				return errors.New("interrupted")
			}
		}
	}

	text := rep.Markdown()
	fmt.Print(text)
	if err := os.WriteFile(cfg.out, []byte(text), 0o644); err != nil {
		return err
	}
	progress("report written to %s", cfg.out)
	return nil
}

// runCase starts server s with w workers (0: it has none) serving c, loads
// it, stops it, and returns the throughput and latency results.
func runCase(ctx context.Context, cfg *config, s serverKind, w int, c benchCase, script string) []result {
	label := fmt.Sprintf("%s w=%s %s", s.Name, workersLabel(w), c.Name)
	tput := result{Server: s.Name, Workers: w, Case: c.Name, Conns: 32}
	lat := result{Server: s.Name, Workers: w, Case: c.Name, Conns: 1}

	srv, err := serve(ctx, cfg, s, w, c)
	if err != nil {
		tput.Err, lat.Err = err.Error(), err.Error()
		progress("%s: %s", label, tput.Err)
		return []result{tput, lat}
	}
	sampler := startRSSSampler(srv.proc.PID(), 100*time.Millisecond)
	defer func() {
		sampler.Stop()
		srv.stop(label)
	}()

	url := "http://" + srv.addr + "/"
	load := wrkRun{Bin: cfg.wrk, URL: url, Script: script, Conns: 32, Duration: cfg.warmup, Timeout: 2 * time.Second}
	if cfg.warmup > 0 {
		if _, err := load.Run(ctx); err != nil {
			tput.Err = "warm-up: " + err.Error()
			lat.Err = tput.Err
			progress("%s: %s", label, tput.Err)
			return []result{tput, lat}
		}
	}
	// The CPU time is read right before wrk starts and right after it
	// exits: the server's whole tree over exactly the load window.
	measure := func(r *result, conns int, d time.Duration) {
		sampler.Reset()
		load.Conns, load.Duration = conns, d
		before := treeCPU(srv.proc.PID())
		r.Stats, err = load.Run(ctx)
		r.CPU = treeCPU(srv.proc.PID()) - before
		r.PeakRSS = sampler.Peak()
		if err == nil {
			err = checkProgress(r.Stats, conns, d)
		}
		if err != nil {
			r.Err = err.Error()
			progress("%s c=%d: %v", label, conns, err)
			return
		}
		progress("%s c=%d: %.0f req/s, CPU %s/request, p50 %s, p99 %s, errors %d, peak RSS %s",
			label, conns, r.Stats.RPS(), formatCPU(r.CPUPerRequest()), formatLatency(r.Stats.P50), formatLatency(r.Stats.P99), r.Stats.Errors(), formatRSS(r.PeakRSS))
	}
	measure(&tput, 32, cfg.duration)
	if ctx.Err() == nil {
		measure(&lat, 1, cfg.latencyDuration)
	}
	return []result{tput, lat}
}

// running is a server started for one case and ready to be loaded.
type running struct {
	proc *serverProc
	addr string // 127.0.0.1:PORT
}

// serve starts server s with w workers (0: it has none) serving c on a free
// loopback port, and waits until it answers c correctly (and every worker
// has said it is ready, for servers that say so). On failure nothing of it
// is left running.
func serve(ctx context.Context, cfg *config, s serverKind, w int, c benchCase) (*running, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("no free port: %v", err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	dir := filepath.Join(cfg.root, c.Dir)
	name := fmt.Sprintf("%s-w%d-%s-%d", s.Name, w, c.Name, port)
	l := launch{Addr: addr, Workers: max(w, 1), Dir: dir, Case: c, Tmp: filepath.Join(cfg.tmp, name)}
	if err := os.Mkdir(l.Tmp, 0o755); err != nil {
		return nil, err
	}
	argv, err := s.Argv(cfg, l)
	if err != nil {
		return nil, fmt.Errorf("failed to start: %v", err)
	}
	proc, err := startServer(argv, dir, serverEnv(dir), filepath.Join(l.Tmp, "server.log"))
	if err != nil {
		return nil, fmt.Errorf("failed to start: %v", err)
	}
	srv := &running{proc: proc, addr: addr}
	progress("%s w=%s %s: starting", s.Name, workersLabel(w), c.Name)
	if err := proc.WaitReady(ctx, "http://"+addr+"/", c, s.ReadyLine, l.Workers, cfg.startTimeout); err != nil {
		if tail := proc.LogTail(); tail != "" {
			err = fmt.Errorf("%w; log: %s", err, tail)
		}
		srv.stop(name)
		return nil, fmt.Errorf("failed to start: %v", err)
	}
	return srv, nil
}

// stop ends the server and waits until its port can be bound again,
// reporting trouble under label.
func (r *running) stop(label string) {
	if err := r.proc.Stop(); err != nil {
		progress("%s: stop: %v", label, err)
	}
	if err := waitPortFree(r.addr, 10*time.Second); err != nil {
		progress("%s: %v", label, err)
	}
}

// lightCase is the case the light loads use, hello, if the run has light
// loads and hello is among its cases.
func lightCase(cfg *config) (benchCase, bool) {
	for _, c := range cfg.cases {
		if c.Name == "hello" && cfg.lightDuration > 0 {
			return c, true
		}
	}
	return benchCase{}, false
}

// checkProgress fails a load in which the server completed fewer than one
// request per connection per second: it stalled (uWSGI --http11-socket, for
// one, neither chunks nor closes a body without Content-Length, so a
// keep-alive client waits for its end forever). A req/s figure rounded
// from a handful of requests would pass for a slow server.
func checkProgress(s wrkStats, conns int, d time.Duration) error {
	if min := int64(conns) * max(int64(d/time.Second), 1); s.Requests < min {
		return fmt.Errorf("stalled: %d requests in %s over %d connections (errors: %s)", s.Requests, d, conns, formatErrors(s))
	}
	return nil
}

// buildCeiling builds bench/ceiling into dir.
func buildCeiling(ctx context.Context, dir string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	bin := filepath.Join(dir, "ceiling")
	out, err := exec.CommandContext(ctx, goBin, "build", "-o", bin, "./bench/ceiling").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./bench/ceiling: %v: %s", err, out)
	}
	return bin, nil
}

// progress reports what the benchmark is doing on stderr; the report is
// stdout's.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}
