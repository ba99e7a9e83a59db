"""A gunicorn config file with every server hook gowsgi runs, for
hooks_test.go. Each hook appends a JSON line with the values of its
arguments, and the pid of the process it runs in, to the file $HOOKS_LOG
names; then it raises if its name is in $HOOKS_RAISE (comma separated), or
if its name is in $HOOKS_HOLD, waits until the file $HOOKS_LOG.release
exists. pre_request also raises for the path /pre-request-raises."""
import json
import os
import threading
import time

_lock = threading.Lock()


def record(hook, **values):
    values.update(hook=hook, pid=os.getpid())
    with _lock, open(os.environ["HOOKS_LOG"], "a") as f:
        f.write(json.dumps(values) + "\n")
    if hook in os.environ.get("HOOKS_RAISE", "").split(","):
        raise RuntimeError("boom in " + hook)
    if hook in os.environ.get("HOOKS_HOLD", "").split(","):
        deadline = time.monotonic() + 120
        while not os.path.exists(os.environ["HOOKS_LOG"] + ".release") and time.monotonic() < deadline:
            time.sleep(0.01)


def _tick(stop):
    while not stop.wait(0.05):
        pass


def on_starting(server):
    record("on_starting", server_pid=server.pid, num_workers=server.num_workers)


def when_ready(server):
    # configs start threads here (a metrics exporter): they live in the
    # hook runner
    threading.Thread(target=_tick, args=(threading.Event(),), name="ticker", daemon=True).start()
    server.log.info("when_ready says the server %s is ready", server.pid)
    record("when_ready", server_pid=server.pid, num_workers=server.num_workers)


def on_reload(server):
    # a test appends RELOADED = True before SIGHUP: the file runs again
    record("on_reload", server_pid=server.pid, num_workers=server.num_workers, reloaded=globals().get("RELOADED", False))


def on_exit(server):
    # the file ran again on SIGHUP, so the thread is found by its name
    alive = any(t.name == "ticker" and t.is_alive() for t in threading.enumerate())
    record("on_exit", server_pid=server.pid, ticker_alive=alive)


def nworkers_changed(server, new_value, old_value):
    record("nworkers_changed", server_pid=server.pid, new=new_value, old=old_value)


def child_exit(server, worker):
    record("child_exit", server_pid=server.pid, worker_pid=worker.pid, age=worker.age, nr=worker.nr,
           alive=worker.alive, num_workers=server.num_workers)


def post_fork(server, worker):
    worker.log.info("post_fork says worker %s (age %s) has started", worker.pid, worker.age)
    record("post_fork", server_pid=server.pid, num_workers=server.num_workers, worker_pid=worker.pid,
           ppid=worker.ppid, age=worker.age, booted=worker.booted)


def post_worker_init(worker):
    import e2eapp  # the app is imported by now

    record("post_worker_init", worker_pid=worker.pid, age=worker.age, booted=worker.booted,
           app_loaded=hasattr(e2eapp, "app"))


def pre_request(worker, req):
    record("pre_request", worker_pid=worker.pid, method=req.method, path=req.path, query=req.query, uri=req.uri,
           headers=dict(req.headers), nr=worker.nr, thread=threading.get_ident())
    if req.path == "/pre-request-raises":
        raise RuntimeError("boom in pre_request")


def post_request(worker, req, environ, resp):
    record("post_request", worker_pid=worker.pid, method=req.method, path=req.path, query=req.query,
           path_info=environ.get("PATH_INFO"), status=resp.status, status_code=resp.status_code,
           headers=dict(resp.headers), sent=resp.sent, thread=threading.get_ident())


def worker_int(worker):
    record("worker_int", worker_pid=worker.pid, alive=worker.alive)


def worker_abort(worker):
    record("worker_abort", worker_pid=worker.pid, alive=worker.alive, aborted=worker.aborted)


def worker_exit(server, worker):
    record("worker_exit", server_pid=server.pid, worker_pid=worker.pid, age=worker.age, nr=worker.nr,
           alive=worker.alive)
