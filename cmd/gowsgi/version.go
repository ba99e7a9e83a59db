package main

import (
	"fmt"
	"runtime"

	"github.com/gowsgi/gowsgi/wsgi"
	"github.com/urfave/cli/v2"
)

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "show the versions of gowsgi, Go and the embedded Python, and the virtualenv gowsgi is installed in",
		Action: func(c *cli.Context) error {
			fmt.Fprintf(c.App.Writer, "gowsgi %s\n%s %s/%s\nPython %s\n",
				Version, runtime.Version(), runtime.GOOS, runtime.GOARCH, wsgi.PythonVersion())
			// main has refused a venv of another Python
			if v, _ := installedVenv(); v.Dir != "" {
				fmt.Fprintf(c.App.Writer, "virtualenv %s (Python %s)\n", v.Dir, v.Version)
			}
			return nil
		},
	}
}
