// Package prefork is gowsgi's process supervisor: it binds the listening
// sockets, starts worker processes that inherit them, and keeps the right
// number of workers alive and healthy until it is told to stop. Its model
// is gunicorn's arbiter: one loop owns the workers, signals are queued and
// handled on it one at a time, one method per signal.
//
// Go cannot fork a running runtime, so a worker is the same executable run
// again with the same arguments. The parent (a [Supervisor]) passes the
// listening sockets as file descriptors 3, 4, ..., then the write end of a
// pipe to the supervisor, then the worker's scoreboard slot, then its dump
// file, and describes them in the environment: GOWSGI_WORKER_ID (see
// [WorkerID]), GOWSGI_LISTEN_FDS (the number of listeners), GOWSGI_READY_FD
// (the pipe), GOWSGI_SCOREBOARD_FD and GOWSGI_DUMP_FD. The worker
// recognises itself with [IsWorker], takes its sockets with
// [WorkerListeners], and calls [NotifyReady] once it serves; NotifyReady also starts the heartbeat the supervisor watches. On
// the pipe the worker may later ask to be recycled ([Retire]); in its
// scoreboard slot it records the request it serves ([BeginRequest],
// [EndRequest]), which the supervisor reads for [Supervisor.Stats] and to
// say, when a worker dies, what it was doing; what each of its executors
// runs ([ExecutorBusy], [ExecutorIdle]), from which the supervisor finds a
// request stuck past [Supervisor.RequestTimeout]; and counts of its
// responses, of the time requests waited for the application and of the
// application's exceptions ([RecordResponse], [BeginWait], [EndWait],
// [RecordException]), which the supervisor adds up over all its workers,
// past and present, for [Supervisor.Metrics]. A worker that calls
// [HandleDumps] answers [Supervisor.Dump] through its dump file.
//
// With [Supervisor.Preload] the workers are forked instead, from a zygote:
// a process started as a worker would be, which recognises itself with
// [IsZygote], loads the application once and forks a worker whenever the
// supervisor asks, with the same descriptors and environment (zygote.go
// describes the protocol; wsgi's zygote.c is the other side). The forked
// worker is re-parented to the supervisor, a child subreaper, and goes on
// as any worker.
//
// Besides signals, another goroutine of the parent may operate the
// supervisor while Run runs with [Supervisor.Status], [Supervisor.Reload],
// [Supervisor.SetWorkers], [Supervisor.Stop], [Supervisor.ReopenLogs],
// [Supervisor.KillWorker] and [Supervisor.Dump], which are queued to its
// loop as signals are (package control serves them on a unix socket).
//
// Signal handling inside a worker belongs to the caller: SIGTERM: stop
// accepting, finish in-flight requests and exit 0; SIGINT/SIGQUIT: exit at
// once; SIGUSR1: reopen log files (its default action would end the
// worker). [DumpSignal] is HandleDumps's.
//
// The package knows processes and file descriptors, not HTTP and not
// Python; of responses it counts only the status class and the duration,
// and of the listening sockets only their queues.
package prefork
