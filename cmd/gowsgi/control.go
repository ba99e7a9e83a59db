package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/gowsgi/gowsgi/control"
	"github.com/gowsgi/gowsgi/prefork"
)

// openControl opens the control socket for sup (nil with
// --no-control-socket). A --control-socket that cannot be opened is an
// error; the default path is only worth a warning, as a second server in
// the same directory finds ./gowsgi.ctl taken.
func openControl(s *settings, sup *prefork.Supervisor, log *slog.Logger) (*control.Server, error) {
	if s.noControlSocket {
		return nil, nil
	}
	path := s.controlSocket
	if path == "" {
		path = control.DefaultPath(os.Getpid())
	}
	srv, err := control.Listen(path, sup, log)
	if err != nil {
		if s.controlSocket != "" {
			return nil, fmt.Errorf("--control-socket: %w", err)
		}
		log.Warn("no control socket: gowsgi ctl cannot reach this server", "path", path, "err", err)
		return nil, nil
	}
	log.Info("control socket", "path", srv.Path())
	return srv, nil
}
