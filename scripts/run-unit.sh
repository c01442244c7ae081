#!/usr/bin/env bash
# Runs every unit test program of one build directory; prints one line per
# program and a total. Exit 1 if any failed.
set -u
build=${1:-build}
programs=$(find "$build/tests/unit" -type f -name 'test_*' -perm -u+x | sort)
[ -n "$programs" ] || { echo "unit: no test programs in $build/tests/unit"; exit 1; }
failed=0 checks=0 n=0
for p in $programs; do
  n=$((n + 1))
  out=$("$p" 2>&1); rc=$?
  plan=$(printf '%s\n' "$out" | sed -n 's/^1\.\.\([0-9]*\)$/\1/p' | tail -1)
  checks=$((checks + ${plan:-0}))
  if [ $rc -ne 0 ] || [ -z "$plan" ]; then
    failed=$((failed + 1))
    printf '%s\n' "$out" | grep -E '^(not ok|#)' | head -40
    echo "FAIL $p (exit $rc)"
  fi
done
echo "unit: $n programs, $checks checks, $failed failed programs ($build)"
[ $failed -eq 0 ]
