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

# The newer generations' roots (debootstrap from Debian's mirror, cached
# under /var/cache/docker-guard-testbed for a week).
export GENERATIONS=${GENERATIONS-trixie}
for gen in $GENERATIONS; do
	t0=$SECONDS
	if bash contrib/testbed-root.sh "$gen" >/dev/null; then
		echo "testbed root $gen: $((SECONDS - t0)) s"
	else # tests/run counts the generation as failed
		echo "testbed root $gen: could not be built" >&2
	fi
done

exec tests/run
