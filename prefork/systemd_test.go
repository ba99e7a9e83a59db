package prefork

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestSystemdListenersWithoutActivation covers the cases that pass no
// descriptor; the case that does runs in TestInheritedListeners, in a
// process of its own.
func TestSystemdListenersWithoutActivation(t *testing.T) {
	tests := []struct {
		name    string
		pid     string
		fds     string
		wantErr string
	}{
		{name: "no activation"},
		{name: "meant for another process", pid: "1", fds: "2"},
		{name: "bad LISTEN_FDS", pid: strconv.Itoa(os.Getpid()), fds: "two", wantErr: "bad LISTEN_FDS"},
		{name: "no descriptors", pid: strconv.Itoa(os.Getpid()), fds: "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.pid != "" {
				t.Setenv(envSystemdPID, tt.pid)
				t.Setenv(envSystemdFDs, tt.fds)
				t.Setenv(envSystemdNames, "http:https")
			}
			files, err := SystemdListeners()
			if len(files) != 0 || (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("SystemdListeners() = %v, %v; want no files and error %q", files, err, tt.wantErr)
			}
			for _, k := range []string{envSystemdPID, envSystemdFDs, envSystemdNames} {
				if v, ok := os.LookupEnv(k); ok {
					t.Errorf("%s=%q is still set", k, v)
				}
			}
		})
	}
}
