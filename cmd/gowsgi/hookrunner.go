package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/gowsgi/gowsgi/wsgi"
	"github.com/urfave/cli/v2"
)

// The hook runner runs the supervisor's hooks of a Python config file
// (on_starting, when_ready, on_reload, on_exit, child_exit,
// nworkers_changed) in an interpreter of its own: `gowsgi _hooks [flags]
// FILE`, a process the supervisor starts beside its workers (hookclient.go),
// as the supervisor never starts Python. Threads the hooks start (when_ready
// often starts one) live in it.
//
// The protocol is one JSON object per line. The runner reads events on file
// descriptor 3 and writes replies on 4. Once it has run the file it replies
// {"id": 0, "hooks": [NAMES]}, the supervisor hooks the file defines; with
// none it exits at once. Then for each event, {"id": N, "hook": NAME, ...}
// (see wsgi.HookRunner.Run; the event "reload" runs the file again), it
// replies {"id": N, "hooks": [NAMES]} once the hook has returned. When
// descriptor 3 ends it finalizes Python and exits.

// hookRunnerCommand is the runner's hidden subcommand.
const hookRunnerCommand = "_hooks"

// The runner's descriptors, after stdin, stdout and stderr.
const (
	hookEventsFD  = 3
	hookRepliesFD = 4
)

// hookReply is a line from the runner: the hooks the file defines, at
// start-up (ID 0) or after event ID.
type hookReply struct {
	ID    int64    `json:"id"`
	Hooks []string `json:"hooks"`
}

func hookRunnerCommandDef() *cli.Command {
	return &cli.Command{
		Name:      hookRunnerCommand,
		Hidden:    true,
		Usage:     "run the supervisor hooks of a Python config file for gowsgi serve (internal)",
		ArgsUsage: "FILE",
		Flags:     pickFlags(serveFlags(), "chdir", "pythonpath", "virtualenv", "error-logfile", "log-level", "log-json"),
		Action:    runHookRunner,
	}
}

// pickFlags returns the flags of flags with the given names, in order.
func pickFlags(flags []cli.Flag, names ...string) []cli.Flag {
	return slices.DeleteFunc(flags, func(f cli.Flag) bool { return !slices.Contains(names, f.Names()[0]) })
}

// runHookRunner is the runner's process. Its main goroutine stays on the
// main thread (see init), which becomes Python's main thread.
func runHookRunner(c *cli.Context) error {
	if c.NArg() != 1 {
		return cli.Exit("_hooks takes the config file", 2)
	}
	s := &settings{
		appSettings:  appSettings{chdir: c.String("chdir"), pythonPath: c.StringSlice("pythonpath"), virtualenv: c.String("virtualenv")},
		errorLogfile: c.String("error-logfile"),
		logLevel:     c.String("log-level"),
		logJSON:      c.Bool("log-json"),
	}
	logs, err := openErrorLog(s)
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	defer logs.close()
	// Python's own output (a hook's print to stderr, faulthandler) goes to
	// the error log, as in a worker.
	if err := logs.errorFile.RedirectStderr(); err != nil {
		logs.errors.Error("cannot send standard error to the error log", "err", err)
	}
	log := logs.errors.With("hooks", "runner", "pid", os.Getpid())
	// The supervisor's signals are not the runner's: a terminal's Ctrl-C
	// reaches the whole process group and systemd's stop the whole cgroup,
	// but the runner must live until the supervisor has run on_exit and
	// closes its events. USR1 comes from the supervisor, after log rotation.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGHUP,
		syscall.SIGTTIN, syscall.SIGTTOU)
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	go func() {
		for range usr1 {
			logs.reopen()
		}
	}()
	if s.chdir != "" {
		if err := os.Chdir(s.chdir); err != nil {
			return cli.Exit(err.Error(), 1)
		}
	}
	// Processes the hooks start must not hold the supervisor's pipes.
	syscall.CloseOnExec(hookEventsFD)
	syscall.CloseOnExec(hookRepliesFD)
	events, replies := os.NewFile(hookEventsFD, "hook events"), os.NewFile(hookRepliesFD, "hook replies")

	h, err := wsgi.StartHookRunner(wsgi.HookRunnerConfig{
		File:       c.Args().First(),
		PythonPath: s.pythonPath,
		Virtualenv: s.virtualenv,
		Argv:       os.Args,
		Log:        pythonLog(log),
	})
	if err != nil {
		if !errors.Is(err, wsgi.ErrLoad) {
			log.Error("cannot start Python", "err", err)
		}
		return cli.Exit(fmt.Sprintf("%s: the server hooks could not be loaded (the reason is above)", c.Args().First()), 1)
	}
	if err := writeLine(replies, hookReply{Hooks: h.Defined()}); err != nil || len(h.Defined()) == 0 {
		return h.Close()
	}
	sc := bufio.NewScanner(events)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		var ev struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			log.Error("malformed hook event", "event", sc.Text(), "err", err)
			continue
		}
		if err := h.Run(sc.Text()); err != nil {
			log.Error("hook event failed", "event", sc.Text(), "err", err)
		}
		if err := writeLine(replies, hookReply{ID: ev.ID, Hooks: h.Defined()}); err != nil {
			break // the supervisor is gone
		}
	}
	if err := h.Close(); err != nil {
		log.Warn("Python finalization", "err", err)
	}
	return nil
}

// writeLine writes v to f as one JSON line.
func writeLine(f *os.File, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %T: %w", v, err)
	}
	_, err = f.Write(append(b, '\n'))
	return err
}
