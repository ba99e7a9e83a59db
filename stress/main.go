// Command stress runs gowsgi's stress and fault scenarios against a built
// bin/gowsgi and prints one table row per scenario with its figures and
// PASS or FAIL. It only ever talks to 127.0.0.1, and every load is bounded
// in count and time.
//
//	go run ./stress                     # the full suite (make stress)
//	go run ./stress -smoke              # reduced counts, about 30 s
//	go run ./stress -only soak,garbage  # some scenarios
//
// TestSmoke runs the smoke version under go test.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// result is one row of the table.
type result struct {
	name    string
	figures string
	pass    bool
	took    time.Duration
}

// scenario runs one scenario; figures and failures go into the result.
type scenario struct {
	name string
	run  func(cfg *config) result
}

var scenarios = []scenario{
	{"soak", soak},
	{"slowloris", slowloris},
	{"idle-flood", idleFlood},
	{"garbage", garbage},
	{"large-bodies", largeBodies},
	{"faults", faults},
	{"faults-preload", faultsPreload},
	{"reload-stop", reloadStop},
	{"reload-stop-preload", reloadStopPreload},
	{"disconnects", disconnects},
}

func main() {
	cfg := fullConfig()
	smoke := flag.Bool("smoke", false, "reduced counts (what go test runs)")
	only := flag.String("only", "", "comma-separated scenarios to run: "+scenarioNames())
	bin := flag.String("bin", "bin/gowsgi", "the gowsgi binary")
	root := flag.String("root", ".", "the repository root (holds pyapps/ and stress/apps/)")
	flag.Parse()
	if *smoke {
		cfg = smokeConfig()
	}
	cfg.root, _ = filepath.Abs(*root)
	cfg.bin, _ = filepath.Abs(*bin)
	if _, err := os.Stat(cfg.bin); err != nil {
		fmt.Fprintln(os.Stderr, "stress:", err, "(make build first)")
		os.Exit(2)
	}
	results, err := runAll(cfg, *only, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stress:", err)
		os.Exit(2)
	}
	for _, r := range results {
		if !r.pass {
			os.Exit(1)
		}
	}
}

func scenarioNames() string {
	var names []string
	for _, s := range scenarios {
		names = append(names, s.name)
	}
	return strings.Join(names, ",")
}

// runAll runs the chosen scenarios in order and writes the table to out.
func runAll(cfg *config, only string, out io.Writer) ([]result, error) {
	chosen := map[string]bool{}
	for _, n := range strings.Split(only, ",") {
		if n = strings.TrimSpace(n); n != "" {
			chosen[n] = true
		}
	}
	for n := range chosen {
		if !strings.Contains(","+scenarioNames()+",", ","+n+",") {
			return nil, fmt.Errorf("no scenario %q (have %s)", n, scenarioNames())
		}
	}
	raiseFileLimit()
	var results []result
	for _, s := range scenarios {
		if len(chosen) > 0 && !chosen[s.name] {
			continue
		}
		fmt.Fprintf(os.Stderr, "stress: %s...\n", s.name)
		start := time.Now()
		r := s.run(cfg)
		r.name, r.took = s.name, time.Since(start).Round(100*time.Millisecond)
		fmt.Fprintf(os.Stderr, "stress: %s %s in %v: %s\n", s.name, verdict(r.pass), r.took, r.figures)
		results = append(results, r)
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tresult\ttime\tfigures")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%v\t%s\n", r.name, verdict(r.pass), r.took, r.figures)
	}
	tw.Flush()
	return results, nil
}

func verdict(pass bool) string {
	if pass {
		return "PASS"
	}
	return "FAIL"
}

// raiseFileLimit lifts this process's open file limit to its hard limit:
// the idle flood holds thousands of sockets.
func raiseFileLimit() {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
}
