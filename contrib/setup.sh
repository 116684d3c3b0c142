#!/usr/bin/env bash
# Install what docker-guard needs on Debian 12 and build it into ./build.
# Usage: contrib/setup.sh [--werror] [--sanitize] [--builddir DIR]
#   --werror        treat compiler warnings as errors (CI does)
#   --sanitize      build with AddressSanitizer and UndefinedBehaviorSanitizer
#                   (every UBSan finding aborts, like an ASan one)
#   --builddir DIR  the meson build directory (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."

werror=false
sanitize=none
builddir=build
while [ "$#" -gt 0 ]; do
	case "$1" in
	--werror) werror=true ;;
	--sanitize) sanitize=address,undefined ;;
	--builddir) builddir=${2:?--builddir needs a directory}; shift ;;
	*) echo "setup.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

# Build and run-time dependencies (libpq for the fleet ledger), then what
# the tests drive: a real dockerd, a registry, the clients users point at
# the guard, a PostgreSQL server and iproute2 for the several-hosts bed
# (network namespaces); then what
# the lints use (tests/lint/budget: pmccabe, tests/lint/format:
# clang-format, 14 on Debian 12; tests/lint/contrib: promtool, from
# prometheus); then what contrib/package.sh and the
# install test on a booted host (tests/host/run) need; chromium renders
# the status page in test_status_page.py (headless).
packages=(
	meson ninja-build pkg-config gcc
	libevent-dev libcurl4-openssl-dev libjansson-dev libsqlite3-dev
	libpq-dev postgresql iproute2
	docker.io docker-registry docker-compose ansible skopeo umoci
	busybox-static socat curl python3-pytest python3-docker apache2-utils
	pmccabe clang-format prometheus
	scdoc dpkg-dev systemd-container debootstrap
	chromium
)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup.sh: run as root to install: ${missing[*]}" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y --no-install-recommends "${missing[@]}"
fi

opts=(-Dwerror="$werror" -Db_sanitize="$sanitize")
if [ "$sanitize" != none ]; then
	# A sanitizer finding must stop the program, not scroll past.
	opts+=(-Dc_args=-fno-sanitize-recover=all
	    -Dc_link_args=-fno-sanitize-recover=all)
fi
if [ -f "$builddir/build.ninja" ]; then
	meson configure "$builddir" "${opts[@]}" >/dev/null
else
	meson setup "$builddir" "${opts[@]}"
fi
ninja -C "$builddir"
echo "built $(pwd)/$builddir/docker-guard"
