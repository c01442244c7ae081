#!/usr/bin/env bash
# The whole suite, as `make test` and CI run it: release build and checks,
# the same checks under AddressSanitizer + UndefinedBehaviorSanitizer, the
# generated docs, then every fuzz target briefly.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
started=$(date +%s)

echo "== release build =="
make -s -j"$jobs" all
echo "== release checks =="
scripts/run-checks.sh build

echo "== ASan/UBSan build =="
make -s -j"$jobs" FLAVOR=asan all
echo "== ASan/UBSan checks =="
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  scripts/run-checks.sh build/asan

echo "== docs/config.md and the man pages up to date, code formatted =="
make -s docs-check
make -s format-check

echo "== fuzzers (${FUZZ_SECONDS:-10}s each) =="
scripts/run-fuzz.sh "${FUZZ_SECONDS:-10}"

echo "== make test: all stages passed in $(( $(date +%s) - started ))s =="
