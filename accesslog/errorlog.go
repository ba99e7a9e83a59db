package accesslog

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// LevelCritical is gunicorn's critical level, above slog.LevelError. Error
// log lines show it as CRITICAL.
const LevelCritical = slog.LevelError + 4

// ParseLevel returns the slog level of a gunicorn --log-level name: debug,
// info, warning, error or critical, in any case.
func ParseLevel(name string) (slog.Level, error) {
	switch strings.ToLower(name) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	case "critical":
		return LevelCritical, nil
	}
	return 0, fmt.Errorf("invalid log level %q (want debug, info, warning, error or critical)", name)
}

// NewErrorLogger returns the error log: a slog.Logger writing records at
// level and above to path ("-" or "" for stderr), as text lines
// (time=... level=INFO msg=...) or, with json, as one JSON object per line.
// The LogFile it returns reopens the file for rotation, redirects fd 2 to it
// (LogFile.RedirectStderr) and closes it.
func NewErrorLogger(path, level string, json bool) (*slog.Logger, *LogFile, error) {
	lv, err := ParseLevel(level)
	if err != nil {
		return nil, nil, err
	}
	if path == "" {
		path = "-"
	}
	f, err := openLogFile(path, os.Stderr)
	if err != nil {
		return nil, nil, fmt.Errorf("error log: %w", err)
	}
	return slog.New(newHandler(f, lv, json)), f, nil
}

// newHandler returns the text or JSON handler of the error log.
func newHandler(w io.Writer, level slog.Level, json bool) slog.Handler {
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: nameCritical}
	if json {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

// nameCritical shows LevelCritical as CRITICAL rather than slog's ERROR+4.
func nameCritical(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.LevelKey {
		if lv, ok := a.Value.Any().(slog.Level); ok && lv >= LevelCritical {
			a.Value = slog.StringValue("CRITICAL")
		}
	}
	return a
}
