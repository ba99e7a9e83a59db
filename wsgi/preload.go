package wsgi

// #include "bridge.h"
import "C"

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// preloadConfigEnv names the descriptor, in a process Preload re-executes,
// of the settings zygote.c loads the application with.
const preloadConfigEnv = "GOWSGI_PRELOAD_CONFIG_FD"

// Preload makes this process a zygote (--preload): one that loads the
// application once and forks workers from itself on the supervisor's
// request (prefork's zygote), so that they share the memory the import
// filled. A Go program cannot fork, so Preload writes the interpreter's
// settings (cfg, as Start would take them, and the signals KeepSignals
// kept) to a file and executes this binary again: zygote.c, which runs
// before the Go runtime, starts Python from them, loads the app and
// forks. A worker forked there comes back through main with Python
// loaded; its Start adopts the interpreter (see PreloadedWorker).
//
// Preload returns only on error. The process must have been started as a
// zygote (prefork.IsZygote): the re-executed binary finds its socket to
// the supervisor where it was.
func Preload(cfg Config) error {
	var mem cMemory
	defer mem.free()
	c, err := cConfig(&cfg, &mem)
	if err != nil {
		return err
	}
	// Without close-on-exec: the next program reads it.
	fd, err := unix.MemfdCreate("gowsgi-preload", 0)
	if err != nil {
		return fmt.Errorf("wsgi: preload settings: %w", err)
	}
	if C.gw_config_write(C.int(fd), &c) != 0 {
		unix.Close(fd)
		return fmt.Errorf("wsgi: cannot write the preload settings")
	}
	if _, err := unix.Seek(fd, 0, 0); err != nil {
		unix.Close(fd)
		return fmt.Errorf("wsgi: preload settings: %w", err)
	}
	os.Setenv(preloadConfigEnv, strconv.Itoa(fd))
	err = syscall.Exec("/proc/self/exe", os.Args, os.Environ())
	unix.Close(fd)
	return fmt.Errorf("wsgi: cannot execute the zygote: %w", err)
}

// Preloaded reports whether this process is a worker forked from a zygote,
// whose interpreter and application are loaded already (Start adopts
// them).
func Preloaded() bool { return C.gw_preloaded != 0 }

// PreloadedWorker returns, in a worker forked from a zygote, the
// environment the supervisor sent for it, which the process should take
// as its own before anything reads it: a forked process has its zygote's.
// Elsewhere it returns false.
func PreloadedWorker() ([]string, bool) {
	if !Preloaded() {
		return nil, false
	}
	block := C.GoBytes(unsafe.Pointer(C.gw_preloaded_env), C.int(C.gw_preloaded_env_len))
	var env []string
	for _, kv := range bytes.Split(block, []byte{0}) {
		if len(kv) > 0 {
			env = append(env, string(kv))
		}
	}
	return env, true
}
