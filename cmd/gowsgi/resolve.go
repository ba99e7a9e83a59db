package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
)

// layer is where a setting's value comes from, highest precedence first:
// the command line beats GUNICORN_CMD_ARGS, which beats the environment
// (GOWSGI_* and the other variables a flag names), which beats the
// configuration file, which beats the platform's PORT and WEB_CONCURRENCY,
// which beat the defaults.
type layer int

const (
	fromCommandLine layer = iota
	fromGunicornArgs
	fromEnv
	fromFile
	fromPlatform
	fromDefault
)

// flagKind is the type of a serve flag's value.
type flagKind int

const (
	kindString flagKind = iota
	kindList
	kindInt
	kindBool
)

// flagInfo is what resolution needs to know of a serve flag.
type flagInfo struct {
	name string
	kind flagKind
	env  []string // the environment variables that set it, first found wins
	dflt []string
}

// serveFlagInfos describes serve's flags, in the order they are declared.
func serveFlagInfos() []flagInfo {
	var infos []flagInfo
	for _, f := range allServeFlags() {
		fi := flagInfo{name: f.Names()[0]}
		switch f := f.(type) {
		case *cli.StringFlag:
			fi.kind, fi.env, fi.dflt = kindString, f.EnvVars, []string{f.Value}
		case *cli.StringSliceFlag:
			fi.kind, fi.env = kindList, f.EnvVars
			if f.Value != nil {
				fi.dflt = f.Value.Value()
			}
		case *cli.IntFlag:
			fi.kind, fi.env, fi.dflt = kindInt, f.EnvVars, []string{strconv.Itoa(f.Value)}
		case *cli.Int64Flag:
			fi.kind, fi.env, fi.dflt = kindInt, f.EnvVars, []string{strconv.FormatInt(f.Value, 10)}
		case *cli.BoolFlag:
			fi.kind, fi.env, fi.dflt = kindBool, f.EnvVars, []string{strconv.FormatBool(f.Value)}
		default:
			panic(fmt.Sprintf("gowsgi: flag %v has a type settings cannot resolve", f.Names()))
		}
		infos = append(infos, fi)
	}
	return infos
}

// check reports whether s is a value of the kind.
func (k flagKind) check(s string) error {
	switch k {
	case kindInt:
		if _, err := strconv.ParseInt(s, 0, 64); err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
	case kindBool:
		if _, err := strconv.ParseBool(s); err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
	}
	return nil
}

// flagValues are the values of serve's flags by long name, in the string
// form a command line gives them, checked against their kinds. It reads as
// a cli.Context does.
type flagValues map[string][]string

func (v flagValues) String(name string) string {
	if len(v[name]) == 0 {
		return ""
	}
	return v[name][0]
}

func (v flagValues) StringSlice(name string) []string { return v[name] }

func (v flagValues) Int64(name string) int64 {
	n, _ := strconv.ParseInt(v.String(name), 0, 64)
	return n
}

func (v flagValues) Int(name string) int { return int(v.Int64(name)) }

func (v flagValues) Bool(name string) bool {
	b, _ := strconv.ParseBool(v.String(name))
	return b
}

// resolver works out serve's settings from its command line, the
// environment and the configuration file.
type resolver struct {
	args   []string                    // serve's arguments
	lookup func(string) (string, bool) // the environment
	stderr io.Writer                   // where the Python file's own output and traceback go
}

// resolution is what a resolver worked out: the effective value of every
// flag and where it came from, the application, and what became of the
// gunicorn settings that set no flag.
type resolution struct {
	values  flagValues
	layers  map[string]layer
	sources map[string]string
	app     []string // the application spec (the command line's arguments, or wsgi_app)
	appFrom string
	notes   []note
}

