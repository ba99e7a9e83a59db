package prefork

import (
	"errors"
	"testing"
)

func TestWorkerID(t *testing.T) {
	tests := []struct {
		env  string
		want int
	}{
		{"", 0},
		{"1", 1},
		{"17", 17},
		{"0", 0},
		{"-2", 0},
		{"two", 0},
	}
	for _, tt := range tests {
		t.Setenv(envWorkerID, tt.env)
		if got := WorkerID(); got != tt.want {
			t.Errorf("with %s=%q: WorkerID() = %d, want %d", envWorkerID, tt.env, got, tt.want)
		}
		if got := IsWorker(); got != (tt.want > 0) {
			t.Errorf("with %s=%q: IsWorker() = %v", envWorkerID, tt.env, got)
		}
	}
}

// TestNotAWorker checks the worker-side calls in a process no Supervisor
// started (the test process itself).
func TestNotAWorker(t *testing.T) {
	if IsWorker() {
		t.Fatal("the test process claims to be a worker")
	}
	if ls, err := WorkerListeners(); !errors.Is(err, errNotWorker) || ls != nil {
		t.Errorf("WorkerListeners() = %v, %v; want nil, %v", ls, err, errNotWorker)
	}
	if err := NotifyReady(); !errors.Is(err, errNotWorker) {
		t.Errorf("NotifyReady() = %v, want %v", err, errNotWorker)
	}
}
