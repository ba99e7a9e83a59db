package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/gowsgi/gowsgi/prefork"
)

// settingsVar carries the settings the parent resolved to its workers,
// which read no other source: a worker never evaluates the configuration
// file, and one started after a reload has the settings that reload read.
const settingsVar = "GOWSGI_RESOLVED_SETTINGS"

// workerSnapshot is what settingsVar holds.
type workerSnapshot struct {
	Flags flagValues `json:"flags"`
	App   []string   `json:"app"`
	// Dir is the parent's working directory, which relative paths in the
	// settings are relative to: a worker forked from a zygote starts in
	// --chdir, not there.
	Dir string `json:"dir"`
}

// workerEnv is the environment the parent adds to its workers': --env's
// entries and the settings.
func (res *resolution) workerEnv(s *settings) ([]string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(workerSnapshot{Flags: res.values, App: res.app, Dir: dir})
	if err != nil {
		return nil, err
	}
	return append(slices.Clone(s.env), settingsVar+"="+string(b)), nil
}

// workerSettings reads the settings the parent passed, and takes them out
// of the environment the application will see.
func workerSettings() (*settings, error) {
	v, ok := os.LookupEnv(settingsVar)
	if !ok {
		return nil, errors.New("a worker takes its settings from its parent, and there are none (" + settingsVar + ")")
	}
	os.Unsetenv(settingsVar)
	var snap workerSnapshot
	if err := json.Unmarshal([]byte(v), &snap); err != nil {
		return nil, fmt.Errorf("%s: %w", settingsVar, err)
	}
	if err := os.Chdir(snap.Dir); err != nil {
		return nil, fmt.Errorf("the parent's directory: %w", err)
	}
	return readSettings(snap.Flags, snap.App)
}

// parentConfig is the parent's settings and how to read them again.
type parentConfig struct {
	resolver resolver
	current  *resolution
	settings *settings
	log      *slog.Logger
}

// parentOnlyFlags are the settings the parent applies once, at start (the
// sockets, the workers' user, the parent's own logs): a reload that would
// change one keeps it and logs that a restart is needed. The workers get
// the same value, so they log as their parent does.
var parentOnlyFlags = []string{"bind", "backlog", "reuse-port", "umask", "user", "group", "pid",
	"metrics-bind", "reload", "error-logfile", "log-level", "log-json", "preload"}

// reload reads every source again, at SIGHUP (prefork's Reconfigure): the
// new generation of workers gets the new settings, and so do the number
// of workers (if the configuration changed it), --graceful-timeout,
// --timeout and --max-worker-memory. A source that cannot be read, or a
// setting gowsgi refuses, fails the reload: the workers serve on as they
// were.
func (p *parentConfig) reload() (prefork.Reload, error) {
	var output bytes.Buffer
	r := p.resolver
	r.stderr = &output
	next, err := r.resolve()
	if output.Len() > 0 {
		p.log.Info("the configuration file wrote", "output", strings.TrimSpace(output.String()))
	}
	if err == nil {
		err = next.refusal()
	}
	if err != nil {
		return prefork.Reload{}, fmt.Errorf("settings: %w", err)
	}
	for _, name := range parentOnlyFlags {
		if was := p.current.values[name]; !slices.Equal(next.values[name], was) {
			p.log.Warn("setting changed; it takes effect at the next start", "setting", name,
				"running", strings.Join(was, ","), "read", strings.Join(next.values[name], ","), "source", next.sources[name])
			next.values[name], next.sources[name], next.layers[name] = was, p.current.sources[name], p.current.layers[name]
		}
	}
	s, err := next.settings()
	if err != nil {
		return prefork.Reload{}, fmt.Errorf("settings: %w", err)
	}
	env, err := next.workerEnv(s)
	if err != nil {
		return prefork.Reload{}, err
	}
	next.logWarnings(p.log)
	rl := prefork.Reload{Env: env, GracefulTimeout: s.gracefulTimeout, RequestTimeout: s.timeout, MaxWorkerMemory: s.maxWorkerMemoryMB << 20}
	// The configured number, if it changed: otherwise TTIN and TTOU's
	// changes stand.
	if s.workers != p.settings.workers {
		rl.Workers = s.workers
	}
	p.current, p.settings = next, s
	return rl, nil
}

// logWarnings logs each setting worth a warning, once per reading.
func (res *resolution) logWarnings(log *slog.Logger) {
	for _, n := range res.notes {
		if n.warn {
			log.Warn("setting not applied", "setting", n.name, "value", n.value, "source", n.source, "effect", n.what)
		}
	}
}
