package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/gowsgi/gowsgi/wsgi"
	"github.com/urfave/cli/v2"
)

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "import the application as serve would, and report: exit 0 if it loads, 1 if not",
		ArgsUsage: "MODULE[:CALLABLE]",
		Flags:     appFlags(),
		Action:    check,
	}
}

// check loads the app in this process (check is not a supervisor, so it
// may start Python) and finalizes the interpreter, so the app's atexit
// handlers run as they would on a stop.
func check(c *cli.Context) error {
	a, err := readAppSettings(c, c.Args().Slice(), c.Command.Name)
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	if a.chdir != "" {
		if err := os.Chdir(a.chdir); err != nil {
			return cli.Exit(err.Error(), 2)
		}
	}
	app, err := wsgi.Start(wsgi.Config{
		Spec:       a.spec,
		PythonPath: a.pythonPath,
		Venv:       a.venv,
		Virtualenv: a.virtualenv,
		Argv:       os.Args,
	})
	if err != nil {
		if errors.Is(err, wsgi.ErrLoad) {
			return cli.Exit(fmt.Sprintf("%s: FAILED (the reason is above)", a.spec), 1)
		}
		return cli.Exit(err.Error(), 1)
	}
	if err := app.Close(); err != nil {
		return cli.Exit(err.Error(), 1)
	}
	fmt.Fprintf(c.App.Writer, "%s: OK (Python %s)\n", a.spec, shortVersion(wsgi.PythonVersion()))
	return nil
}

// shortVersion is the first word of sys.version, e.g. "3.11.2".
func shortVersion(v string) string {
	for i, r := range v {
		if r == ' ' {
			return v[:i]
		}
	}
	return v
}
