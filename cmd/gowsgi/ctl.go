package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gowsgi/gowsgi/control"
	"github.com/urfave/cli/v2"
)

// ctlTimeout bounds a command's exchange with the server; the longest
// command, dump, waits at most 5 s for its worker.
const ctlTimeout = 30 * time.Second

func ctlCommand() *cli.Command {
	pidArg := func(name, usage string, run func(c *cli.Context, path string, pid int) error) *cli.Command {
		return &cli.Command{Name: name, Usage: usage, ArgsUsage: "PID", Action: func(c *cli.Context) error {
			pid, err := intArg(c, "PID")
			if err != nil {
				return err
			}
			path, err := ctlSocket(c)
			if err != nil {
				return err
			}
			return run(c, path, pid)
		}}
	}
	return &cli.Command{
		Name:  "ctl",
		Usage: "operate a running server through its control socket",
		Description: "Each command goes to the server's supervisor, which runs it as it handles signals. " +
			"The socket is the server's --control-socket; without --socket, the one server's default socket is found.",
		Flags: []cli.Flag{
			&cli.StringFlag{
				Name: "socket", EnvVars: []string{"GOWSGI_CONTROL_SOCKET"},
				Usage: "the server's control socket `PATH` (default: the only $XDG_RUNTIME_DIR/gowsgi-PID.ctl, or ./gowsgi.ctl)",
			},
		},
		Subcommands: []*cli.Command{
			{
				Name: "status", Usage: "show the workers (state, requests, memory, the request running), the listeners' backlogs and the restarts",
				Flags:  []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print one JSON object"}},
				Action: ctlStatus,
			},
			simpleCtl(control.CmdReload, "reload the workers with no failed request, as HUP does", "reloading"),
			{
				Name: "workers", Usage: "set the number of workers, as repeated TTIN/TTOU would", ArgsUsage: "N",
				Action: ctlWorkers,
			},
			simpleCtl(control.CmdStop, "stop gracefully, as TERM does; returns once the server has begun", "stopping"),
			simpleCtl(control.CmdReopen, "reopen the log files, as USR1 does", "reopening the log files"),
			pidArg(control.CmdKill, "replace one worker: it stops gracefully, and a new one starts", ctlKill),
			pidArg(control.CmdDump, "print every thread's Python traceback of one worker, which goes on serving", ctlDump),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return cli.Exit("ctl needs a command: "+strings.Join(control.Commands, ", ")+" (see gowsgi ctl --help)", 2)
			}
			return cli.Exit(fmt.Sprintf("unknown command %q: want one of %s (see gowsgi ctl --help)",
				c.Args().First(), strings.Join(control.Commands, ", ")), 2)
		},
	}
}

// simpleCtl is a command with no argument and an empty result, which
// prints done when the server has acknowledged it.
func simpleCtl(name, usage, done string) *cli.Command {
	return &cli.Command{Name: name, Usage: usage, Action: func(c *cli.Context) error {
		if c.NArg() > 0 {
			return cli.Exit(fmt.Sprintf("%s takes no argument, got %q", name, c.Args().Slice()), 2)
		}
		if err := call(c, control.Request{Command: name}, nil); err != nil {
			return err
		}
		fmt.Fprintln(c.App.Writer, done)
		return nil
	}}
}

// ctlSocket is --socket, or the default server's socket.
func ctlSocket(c *cli.Context) (string, error) {
	if p := c.String("socket"); p != "" {
		return p, nil
	}
	p, err := control.FindSocket()
	if err != nil {
		return "", cli.Exit(err.Error(), 1)
	}
	return p, nil
}

// call sends req to the server and decodes its result: a failure is exit
// status 1.
func call(c *cli.Context, req control.Request, result any) error {
	path, err := ctlSocket(c)
	if err != nil {
		return err
	}
	return callAt(path, req, result)
}

// callAt is call on a known socket.
func callAt(path string, req control.Request, result any) error {
	if err := control.Call(path, req, result, ctlTimeout); err != nil {
		var se *control.ServerError
		if errors.As(err, &se) {
			return cli.Exit("the server refused: "+se.Message, 1)
		}
		return cli.Exit(err.Error(), 1)
	}
	return nil
}

// intArg reads the command's one argument, a positive integer.
func intArg(c *cli.Context, name string) (int, error) {
	if c.NArg() != 1 {
		return 0, cli.Exit(fmt.Sprintf("%s takes one argument, %s", c.Command.Name, name), 2)
	}
	n, err := strconv.Atoi(c.Args().First())
	if err != nil || n < 1 {
		return 0, cli.Exit(fmt.Sprintf("%s %s: %s must be a whole number of at least 1", c.Command.Name, c.Args().First(), name), 2)
	}
	return n, nil
}

