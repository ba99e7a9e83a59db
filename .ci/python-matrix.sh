#!/usr/bin/env bash
# make test-matrix: build gowsgi against Debian's CPython and every other
# CPython build found with a shared libpython (pyenv's 3.12 and 3.13), and
# run the protocol and process tests, with plain WSGI apps, against each.
# A version not found is reported as skipped, by name. Exit status 1 if any
# version's build or tests fail.
#
#   MATRIX_VERSIONS  versions looked for beside Debian's (default "3.12 3.13")
#   MATRIX_SYSTEM=0  leave Debian's out (make test: go test ./... covers it)
#   PYENV_ROOT       where pyenv builds live (default: `pyenv root`, ~/.pyenv)
#
# Each version's wheel (make wheel PYTHON=...) is built too, and the e2e
# tests install it into a fresh venv of that Python and serve from it.
set -uo pipefail
# The build of each version is chosen here, not by the caller's settings.
unset PKG_CONFIG_PATH CGO_LDFLAGS GOFLAGS MAKEFLAGS MAKELEVEL
cd "$(dirname "$0")/.."
GO=${GO:-go}
MAKE=${MAKE:-make}
versions=${MATRIX_VERSIONS:-"3.12 3.13"}

# The binary's tests that need Debian's framework packages (or, for
# --user, a build nobody can read: pyenv's sit under root's home) are left
# out, and so are those of Go-only logic that gains nothing from another
# interpreter and takes long under load (keep-alive across restarts, crash
# loops, the control socket, reading gunicorn's settings: Debian's build
# runs them); every other protocol, process and interpreter test runs
# against each build, with plain WSGI apps.
e2e_skip='^(TestSamplesAnswer|TestFrameworks|TestFlask.*|TestDjango.*|TestVenv.*|TestCheckCommand|TestUserDropsWorkerPrivileges|TestKeepAlive.*|TestCrashLoop.*|TestReplacementThatCannotImportIsBackedOff|TestCtl|TestCtlSocketDefaults|TestGunicornConf.*|TestGunicornSettingWithoutEquivalentWarnsOnce|TestSettingsPrecedence|TestPortAndWebConcurrency|TestRefusedWorkerClassExits2|TestHUPRereadsConfigFile|TestPreloadZygoteDies|TestPreloadMaxWorkerMemoryCountsWhatTheWorkerOwns)$'

. .ci/pythons.sh

declare -a summary
failed=0

# run_one NAME PKG_CONFIG_DIR (empty: Debian's)
run_one() {
	local name=$1 pc=$2 bin="$PWD/bin/gowsgi-$1" start=$SECONDS
	echo "=== $name${pc:+ ($pc)}"
	local envs=() ldflags=""
	if [ -n "$pc" ]; then
		local libdir prefix
		libdir=$(PKG_CONFIG_PATH=$pc pkg-config --variable=libdir python3-embed)
		prefix=$(PKG_CONFIG_PATH=$pc pkg-config --variable=prefix python3-embed)
		envs=(PKG_CONFIG_PATH="$pc" CGO_LDFLAGS="-Wl,-rpath,$libdir")
		ldflags="-X=github.com/gowsgi/gowsgi/wsgi.pythonHome=$prefix"
	fi
	# a deprecated or removed API in the bridge fails the build
	export CGO_CFLAGS="-O2 -g -Werror=deprecated-declarations -Werror=implicit-function-declaration"
	if ! $MAKE --no-print-directory build BIN="$bin" ${pc:+PKG_CONFIG_PATH="$pc"}; then
		summary+=("FAIL  $name: build"); failed=1; return
	fi
	local embedded
	embedded=$("$bin" version | sed -n 's/^Python \([0-9]*\.[0-9]*\).*/\1/p')
	if [ -n "$pc" ] && [ "$embedded" != "$name" ]; then
		summary+=("FAIL  $name: the binary embeds Python $embedded"); failed=1; return
	fi
	local python=/usr/bin/python3
	[ -n "$pc" ] && python=$(python_of "$pc" "$name")
	if ! $MAKE --no-print-directory wheel PYTHON="$python"; then
		summary+=("FAIL  $name: wheel"); failed=1; return
	fi
	if env "${envs[@]}" $GO test -race -count=1 -timeout 5m -ldflags="$ldflags" ./wsgi &&
		GOWSGI_TEST_BINARY="$bin" GOWSGI_TEST_PYTHON="$python" $GO test -race -count=1 -timeout 8m -skip "$e2e_skip" ./cmd/gowsgi; then
		summary+=("ok    $name (Python $("$bin" version | sed -n 's/^Python \([^ ]*\).*/\1/p'), $((SECONDS - start))s)")
	else
		summary+=("FAIL  $name: tests"); failed=1
	fi
}

debian=$(pkg-config --modversion python3-embed 2>/dev/null)
if [ "${MATRIX_SYSTEM:-1}" = 0 ]; then
	summary+=("skip  ${debian:-system}: Debian's, tested in full by go test ./...")
else
	run_one "${debian:-system}" ""
fi
for v in $versions; do
	[ "$v" = "$debian" ] && continue
	if pc=$(pc_dir "$v"); then
		run_one "$v" "$pc"
	else
		summary+=("skip  $v: no CPython $v build with python-$v-embed.pc found")
	fi
done

echo "=== python matrix"
printf '%s\n' "${summary[@]}"
exit $failed
