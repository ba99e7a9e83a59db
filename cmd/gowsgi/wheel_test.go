package main

import (
	"archive/zip"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/syncbuf"
)

// distWheels lists the gowsgi wheels make wheel left in dir by their
// Python tag ("cp311").
func distWheels(t *testing.T, dir string) map[string]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "gowsgi-*.whl"))
	if err != nil {
		t.Fatal(err)
	}
	wheels := map[string]string{}
	for _, p := range paths {
		// NAME-VERSION-PYTHON-ABI-PLATFORM.whl
		if f := strings.Split(strings.TrimSuffix(filepath.Base(p), ".whl"), "-"); len(f) == 5 {
			wheels[f[2]] = p
		}
	}
	return wheels
}

// tagVersion is "3.12" for the tag "cp312".
func tagVersion(tag string) string {
	return tag[2:3] + "." + tag[3:]
}

// run runs a command that must succeed and returns its standard output.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// venvReport is what testdata/venvapp.py answers.
type venvReport struct {
	Mark        string   `json:"mark"`
	Prefix      string   `json:"prefix"`
	Executable  string   `json:"executable"`
	Version     string   `json:"version"`
	ChildPrefix string   `json:"child_prefix"`
	SiteDirs    []string `json:"site_dirs"`
}

// TestWheelInstallsIntoVenvAndServes: the wheel make wheel built for the
// Python under test, installed with pip into a fresh venv of that Python,
// puts gowsgi in the venv's bin/. Both bin/gowsgi and python -m gowsgi
// serve an app as the venv's python would run it, with no flag: a module
// only the venv has imports, sys.prefix is the venv and sys.executable its
// python (a subprocess of it is in the venv too), no site-packages outside
// the venv is on sys.path, and VIRTUAL_ENV naming another environment
// changes nothing; TERM stops the server with status 0. gowsgi version
// names the Python and the venv. A wheel in dist for another Python is
// refused by pip, and its binary copied into this venv exits with status 2
// naming both versions.
func TestWheelInstallsIntoVenvAndServes(t *testing.T) {
	python := testPython
	tag := strings.TrimSpace(run(t, python, "-c", `import sys; print("cp%d%d" % sys.version_info[:2])`))
	xy := tagVersion(tag)
	dist, err := filepath.Abs(filepath.Join("..", "..", "dist"))
	if err != nil {
		t.Fatal(err)
	}
	wheels := distWheels(t, dist)
	if wheels[tag] == "" {
		t.Skipf("no %s wheel in %s (make wheel PYTHON=%s builds it)", tag, dist, python)
	}
	dir := t.TempDir()
	venv := filepath.Join(dir, "venv")
	run(t, python, "-m", "venv", venv)
	if venv, err = filepath.EvalSymlinks(venv); err != nil {
		t.Fatal(err)
	}
	venvPython := filepath.Join(venv, "bin", "python")
	// --isolated: the machine's pip settings (PIP_FIND_LINKS...) stay out
	run(t, venvPython, "-m", "pip", "install", "--isolated", "--no-index", "--find-links", dist, "gowsgi")
	gowsgi := filepath.Join(venv, "bin", "gowsgi")

	site := strings.TrimSpace(run(t, venvPython, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"))
	writeApp(t, site, "venvonly", "MARK = 'venv'\n")
	// VIRTUAL_ENV names another environment, whose venvonly would say so.
	other := filepath.Join(dir, "other")
	otherSite := filepath.Join(other, "lib", "python"+xy, "site-packages")
	if err := os.MkdirAll(otherSite, 0o755); err != nil {
		t.Fatal(err)
	}
	writeApp(t, otherSite, "venvonly", "MARK = 'VIRTUAL_ENV'\n")

	if out := run(t, gowsgi, "version"); !strings.Contains(out, "\nPython "+xy+".") ||
		!strings.Contains(out, "\nvirtualenv "+venv+" (Python "+xy+".") {
		t.Errorf("gowsgi version says %q, want Python %s and the virtualenv %s", out, xy, venv)
	}

	for _, tc := range []struct {
		name string
		argv []string
	}{
		{"bin/gowsgi", []string{gowsgi}},
		{"python -m gowsgi", []string{venvPython, "-m", "gowsgi"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &server{log: &syncbuf.Buffer{}, done: make(chan struct{}), addr: freePort(t)}
			args := slices.Concat(tc.argv[1:], []string{"serve", "--bind", s.addr, "--chdir", "testdata", "venvapp:app"})
			s.cmd = exec.Command(tc.argv[0], args...)
			s.cmd.Env = append(os.Environ(), "VIRTUAL_ENV="+other)
			s.start(t)
			s.waitReady(t)
			code, body := s.get(t, "/")
			var r venvReport
			if err := json.Unmarshal([]byte(body), &r); code != 200 || err != nil {
				t.Fatalf("GET / = %d %q (%v)", code, body, err)
			}
			want := venvReport{Mark: "venv", Prefix: venv, Executable: venvPython, Version: xy, ChildPrefix: venv, SiteDirs: r.SiteDirs}
			if r.Mark != want.Mark || r.Prefix != want.Prefix || r.Executable != want.Executable ||
				r.Version != want.Version || r.ChildPrefix != want.ChildPrefix {
				t.Errorf("the app saw %+v, want %+v", r, want)
			}
			for _, d := range r.SiteDirs {
				if !strings.HasPrefix(d, venv+"/") {
					t.Errorf("sys.path has %s, outside the venv (include-system-site-packages is false)", d)
				}
			}
			s.cmd.Process.Signal(syscall.SIGTERM)
			if code := s.wait(t, 30*time.Second); code != 0 {
				t.Errorf("exit status %d after TERM, want 0", code)
			}
		})
	}

	for otherTag, wheel := range wheels {
		if otherTag == tag {
			continue
		}
		t.Run("wheel for "+otherTag, func(t *testing.T) {
			out, err := exec.Command(venvPython, "-m", "pip", "install", "--isolated", "--no-index", wheel).CombinedOutput()
			if err == nil || !strings.Contains(string(out), "is not a supported wheel on this platform") {
				t.Errorf("pip install %s into a %s venv: %v\n%s\nwant it refused as not supported", wheel, xy, err, out)
			}
			bin := filepath.Join(venv, "bin", "gowsgi-"+otherTag)
			extractScript(t, wheel, bin)
			cmd := exec.Command(bin, "serve", "--bind", freePort(t), "--chdir", "testdata", "venvapp:app")
			out, _ = cmd.CombinedOutput()
			msg := "built for Python " + tagVersion(otherTag) + ", but the virtualenv " + venv + " is Python " + xy + "."
			if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(string(out), msg) {
				t.Errorf("the %s binary in a %s venv: exit status %d, %q; want 2 and %q", otherTag, xy, code, out, msg)
			}
		})
	}
}

// extractScript writes the binary a wheel installs as bin/gowsgi to path.
func extractScript(t *testing.T, wheel, path string) {
	t.Helper()
	z, err := zip.OpenReader(wheel)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	for _, f := range z.File {
		if strings.HasSuffix(f.Name, ".data/scripts/gowsgi") {
			r, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			w, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(w, r); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("%s has no .data/scripts/gowsgi", wheel)
}
