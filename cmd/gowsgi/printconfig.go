package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
)

// printConfig writes every effective setting and where it came from, one
// per line, "NAME = VALUE  # SOURCE": the application, serve's flags in
// the order of --help, then what became of the gunicorn settings that set
// no flag (hooks, and those ignored or refused). Warnings go to stderr. It
// fails (exit status 2) if serve would refuse to start.
func printConfig(w, stderr io.Writer, res *resolution) error {
	app, from := "none", "not given"
	if len(res.app) > 0 {
		app, from = strconv.Quote(strings.Join(res.app, " ")), res.appFrom
	}
	fmt.Fprintf(w, "app = %s  # %s\n", app, from)
	for _, fi := range serveFlagInfos() {
		if fi.name != "print-config" {
			fmt.Fprintf(w, "%s = %s  # %s\n", fi.name, formatValues(fi.kind, res.values[fi.name]), res.sources[fi.name])
		}
	}
	for _, n := range res.notes {
		fmt.Fprintf(w, "%s = %s  # %s; %s\n", n.name, n.value, n.source, n.what)
		if n.warn {
			fmt.Fprintf(stderr, "gowsgi: warning: %s = %s (%s): %s\n", n.name, n.value, n.source, n.what)
		}
	}
	if err := res.refusal(); err != nil {
		return cli.Exit(err.Error(), 2)
	}
	if _, err := res.settings(); err != nil && len(res.app) > 0 {
		return cli.Exit(err.Error(), 2)
	}
	return nil
}

// formatValues shows a flag's value: strings quoted, lists in brackets.
func formatValues(kind flagKind, values []string) string {
	switch kind {
	case kindList:
		q := make([]string, len(values))
		for i, v := range values {
			q[i] = strconv.Quote(v)
		}
		return "[" + strings.Join(q, ", ") + "]"
	case kindString:
		if len(values) == 0 {
			return `""`
		}
		return strconv.Quote(values[0])
	}
	return strings.Join(values, "")
}
