#!/usr/bin/env bash
# One flavour's checks: unit tests, then the pytest suite (toml-test corpus,
# config, CLI, logging) against the binaries of that build directory.
#
# The suite runs in parallel with pytest-xdist: PYTEST_JOBS workers (default
# twice the CPUs, at most 16; most tests wait on sockets, timers and child
# processes rather than compute), `--dist loadgroup` so that tests marked
# @pytest.mark.xdist_group(name) share one worker and run one after the other,
# and every other test goes to whichever worker is free. PYTEST_JOBS=0 runs
# it serially, as does a machine without python3-pytest-xdist.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
scripts/run-unit.sh "$build"
# Debian's python3 has python3-pytest; the python3 first on PATH may not.
cpus=$(nproc 2>/dev/null || echo 2)
jobs=${PYTEST_JOBS:-$(( cpus * 2 > 16 ? 16 : cpus * 2 ))}
parallel=()
if [ "$jobs" -gt 0 ] && /usr/bin/python3 -c 'import xdist' 2>/dev/null; then
  parallel=(-n "$jobs" --dist loadgroup)
elif [ "$jobs" -gt 0 ]; then
  echo "run-checks: python3-pytest-xdist missing, running the suite serially" >&2
fi
log="$build/pytest.log"
set +e
RPXY_BUILD="$build" /usr/bin/python3 -m pytest -q -p no:cacheprovider "${parallel[@]}" \
  tests/integration >"$log" 2>&1
rc=$?
set -e
tail -n 15 "$log"
if [ "$rc" -ne 0 ]; then
  # what failed and why, not only that something did (the whole output: $log)
  echo "== run-checks: failures ($log) =="
  sed -n '/^=* FAILURES =*$/,/^=* short test summary/p' "$log" | tail -n 300
fi
exit "$rc"
