package main

import (
	"sync"

	"github.com/gowsgi/gowsgi/wsgi"
)

// installedVenv is the virtualenv this binary is installed in (pip puts it
// at <venv>/bin/gowsgi); its Dir is empty outside one. It is found once:
// the parent and each worker, the same binary, find the same one.
var installedVenv = sync.OnceValues(wsgi.ExecutableVenv)

// checkInstalledVenv refuses, before anything starts, a virtualenv made
// with another Python than the one gowsgi is built for: a wheel for 3.11
// copied or forced into a 3.12 venv would otherwise run 3.11 against the
// venv's 3.12 packages.
func checkInstalledVenv() error {
	v, err := installedVenv()
	if err != nil {
		return err
	}
	return v.CheckVersion()
}

// virtualenvEnvVars are the variables --virtualenv is read from:
// $VIRTUAL_ENV, the environment activated in the shell, only when gowsgi is
// not installed in a virtualenv; when it is, that one is the app's,
// whatever shell runs it.
func virtualenvEnvVars() []string {
	if v, _ := installedVenv(); v.Dir != "" {
		return []string{"GOWSGI_VIRTUALENV"}
	}
	return []string{"GOWSGI_VIRTUALENV", "VIRTUAL_ENV"}
}