func ctlWorkers(c *cli.Context) error {
	n, err := intArg(c, "N")
	if err != nil {
		return err
	}
	var r control.WorkersResult
	if err := call(c, control.Request{Command: control.CmdWorkers, N: n}, &r); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "workers: %d, were %d\n", r.Workers, r.Was)
	return nil
}

func ctlKill(c *cli.Context, path string, pid int) error {
	var r control.KillResult
	if err := callAt(path, control.Request{Command: control.CmdKill, PID: pid}, &r); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "worker %d (pid %d) is stopping; a new worker is starting\n", r.Worker, r.PID)
	return nil
}

func ctlDump(c *cli.Context, path string, pid int) error {
	var r control.DumpResult
	if err := callAt(path, control.Request{Command: control.CmdDump, PID: pid}, &r); err != nil {
		return err
	}
	io.WriteString(c.App.Writer, r.Tracebacks)
	return nil
}

func ctlStatus(c *cli.Context) error {
	if c.NArg() > 0 {
		return cli.Exit(fmt.Sprintf("status takes no argument, got %q", c.Args().Slice()), 2)
	}
	var st control.StatusResult
	if err := call(c, control.Request{Command: control.CmdStatus}, &st); err != nil {
		return err
	}
	if c.Bool("json") {
		b, err := json.Marshal(st)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "%s\n", b)
		return nil
	}
	writeStatus(c.App.Writer, &st)
	return nil
}

// writeStatus prints a status as tables: the workers, the listeners, the
// restarts.
func writeStatus(out io.Writer, st *control.StatusResult) {
	state := ""
	switch {
	case st.Stopping:
		state = ", stopping"
	case st.Reloading:
		state = ", reloading"
	}
	waiting, backlog := 0, 0
	for _, w := range st.Workers {
		waiting += w.Waiting
	}
	for _, l := range st.Listeners {
		if l.Backlog != nil {
			backlog += *l.Backlog
		}
	}
	fmt.Fprintf(out, "gowsgi pid %d, up %s, %d workers wanted%s\n", st.PID, age(st.UptimeSeconds), st.WorkersWanted, state)
	fmt.Fprintf(out, "queue: %d waiting to be accepted, %d waiting for a thread\n\n", backlog, waiting)

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKER\tPID\tAGE\tSTATE\tREQUESTS\tRSS\tIN FLIGHT\tWAITING\tCURRENT")
	for _, w := range st.Workers {
		current := "-"
		if w.Current != nil {
			current = fmt.Sprintf("%s (%s)", w.Current.Request, age(w.Current.RunningSeconds))
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%d\t%s\t%d\t%d\t%s\n",
			w.ID, w.PID, age(w.AgeSeconds), w.State, w.Requests, megabytes(w.RSSBytes), w.InFlight, w.Waiting, current)
	}
	if len(st.Zygotes) > 0 {
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "ZYGOTE\tPID\tAGE\tSTATE")
		for i, z := range st.Zygotes {
			fmt.Fprintf(tw, "%d\t%d\t%s\t%s\n", i+1, z.PID, age(z.AgeSeconds), z.State)
		}
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "LISTENER\tBACKLOG\tMAX")
	for _, l := range st.Listeners {
		n, limit := "?", "?"
		if l.Backlog != nil {
			n, limit = strconv.Itoa(*l.Backlog), strconv.Itoa(*l.BacklogMax)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", l.Address, n, limit)
	}
	tw.Flush()

	var total uint64
	var causes []string
	for cause, n := range st.RestartCounts {
		total += n
		if n > 0 {
			causes = append(causes, fmt.Sprintf("%s %d", cause, n))
		}
	}
	slices.Sort(causes)
	fmt.Fprintf(out, "\nrestarts: %d", total)
	if len(causes) > 0 {
		fmt.Fprintf(out, " (%s)", strings.Join(causes, ", "))
	}
	fmt.Fprintln(out)
	if len(st.Restarts) == 0 {
		return
	}
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ENDED\tWORKER\tPID\tCAUSE\tSTATUS\tLIVED")
	for _, r := range st.Restarts {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\n",
			r.At.Local().Format(time.DateTime), r.Worker, r.PID, r.Cause, r.Status, age(r.LivedSeconds))
	}
	tw.Flush()
}

// age formats seconds for the status table: 850ms, 12.3s, 5m2s, 3h4m5s.
func age(s float64) string {
	d := time.Duration(s * float64(time.Second))
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// megabytes formats a size in bytes in MiB, "-" if unknown.
func megabytes(b int64) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fMiB", float64(b)/(1<<20))
}
