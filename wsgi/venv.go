package wsgi

// #include <Python.h>
import "C"

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// BuiltFor is the CPython minor version ("3.11") whose headers gowsgi was
// compiled against; the libpython it links (libpython3.11.so.1.0) is that
// version's, whatever the machine has installed since.
func BuiltFor() string {
	return fmt.Sprintf("%d.%d", C.PY_MAJOR_VERSION, C.PY_MINOR_VERSION)
}

// Venv is a virtual environment (PEP 405) the binary is installed in.
type Venv struct {
	// Dir is the environment's root, the directory holding pyvenv.cfg.
	Dir string
	// Version is the Python version it was made with ("3.12.1"), from
	// pyvenv.cfg, or the X.Y of its lib/pythonX.Y when pyvenv.cfg names
	// none; empty when neither says.
	Version string
}

// ExecutableVenv returns the virtual environment the running binary lives
// in: pip installs gowsgi as <venv>/bin/gowsgi, whose parent directory
// holds pyvenv.cfg, where Python itself looks for it beside
// <venv>/bin/python. Its Dir is empty when the binary is in no
// virtualenv. Symbolic links to the binary are followed first, so a link
// to a venv's gowsgi runs in that venv.
func ExecutableVenv() (Venv, error) {
	exe, err := os.Executable()
	if err != nil {
		return Venv{}, fmt.Errorf("cannot find the gowsgi binary: %w", err)
	}
	return FindVenv(exe)
}

// FindVenv returns the virtual environment of the executable at exe, as
// ExecutableVenv does for the running binary.
func FindVenv(exe string) (Venv, error) {
	dir := filepath.Dir(filepath.Dir(exe))
	f, err := os.Open(filepath.Join(dir, "pyvenv.cfg"))
	if errors.Is(err, fs.ErrNotExist) {
		return Venv{}, nil
	}
	if err != nil {
		return Venv{}, err
	}
	defer f.Close()
	v := Venv{Dir: dir}
	// venv writes "version = 3.12.1"; virtualenv and uv "version_info =
	// 3.12.1.final.0" or "3.12.1".
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, found := strings.Cut(sc.Text(), "=")
		key = strings.ToLower(strings.TrimSpace(key))
		if found && (key == "version" || key == "version_info") {
			v.Version = strings.TrimSuffix(strings.TrimSpace(value), ".final.0")
			break
		}
	}
	if err := sc.Err(); err != nil {
		return Venv{}, fmt.Errorf("reading %s: %w", f.Name(), err)
	}
	if v.Version == "" {
		// Every venv has lib/pythonX.Y/site-packages for the one X.Y it
		// was made with.
		libs, _ := filepath.Glob(filepath.Join(dir, "lib", "python3.*"))
		if len(libs) == 1 {
			v.Version = strings.TrimPrefix(filepath.Base(libs[0]), "python")
		}
	}
	return v, nil
}

// MinorVersion is the X.Y of v.Version ("3.12"), or "" if it has none.
func (v Venv) MinorVersion() string {
	parts := strings.SplitN(v.Version, ".", 3)
	if len(parts) < 2 {
		return ""
	}
	return parts[0] + "." + parts[1]
}

// CheckVersion returns an error naming both versions when v was made with
// another Python than the one gowsgi is built for: that libpython cannot
// load the venv's site-packages (their C extensions are for another ABI),
// and its standard library is not the venv's. A venv whose version cannot
// be told passes.
func (v Venv) CheckVersion() error {
	if xy := v.MinorVersion(); xy != "" && xy != BuiltFor() {
		return fmt.Errorf("this gowsgi is built for Python %s, but the virtualenv %s is Python %s: "+
			"install the gowsgi wheel built for Python %s in it", BuiltFor(), v.Dir, v.Version, xy)
	}
	return nil
}

// python is the venv's interpreter, which becomes sys.executable: the
// first of bin/python, bin/python3 and bin/pythonX.Y that exists.
func (v Venv) python() (string, error) {
	for _, name := range []string{"python", "python3", "python" + BuiltFor()} {
		p := filepath.Join(v.Dir, "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("the virtualenv %s has no bin/python", v.Dir)
}
