#!/usr/bin/env bash
# Builds every libFuzzer target (tests/fuzz/fuzz_*.c) and runs each for the
# given number of seconds from its seed corpus (tests/fuzz/corpus/<name>/).
# New inputs go to a scratch directory, never into the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
make -s -j"$(nproc 2>/dev/null || echo 2)" FLAVOR=fuzz fuzzers
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p build/fuzz/crashes
n=0
for src in tests/fuzz/fuzz_*.c; do
  name=$(basename "$src" .c)
  short=${name#fuzz_}
  mkdir -p "$scratch/$short"
  seeds=tests/fuzz/corpus/$short
  [ -d "$seeds" ] || seeds=
  echo "fuzz: $name for ${seconds}s"
  if ! ASAN_OPTIONS=detect_leaks=1 build/fuzz/fuzz/"$name" -max_total_time="$seconds" \
      -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 -artifact_prefix="build/fuzz/crashes/$name-" \
      "$scratch/$short" $seeds >"$scratch/$name.log" 2>&1; then
    tail -n 40 "$scratch/$name.log"
    echo "fuzz: $name FAILED; the input is in build/fuzz/crashes/"
    exit 1
  fi
  grep -E '^#[0-9]+.*(DONE|pulse)' "$scratch/$name.log" | tail -n 1 || true
  n=$((n + 1))
done
echo "fuzz: $n targets ran ${seconds}s each without a finding"
