"""python -m gowsgi ARGS: run the gowsgi binary of this distribution, as
bin/gowsgi ARGS would, in place of this process (same pid, signals go to
the server)."""

import os
import sys
from importlib.metadata import PackageNotFoundError, distribution


def _binary():
    # pip records the scripts it installed in RECORD, relative to
    # site-packages ("../../../bin/gowsgi" in a venv); wherever the scheme
    # put them (a venv, --user, --prefix), RECORD knows.
    try:
        files = distribution("gowsgi").files or []
    except PackageNotFoundError:
        files = []
    for f in files:
        if f.name == "gowsgi" and f.parent.name == "bin":
            return os.path.normpath(f.locate())
    sys.exit("gowsgi: the gowsgi distribution lists no bin/gowsgi; reinstall it with pip")


def main():
    path = _binary()
    os.execv(path, [path] + sys.argv[1:])


if __name__ == "__main__":
    main()