// resolve reads every source. An error is a source that cannot be read
// (a configuration file that raises, a value of the wrong type); settings
// gowsgi refuses are notes, so that --print-config can show them.
func (r *resolver) resolve() (*resolution, error) {
	infos := serveFlagInfos()
	// Candidates in the order they win at the same layer: the later.
	var candidates []flagSetting
	for _, fi := range infos {
		candidates = append(candidates, flagSetting{flag: fi.name, values: fi.dflt, layer: fromDefault, source: "default"})
	}
	cmd, args, err := parseCommandLine(r.args)
	if err != nil {
		return nil, err
	}
	for name, values := range cmd {
		candidates = append(candidates, flagSetting{flag: name, values: values, layer: fromCommandLine, source: "command line"})
	}
	view := map[string]gunicornValue{}
	var gunicornArgs map[string]gunicornValue
	if s, ok := r.lookup(gunicornArgsVar); ok && strings.TrimSpace(s) != "" {
		if gunicornArgs, err = parseGunicornArgs(s); err != nil {
			return nil, err
		}
	}
	env, err := envSettings(infos, r.lookup)
	if err != nil {
		return nil, err
	}
	candidates = append(candidates, env...)

	file, err := r.configFile(cmd, gunicornArgs, env)
	if err != nil {
		return nil, err
	}
	var notes []note
	if file != nil {
		candidates = append(candidates, flagSetting{flag: "config", values: []string{file.path}, layer: file.layer, source: file.source})
		if file.python {
			pyView, pyNotes, err := r.readPython(file, cmd, env)
			if err != nil {
				return nil, err
			}
			view, notes = pyView, pyNotes
		} else {
			toml, err := readTOML(file.path, infos)
			if err != nil {
				return nil, err
			}
			candidates = append(candidates, toml...)
		}
	}
	for name, v := range gunicornArgs {
		view[name] = v
	}
	t, err := translateGunicorn(view)
	if err != nil {
		return nil, err
	}
	candidates = append(candidates, t.flags...)
	platform, err := platformSettings(r.lookup)
	if err != nil {
		return nil, err
	}
	candidates = append(candidates, platform...)

	res := &resolution{values: flagValues{}, layers: map[string]layer{}, sources: map[string]string{}, notes: append(notes, t.notes...)}
	for _, c := range candidates {
		if l, ok := res.layers[c.flag]; ok && l < c.layer {
			continue
		}
		res.values[c.flag], res.layers[c.flag], res.sources[c.flag] = c.values, c.layer, c.source
	}
	for _, fi := range infos {
		for _, v := range res.values[fi.name] {
			if err := fi.kind.check(v); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", res.sources[fi.name], fi.name, err)
			}
		}
	}
	switch {
	case len(args) > 0:
		res.app, res.appFrom = args, "command line"
	case t.app != nil:
		spec, _ := asString(t.app.value)
		res.app, res.appFrom = spec, t.app.label()
	}
	if v, ok := view["proxy_allow_ips"]; ok {
		res.checkProxyAllowIPs(v)
	}
	return res, nil
}

// configFile is the configuration file a resolution reads.
type configFile struct {
	path   string // absolute, or python:MODULE
	python bool   // gunicorn's Python format, else gowsgi's TOML
	layer  layer  // where it was named
	source string
}

