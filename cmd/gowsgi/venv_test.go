package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// installIn copies the binary under test to venv/bin/gowsgi, as pip
// installs it, beside venv/pyvenv.cfg holding cfg.
func installIn(t *testing.T, venv, cfg string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(venv, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(venv, "pyvenv.cfg"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(binary)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	path := filepath.Join(venv, "bin", "gowsgi")
	dst, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestInstalledVenvOfAnotherPythonRefused: gowsgi installed in a virtualenv
// made with another Python than the one it is built for exits at once with
// status 2 and a message naming both versions, whatever the command and
// however it is reached (a symbolic link elsewhere on PATH); in a venv of
// its own Python, gowsgi version names the venv.
func TestInstalledVenvOfAnotherPythonRefused(t *testing.T) {
	// the binary under test's, which make test-matrix builds for others
	builtFor := strings.TrimPrefix(pythonXY(t), "python")
	dir := t.TempDir()
	other := installIn(t, filepath.Join(dir, "other"), "home = /nowhere/bin\nversion = 3.99.1\n")
	link := filepath.Join(dir, "gowsgi-link")
	if err := os.Symlink(other, link); err != nil {
		t.Fatal(err)
	}
	msg := "gowsgi: this gowsgi is built for Python " + builtFor + ", but the virtualenv " +
		filepath.Join(dir, "other") + " is Python 3.99.1: install the gowsgi wheel built for Python 3.99 in it\n"
	for _, argv := range [][]string{
		{other, "serve", "--bind", freePort(t), "--chdir", "testdata", "e2eapp:app"},
		{other, "check", "--chdir", "testdata", "e2eapp:app"},
		{other, "version"},
		{link, "version"},
	} {
		cmd := exec.Command(argv[0], argv[1:]...)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.Run()
		if code := cmd.ProcessState.ExitCode(); code != 2 || stderr.String() != msg || stdout.Len() != 0 {
			t.Errorf("%s: exit status %d, stdout %q, stderr %q; want 2 and %q", strings.Join(argv, " "), code, stdout.String(), stderr.String(), msg)
		}
	}

	own := installIn(t, filepath.Join(dir, "own"), "home = /usr/bin\nversion = "+builtFor+".7\n")
	out, err := exec.Command(own, "version").Output()
	want := "\nvirtualenv " + filepath.Join(dir, "own") + " (Python " + builtFor + ".7)\n"
	if err != nil || !strings.Contains(string(out), want) {
		t.Errorf("gowsgi version in a %s venv: %v, %q; want it to contain %q", builtFor, err, out, want)
	}
}
