// Package prefork is gowsgi's process supervisor: it binds the listening
// sockets, starts worker processes that inherit them, and keeps the right
// number of workers alive until it is told to stop.
//
// Go cannot fork a running runtime, so a worker is the same executable run
// again with the same arguments. The parent (a [Supervisor]) passes the
// listening sockets as file descriptors 3, 4, ... and the write end of a
// readiness pipe after them, and describes them in the environment:
// GOWSGI_WORKER_ID (the worker's slot, 1..Workers), GOWSGI_LISTEN_FDS (the
// number of listeners) and GOWSGI_READY_FD (the pipe's descriptor). The worker
// recognises itself with [IsWorker], takes its sockets with
// [WorkerListeners], and calls [NotifyReady] once it serves. Signal handling
// inside a worker (SIGTERM: finish in-flight requests and exit 0;
// SIGINT/SIGQUIT: exit at once) belongs to the caller.
//
// The package knows processes and file descriptors, not HTTP and not Python.
package prefork