// configFile finds the configuration file, as gunicorn does: the one the
// command line names, else GUNICORN_CMD_ARGS's, else GOWSGI_CONFIG's, else
// ./gunicorn.conf.py if it exists. A name ending in .py, or python:MODULE
// or file:PATH, is gunicorn's Python; any other, gowsgi's TOML.
func (r *resolver) configFile(cmd map[string][]string, gunicornArgs map[string]gunicornValue, env []flagSetting) (*configFile, error) {
	f := &configFile{}
	if v, ok := cmd["config"]; ok {
		f.path, f.layer, f.source = v[0], fromCommandLine, "command line"
	} else if v, ok := gunicornArgs["config"]; ok {
		f.path, f.layer, f.source = v.value.(string), fromGunicornArgs, v.label()
	} else if i := slices.IndexFunc(env, func(s flagSetting) bool { return s.flag == "config" }); i >= 0 {
		f.path, f.layer, f.source = env[i].values[0], fromEnv, env[i].source
	} else if _, err := os.Stat(defaultConfigFile); err == nil {
		f.path, f.layer, f.source = defaultConfigFile, fromDefault, "default (./"+defaultConfigFile+" exists)"
	} else {
		return nil, nil
	}
	if f.path == "" {
		return nil, nil
	}
	if strings.HasPrefix(f.path, "python:") {
		f.python = true
		return f, nil
	}
	f.python = strings.HasSuffix(f.path, ".py") || strings.HasPrefix(f.path, "file:")
	path := strings.TrimPrefix(f.path, "file:")
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("config file %s (%s): %w", f.path, f.source, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	f.path = abs
	return f, nil
}

// defaultConfigFile is read when no configuration file is named, as by
// gunicorn.
const defaultConfigFile = "gunicorn.conf.py"

// readPython evaluates a Python configuration file in a child process, with
// the virtualenv the command line or the environment name.
func (r *resolver) readPython(f *configFile, cmd map[string][]string, env []flagSetting) (map[string]gunicornValue, []note, error) {
	venv := ""
	if v, ok := cmd["virtualenv"]; ok {
		venv = v[0]
	} else if i := slices.IndexFunc(env, func(s flagSetting) bool { return s.flag == "virtualenv" }); i >= 0 {
		venv = env[i].values[0]
	}
	defined, err := evalPythonConfig(f.path, venv, r.stderr)
	if err != nil {
		return nil, nil, err
	}
	source := "file " + f.path
	if strings.HasPrefix(f.path, "python:") {
		source = "module " + strings.TrimPrefix(f.path, "python:")
	}
	view, notes := pythonView(defined, source)
	return view, notes, nil
}

// envSettings reads the environment variables of the flags as urfave/cli
// does: the first variable found of each flag; a list's value split at
// commas; an empty value leaves a number alone and makes a switch false.
func envSettings(infos []flagInfo, lookup func(string) (string, bool)) ([]flagSetting, error) {
	var out []flagSetting
	for _, fi := range infos {
		for _, name := range fi.env {
			v, ok := lookup(name)
			if !ok {
				continue
			}
			var values []string
			switch fi.kind {
			case kindList:
				for _, p := range strings.Split(v, ",") {
					if p = strings.TrimSpace(p); p != "" {
						values = append(values, p)
					}
				}
			case kindInt:
				if v == "" {
					continue
				}
				values = []string{v}
			case kindBool:
				if v == "" {
					v = "false"
				}
				values = []string{v}
			default:
				values = []string{v}
			}
			if err := checkAll(fi.kind, values); err != nil {
				return nil, fmt.Errorf("environment variable %s: %w", name, err)
			}
			out = append(out, flagSetting{flag: fi.name, values: values, layer: fromEnv, source: "env " + name})
			break
		}
	}
	return out, nil
}

func checkAll(k flagKind, values []string) error {
	for _, v := range values {
		if err := k.check(v); err != nil {
			return err
		}
	}
	return nil
}

// platformSettings are the defaults platforms set, as gunicorn reads
// them: PORT makes the default bind 0.0.0.0:$PORT, WEB_CONCURRENCY the
// default number of workers.
func platformSettings(lookup func(string) (string, bool)) ([]flagSetting, error) {
	var out []flagSetting
	if port, ok := lookup("PORT"); ok && port != "" {
		out = append(out, flagSetting{flag: "bind", values: []string{"0.0.0.0:" + port}, layer: fromPlatform, source: "env PORT"})
	}
	if n, ok := lookup("WEB_CONCURRENCY"); ok && n != "" {
		if _, err := strconv.Atoi(strings.TrimSpace(n)); err != nil {
			return nil, fmt.Errorf("environment variable WEB_CONCURRENCY: %q is not a whole number", n)
		}
		out = append(out, flagSetting{flag: "workers", values: []string{strings.TrimSpace(n)}, layer: fromPlatform, source: "env WEB_CONCURRENCY"})
	}
	return out, nil
}

// checkProxyAllowIPs warns when proxy_allow_ips is not the list gowsgi
// uses for PROXY headers: --forwarded-allow-ips.
func (res *resolution) checkProxyAllowIPs(v gunicornValue) {
	l, _ := asAddressList(v.value)
	n := note{name: "proxy_allow_ips", value: printable(v.value), source: v.label()}
	if addressSet(strings.Join(l, ",")) == addressSet(res.values.String("forwarded-allow-ips")) {
		n.what = "as --forwarded-allow-ips, which gowsgi uses for PROXY headers too"
	} else {
		n.what = "ignored: gowsgi believes PROXY headers from --forwarded-allow-ips peers (" + res.values.String("forwarded-allow-ips") + ") only"
		n.warn = true
	}
	res.notes = append(res.notes, n)
}

// addressSet normalises a comma-separated address list for comparison.
func addressSet(s string) string {
	var l []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			l = append(l, a)
		}
	}
	slices.Sort(l)
	return strings.Join(slices.Compact(l), ",")
}

