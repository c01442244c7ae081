#!/usr/bin/env bash
# One flavour's checks: unit tests, then the pytest suite (toml-test corpus,
# config, CLI, logging) against the binaries of that build directory.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
scripts/run-unit.sh "$build"
# Debian's python3 has python3-pytest; the python3 first on PATH may not.
RPXY_BUILD="$build" /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration \
  | tail -n 15
exit "${PIPESTATUS[0]}"
