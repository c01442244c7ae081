#!/usr/bin/env bash
# bench/grpc.sh: gRPC unary calls through rpxy (h2c in, h2c out) against the
# same calls made directly to the backend: req/s, h2load's mean time per
# call, and rpxy's CPU per call. The backend is python3-grpcio and is the
# bottleneck, so this shows the proxy's overhead, not its ceiling.
#
# rpxy runs one worker pinned to CPU 1; the backend and h2load run on CPU 0.
# Environment: BENCH_GRPC_CALLS [15000] calls per measurement,
# BENCH_ROUNDS [3] interleaved rounds, BENCH_GRPC_PORT [28700] (backend;
# rpxy uses the next port), BENCH_RPXY [build/rpxy].
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

CALLS=${BENCH_GRPC_CALLS:-15000}
ROUNDS=${BENCH_ROUNDS:-3}
PORT=${BENCH_GRPC_PORT:-28700}
RPXY=${BENCH_RPXY:-$ROOT/build/rpxy}
[ -n "${BENCH_NO_INSTALL:-}" ] || ensure_packages python3-grpcio nghttp2-client
[ -x "$RPXY" ] || make -s -C "$ROOT" -j"$(nproc)" >/dev/null

WORK=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

cat >"$WORK/rpxy.toml" <<TOML
listen_port = $((PORT + 1))
listen_address_v4 = "127.0.0.1"
worker_threads = 1
[apps.grpc]
server_name = "127.0.0.1"
[[apps.grpc.reverse_proxy]]
upstream = [{ location = "127.0.0.1:$PORT" }]
TOML
printf '\0\0\0\0\5hello' >"$WORK/msg" # one gRPC message: uncompressed, 5 bytes

taskset -c 0 /usr/bin/python3 "$BENCH_DIR/grpc_backend.py" "$PORT" &
pids+=($!)
RUST_LOG=warn taskset -c 1 "$RPXY" --config "$WORK/rpxy.toml" >"$WORK/rpxy.log" 2>&1 &
rpxy_pid=$!
pids+=("$rpxy_pid")

calls() { # calls PORT N -> h2load's output
    taskset -c 0 h2load -n "$2" -c 4 -m 10 -H "content-type: application/grpc" \
        -H "te: trailers" -d "$WORK/msg" "http://127.0.0.1:$1/t.S/U"
}
ticks() { awk '{print $14 + $15}' "/proc/$rpxy_pid/stat"; }

for _ in $(seq 1 50); do
    calls "$((PORT + 1))" 10 2>/dev/null | grep -q "10 2xx" && break
    sleep 0.2
done
calls "$((PORT + 1))" 1000 >/dev/null 2>&1 # warm-up
hz=$(getconf CLK_TCK)
say "== gRPC unary, h2load -c 4 -m 10, $CALLS calls, $ROUNDS rounds =="
for r in $(seq 1 "$ROUNDS"); do
    for target in direct rpxy; do
        port=$PORT
        [ "$target" = rpxy ] && port=$((PORT + 1))
        t0=$(ticks)
        out=$(calls "$port" "$CALLS" 2>&1)
        t1=$(ticks)
        grep -q "$CALLS 2xx" <<<"$out" || die "$target: not all calls answered: $(grep 'status codes' <<<"$out")"
        rps=$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out")
        mean=$(awk '/^time for request:/ {print $6}' <<<"$out")
        cpu=""
        [ "$target" = rpxy ] && cpu=$(awk -v t=$((t1 - t0)) -v hz="$hz" -v n="$CALLS" \
            'BEGIN {printf "  rpxy CPU %.1f us/call", t / hz / n * 1e6}')
        say "round $r  $(printf '%-6s' "$target") $rps calls/s  mean $mean$cpu"
    done
done
