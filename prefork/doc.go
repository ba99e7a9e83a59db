// Package prefork is gowsgi's process supervisor: it binds the listening
// sockets, starts worker processes that inherit them, and keeps the right
// number of workers alive and healthy until it is told to stop. Its model
// is gunicorn's arbiter: one loop owns the workers, signals are queued and
// handled on it one at a time, one method per signal.
//
// Go cannot fork a running runtime, so a worker is the same executable run
// again with the same arguments. The parent (a [Supervisor]) passes the
// listening sockets as file descriptors 3, 4, ..., then the write end of a
// pipe to the supervisor, then the worker's scoreboard slot, and describes
// them in the environment: GOWSGI_WORKER_ID (see [WorkerID]),
// GOWSGI_LISTEN_FDS (the number of listeners), GOWSGI_READY_FD (the pipe)
// and GOWSGI_SCOREBOARD_FD. The worker recognises itself with [IsWorker],
// takes its sockets with [WorkerListeners], and calls [NotifyReady] once it
// serves; NotifyReady also starts the heartbeat the supervisor watches. On
// the pipe the worker may later ask to be recycled ([Retire]); in its
// scoreboard slot it records the request it serves ([BeginRequest],
// [EndRequest]), which the supervisor reads for [Supervisor.Stats] and to
// say, when a worker dies, what it was doing; what each of its executors
// runs ([ExecutorBusy], [ExecutorIdle]), from which the supervisor finds a
// request stuck past [Supervisor.RequestTimeout]; and counts of its
// responses and the application's exceptions ([RecordResponse],
// [RecordException]), which the supervisor adds up over all its workers,
// past and present, for [Supervisor.Metrics].
//
// Signal handling inside a worker belongs to the caller: SIGTERM: stop
// accepting, finish in-flight requests and exit 0; SIGINT/SIGQUIT: exit at
// once; SIGUSR1: reopen log files (its default action would end the
// worker).
//
// The package knows processes and file descriptors, not HTTP and not
// Python; of responses it counts only the status class and the duration.
package prefork
