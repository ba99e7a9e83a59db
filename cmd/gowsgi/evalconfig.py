# Evaluates a gunicorn configuration file as gunicorn does, for gowsgi serve,
# whose supervisor never starts Python: `gowsgi _eval-config` runs this in a
# short-lived process of its own (sys.argv: -c TARGET VIRTUALENV).
#
# The file runs as a module named __config__ (TARGET python:NAME imports the
# module NAME instead), with the working directory and the virtualenv's
# site-packages on sys.path; its global names are its settings. What it
# defines is written to standard output as one JSON object; what the file
# itself prints goes to standard error. A file that raises exits 1 with the
# traceback, starting at the file's own frames.
import importlib
import importlib.machinery
import importlib.util
import inspect
import json
import os
import site
import sys
import traceback
import types


def _add_virtualenv(venv):
    lib = os.path.join(venv, "lib", "python%d.%d" % sys.version_info[:2], "site-packages")
    before = list(sys.path)
    site.addsitedir(lib)
    # addsitedir appends; the venv's packages win over the system's (as the
    # workers have them).
    sys.path[:] = [p for p in sys.path if p not in before] + before


def _load(target):
    if target.startswith("python:"):
        return importlib.import_module(target[len("python:"):])
    path = target[len("file:"):] if target.startswith("file:") else target
    loader = importlib.machinery.SourceFileLoader("__config__", path)
    spec = importlib.util.spec_from_file_location("__config__", path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules["__config__"] = module
    loader.exec_module(module)
    return module


def _describe(name, value):
    if inspect.isclass(value):
        return {"name": name, "kind": "class", "text": value.__module__ + "." + value.__qualname__}
    if callable(value):
        return {"name": name, "kind": "function", "text": getattr(value, "__qualname__", repr(value))}
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return {"name": name, "kind": "object", "text": repr(value)}
    return {"name": name, "kind": "value", "value": value}


def _report(error):
    # Leave out this script's and importlib's frames: the file's come first.
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith("<"):
        tb = tb.tb_next
    traceback.print_exception(type(error), error, tb)


def main(target, virtualenv):
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.dont_write_bytecode = True
    if virtualenv:
        _add_virtualenv(virtualenv)
    try:
        module = _load(target)
    except BaseException as e:
        _report(e)
        sys.exit(1)
    settings = [
        _describe(name, value)
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    ]
    json.dump({"settings": settings}, out)
    out.close()


main(sys.argv[1], sys.argv[2])
