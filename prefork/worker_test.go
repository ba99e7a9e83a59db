package prefork

import (
	"errors"
	"testing"
)

func TestParseWorkerID(t *testing.T) {
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
		if got := parseWorkerID(tt.env); got != tt.want {
			t.Errorf("parseWorkerID(%q) = %d, want %d", tt.env, got, tt.want)
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
	if err := Retire(); !errors.Is(err, errNotWorker) {
		t.Errorf("Retire() = %v, want %v", err, errNotWorker)
	}
	BeginRequest([]byte("GET"), []byte("/")) // no slot: does nothing
	EndRequest()
}
