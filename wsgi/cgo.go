// Package wsgi runs a PEP 3333 application on embedded CPython.
//
// The Go side hands each request to an executor: a goroutine locked to its
// own OS thread that owns a Python thread state. One cgo call per request
// (gw_call, in exec.c) builds the environ, calls the application and gathers
// its response; the GIL is held only inside that call. The package knows
// nothing of sockets: it receives a Request and writes to a ResponseSink.
package wsgi

// #cgo pkg-config: python3-embed
// #cgo CFLAGS: -O2 -Wall -Wno-unused-parameter
// #include "bridge.h"
import "C"
