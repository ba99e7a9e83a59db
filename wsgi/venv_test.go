package wsgi

import (
	"os"
	"path/filepath"
	"testing"
)

// TestFindVenv: the venv of <venv>/bin/gowsgi is found by the pyvenv.cfg in
// <venv>, with the version venv, virtualenv or uv wrote there, or else the
// one its lib/pythonX.Y says; a binary in no venv has none.
func TestFindVenv(t *testing.T) {
	tests := []struct {
		name    string
		cfg     string // pyvenv.cfg; "-": none
		lib     string // a lib/ subdirectory, if any
		dir     bool   // a venv is found
		version string
		minor   string
	}{
		{"venv", "home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.11.2\n", "", true, "3.11.2", "3.11"},
		{"virtualenv", "home = /opt/py/bin\nimplementation = CPython\nversion_info = 3.12.1.final.0\n", "", true, "3.12.1", "3.12"},
		{"uv", "home = /opt/py/bin\nimplementation = CPython\nuv = 0.4.0\nversion_info = 3.13.0\n", "", true, "3.13.0", "3.13"},
		{"spaces and case", "Version=3.12.4\r\n", "", true, "3.12.4", "3.12"},
		{"no version: lib/pythonX.Y", "home = /usr/bin\n", "python3.13", true, "3.13", "3.13"},
		{"no version at all", "home = /usr/bin\n", "", true, "", ""},
		{"no venv", "-", "python3.11", false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
				t.Fatal(err)
			}
			if tt.cfg != "-" {
				if err := os.WriteFile(filepath.Join(root, "pyvenv.cfg"), []byte(tt.cfg), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.lib != "" {
				if err := os.MkdirAll(filepath.Join(root, "lib", tt.lib, "site-packages"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			v, err := FindVenv(filepath.Join(root, "bin", "gowsgi"))
			if err != nil {
				t.Fatal(err)
			}
			want := Venv{Version: tt.version}
			if tt.dir {
				want.Dir = root
			}
			if v != want || v.MinorVersion() != tt.minor {
				t.Errorf("FindVenv = %+v (minor %q), want %+v (minor %q)", v, v.MinorVersion(), want, tt.minor)
			}
		})
	}
}

// TestVenvCheckVersion: only a venv of another X.Y than the build's is
// refused; one whose version cannot be told is let through.
func TestVenvCheckVersion(t *testing.T) {
	for _, tt := range []struct {
		version string
		ok      bool
	}{
		{BuiltFor() + ".0", true},
		{BuiltFor() + ".99", true},
		{"", true},
		{"3.99.1", false},
		{"2.7.18", false},
	} {
		err := Venv{Dir: "/v", Version: tt.version}.CheckVersion()
		if (err == nil) != tt.ok {
			t.Errorf("CheckVersion of a %q venv (built for %s) = %v, want ok %v", tt.version, BuiltFor(), err, tt.ok)
		}
	}
}
