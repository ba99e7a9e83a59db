#!/usr/bin/env python3
"""Package a gowsgi binary as a wheel for the CPython it was built against.

    python3 packaging/build_wheel.py --binary BIN --python PYTHON [--dist dist]

BIN is gowsgi built against PYTHON's libpython (make build PYTHON=...). The
wheel, dist/gowsgi-VERSION-cpXY-cpXY-PLATFORM.whl, holds:

- gowsgi-VERSION.data/scripts/gowsgi: the binary; pip installs it as
  <venv>/bin/gowsgi, unchanged (it does not start with "#!python").
- gowsgi/: a package whose __main__ runs that binary (python -m gowsgi).
- gowsgi-VERSION.dist-info/: METADATA, WHEEL, RECORD (sha256 of each file).

The tags say what the binary is: cpXY-cpXY because it uses CPython X.Y's
full C API and links libpythonX.Y.so.1.0; linux_ARCH (sysconfig's platform)
rather than manylinux because manylinux forbids linking libpython, which a
program embedding Python must do. The wheel is byte-for-byte reproducible
from the same binary: entries in a fixed order, fixed modes, and every
timestamp SOURCE_DATE_EPOCH (default 1980-01-01, zip's earliest).
Standard library only.
"""

import argparse
import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import time
import zipfile

NAME = "gowsgi"
HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_FILES = ("__init__.py", "__main__.py")

# What the target interpreter says about itself: its tags come from it, not
# from the Python running this script.
PROBE = """
import json, sys, sysconfig
print(json.dumps({
    "implementation": sys.implementation.name,
    "version": "%d.%d" % sys.version_info[:2],
    "abiflags": sysconfig.get_config_var("abiflags") or "",
    "platform": sysconfig.get_platform(),
}))
"""


def pep440(version):
    """gowsgi's version ("0.1.0", "0.1.0-dev", "0.2.0-rc1") as PEP 440 spells it."""
    m = re.fullmatch(r"(\d+(?:\.\d+)*)(?:-(dev|a|b|rc)(\d*))?", version)
    if not m:
        sys.exit("build_wheel: version %r is not X.Y.Z[-dev|-aN|-bN|-rcN]" % version)
    release, pre, n = m.groups()
    if pre is None:
        return release
    if pre == "dev":
        return "%s.dev%s" % (release, n or "0")
    return "%s%s%s" % (release, pre, n or "0")


def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def binary_info(binary):
    """gowsgi's version and the X.Y of the Python the binary embeds."""
    version = run(binary, "--version").split()[-1]  # "gowsgi version 0.1.0-dev"
    m = re.search(r"^Python (\d+\.\d+)", run(binary, "version"), re.M)
    if not m:
        sys.exit("build_wheel: %s version names no Python" % binary)
    return version, m.group(1)


def record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (arcname, digest, len(data))


def build(binary, python, dist):
    gowsgi_version, embedded = binary_info(binary)
    target = json.loads(run(python, "-I", "-c", PROBE))
    if target["implementation"] != "cpython":
        sys.exit("build_wheel: %s is %s, not CPython" % (python, target["implementation"]))
    if embedded != target["version"]:
        sys.exit("build_wheel: %s embeds Python %s, but %s is %s" % (binary, embedded, python, target["version"]))
    version = pep440(gowsgi_version)
    xy = target["version"].replace(".", "")
    tag = "cp%s-cp%s%s-%s" % (xy, xy, target["abiflags"], re.sub(r"[-.]", "_", target["platform"]))
    data_dir = "%s-%s.data" % (NAME, version)
    info_dir = "%s-%s.dist-info" % (NAME, version)

    entries = []  # (arcname, bytes, mode)
    for f in PACKAGE_FILES:
        with open(os.path.join(HERE, NAME, f), "rb") as fh:
            entries.append(("%s/%s" % (NAME, f), fh.read(), 0o644))
    with open(binary, "rb") as fh:
        entries.append(("%s/scripts/%s" % (data_dir, NAME), fh.read(), 0o755))
    metadata = "\n".join([
        "Metadata-Version: 2.1",
        "Name: " + NAME,
        "Version: " + version,
        "Summary: A WSGI server in Go running Python apps on embedded CPython (built for CPython %s)" % target["version"],
        "Requires-Python: ==%s.*" % target["version"],
        "",
    ])
    wheel = "\n".join([
        "Wheel-Version: 1.0",
        "Generator: gowsgi packaging/build_wheel.py",
        "Root-Is-Purelib: false",
        "Tag: " + tag,
        "",
    ])
    entries.append((info_dir + "/METADATA", metadata.encode(), 0o644))
    entries.append((info_dir + "/WHEEL", wheel.encode(), 0o644))
    record = [record_line(name, data) for name, data, _ in entries]
    record.append(info_dir + "/RECORD,,")
    entries.append((info_dir + "/RECORD", ("\n".join(record) + "\n").encode(), 0o644))

    os.makedirs(dist, exist_ok=True)
    # An older build for the same Python would compete with this one in
    # pip --find-links.
    for old in os.listdir(dist):
        if old.startswith(NAME + "-") and old.endswith("-%s.whl" % tag):
            os.remove(os.path.join(dist, old))
    path = os.path.join(dist, "%s-%s-%s.whl" % (NAME, version, tag))
    stamp = time.gmtime(max(int(os.environ.get("SOURCE_DATE_EPOCH", "315532800")), 315532800))[:6]
    tmp = path + ".tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.create_system = 3  # Unix: external_attr holds the mode
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    os.replace(tmp, path)
    return path


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--binary", required=True, help="gowsgi built against PYTHON")
    p.add_argument("--python", required=True, help="the CPython the wheel is for")
    p.add_argument("--dist", default="dist", help="output directory (default: dist)")
    a = p.parse_args()
    print(build(a.binary, a.python, a.dist))


if __name__ == "__main__":
    main()
