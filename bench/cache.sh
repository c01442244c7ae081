#!/usr/bin/env bash
# bench/cache.sh: cache hits through rpxy's [experimental.cache] against
# nginx's proxy_cache (Debian nginx-light), one worker each pinned to CPU 1,
# wrk on CPU 0: requests/s and proxy CPU per hit for a 1 KiB object (rpxy's
# memory tier; nginx keeps every entry in a file and lets the page cache
# hold it) and a 1 MiB object (rpxy's file tier, SHA-256 verified on every
# hit as SPEC 14 requires; nginx sends its file with sendfile, unverified).
# The origin is a small Python server answering Cache-Control:
# max-age=3600; after each run the script checks that it saw only the
# misses (each proxy fetches each object once), so what was measured were hits.
#
# Environment: BENCH_DURATION [5] seconds per measurement, BENCH_ROUNDS [3]
# interleaved rounds (the median is reported), BENCH_CONNS [16] wrk
# connections, BENCH_CACHE_PORT [28800] (origin; rpxy and nginx use the
# next two), BENCH_RPXY [build/rpxy]. Targets (issue 10): rpxy at most 0.7x
# nginx's CPU per hit for 1 KiB, at most 1.0x for 1 MiB.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

DURATION=${BENCH_DURATION:-5}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNS:-16}
PORT=${BENCH_CACHE_PORT:-28800}
RPXY=${BENCH_RPXY:-$ROOT/build/rpxy}
RPXY_PORT=$((PORT + 1))
NGINX_PORT=$((PORT + 2))
[ -n "${BENCH_NO_INSTALL:-}" ] || ensure_packages nginx-light wrk procps util-linux curl
make -s -C "$ROOT" -j"$(nproc)" build/rpxy >/dev/null

WORK=$(mktemp -d)
trap 'stop_all; [ -n "${BENCH_KEEP:-}" ] || rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

cat >"$WORK/origin.py" <<'PY'
import http.server, sys
BODIES = {"/1k": b"k" * 1024, "/1m": b"m" * (1 << 20)}
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def do_GET(self):
        body = BODIES.get(self.path.split("?")[0])
        with open(sys.argv[2], "a") as f:
            f.write(self.path + "\n")
        if body is None:
            self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Cache-Control", "public, max-age=3600")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY

mkdir -p "$WORK/rpxy-cache" "$WORK/nginx-cache" "$WORK/nginx-temp" "$WORK/nginx-body"
# nginx's worker runs as www-data: its directories must be its own
chmod 0755 "$WORK"
chown www-data "$WORK/nginx-cache" "$WORK/nginx-temp" "$WORK/nginx-body" 2>/dev/null || true
cat >"$WORK/rpxy.toml" <<TOML
listen_port = $RPXY_PORT
listen_address_v4 = "127.0.0.1"
worker_threads = 1
max_clients = 4096
[apps.bench]
server_name = "bench.test"
reverse_proxy = [{ upstream = [{ location = "127.0.0.1:$PORT" }] }]
[experimental.cache]
cache_dir = "$WORK/rpxy-cache"
max_cache_entry = 100
max_cache_each_size = 2097152
max_cache_each_size_on_memory = 65536
TOML

cat >"$WORK/nginx.conf" <<NGINX
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    proxy_cache_path $WORK/nginx-cache levels=1:2 keys_zone=bench:10m max_size=1g inactive=1h;
    proxy_temp_path $WORK/nginx-temp;
    client_body_temp_path $WORK/nginx-body;
    keepalive_requests 1000000;
    sendfile on;
    upstream origin { server 127.0.0.1:$PORT; keepalive 16; }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        server_name bench.test;
        location / {
            proxy_cache bench;
            proxy_cache_key \$scheme\$host\$request_uri;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://origin;
        }
    }
}
NGINX

