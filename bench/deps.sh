#!/usr/bin/env bash
# Installs, with apt, the peers the benchmark compares gowsgi with, but only
# those that are missing (the same rule as `make deps`). gowsgi's own build
# dependencies are `make deps`'s concern, not this script's.
set -euo pipefail

packages=(wrk gunicorn uwsgi-core uwsgi-plugin-python3 python3-waitress nginx-light)

sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
	echo "installing: ${missing[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
