// Command ceiling is the benchmark's Python-free upper bound: a plain Go
// net/http server that answers every request with the same bytes the WSGI
// app of one benchmark case returns, so the figure shows what the machine and
// wrk allow when no interpreter runs at all.
//
//	ceiling -bind 127.0.0.1:8000 -case hello [-procs 1]
//
// The cases mirror bench/apps (hello, body10k, echo, stream) and the hello
// views of the Flask and Django samples in pyapps. The benchmark checks the
// bytes before loading the server, so a drift from the apps is caught there.
// The stream case is the net/http peer of a WSGI generator: the same 100
// chunks, each flushed to the socket as it is written (chunked encoding).
// -procs sets GOMAXPROCS, so that the ceiling runs on as many cores as the
// servers it is compared with have workers.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
)

func main() {
	bind := flag.String("bind", "127.0.0.1:8000", "address to listen on")
	name := flag.String("case", "hello", "case to serve: hello, body10k, echo, stream, flask, django")
	procs := flag.Int("procs", 0, "GOMAXPROCS; 0: one per CPU")
	flag.Parse()
	if *procs > 0 {
		runtime.GOMAXPROCS(*procs)
	}

	handler, ok := handlers()[*name]
	if !ok {
		fmt.Fprintf(os.Stderr, "ceiling: unknown case %q\n", *name)
		os.Exit(2)
	}
	log.Fatal(http.ListenAndServe(*bind, handler))
}

// handlers returns the handler of each case by name.
func handlers() map[string]http.Handler {
	streamChunk := []byte("chunk of a streamed body\n")
	return map[string]http.Handler{
		"hello":   fixed("text/plain", []byte("Hello, World!")),
		"body10k": fixed("application/octet-stream", []byte(strings.Repeat("x", 10240))),
		"flask":   fixed("text/html; charset=utf-8", []byte("Hello from Flask!\n")),
		"django":  fixed("text/plain", []byte("Hello from Django!\n")),
		"echo": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Write(body)
		}),
		// stream flushes after each chunk, as a WSGI server sends each
		// item of a generator as it comes.
		"stream": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			flusher, _ := w.(http.Flusher)
			for range 100 {
				w.Write(streamChunk)
				if flusher != nil {
					flusher.Flush()
				}
			}
		}),
	}
}

// fixed answers every request with body and its Content-Length.
func fixed(contentType string, body []byte) http.Handler {
	length := strconv.Itoa(len(body))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Content-Length", length)
		w.Write(body)
	})
}
