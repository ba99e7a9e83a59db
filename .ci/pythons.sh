# Sourced by the scripts that look for other CPython builds than Debian's
# (python-matrix.sh, wheels.sh).
#
#   PYENV_ROOT  where pyenv builds live (default: `pyenv root`, ~/.pyenv)

# pc_dir prints the pkgconfig directory of the newest build of version $1
# with a shared libpython (its python-$1-embed.pc); fails if none.
pc_dir() {
	local roots=() r d found=""
	command -v pyenv >/dev/null && roots+=("$(pyenv root)/versions")
	roots+=("${PYENV_ROOT:-${HOME:-}/.pyenv}/versions")
	for r in "${roots[@]}"; do
		for d in "$r"/"$1".*/lib/pkgconfig; do
			[ -f "$d/python-$1-embed.pc" ] && found=$(printf '%s\n%s\n' "$found" "$d" | sed '/^$/d' | sort -uV | tail -1)
		done
	done
	[ -n "$found" ] && echo "$found"
}

# python_of prints the interpreter of the build whose pkgconfig directory
# is $1 (PREFIX/lib/pkgconfig), version $2.
python_of() {
	echo "${1%/lib/pkgconfig}/bin/python$2"
}
