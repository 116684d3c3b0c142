#!/usr/bin/env bash
# Set everything up on a fresh Debian 12 machine and run every test.
# Usage: contrib/test.sh [setup.sh options]
set -euo pipefail
cd "$(dirname "$0")/.."
contrib/setup.sh "$@"
exec tests/run
