package prefork

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

func TestScanSources(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{
		"app.py", "pkg/mod.py", "pkg/sub/deep.py", "README.txt",
		"pkg/__pycache__/mod.cpython-311.py", ".venv/lib/x.py", "pkg/.hidden/y.py",
	} {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for path := range scanSources([]string{dir}) {
		rel, _ := filepath.Rel(dir, path)
		got = append(got, rel)
	}
	slices.Sort(got)
	want := []string{"app.py", "pkg/mod.py", "pkg/sub/deep.py"}
	if !slices.Equal(got, want) {
		t.Errorf("scanSources found %v, want %v", got, want)
	}
}

func TestFirstChange(t *testing.T) {
	t0, t1 := time.Unix(100, 0), time.Unix(200, 0)
	tests := []struct {
		name          string
		before, after map[string]time.Time
		want          string
	}{
		{name: "unchanged", before: map[string]time.Time{"a.py": t0}, after: map[string]time.Time{"a.py": t0}},
		{name: "modified", before: map[string]time.Time{"a.py": t0}, after: map[string]time.Time{"a.py": t1}, want: "a.py"},
		{name: "added", before: map[string]time.Time{}, after: map[string]time.Time{"b.py": t0}, want: "b.py"},
		{name: "removed", before: map[string]time.Time{"a.py": t0}, after: map[string]time.Time{}, want: "a.py"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := firstChange(tt.before, tt.after)
			if got != tt.want || changed != (tt.want != "") {
				t.Errorf("firstChange = %q, %v; want %q", got, changed, tt.want)
			}
		})
	}
}

// TestWatchPathsReload changes a watched .py file and checks that the
// workers are reloaded.
func TestWatchPathsReload(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app.py")
	if err := os.WriteFile(app, []byte("x = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := startSupervisor(t, ln, 1, false, envTestWatch+"="+dir)
	old := p.awaitReady(t, 1)[0]
	// A change made before the watcher's first scan is not one: change
	// the file (its time) until the watcher reports a change.
	mtime := time.Now()
	await(t, 10*time.Second, func() int {
		n := p.log.count("file changed")
		if n == 0 {
			mtime = mtime.Add(time.Second)
			if err := os.Chtimes(app, mtime, mtime); err != nil {
				t.Fatal(err)
			}
		}
		return n
	}, func(n int) bool { return n > 0 })
	if rec := p.log.await(t, "file changed", nil, 5*time.Second); rec.Path != app {
		t.Errorf("change logged for %q, want %q", rec.Path, app)
	}
	p.log.await(t, "reload complete", nil, 10*time.Second)
	p.log.await(t, "worker exited", func(r logRecord) bool { return r.PID == old.PID }, 10*time.Second)
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.awaitExit(t, 10*time.Second)
}
