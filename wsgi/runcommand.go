package wsgi

// #include "bridge.h"
import "C"

import "errors"

// RunCommand runs the Python source as `python -c SOURCE ARGS...` would:
// sys.argv is ["-c", args...], and the working directory is first on
// sys.path. The interpreter installs no signal handlers and is finalized
// before RunCommand returns the exit status: 0, 1 after an uncaught
// exception (its traceback printed to standard error), or the code of a
// SystemExit. It is for a short-lived process that serves no application:
// it may be called once per process, from the main goroutine (which
// stays on the main thread), and Start may not be called before or after.
func RunCommand(source string, args ...string) (int, error) {
	if started {
		return 0, errors.New("wsgi: RunCommand after Start or RunCommand")
	}
	started = true
	var mem cMemory
	defer mem.free()
	argc, argv := mem.argv(append([]string{"-c"}, args...))
	c := C.gw_config{argc: argc, argv: argv, boot_source: mem.str(source), home: mem.str(pythonHome)}
	return int(C.gw_run_command(&c)), nil
}
