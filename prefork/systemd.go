package prefork

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// The variables of systemd's socket activation, sd_listen_fds(3).
const (
	envSystemdPID   = "LISTEN_PID"
	envSystemdFDs   = "LISTEN_FDS"
	envSystemdNames = "LISTEN_FDNAMES"
)

// SystemdListeners returns the listening sockets passed by systemd socket
// activation, as sd_listen_fds(3) defines it: LISTEN_FDS descriptors from
// 3 on, meant for this process only if LISTEN_PID is its id. It unsets the
// three variables (so that no child takes the sockets for its own) and
// marks the descriptors close-on-exec. Without activation, or if LISTEN_PID
// names another process, it returns no files and no error.
//
// Each file's Name is the socket's TCP address if it has one, else
// "systemd:" and its name from LISTEN_FDNAMES (or its descriptor), so that
// Supervisor.Run never removes a unix socket file systemd owns. The
// returned files are passable to Supervisor.Listeners.
func SystemdListeners() ([]*os.File, error) {
	pidEnv, fdsEnv, namesEnv := os.Getenv(envSystemdPID), os.Getenv(envSystemdFDs), os.Getenv(envSystemdNames)
	for _, k := range []string{envSystemdPID, envSystemdFDs, envSystemdNames} {
		os.Unsetenv(k)
	}
	if pidEnv == "" || fdsEnv == "" {
		return nil, nil
	}
	if pid, err := strconv.Atoi(pidEnv); err != nil || pid != os.Getpid() {
		return nil, nil
	}
	n, err := strconv.Atoi(fdsEnv)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("prefork: bad %s=%q", envSystemdFDs, fdsEnv)
	}
	var names []string
	if namesEnv != "" {
		names = strings.Split(namesEnv, ":")
	}
	var files []*os.File
	for i := range n {
		fd := firstInheritedFD + i
		syscall.CloseOnExec(fd)
		name := "systemd:fd" + strconv.Itoa(fd)
		if i < len(names) && names[i] != "" {
			name = "systemd:" + names[i]
		}
		f, err := inheritedSocket(fd, name)
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			return nil, fmt.Errorf("prefork: systemd socket %d (fd %d): %w", i, fd, err)
		}
		files = append(files, f)
	}
	return files, nil
}
