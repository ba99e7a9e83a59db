"""An app whose writes fail (signals_test.go). Each answer is what the write
raised, from the request's thread or from a thread of its own (?thread):
/pipe sends on a socket whose peer has closed, /fsize writes past a small
RLIMIT_FSIZE. /sigpipe answers SIGPIPE's and SIGXFSZ's dispositions here
and which of them a child started with subprocess ignores. / answers the worker's pid."""
import errno
import os
import resource
import signal
import socket
import subprocess
import tempfile
import threading


def send_to_closed_peer():
    a, b = socket.socketpair()
    b.close()
    with a:
        a.sendall(b"x" * 65536)


def write_past_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))
    try:
        with tempfile.TemporaryFile() as f:
            os.write(f.fileno(), b"x" * 4096)
            os.write(f.fileno(), b"x")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def outcome(action):
    try:
        action()
    except OSError as e:
        return "%s %s" % (type(e).__name__, errno.errorcode.get(e.errno, e.errno))
    return "no error"


def run(action, in_thread):
    if not in_thread:
        return outcome(action)
    result = []
    t = threading.Thread(target=lambda: result.append(outcome(action)))
    t.start()
    t.join()
    return result[0]


def ignored_in_child():
    # Not a Python child: python3 ignores SIGPIPE itself.
    status = subprocess.run(["cat", "/proc/self/status"], capture_output=True, text=True, check=True).stdout
    mask = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigIgn:")), 16)
    return ",".join(s.name for s in (signal.SIGPIPE, signal.SIGXFSZ) if mask & (1 << (s - 1))) or "neither"


def app(environ, start_response):
    path, in_thread = environ["PATH_INFO"], environ["QUERY_STRING"] == "thread"
    if path == "/pipe":
        body = run(send_to_closed_peer, in_thread)
    elif path == "/fsize":
        body = run(write_past_limit, in_thread)
    elif path == "/sigpipe":
        body = "%s %s, child ignores %s" % (
            signal.getsignal(signal.SIGPIPE).name, signal.getsignal(signal.SIGXFSZ).name, ignored_in_child())
    else:
        body = str(os.getpid())
    body = body.encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
