package prefork

import (
	"syscall"
	"testing"
)

func TestExitReason(t *testing.T) {
	// Wait statuses as Linux encodes them: exit code in bits 8-15, the
	// terminating signal in bits 0-6, 0x80 for a core dump.
	tests := []struct {
		ws   syscall.WaitStatus
		want string
	}{
		{0, "exit status 0"},
		{2 << 8, "exit status 2"},
		{ExitBootFailed << 8, "exit status 3"},
		{syscall.WaitStatus(syscall.SIGKILL), "killed by signal SIGKILL"},
		{syscall.WaitStatus(syscall.SIGTERM), "killed by signal SIGTERM"},
		{syscall.WaitStatus(syscall.SIGSEGV) | 0x80, "killed by signal SIGSEGV (core dumped)"},
		{34, "killed by signal 34"},    // SIGRTMIN has no name here
		{0x137f, "wait status 0x137f"}, // stopped by SIGSTOP: never reported by Wait
	}
	for _, tt := range tests {
		if got := exitReason(tt.ws); got != tt.want {
			t.Errorf("exitReason(%#x) = %q, want %q", uint32(tt.ws), got, tt.want)
		}
	}
}
