// Command gowsgi serves a Python WSGI application over HTTP/1.1 from Go,
// running the application on embedded CPython in supervised worker
// processes.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/gowsgi/gowsgi/wsgi"

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
	if env, ok := wsgi.PreloadedWorker(); ok {
		// A worker forked from a zygote has the zygote's environment
		// until it takes the one the supervisor sent for it.
		os.Clearenv()
		for _, kv := range env {
			if k, v, ok := strings.Cut(kv, "="); ok {
				os.Setenv(k, v)
			}
		}
	}
	app := &cli.App{
		Name:         "gowsgi",
		OnUsageError: usageError,
		Usage:        "a WSGI server in Go, running Python apps on embedded CPython",
		Version:      Version,
		Commands: []*cli.Command{
			serveCommand(),
			checkCommand(),
			ctlCommand(),
			versionCommand(),
			evalConfigCommand(),
			hookRunnerCommandDef(),
		},
		ExitErrHandler: func(c *cli.Context, err error) {
			if err != nil {
				fmt.Fprintf(os.Stderr, "gowsgi: %v\n", err)
				code := 2 // a usage error: bad flag or argument
				if ec, ok := err.(cli.ExitCoder); ok {
					code = ec.ExitCode()
				}
				os.Exit(code)
			}
		},
	}
	for _, c := range app.Commands {
		c.OnUsageError = usageError
		for _, sub := range c.Subcommands {
			sub.OnUsageError = subcommandUsageError(c.Name)
		}
	}
	if err := checkInstalledVenv(); err != nil {
		fmt.Fprintf(os.Stderr, "gowsgi: %v\n", err)
		os.Exit(2)
	}
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintf(os.Stderr, "gowsgi: %v\n", err)
		os.Exit(2)
	}
}

// usageError reports a bad flag in one line (exit status 2), rather than
// with the whole help text.
func usageError(c *cli.Context, err error, _ bool) error {
	help := "gowsgi --help"
	if c.Command != nil && c.Command.Name != "" && c.Command.Name != c.App.Name {
		help = "gowsgi " + c.Command.Name + " --help"
	}
	return cli.Exit(fmt.Sprintf("%v (see %s)", err, help), 2)
}

// subcommandUsageError reports a bad flag of a subcommand of parent (gowsgi
// ctl status --bogus) as usageError does.
func subcommandUsageError(parent string) cli.OnUsageErrorFunc {
	return func(c *cli.Context, err error, _ bool) error {
		return cli.Exit(fmt.Sprintf("%v (see gowsgi %s %s --help)", err, parent, c.Command.Name), 2)
	}
}
