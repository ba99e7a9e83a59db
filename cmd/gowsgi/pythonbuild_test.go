package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// macroSymbols are the only private-looking symbols the binary may import:
// what the public macros Py_DECREF, Py_None, Py_True and Py_False expand to
// (they are in the stable ABI). Anything else named _Py is private API.
var macroSymbols = []string{"_Py_Dealloc", "_Py_NoneStruct", "_Py_TrueStruct", "_Py_FalseStruct"}

// TestPythonBuildUsesOnlyPublicAPI: the bridge links no private _Py
// function, so it builds and runs against 3.11, 3.12 and 3.13 alike.
func TestPythonBuildUsesOnlyPublicAPI(t *testing.T) {
	if _, err := exec.LookPath("nm"); err != nil {
		t.Skip("no nm")
	}
	out, err := exec.Command("nm", "-D", "--undefined-only", binary).Output()
	if err != nil {
		t.Fatalf("nm -D %s: %v", binary, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "U" && strings.HasPrefix(f[1], "_Py") && !slices.Contains(macroSymbols, f[1]) {
			t.Errorf("the binary imports the private symbol %s", f[1])
		}
	}
}
