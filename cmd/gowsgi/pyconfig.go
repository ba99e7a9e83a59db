package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/gowsgi/gowsgi/wsgi"
	"github.com/urfave/cli/v2"
)

// evalConfigSource evaluates a gunicorn configuration file; see its comment.
//
//go:embed evalconfig.py
var evalConfigSource string

// evalConfigTimeout bounds the evaluation of a configuration file: one
// that hangs (waiting on the network, say) must not hold the supervisor,
// which reads the file again on each reload.
const evalConfigTimeout = 30 * time.Second

// evalConfigCommand is the hidden command serve runs, as a child process,
// to evaluate a Python configuration file: the supervisor itself never
// starts Python.
func evalConfigCommand() *cli.Command {
	return &cli.Command{
		Name:      "_eval-config",
		Hidden:    true,
		Usage:     "evaluate a gunicorn configuration file and print what it defines as JSON (serve runs it)",
		ArgsUsage: "FILE [VIRTUALENV]",
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 || c.NArg() > 2 {
				return cli.Exit("_eval-config takes a file and a virtualenv", 2)
			}
			code, err := wsgi.RunCommand(evalConfigSource, c.Args().Get(0), c.Args().Get(1))
			if err != nil {
				return cli.Exit(err.Error(), 1)
			}
			os.Exit(code)
			return nil
		},
	}
}

// pyDefined is a name a configuration file defined, as _eval-config
// describes it.
type pyDefined struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`  // "value", "function", "class" or "object"
	Value any    `json:"value"` // kind value: its JSON
	Text  string `json:"text"`  // otherwise: its qualified name, or its repr
}

// evalPythonConfig evaluates a Python configuration file in a child
// process (this binary's _eval-config), with venv's site-packages if set,
// and returns the names it defines. What the file prints, and the
// traceback of a file that raises, go to stderr.
func evalPythonConfig(target, venv string, stderr io.Writer) ([]pyDefined, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cannot find this executable to evaluate %s: %w", target, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), evalConfigTimeout)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, exe, "_eval-config", target, venv)
	cmd.Stdout, cmd.Stderr = &out, stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("config file %s did not finish in %v", target, evalConfigTimeout)
		}
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return nil, fmt.Errorf("config file %s failed (%v); its traceback is above", target, err)
		}
		return nil, fmt.Errorf("config file %s: %w", target, err)
	}
	var got struct {
		Settings []pyDefined `json:"settings"`
	}
	dec := json.NewDecoder(&out)
	dec.UseNumber()
	if err := dec.Decode(&got); err != nil {
		return nil, fmt.Errorf("config file %s: reading what it defines: %w", target, err)
	}
	return got.Settings, nil
}

// pythonView sorts the names a configuration file defined: gunicorn's
// settings, by name, for translateGunicorn; and notes for the lower-case
// names that are no setting (gunicorn ignores them silently; a misspelt
// setting is worth a line). Other names (constants, helper functions,
// classes) are passed over, as gunicorn does.
func pythonView(defined []pyDefined, source string) (map[string]gunicornValue, []note) {
	view := map[string]gunicornValue{}
	var notes []note
	for _, d := range defined {
		v := gunicornValue{value: d.Value, layer: fromFile, source: source, origin: d.Name}
		if d.Kind != "value" {
			v.value = pyObject{kind: d.Kind, name: d.Text}
		}
		switch {
		case gunicornSettingNamed(d.Name) != nil:
			view[d.Name] = v
		case d.Name == strings.ToLower(d.Name) && (d.Kind == "value" || d.Kind == "object"):
			notes = append(notes, note{name: d.Name, value: printable(v.value), source: v.label(),
				what: "ignored: not a gunicorn setting", warn: true})
		}
	}
	return view, notes
}

// pyConfigFile is the gunicorn-style Python configuration file among the
// resolved settings (--config, made absolute by the resolution), whose
// server hooks run (hooks.go, hookrunner.go); "" for none: no file, a TOML
// one, or python:MODULE (its hooks are not run: the README says so).
func pyConfigFile(config string) string {
	if strings.HasSuffix(config, ".py") {
		return config
	}
	return ""
}