start_pinned origin 0 /usr/bin/python3 "$WORK/origin.py" "$PORT" "$WORK/origin-requests.txt"
wait_listening "$START_PID" "$PORT" 10 || die "the origin did not start: $(cat "$WORK/origin.log")"
RUST_LOG=warn start_pinned rpxy 1 "$RPXY" --config "$WORK/rpxy.toml"
rpxy_pid=$START_PID
start_pinned nginx 1 /usr/sbin/nginx -c "$WORK/nginx.conf" -g "daemon off;"
nginx_pid=$START_PID
wait_listening "$rpxy_pid" "$RPXY_PORT" 10 || die "rpxy did not start: $(cat "$WORK/rpxy.log")"
wait_listening "$nginx_pid" "$NGINX_PORT" 10 || die "nginx did not start: $(cat "$WORK/nginx.log")"

port_of() { [ "$1" = rpxy ] && echo "$RPXY_PORT" || echo "$NGINX_PORT"; }
pid_of() { [ "$1" = rpxy ] && echo "$rpxy_pid" || echo "$nginx_pid"; }

# fill both caches, and check that a second fetch is a hit
for t in rpxy nginx; do
    for obj in 1k 1m; do
        for _ in 1 2 3; do
            curl -sf -o /dev/null -H "Host: bench.test" "http://127.0.0.1:$(port_of "$t")/$obj" ||
                die "$t /$obj failed"
        done
    done
done
misses=$(wc -l <"$WORK/origin-requests.txt")
[ "$misses" -eq 4 ] || die "the origin saw $misses requests while filling (want 4: one per proxy and object)"

# one measurement: wrk for DURATION against TARGET OBJECT; prints "rps us_per_hit"
measure() {
    local t=$1 obj=$2 pid t0 t1 out rps n
    pid=$(pid_of "$t")
    t0=$(cpu_ticks "$pid")
    out=$(taskset -c 0 wrk -t1 -c"$CONNS" -d"${DURATION}s" -H "Host: bench.test" \
        "http://127.0.0.1:$(port_of "$t")/$obj" 2>&1)
    t1=$(cpu_ticks "$pid")
    n=$(awk '/requests in/ {print $1}' <<<"$out")
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    grep -q "Non-2xx" <<<"$out" && die "$t /$obj: non-2xx answers: $out"
    awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$n" -v r="$rps" \
        'BEGIN { printf "%s %.2f\n", r, t / hz / n * 1e6 }'
}

say "== cache hits: wrk -c$CONNS ${DURATION}s, one worker pinned to CPU 1, $ROUNDS rounds =="
for r in $(seq 1 "$ROUNDS"); do
    for obj in 1k 1m; do
        for t in rpxy nginx; do
            read -r rps us < <(measure "$t" "$obj")
            echo "$obj $t $rps $us" >>"$WORK/results"
            say "round $r  $obj  $(printf '%-5s' "$t") $(printf '%10s' "$rps") req/s  proxy CPU $(printf '%8s' "$us") us/hit"
        done
    done
done
misses=$(wc -l <"$WORK/origin-requests.txt")
[ "$misses" -eq 4 ] || die "the origin saw $((misses - 4)) requests during the runs: not all were hits"

med() { awk -v o="$1" -v t="$2" -v c="$3" '$1 == o && $2 == t { print $c }' "$WORK/results" | sort -g |
    awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
say ""
say "object  target      req/s  CPU us/hit   (median of $ROUNDS)"
for obj in 1k 1m; do
    for t in rpxy nginx; do
        printf '%-7s %-6s %10s %10s\n' "$obj" "$t" "$(med "$obj" "$t" 3)" "$(med "$obj" "$t" 4)"
    done
done
for obj in 1k 1m; do
    target=0.70
    [ "$obj" = 1m ] && target=1.00
    awk -v a="$(med "$obj" rpxy 4)" -v b="$(med "$obj" nginx 4)" -v o="$obj" -v tg="$target" \
        'BEGIN { r = a / b; printf "ratio %s rpxy/nginx CPU per hit %.2f (target <= %.2f: %s)\n", o, r, tg, r <= tg ? "met" : "MISSED" }'
done
say "origin requests: $misses (the 4 fills; every measured request was a hit)"
