#!/usr/bin/env bash
# Set everything up on a fresh Debian 12 machine and run every test.
# Usage: contrib/test.sh [--werror]
#
# Two builds: build-asan (AddressSanitizer + UndefinedBehaviorSanitizer)
# runs the unit tests, the fuzz corpora and every integration suite, and
# any sanitizer report fails the run; the plain build (build) runs them
# again, as users run it.  Set BUILDS="build" (or "build-asan") to run one.
#
# Then the client suites run again in Debian 13's Docker generation
# (dockerd 26, compose v2, buildx, Ansible 12) with the plain build:
# GENERATIONS (default "trixie"; "" skips it, "sid" runs unstable's)
# names the Debian roots, built or reused by contrib/testbed-root.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
contrib/setup.sh "$@"
contrib/setup.sh "$@" --sanitize --builddir build-asan
export BUILDS=${BUILDS:-"build-asan build"}

# The Debian roots the last steps need (the newer generations, and the
# Debian 12 host the package is installed on), built in the background
# while the builds' suites run: debootstrap from Debian's mirror, cached
# under /var/cache/docker-guard-testbed for a week.  A test that needs a
# root waits for its build (contrib/testbed-root.sh takes a lock) and
# builds it again if this one failed.
export GENERATIONS=${GENERATIONS-trixie}
roots=$GENERATIONS
[ "${HOST_TEST:-1}" = 0 ] || roots="$roots bookworm-host"
(
	for r in $roots; do
		t0=$SECONDS
		if bash contrib/testbed-root.sh "$r" >/dev/null; then
			echo "testbed root $r: ready after $((SECONDS - t0)) s"
		else
			echo "testbed root $r: could not be built"
		fi
	done
) >build/testbed-roots.log 2>&1 &

exec tests/run