// refusal is the error for the settings gowsgi refuses to start with, or
// nil.
func (res *resolution) refusal() error {
	var reasons []string
	for _, n := range res.notes {
		if n.refuse {
			reasons = append(reasons, fmt.Sprintf("%s = %s (%s): %s", n.name, n.value, n.source, strings.TrimPrefix(n.what, "refused: ")))
		}
	}
	if len(reasons) == 0 {
		return nil
	}
	return errors.New("cannot serve with " + strings.Join(reasons, "; "))
}

// settings checks the resolved values and turns them into settings.
func (res *resolution) settings() (*settings, error) {
	s, err := readSettings(res.values, res.app)
	if err != nil {
		return nil, err
	}
	// PORT's bind is a default: systemd's sockets beat it.
	s.bindGiven = res.layers["bind"] < fromPlatform
	return s, nil
}

// parseCommandLine parses serve's arguments as serve does, but blind to
// the environment, so that what it finds set was set on the command line.
// It returns those flags' values and the arguments after the flags.
func parseCommandLine(args []string) (map[string][]string, []string, error) {
	var got *cli.Context
	flags := withoutEnv(allServeFlags())
	app := &cli.App{
		Name: "gowsgi", Writer: io.Discard, ErrWriter: io.Discard, HideHelp: true, HideVersion: true,
		Commands: []*cli.Command{{
			Name: "serve", Flags: flags, HideHelp: true,
			OnUsageError: func(_ *cli.Context, err error, _ bool) error { return err },
			Action:       func(c *cli.Context) error { got = c; return nil },
		}},
	}
	if err := app.Run(append([]string{"gowsgi", "serve"}, args...)); err != nil {
		return nil, nil, err
	}
	set := map[string][]string{}
	for _, f := range flags {
		name := f.Names()[0]
		if !got.IsSet(name) {
			continue
		}
		switch f.(type) {
		case *cli.StringSliceFlag:
			set[name] = got.StringSlice(name)
		case *cli.IntFlag, *cli.Int64Flag:
			set[name] = []string{strconv.FormatInt(got.Int64(name), 10)}
		case *cli.BoolFlag:
			set[name] = []string{strconv.FormatBool(got.Bool(name))}
		default:
			set[name] = []string{got.String(name)}
		}
	}
	return set, got.Args().Slice(), nil
}

// withoutEnv copies flags without their environment variables.
func withoutEnv(flags []cli.Flag) []cli.Flag {
	out := make([]cli.Flag, len(flags))
	for i, f := range flags {
		switch f := f.(type) {
		case *cli.StringFlag:
			g := *f
			g.EnvVars = nil
			out[i] = &g
		case *cli.StringSliceFlag:
			g := *f
			g.EnvVars = nil
			out[i] = &g
		case *cli.IntFlag:
			g := *f
			g.EnvVars = nil
			out[i] = &g
		case *cli.Int64Flag:
			g := *f
			g.EnvVars = nil
			out[i] = &g
		case *cli.BoolFlag:
			g := *f
			g.EnvVars = nil
			out[i] = &g
		default:
			panic(fmt.Sprintf("gowsgi: flag %v has a type settings cannot resolve", f.Names()))
		}
	}
	return out
}
