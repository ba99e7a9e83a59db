package main

import (
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
)

// debugAddrEnv names the environment variable that, set in a worker's
// environment (--env GOWSGI_DEBUG_ADDR=127.0.0.1:6061), makes the worker
// answer GET /debug/goroutines on that address with its goroutine count,
// and GET /debug/nil-dereference by dereferencing a nil pointer (a Go fault
// in a worker that embeds Python must still be a panic its handler's
// recover turns into a broken connection, not a crash). It is off by
// default and meant for tests with one worker: with several, only the first
// to bind the address serves it.
const debugAddrEnv = "GOWSGI_DEBUG_ADDR"

// serveDebug starts the opt-in debug listener, if asked for.
func serveDebug(log *slog.Logger) {
	addr := os.Getenv(debugAddrEnv)
	if addr == "" {
		return
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		log.Warn("cannot serve "+debugAddrEnv, "addr", addr, "err", err)
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/goroutines", func(w http.ResponseWriter, _ *http.Request) {
		w.Write(strconv.AppendInt(nil, int64(runtime.NumGoroutine()), 10))
	})
	mux.HandleFunc("GET /debug/nil-dereference", func(w http.ResponseWriter, _ *http.Request) {
		w.Write(strconv.AppendInt(nil, int64(*nilInt), 10))
	})
	go http.Serve(l, mux)
}

// nilInt is never set: /debug/nil-dereference reads through it.
var nilInt *int
