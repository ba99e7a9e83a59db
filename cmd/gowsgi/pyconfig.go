package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"
)

// defaultPyConfig is the config file gunicorn reads when none is named.
const defaultPyConfig = "gunicorn.conf.py"

// pyConfigPath is the gunicorn-style Python config file serve reads, found
// as gunicorn finds it: the --config (-c, GOWSGI_CONFIG) file when its name
// ends in .py (any other is gowsgi's TOML), else ./gunicorn.conf.py when it
// exists and no --config is given; "" for none. The path is absolute, so
// that a worker, which changes to --chdir, reads the same file.
func pyConfigPath(c *cli.Context) (string, error) {
	path := c.String(configFlag.Name)
	switch {
	case path == "":
		if fi, err := os.Stat(defaultPyConfig); err != nil || fi.IsDir() {
			return "", nil
		}
		path = defaultPyConfig
	case !strings.HasSuffix(path, ".py"):
		return "", nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("--config %s: %w", path, err)
	}
	if fi, err := os.Stat(abs); err != nil || fi.IsDir() {
		return "", fmt.Errorf("--config %s: not a readable file", path)
	}
	return abs, nil
}
