package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/gowsgi/gowsgi/accesslog"
)

// logs are a process's error log and, in a worker, its access log.
type logs struct {
	errors    *slog.Logger
	errorFile *accesslog.LogFile
	access    *accesslog.Logger // nil without --access-logfile
}

// openErrorLog opens --error-logfile at --log-level, in text or JSON.
func openErrorLog(s *settings) (*logs, error) {
	log, f, err := accesslog.NewErrorLogger(s.errorLogfile, s.logLevel, s.logJSON)
	if err != nil {
		return nil, fmt.Errorf("--error-logfile/--log-level: %w", err)
	}
	return &logs{errors: log, errorFile: f}, nil
}

// openAccessLog opens --access-logfile, if given.
func (l *logs) openAccessLog(s *settings) error {
	a, err := accesslog.New(accesslog.Config{
		Path: s.accessLogfile, Format: s.accessLogFormat, JSON: s.logJSON, ErrorLog: l.errors,
	})
	if err != nil {
		return fmt.Errorf("--access-logfile/--access-logformat: %w", err)
	}
	l.access = a
	return nil
}

// reopen reopens the log files (USR1, after rotation).
func (l *logs) reopen() {
	if err := l.errorFile.Reopen(); err != nil {
		l.errors.Error("cannot reopen the error log", "err", err)
	}
	if err := l.access.Reopen(); err != nil {
		l.errors.Error("cannot reopen the access log", "err", err)
	}
}

// pythonLog is what Python's lines (worker.log and server.log in the
// server hooks) become: records of log at the level of Python's logging
// level (10 debug, 20 info, 30 warning, 40 error, 50 critical).
func pythonLog(log *slog.Logger) func(level int, msg string) {
	return func(level int, msg string) {
		lv := accesslog.LevelCritical
		switch {
		case level <= 10:
			lv = slog.LevelDebug
		case level <= 20:
			lv = slog.LevelInfo
		case level <= 30:
			lv = slog.LevelWarn
		case level <= 40:
			lv = slog.LevelError
		}
		log.Log(context.Background(), lv, msg)
	}
}

// close flushes and closes the log files.
func (l *logs) close() {
	l.access.Close()
	l.errorFile.Close()
}
