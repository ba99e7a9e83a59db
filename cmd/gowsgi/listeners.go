package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/gowsgi/gowsgi/prefork"
)

// openListeners binds the --bind addresses, or, when none was given and
// systemd passed sockets (LISTEN_FDS), takes those.
func openListeners(s *settings, log *slog.Logger) ([]*os.File, error) {
	if !s.bindGiven && os.Getenv("LISTEN_FDS") != "" {
		files, err := prefork.SystemdListeners()
		if err != nil {
			return nil, fmt.Errorf("systemd socket activation: %w", err)
		}
		if len(files) > 0 {
			for _, f := range files {
				log.Info("listening", "address", f.Name(), "from", "systemd")
			}
			return files, nil
		}
	}
	lc := prefork.ListenConfig{Backlog: s.backlog, ReusePort: s.reusePort, Umask: s.umask}
	var files []*os.File
	for _, addr := range s.binds {
		f, err := lc.Listen(addr)
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			return nil, fmt.Errorf("cannot listen on %s: %w", addr, err)
		}
		files = append(files, f)
		log.Info("listening", "address", f.Name())
	}
	return files, nil
}
