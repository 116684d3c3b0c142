#!/usr/bin/env bash
# Set everything up on a fresh Debian 12 machine and run every test.
# Usage: contrib/test.sh [--werror]
#
# Two builds: build-asan (AddressSanitizer + UndefinedBehaviorSanitizer)
# runs the unit tests, the fuzz corpora and every integration suite, and
# any sanitizer report fails the run; the plain build (build) runs them
# again, as users run it.  Set BUILDS="build" (or "build-asan") to run one.
set -euo pipefail
cd "$(dirname "$0")/.."
contrib/setup.sh "$@"
contrib/setup.sh "$@" --sanitize --builddir build-asan
export BUILDS=${BUILDS:-"build-asan build"}
exec tests/run
