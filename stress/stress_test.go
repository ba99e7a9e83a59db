package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSmoke builds gowsgi and runs every scenario at smoke scale (about
// 30 s); make stress runs them at full scale.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "gowsgi")
	build := exec.Command("go", "build", "-o", bin, "../cmd/gowsgi")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building gowsgi: %v\n%s", err, out)
	}
	cfg := smokeConfig()
	cfg.bin = bin
	cfg.root, _ = filepath.Abs("..")
	var table strings.Builder
	results, err := runAll(cfg, os.Getenv("STRESS_ONLY"), &table)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", table.String())
	for _, r := range results {
		if !r.pass {
			t.Errorf("%s: %s", r.name, r.figures)
		}
	}
}
