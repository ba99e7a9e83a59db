"""An app that reports the environment it runs in, for wheel_test.go: the
virtualenv gowsgi was pip-installed into, whose site-packages alone has the
module venvonly."""
import json
import subprocess
import sys

import venvonly


def app(environ, start_response):
    # A child started from sys.executable must be in the venv too.
    child = subprocess.run(
        [sys.executable, "-c", "import sys, venvonly; print(sys.prefix)"],
        capture_output=True, text=True, check=True,
    )
    body = json.dumps({
        "mark": venvonly.MARK,
        "prefix": sys.prefix,
        "executable": sys.executable,
        "version": "%d.%d" % sys.version_info[:2],
        "child_prefix": child.stdout.strip(),
        "site_dirs": [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))],
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
