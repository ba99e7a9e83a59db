package control

import (
	"encoding/json"
	"time"

	"github.com/gowsgi/gowsgi/prefork"
)

// Version is the version of the protocol this package speaks.
const Version = 1

// The commands.
const (
	CmdStatus  = "status"
	CmdReload  = "reload"
	CmdWorkers = "workers"
	CmdStop    = "stop"
	CmdReopen  = "reopen"
	CmdKill    = "kill"
	CmdDump    = "dump"
)

// Commands lists every command, for messages.
var Commands = []string{CmdStatus, CmdReload, CmdWorkers, CmdStop, CmdReopen, CmdKill, CmdDump}

// Request is one command.
type Request struct {
	Version int    `json:"v"`
	Command string `json:"cmd"`
	N       int    `json:"n,omitempty"`   // workers: how many
	PID     int    `json:"pid,omitempty"` // kill, dump: which worker
}

// Reply is the answer to a Request: OK with a Result, or an Error.
type Reply struct {
	Version int             `json:"v"`
	OK      bool            `json:"ok"`
	Error   string          `json:"error,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
}

// StatusResult is the result of status: the server and its workers at one
// moment.
type StatusResult struct {
	PID           int               `json:"pid"`            // the parent's process id
	UptimeSeconds float64           `json:"uptime_s"`       // since the parent started its workers
	WorkersWanted int               `json:"workers_wanted"` // --workers, as TTIN, TTOU and workers N changed it
	Reloading     bool              `json:"reloading"`      // a reload is in progress
	Stopping      bool              `json:"stopping"`       // the server is stopping
	Workers       []Worker          `json:"workers"`        // every worker process, in order of start
	Zygotes       []Zygote          `json:"zygotes"`        // with --preload: the zygotes, in order of start
	Listeners     []Listener        `json:"listeners"`      // the listening sockets, in --bind order
	Restarts      []Restart         `json:"restarts"`       // the latest worker restarts (up to 32), oldest first
	RestartCounts map[string]uint64 `json:"restart_counts"` // every restart by cause, as gowsgi_worker_restarts_total
}

// Zygote describes one zygote (--preload), the process workers fork from.
type Zygote struct {
	PID        int     `json:"pid"`   // its process id
	AgeSeconds float64 `json:"age_s"` // since it started
	State      string  `json:"state"` // "loading", "ready", "standby" (a reload's, until it completes) or "stopping"
}

// Worker describes one worker process.
type Worker struct {
	ID         int      `json:"id"`        // its number, 1..workers while the count is steady
	PID        int      `json:"pid"`       // its process id
	AgeSeconds float64  `json:"age_s"`     // since it started
	State      string   `json:"state"`     // "booting", "idle", "busy" or "stopping"
	Requests   uint64   `json:"requests"`  // requests it has served
	RSSBytes   int64    `json:"rss_bytes"` // resident memory; 0 if unknown
	InFlight   int      `json:"in_flight"` // requests it is serving
	Waiting    int      `json:"waiting"`   // of those, how many wait for a thread (--threads)
	Current    *Running `json:"current"`   // the latest request it began, while it serves any; null when idle
}

// Running is a request in progress.
type Running struct {
	Request        string  `json:"request"`   // method and target: "GET /path?query"
	RunningSeconds float64 `json:"running_s"` // since it began
}

// Listener describes a listening socket and its backlog: the connections
// the kernel has accepted that no worker has taken yet.
type Listener struct {
	Address    string `json:"address"`     // as logged at start: "127.0.0.1:8000", "unix:/run/app.sock"
	Backlog    *int   `json:"backlog"`     // connections waiting to be accepted; null if unknown
	BacklogMax *int   `json:"backlog_max"` // how many may wait (--backlog capped by net.core.somaxconn); null if unknown
}

// Restart describes a worker process that ended while the server ran.
type Restart struct {
	Worker       int       `json:"worker"`  // its number
	PID          int       `json:"pid"`     // its process id
	Cause        string    `json:"cause"`   // why: crash, timeout, boot_failure, heartbeat, memory, max_requests, reload, scale_down, kill
	Status       string    `json:"status"`  // how it ended: "exit status 2", "signal SIGKILL", ...
	At           time.Time `json:"at"`      // when
	LivedSeconds float64   `json:"lived_s"` // how long it ran
}

// WorkersResult is the result of workers N.
type WorkersResult struct {
	Workers int `json:"workers"` // how many are wanted now
	Was     int `json:"was"`     // how many were wanted before
}

// KillResult is the result of kill PID.
type KillResult struct {
	PID    int `json:"pid"`    // the worker being replaced
	Worker int `json:"worker"` // its number
}

// DumpResult is the result of dump PID.
type DumpResult struct {
	PID        int    `json:"pid"`        // the worker
	Tracebacks string `json:"tracebacks"` // every thread's Python traceback, as faulthandler writes them
}

// statusResult turns a supervisor's Status into its wire form, with ages
// counted to now.
func statusResult(st prefork.Status, now time.Time) StatusResult {
	r := StatusResult{
		PID:           st.PID,
		UptimeSeconds: seconds(now.Sub(st.Started)),
		WorkersWanted: st.WorkersWanted,
		Reloading:     st.Reloading,
		Stopping:      st.Stopping,
		Workers:       make([]Worker, 0, len(st.Workers)),
		Zygotes:       make([]Zygote, 0, len(st.Zygotes)),
		Listeners:     make([]Listener, 0, len(st.Listeners)),
		Restarts:      make([]Restart, 0, len(st.Restarts)),
		RestartCounts: st.RestartCounts,
	}
	for _, w := range st.Workers {
		ww := Worker{
			ID: w.ID, PID: w.PID, AgeSeconds: seconds(now.Sub(w.Started)), State: w.State,
			Requests: w.Requests, RSSBytes: w.RSS, InFlight: w.InFlight, Waiting: w.Waiting,
		}
		if w.Request != "" {
			ww.Current = &Running{Request: w.Request, RunningSeconds: seconds(now.Sub(w.RequestStart))}
		}
		r.Workers = append(r.Workers, ww)
	}
	for _, z := range st.Zygotes {
		r.Zygotes = append(r.Zygotes, Zygote{PID: z.PID, AgeSeconds: seconds(now.Sub(z.Started)), State: z.State})
	}
	for _, l := range st.Listeners {
		wl := Listener{Address: l.Name}
		if l.Known {
			wl.Backlog, wl.BacklogMax = &l.Queued, &l.Limit
		}
		r.Listeners = append(r.Listeners, wl)
	}
	for _, x := range st.Restarts {
		r.Restarts = append(r.Restarts, Restart{
			Worker: x.Worker, PID: x.PID, Cause: x.Cause, Status: x.Status, At: x.Ended, LivedSeconds: seconds(x.Lived),
		})
	}
	return r
}

// seconds is d in seconds, to the millisecond.
func seconds(d time.Duration) float64 {
	return float64(max(d, 0).Round(time.Millisecond)) / float64(time.Second)
}
