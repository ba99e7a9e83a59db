// Command gowsgi serves a Python WSGI application over HTTP/1.1 from Go,
// running the application on embedded CPython in supervised worker
// processes.
package main

import (
	"fmt"
	"os"
	"runtime"

	"github.com/urfave/cli/v2"
)

// Version is gowsgi's version, set at build time with
// -ldflags "-X main.Version=...".
var Version = "0.1.0-dev"

func init() {
	// The main goroutine keeps the main thread: in a worker it initialises
	// Python, which makes this thread Python's main thread for life.
	runtime.LockOSThread()
}

func main() {
	app := &cli.App{
		Name:    "gowsgi",
		Usage:   "a WSGI server in Go, running Python apps on embedded CPython",
		Version: Version,
		Commands: []*cli.Command{
			serveCommand(),
			versionCommand(),
		},
		ExitErrHandler: func(c *cli.Context, err error) {
			if err != nil {
				fmt.Fprintf(os.Stderr, "gowsgi: %v\n", err)
				code := 1
				if ec, ok := err.(cli.ExitCoder); ok {
					code = ec.ExitCode()
				}
				os.Exit(code)
			}
		},
	}
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintf(os.Stderr, "gowsgi: %v\n", err)
		os.Exit(1)
	}
}
