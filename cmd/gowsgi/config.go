package main

import (
	"fmt"
	"sort"

	"github.com/BurntSushi/toml"
	"github.com/urfave/cli/v2"
)

// configFlags are serve's flags about its settings themselves: the
// configuration file, and --print-config.
func configFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{
			Name: "config", Aliases: []string{"c"}, EnvVars: []string{"GOWSGI_CONFIG"},
			Usage: "read settings from `FILE`: gunicorn's Python configuration (a name ending in .py, or python:MODULE), " +
				"or TOML whose keys are the long flag names; default ./gunicorn.conf.py if it exists",
		},
		&cli.BoolFlag{
			Name:  "print-config",
			Usage: "print every effective setting and where it came from, one per line, and exit",
		},
	}
}

// allServeFlags are every flag of serve.
func allServeFlags() []cli.Flag {
	return append(serveFlags(), configFlags()...)
}

// readTOML reads a TOML configuration file, whose keys are serve's long
// flag names. A key that names no flag is an error, not ignored.
func readTOML(path string, infos []flagInfo) ([]flagSetting, error) {
	var keys map[string]any
	if _, err := toml.DecodeFile(path, &keys); err != nil {
		return nil, fmt.Errorf("config file %s: %v", path, err)
	}
	kinds := map[string]flagKind{}
	for _, fi := range infos {
		kinds[fi.name] = fi.kind
	}
	var unknown []string
	var out []flagSetting
	for key, v := range keys {
		kind, ok := kinds[key]
		if !ok || key == "config" || key == "print-config" {
			unknown = append(unknown, key)
			continue
		}
		var values []string
		if list, ok := v.([]any); ok && kind == kindList {
			for _, e := range list {
				values = append(values, fmt.Sprint(e))
			}
		} else {
			values = []string{fmt.Sprint(v)}
		}
		out = append(out, flagSetting{flag: key, values: values, layer: fromFile, source: "file " + path})
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("config file %s: unknown settings %q", path, unknown)
	}
	return out, nil
}
