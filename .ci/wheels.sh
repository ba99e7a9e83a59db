#!/usr/bin/env bash
# make wheel: dist/gowsgi-VERSION-cpXY-cpXY-PLATFORM.whl for each CPython
# given as an argument (make wheel PYTHON=...), or else for Debian's and
# every pyenv build of WHEEL_VERSIONS (default "3.12 3.13") found, one
# wheel per minor version, each holding gowsgi built against that Python
# (build/cpXY/gowsgi). A version not found is reported as skipped, by name.
set -euo pipefail
# The build of each version is chosen here, not by the caller's settings.
unset PKG_CONFIG_PATH CGO_CFLAGS CGO_LDFLAGS GOFLAGS MAKEFLAGS MAKELEVEL
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}
. .ci/pythons.sh

pythons=("$@")
if [ ${#pythons[@]} = 0 ]; then
	pythons=(/usr/bin/python3)
	for v in ${WHEEL_VERSIONS:-3.12 3.13}; do
		if pc=$(pc_dir "$v"); then
			pythons+=("$(python_of "$pc" "$v")")
		else
			echo "skip $v: no CPython $v build with python-$v-embed.pc found"
		fi
	done
fi
for py in "${pythons[@]}"; do
	tag=$("$py" -c 'import sys; print("cp%d%d" % sys.version_info[:2])')
	bin=build/$tag/gowsgi
	# -trimpath: the binary, and so the wheel, does not depend on where the
	# checkout is. PYTHON records the build's prefix and library directory,
	# Debian's too (/usr), so the wheel's Python is the one it was built for.
	GOFLAGS=-trimpath $MAKE --no-print-directory build PYTHON="$py" BIN="$bin"
	/usr/bin/python3 packaging/build_wheel.py --binary "$bin" --python "$py" --dist dist
done
