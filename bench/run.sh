#!/usr/bin/env bash
# bench/run.sh: our proxy against nginx and HAProxy (and h2o for --h2,
# Caddy for --h3) on this machine.
#
#   bench/run.sh              throughput: wrk, HTTP/1.1 keep-alive, 64 connections
#   bench/run.sh --callgrind  user-space instructions per request (valgrind)
#   bench/run.sh --strace     system calls per request (strace -c -f)
#   bench/run.sh --memory     RSS with 10,000 idle keep-alive client connections
#   bench/run.sh --tls        TLS 1.3: keep-alive, full and resumed handshakes,
#                             X25519MLKEM768 against X25519 (build/tls-load)
#   bench/run.sh --h2         HTTP/2 over TLS (ALPN h2), h2load -c16 -m10, also
#                             against h2o
#   bench/run.sh --h3         HTTP/3 (build/h3load) against Caddy, and rpxy's
#                             HTTP/3 against its own HTTP/2 over TLS: many
#                             streams on few connections, and one request per
#                             new connection
#   bench/run.sh --failover   two upstreams, one killed under load: failed
#                             requests of rpxy and nginx side by side
#   bench/run.sh --all        all seven, one after the other (not --failover)
#
# Each proxy runs one worker pinned to CPU 1; the backend (build/bench-backend)
# and the load generator run on CPU 0. See bench/README.md for the method and
# the settings (BENCH_* environment variables). This file holds the settings,
# the targets and what every mode shares; each mode is in bench/modes/.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

usage() {
    cat <<'TXT'
usage: bench/run.sh [--callgrind | --strace | --memory | --tls | --h2 | --h3 | --failover | --all]

  (no option)   requests/s, p99 latency and CPU time per request under
                wrk -t1 -c64, median of BENCH_ROUNDS interleaved rounds
  --callgrind   user-space instructions per request under callgrind
                (BENCH_REQUESTS requests minus an idle run), rpxy and nginx
                with the access log off and on (BENCH_ACCESS_LOG)
  --strace      system calls per request (strace -c -f, BENCH_REQUESTS
                requests at BENCH_CONNS connections)
  --memory      RSS growth with BENCH_IDLE_CONNS idle keep-alive connections
  --tls         TLS 1.3 with one ECDSA P-256 certificate for all three, driven
                by build/tls-load: HTTP/1.1 keep-alive, a new connection per
                request with full and with resumed handshakes, and rpxy's
                full handshakes with X25519MLKEM768; proxy CPU per request,
                median of BENCH_ROUNDS interleaved rounds
  --h2          HTTP/2 over TLS (ALPN h2, the --tls certificate and SNI) with
                h2load -c BENCH_H2_CONNS -m BENCH_H2_STREAMS, HTTP/1.1 to the
                backend, against rpxy, nginx, HAProxy and h2o: req/s and proxy
                CPU per request, median of BENCH_ROUNDS interleaved rounds
                (rpxy's row says "no h2" while ALPN gives it http/1.1)
  --h3          HTTP/3 with build/h3load against rpxy and Caddy (the --tls
                certificate and SNI, HTTP/1.1 to the backend), each also over
                HTTP/2 with h2load, in two load shapes: "streams" (-c
                BENCH_H3_CONNS -m BENCH_H3_STREAMS) and "newconn" (one request
                per new connection, full handshakes: h3load --new-conn -c
                BENCH_H3_NEWCONN_CONNS; h2load at BENCH_H3_NEWCONN_RATE
                connections/s); req/s and proxy CPU per request, median of
                BENCH_ROUNDS interleaved rounds, and the ratios rpxy/Caddy
                (HTTP/3) and rpxy HTTP/3 / rpxy HTTP/2
  --failover    two backends behind round_robin (rpxy: with a TCP health
                check every 2 s), wrk -c BENCH_FAILOVER_CONNS for
                BENCH_FAILOVER_DURATION seconds, the second backend killed
                halfway: requests and failed requests (non-2xx, socket
                errors) of rpxy and nginx side by side
  --all         all of the above but --failover

Environment (defaults in brackets):
  BENCH_DURATION [10]   seconds per wrk (or tls-load) measurement
  BENCH_ROUNDS [3]      interleaved rounds (the median is reported)
  BENCH_WARMUP [2]      seconds of wrk before each measurement
  BENCH_CONNS [64]      client connections
  BENCH_REQUESTS [20000] requests for --callgrind and --strace
  BENCH_IDLE_CONNS [10000] connections for --memory
  BENCH_TARGETS ["direct rpxy nginx haproxy"]
  BENCH_ACCESS_LOG ["off on"]  throughput and --callgrind: rpxy and nginx
                        without and with an access log (rpxy: --log-dir;
                        nginx: access_log ... buffer=64k), rows rpxy+log and
                        nginx+log
  BENCH_PORT [28400]    backend port; rpxy, nginx, haproxy, h2o use the next four
                        (keep them out of the ephemeral port range)
  BENCH_PROXY_CPU [1]   CPU of the proxy; BENCH_LOAD_CPU [0]: backend and client
  BENCH_BODY_SIZE [13]  response body bytes
  BENCH_RPXY [build/rpxy]  our proxy binary
  BENCH_RPXY_WAIT [5]   seconds rpxy gets to start listening
  BENCH_QUIET_WAIT [30] seconds to wait for other load on the two CPUs to stop
                        before each measurement (then it goes on, flagged)
  BENCH_BUSY_LIMIT [10] percent of foreign CPU load that flags a measurement
  BENCH_RETRIES [2]     times a flagged measurement is taken again
  BENCH_PEER_HEADERS [1] nginx, HAProxy (h2o) add the forwarding headers rpxy
                        adds (X-Forwarded-For/-Proto/-Port, X-Real-IP); 0: not
  BENCH_NO_INSTALL=1    do not install missing packages
  BENCH_KEEP=1          keep the work directory (configs, logs, raw outputs)
  BENCH_TLS_SCENARIOS ["keepalive full resume pq"]  which --tls scenarios
  BENCH_TLS_HOST [bench.test]  certificate name, SNI and Host of --tls, --h2
  BENCH_TLS_INMEM [1000] in-memory handshakes of the OpenSSL reference (0: none)
  BENCH_H2_CONNS [16]   --h2: h2load connections (-c)
  BENCH_H2_STREAMS [10] --h2: concurrent streams per connection (-m)
  BENCH_H2_TARGETS [BENCH_TARGETS without direct, plus h2o]  --h2 targets
  BENCH_H3_CONNS [16]   --h3 streams shape: connections (-c)
  BENCH_H3_STREAMS [10] --h3 streams shape: concurrent streams per connection (-m)
  BENCH_H3_NEWCONN_CONNS [16]  --h3 newconn shape: h3load connections at once
  BENCH_H3_NEWCONN_RATE [400]  --h3 newconn shape: h2load's new connections per
                        second (rate mode: h2load has no closed-loop mode with
                        one request per connection)
  BENCH_H3_TARGETS ["rpxy caddy"]  --h3 targets
  BENCH_H3_SHAPES ["streams newconn"]  --h3 load shapes
  BENCH_FAILOVER_DURATION [20]  --failover: seconds of wrk (the kill at half)
  BENCH_FAILOVER_CONNS [32]     --failover: wrk connections
TXT
}

modes=()
while [ $# -gt 0 ]; do
    case $1 in
    --callgrind) modes+=(callgrind) ;;
    --strace) modes+=(strace) ;;
    --memory) modes+=(memory) ;;
    --throughput) modes+=(throughput) ;;
    --tls) modes+=(tls) ;;
    --h2) modes+=(h2) ;;
    --h3) modes+=(h3) ;;
    --failover) modes+=(failover) ;;
    --all) modes+=(throughput callgrind strace memory tls h2 h3) ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        usage >&2
        exit 2
        ;;
    esac
    shift
done
[ ${#modes[@]} -gt 0 ] || modes=(throughput)

# ---- settings ----

DURATION=${BENCH_DURATION:-10}
ROUNDS=${BENCH_ROUNDS:-3}
WARMUP=${BENCH_WARMUP:-2}
CONNS=${BENCH_CONNS:-64}
REQUESTS=${BENCH_REQUESTS:-20000}
IDLE_CONNS=${BENCH_IDLE_CONNS:-10000}
TARGETS=${BENCH_TARGETS:-direct rpxy nginx haproxy}
ACCESS_LOG=${BENCH_ACCESS_LOG:-off on}
PORT_BASE=${BENCH_PORT:-28400}
PROXY_CPU=${BENCH_PROXY_CPU:-1}
LOAD_CPU=${BENCH_LOAD_CPU:-0}
BODY_SIZE=${BENCH_BODY_SIZE:-13}
RPXY_BIN=${BENCH_RPXY:-$ROOT/build/rpxy}
RPXY_WAIT=${BENCH_RPXY_WAIT:-5}
QUIET_WAIT=${BENCH_QUIET_WAIT:-30}
BUSY_LIMIT=${BENCH_BUSY_LIMIT:-10}
PEER_HEADERS=${BENCH_PEER_HEADERS:-1}
RETRIES=${BENCH_RETRIES:-2}
KEEP=${BENCH_KEEP:-0}
TLS_SCENARIOS=${BENCH_TLS_SCENARIOS:-keepalive full resume pq}
TLS_HOST=${BENCH_TLS_HOST:-bench.test}
TLS_INMEM=${BENCH_TLS_INMEM:-1000}
H2_CONNS=${BENCH_H2_CONNS:-16}
H2_STREAMS=${BENCH_H2_STREAMS:-10}
H2_TARGETS=${BENCH_H2_TARGETS:-$(for t in $TARGETS; do [ "$t" = direct ] || printf '%s ' "$t"; done)h2o}
H3_CONNS=${BENCH_H3_CONNS:-16}
H3_STREAMS=${BENCH_H3_STREAMS:-10}
H3_NEWCONN_CONNS=${BENCH_H3_NEWCONN_CONNS:-16}
H3_NEWCONN_RATE=${BENCH_H3_NEWCONN_RATE:-400}
H3_TARGETS=${BENCH_H3_TARGETS:-rpxy caddy}
H3_SHAPES=${BENCH_H3_SHAPES:-streams newconn}
FO_DURATION=${BENCH_FAILOVER_DURATION:-20}
FO_CONNS=${BENCH_FAILOVER_CONNS:-32}

for v in DURATION ROUNDS WARMUP CONNS REQUESTS IDLE_CONNS PORT_BASE PROXY_CPU LOAD_CPU BODY_SIZE RPXY_WAIT \
    QUIET_WAIT BUSY_LIMIT PEER_HEADERS RETRIES TLS_INMEM H2_CONNS H2_STREAMS H3_CONNS H3_STREAMS \
    H3_NEWCONN_CONNS H3_NEWCONN_RATE FO_DURATION FO_CONNS; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "BENCH_$v must be a whole number, not '${!v}'"
done
[ "$ROUNDS" -ge 1 ] && [ "$DURATION" -ge 1 ] && [ "$CONNS" -ge 1 ] || die "BENCH_ROUNDS, BENCH_DURATION and BENCH_CONNS must be at least 1"
if [ "$H2_CONNS" -lt 1 ] || [ "$H2_STREAMS" -lt 1 ]; then
    die "BENCH_H2_CONNS and BENCH_H2_STREAMS must be at least 1"
fi
for t in $TARGETS; do
    case $t in direct | rpxy | nginx | haproxy) ;; *) die "unknown target '$t' in BENCH_TARGETS" ;; esac
done
for t in $H2_TARGETS; do
    case $t in rpxy | nginx | haproxy | h2o) ;; *) die "unknown target '$t' in BENCH_H2_TARGETS (rpxy, nginx, haproxy, h2o)" ;; esac
done
if [ "$H3_CONNS" -lt 1 ] || [ "$H3_STREAMS" -lt 1 ] || [ "$H3_NEWCONN_CONNS" -lt 1 ] ||
    [ "$H3_NEWCONN_RATE" -lt 50 ]; then
    die "BENCH_H3_CONNS, BENCH_H3_STREAMS and BENCH_H3_NEWCONN_CONNS must be at least 1, BENCH_H3_NEWCONN_RATE at least 50"
fi
for t in $H3_TARGETS; do
    case $t in rpxy | caddy) ;; *) die "unknown target '$t' in BENCH_H3_TARGETS (rpxy, caddy)" ;; esac
done
for s in $H3_SHAPES; do
    case $s in streams | newconn) ;; *) die "unknown shape '$s' in BENCH_H3_SHAPES (streams, newconn)" ;; esac
done
[ -n "$ACCESS_LOG" ] || die "BENCH_ACCESS_LOG must name off, on or both"
for a in $ACCESS_LOG; do
    case $a in off | on) ;; *) die "unknown value '$a' in BENCH_ACCESS_LOG (off, on)" ;; esac
done
for s in $TLS_SCENARIOS; do
    case $s in keepalive | full | resume | pq) ;; *) die "unknown scenario '$s' in BENCH_TLS_SCENARIOS" ;; esac
done
[[ $TLS_HOST =~ ^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$ ]] || die "BENCH_TLS_HOST must be a lower-case DNS name"
[ "$PROXY_CPU" != "$LOAD_CPU" ] || note "warning: proxy and load share CPU $LOAD_CPU"
[ "$(nproc --all)" -gt "$PROXY_CPU" ] && [ "$(nproc --all)" -gt "$LOAD_CPU" ] ||
    die "this machine has $(nproc --all) CPUs; set BENCH_PROXY_CPU / BENCH_LOAD_CPU"

BACKEND_PORT=$PORT_BASE
# Client sockets take their ports from the ephemeral range: a listening port
# in it can be taken by one of the 10,000 idle connections of a previous run.
read -r eph_lo eph_hi </proc/sys/net/ipv4/ip_local_port_range
if [ $((PORT_BASE + 6)) -ge "$eph_lo" ] && [ "$PORT_BASE" -le "$eph_hi" ]; then
    note "warning: ports $PORT_BASE-$((PORT_BASE + 6)) lie in the ephemeral range $eph_lo-$eph_hi"
fi
BACKEND=127.0.0.1:$BACKEND_PORT
# --failover: the second backend, the one killed
BACKEND2_PORT=$((PORT_BASE + 6))
BACKEND2=127.0.0.1:$BACKEND2_PORT
# Connection limits of the proxies: the idle connections of --memory plus
# room for upstream connections.
MAX_CONNS=$((IDLE_CONNS + 2048))

# A target NAME+log is NAME with its access log on (rpxy, nginx).
target_port() {
    case ${1%+log} in
    direct) echo "$BACKEND_PORT" ;;
    rpxy) echo $((PORT_BASE + 1)) ;;
    nginx) echo $((PORT_BASE + 2)) ;;
    haproxy) echo $((PORT_BASE + 3)) ;;
    h2o) echo $((PORT_BASE + 4)) ;;
    caddy) echo $((PORT_BASE + 5)) ;;
    esac
}

has_target() { [[ " $TARGETS " == *" $1 "* || " $TARGETS " == *" $1+log "* ]]; }
# log_variants TARGET...: the targets of a mode that measures the access log:
# rpxy and nginx as NAME (log off) and NAME+log (log on), per
# BENCH_ACCESS_LOG; the others as they are.
log_variants() {
    local t out=()
    for t in "$@"; do
        case $t in
        rpxy | nginx)
            [[ " $ACCESS_LOG " == *" off "* ]] && out+=("$t")
            [[ " $ACCESS_LOG " == *" on "* ]] && out+=("$t+log")
            ;;
        *) out+=("$t") ;;
        esac
    done
    echo "${out[@]}"
}
has_mode() { [[ " ${modes[*]} " == *" $1 "* ]]; }

# ---- work directory, cleanup ----

WORK=$(mktemp -d /tmp/rpxy-bench.XXXXXX)
MAIN_PID=$$
# The original stderr: a signal may arrive while a command's output is
# redirected to a file, and the exit message must still be seen.
exec 9>&2
on_exit() {
    local rc=$?
    [ "$BASHPID" = "$MAIN_PID" ] || return 0 # not in a subshell
    trap - EXIT INT TERM
    stop_all
    if [ "$rc" -ne 0 ] || [ "$KEEP" = 1 ]; then
        [ "$rc" -ge 128 ] && note "interrupted" 2>&9
        note "configs, logs and raw outputs are in $WORK" 2>&9
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
# A signal ends the script through the EXIT trap. A subshell (a command
# substitution) that gets it dies of it, so that its parent notices too.
on_signal() {
    if [ "$BASHPID" != "$MAIN_PID" ]; then
        trap - "$1"
        kill -"$1" "$BASHPID"
        return
    fi
    exit "$2"
}
trap on_exit EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM

# ---- packages, limits, build ----

need=(nginx-light\|nginx\|nginx-core\|nginx-full\|nginx-extras haproxy wrk nghttp2-client
    valgrind strace procps util-linux curl python3 make gcc libc6-dev pkg-config libssl-dev openssl)
# h2o only for --h2, where it is a target
has_mode h2 && [[ " $H2_TARGETS " == *" h2o "* ]] && need+=(h2o)
# Caddy only for --h3, where it is a target
has_mode h3 && [[ " $H3_TARGETS " == *" caddy "* ]] && need+=(caddy)
if [ "${BENCH_NO_INSTALL:-0}" != 1 ]; then
    ensure_packages "${need[@]}"
fi
for cmd in nginx haproxy wrk h2load taskset curl ps openssl; do
    command -v "$cmd" >/dev/null || die "$cmd not found (install it or unset BENCH_NO_INSTALL)"
done
NGINX=$(command -v nginx)
HAPROXY=$(command -v haproxy)
PYTHON=/usr/bin/python3
H2O=""
if has_mode h2 && [[ " $H2_TARGETS " == *" h2o "* ]]; then
    H2O=$(command -v h2o) || die "h2o not found (install it or unset BENCH_NO_INSTALL)"
fi
CADDY=""
if has_mode h3 && [[ " $H3_TARGETS " == *" caddy "* ]]; then
    CADDY=$(command -v caddy) || die "caddy not found (install it or unset BENCH_NO_INSTALL)"
fi

# 10,000 idle connections need as many descriptors in the client and a few
# more in a proxy (its upstream connections). Root may raise the hard limit
# (not in every container); the soft one goes up to the hard one.
NOFILE=$((MAX_CONNS * 2))
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$NOFILE" ]; then
    ulimit -Hn "$NOFILE" 2>/dev/null || true
fi
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge "$NOFILE" ] || NOFILE=$(ulimit -n)
if has_mode memory && [ "$NOFILE" -lt "$MAX_CONNS" ]; then
    die "open-file limit $NOFILE is too low for $IDLE_CONNS connections (run as root or lower BENCH_IDLE_CONNS)"
fi

# The tree may be mid-edit: when rpxy does not build, its row says so and the
# others are still measured (the backend needs nothing from src/, so it is
# compiled on its own if make cannot link it).
note "building (make)"
BACKEND_BIN=$ROOT/build/bench-backend
RPXY_BUILD_ERROR=""
if ! make -s -C "$ROOT" build/rpxy build/bench-backend >"$WORK/make.log" 2>&1; then
    RPXY_BUILD_ERROR="make failed (log: $WORK/make.log)"
    note "make failed; the rpxy row will say so. The first errors:"
    grep -m 5 -E 'error|Error' "$WORK/make.log" >&2 || tail -n 5 "$WORK/make.log" >&2
    if ! make -s -C "$ROOT" build/bench-backend >>"$WORK/make.log" 2>&1; then
        BACKEND_BIN=$WORK/bench-backend
        ${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -o "$BACKEND_BIN" "$ROOT/tools/bench_backend.c" ||
            die "cannot build bench-backend"
    fi
fi
# The TLS load generator links librpxy.a (our X25519MLKEM768 provider): when
# the tree does not build, a tls-load built earlier is used if there is one.
TLS_LOAD_BIN=$ROOT/build/tls-load
WANT_TLS=0
has_mode tls && WANT_TLS=1
# --tls, --h2 and --h3 share the certificate
WANT_H2=0
has_mode h2 && WANT_H2=1
WANT_H3=0
has_mode h3 && WANT_H3=1
if [ "$WANT_TLS" = 1 ] && ! make -s -C "$ROOT" build/tls-load >>"$WORK/make.log" 2>&1; then
    [ -x "$TLS_LOAD_BIN" ] || die "cannot build build/tls-load (log: $WORK/make.log)"
    note "make could not rebuild build/tls-load; using the one built earlier"
fi
# The HTTP/3 load generator links librpxy.a too (the QUIC client on our TLS
# bridge): the same fallback.
H3LOAD_BIN=$ROOT/build/h3load
if [ "$WANT_H3" = 1 ] && ! make -s -C "$ROOT" build/h3load >>"$WORK/make.log" 2>&1; then
    [ -x "$H3LOAD_BIN" ] || die "cannot build build/h3load (log: $WORK/make.log)"
    note "make could not rebuild build/h3load; using the one built earlier"
fi

# The body every check expects: BODY_SIZE bytes from the backend.
check_http() {
    local out
    out=$(curl -s -m 5 -o /dev/null -w '%{http_code} %{size_download}' "http://127.0.0.1:$1/" 2>/dev/null) ||
        return 1
    [ "$out" = "200 $BODY_SIZE" ]
}

# check_https PORT: the same over TLS with SNI TLS_HOST, verifying the run's
# certificate (curl resolves the name to 127.0.0.1 itself).
check_https() {
    local out
    out=$(curl -s -m 5 -o /dev/null -w '%{http_code} %{size_download}' --cacert "$TLS_DIR/cert.pem" \
        --resolve "$TLS_HOST:$1:127.0.0.1" "https://$TLS_HOST:$1/" 2>/dev/null) || return 1
    [ "$out" = "200 $BODY_SIZE" ]
}

# check_h2 PORT: the same over HTTP/2 (curl offers h2 and http/1.1 by ALPN);
# sets CHECK_PROTO to the HTTP version curl used ("2", "1.1"), so a proxy
# that answers properly but negotiated http/1.1 can be told apart.
CHECK_PROTO=""
check_h2() {
    local out code ver size
    CHECK_PROTO=""
    out=$(curl -s -m 5 --http2 -o /dev/null -w '%{http_code} %{http_version} %{size_download}' \
        --cacert "$TLS_DIR/cert.pem" --resolve "$TLS_HOST:$1:127.0.0.1" "https://$TLS_HOST:$1/" 2>/dev/null) ||
        return 1
    read -r code ver size <<<"$out"
    [ "$code $size" = "200 $BODY_SIZE" ] || return 1
    CHECK_PROTO=$ver
    [ "$ver" = 2 ]
}

# check_h3 PORT: one GET over HTTP/3 with h3load (verifying the run's
# certificate), the backend's body back.
check_h3() {
    local out
    out=$(timeout 20 "$H3LOAD_BIN" -n 1 -c 1 --timeout 5 --cafile "$TLS_DIR/cert.pem" \
        --connect-to "127.0.0.1:$1" "https://$TLS_HOST:$1/" 2>&1) || return 1
    [ "$(tls_val - succeeded <<<"$out") $(tls_val - body_bytes <<<"$out")" = "1 $BODY_SIZE" ]
}

# Which configs the proxies start with: "" (plaintext), "-tls" (--tls),
# "-h2" (--h2) or "-h3" (--h3: HTTP/3, and HTTP/2 on the same port).
VARIANT=""
check_target() {
    case $VARIANT in
    -tls) check_https "$1" ;;
    -h2) check_h2 "$1" ;;
    -h3) check_h3 "$1" && check_h2 "$1" ;;
    *) check_http "$1" ;;
    esac
}

# ---- configs ----

# rpxy's built-in TLS choices (src/tls/server.c), given to nginx and HAProxy.
TLS13_SUITES=TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256
TLS12_CIPHERS=ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305
TLS_DIR=$WORK/tls

# render TEMPLATE PORT: $WORK/TEMPLATE without .in, the markers filled in.
# Lines ending in "# @FWD@" are kept only with BENCH_PEER_HEADERS=1, lines
# ending in "# @NOFWD@" only with 0. OUT, when given, names the output file
# instead; RENDER_ACCESS_LOG fills @ACCESS_LOG@ (nginx's access_log, "off").
render() {
    local fwd='s| *# @FWD@$||' nofwd='/# @NOFWD@$/d'
    if [ "$PEER_HEADERS" != 1 ]; then
        fwd='/# @FWD@$/d'
        nofwd='s| *# @NOFWD@$||'
    fi
    sed -e "$fwd" -e "$nofwd" -e "s|@WORK@|$WORK|g" -e "s|@LISTEN@|127.0.0.1:$2|g" -e "s|@PORT@|$2|g" \
        -e "s|@BACKEND@|$BACKEND|g" -e "s|@BACKEND2@|$BACKEND2|g" -e "s|@MAX_CONNS@|$MAX_CONNS|g" -e "s|@NOFILE@|$NOFILE|g" \
        -e "s|@TLS_HOST@|$TLS_HOST|g" -e "s|@CERT@|$TLS_DIR/cert.pem|g" -e "s|@KEY@|$TLS_DIR/key.pem|g" \
        -e "s|@PEM@|$TLS_DIR/bundle.pem|g" -e "s|@TLS13_SUITES@|$TLS13_SUITES|g" \
        -e "s|@TLS12_CIPHERS@|$TLS12_CIPHERS|g" -e "s|@ACCESS_LOG@|${RENDER_ACCESS_LOG:-off}|g" \
        "$BENCH_DIR/conf/$1" >"$WORK/${3:-${1%.in}}"
}
render nginx.conf.in "$(target_port nginx)"
# nginx+log: nginx's usual buffered access log (written when 64 KiB are
# collected, and at exit)
RENDER_ACCESS_LOG="$WORK/nginx-access.log combined buffer=64k" render nginx.conf.in "$(target_port nginx)" nginx-log.conf
render haproxy.cfg.in "$(target_port haproxy)"
render rpxy.toml.in "$(target_port rpxy)"
if has_mode failover; then
    render nginx-failover.conf.in "$(target_port nginx)"
    render rpxy-failover.toml.in "$(target_port rpxy)"
fi
# --tls, --h2, --h3: one self-signed ECDSA P-256 certificate per run for all
# the proxies, its name the bench host (SAN), and the TLS, HTTP/2 and HTTP/3
# configs.
if [ "$WANT_TLS" = 1 ] || [ "$WANT_H2" = 1 ] || [ "$WANT_H3" = 1 ]; then
    mkdir -p "$TLS_DIR"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=$TLS_HOST" -addext "subjectAltName=DNS:$TLS_HOST" \
        -keyout "$TLS_DIR/key.pem" -out "$TLS_DIR/cert.pem" >"$TLS_DIR/openssl.log" 2>&1 ||
        die "cannot make the certificate: $(cat "$TLS_DIR/openssl.log")"
    cat "$TLS_DIR/cert.pem" "$TLS_DIR/key.pem" >"$TLS_DIR/bundle.pem" # HAProxy's crt
    # nginx's worker (user nobody) reads nothing at run time; the master reads
    # the key as root
    chmod 600 "$TLS_DIR/key.pem" "$TLS_DIR/bundle.pem"
    render nginx-tls.conf.in "$(target_port nginx)"
    render haproxy-tls.cfg.in "$(target_port haproxy)"
    render rpxy-tls.toml.in "$(target_port rpxy)"
    render nginx-h2.conf.in "$(target_port nginx)"
    render haproxy-h2.cfg.in "$(target_port haproxy)"
    render rpxy-h2.toml.in "$(target_port rpxy)"
    render h2o-h2.yaml.in "$(target_port h2o)"
    render rpxy-h3.toml.in "$(target_port rpxy)"
    render caddy-h3.Caddyfile.in "$(target_port caddy)"
fi

# The command line of a proxy (without pinning or wrappers).
target_cmd() {
    case $1 in
    rpxy) CMD=("$RPXY_BIN" --config "$WORK/rpxy$VARIANT.toml") ;;
    nginx) CMD=("$NGINX" -p "$WORK" -e "$WORK/nginx-error.log" -c "$WORK/nginx$VARIANT.conf") ;;
    # plaintext only: the access log to files, as nginx's
    rpxy+log) CMD=("$RPXY_BIN" --config "$WORK/rpxy.toml" --log-dir "$WORK/rpxy-logs") ;;
    nginx+log) CMD=("$NGINX" -p "$WORK" -e "$WORK/nginx-error.log" -c "$WORK/nginx-log.conf") ;;
    haproxy) CMD=("$HAPROXY" -db -f "$WORK/haproxy$VARIANT.cfg") ;;
    h2o) CMD=("$H2O" -m worker -c "$WORK/h2o$VARIANT.yaml") ;; # --h2 only
    # --h3 only; env execs Caddy, so the pid is Caddy's
    caddy) CMD=(env GOMAXPROCS=1 XDG_DATA_HOME="$WORK/caddy" XDG_CONFIG_HOME="$WORK/caddy"
        "$CADDY" run --adapter caddyfile --config "$WORK/caddy$VARIANT.Caddyfile") ;;
    esac
}

# Validate the peers' configs once, so a mistake shows up front.
for v in "" -log $([ "$WANT_TLS" = 1 ] && echo -tls) $([ "$WANT_H2" = 1 ] && echo -h2) \
    $(has_mode failover && echo -failover); do
    cfg_targets=$TARGETS
    [ "$v" = -h2 ] && cfg_targets=$H2_TARGETS
    [ "$v" = -failover ] && cfg_targets=nginx # rpxy and nginx only
    if [ "$v" = -log ]; then # nginx+log's config
        cfg_targets=""
        if [[ " $TARGETS " == *" nginx "* && " $ACCESS_LOG " == *" on "* ]]; then cfg_targets=nginx; fi
    fi
    [[ " $cfg_targets " == *" nginx "* ]] && { "$NGINX" -t -q -p "$WORK" -e "$WORK/nginx-error.log" -c "$WORK/nginx$v.conf" >"$WORK/nginx-t.log" 2>&1 ||
        die "nginx rejects its config nginx$v.conf: $(cat "$WORK/nginx-t.log")"; }
    [[ " $cfg_targets " == *" haproxy "* ]] && { "$HAPROXY" -c -q -f "$WORK/haproxy$v.cfg" >"$WORK/haproxy-c.log" 2>&1 ||
        die "haproxy rejects its config haproxy$v.cfg: $(cat "$WORK/haproxy-c.log")"; }
    [ "$v" = -h2 ] && [ -n "$H2O" ] && { "$H2O" -m test -c "$WORK/h2o$v.yaml" >"$WORK/h2o-t.log" 2>&1 ||
        die "h2o rejects its config h2o$v.yaml: $(cat "$WORK/h2o-t.log")"; }
done
if [ -n "$CADDY" ]; then
    "$CADDY" validate --adapter caddyfile --config "$WORK/caddy-h3.Caddyfile" >"$WORK/caddy-v.log" 2>&1 ||
        die "caddy rejects its config caddy-h3.Caddyfile: $(tail -n 3 "$WORK/caddy-v.log")"
fi

# ---- starting and stopping a target ----

# launch_target NAME [WRAPPER...]: starts the proxy pinned to PROXY_CPU and
# waits until it listens and answers a GET (unless LAUNCH_NO_CHECK=1). Sets
# TPID. Returns 0 when serving; for rpxy 3 when it runs but never listens
# (not serving yet), 5 when it answers properly over TLS but ALPN gave it
# http/1.1 instead of h2 (--h2: no HTTP/2 yet) and 4 when it exits or listens
# without answering properly (nginx, HAProxy or h2o failing ends the run).
# LAUNCH_WAIT overrides the seconds allowed to come up.
launch_target() {
    local t=$1 port rc=0 wait_s
    shift
    port=$(target_port "$t")
    listening "$port" && die "port $port (for $t) is already in use; set BENCH_PORT"
    target_cmd "$t"
    # each run starts with empty access logs (access_log_lines counts them)
    rm -rf "$WORK/rpxy-logs" "$WORK/nginx-access.log"
    # rpxy's access log is written at INFO on stdout: RUST_LOG=warn turns it
    # off; with --log-dir (rpxy+log) it is written whatever the level
    RUST_LOG=$([ "$t" = rpxy+log ] && echo info || echo warn) start_pinned "$t" "$PROXY_CPU" "$@" "${CMD[@]}"
    TPID=$START_PID
    wait_s=${LAUNCH_WAIT:-$([ "${t%+log}" = rpxy ] && echo "$RPXY_WAIT" || echo 15)}
    wait_listening "$TPID" "$port" "$wait_s" || rc=$?
    if [ "$rc" = 0 ] && [ "${LAUNCH_NO_CHECK:-0}" != 1 ] && ! check_target "$port"; then
        rc=4
        [ "$VARIANT" = -h2 ] && [ -n "$CHECK_PROTO" ] && rc=5 # a proper answer, not over h2
    fi
    [ "$rc" = 0 ] && return 0
    local why
    case $rc in
    1) why="not listening on port $port after ${wait_s}s" ;;
    2) why="exited at start-up" ;;
    4) why="listening on port $port but GET $([ -n "$VARIANT" ] && echo "https://$TLS_HOST")/$([ "$VARIANT" = -h2 ] && echo " over HTTP/2") did not return 200 with the backend's body" ;;
    5) why="no h2: it answers over TLS, but ALPN chose HTTP/$CHECK_PROTO, not h2, for curl --http2 (offering h2, http/1.1)" ;;
    esac
    stop_pid "$TPID" 5
    if [ "${t%+log}" = rpxy ]; then
        RPXY_WHY=$why
        [ "$rc" = 1 ] && return 3 # running, not listening: not serving yet
        [ "$rc" = 5 ] && return 5 # serving, but not HTTP/2 yet
        tail -n 20 "$WORK/$t.log" >&2 || true
        return 4
    fi
    # nginx and h2o write their errors to $t-error.log
    tail -n 20 "$WORK/$t.log" "$WORK/$t-error.log" >&2 2>/dev/null || true
    die "$t did not come up: $why (log above)"
}

# Is our proxy serving? Checked once (natively) before the measurements, so
# a proxy that cannot serve yet costs one short wait, not one per round.
RPXY_STATE=absent
probe_rpxy() {
    has_target rpxy || return 0
    if [ -n "$RPXY_BUILD_ERROR" ] && [ -z "${BENCH_RPXY:-}" ]; then
        RPXY_STATE=failed RPXY_WHY=$RPXY_BUILD_ERROR
        note "rpxy: $RPXY_WHY"
        return 0
    fi
    if [ ! -x "$RPXY_BIN" ]; then
        RPXY_STATE=skipped RPXY_WHY="$RPXY_BIN not built"
        return 0
    fi
    timeout 30 "$RPXY_BIN" --config "$WORK/rpxy$VARIANT.toml" --check >"$WORK/rpxy-check.log" 2>&1 </dev/null ||
        die "rpxy rejects the benchmark config ($WORK/rpxy$VARIANT.toml): $(cat "$WORK/rpxy-check.log")"
    local rc=0
    launch_target rpxy || rc=$?
    case $rc in
    0)
        RPXY_STATE=ok
        stop_pid "$TPID"
        ;;
    3) RPXY_STATE=skipped ;;
    5) RPXY_STATE=noh2 ;;
    *) RPXY_STATE=failed ;;
    esac
    if [ "$RPXY_STATE" != ok ]; then
        note "rpxy: $RPXY_WHY"
    fi
}

# rpxy_row: the table row for rpxy when it is not measured.
# rpxy_row [NAME]: the table row for rpxy (or rpxy+log) when it is not
# measured.
rpxy_row() {
    local name=${1:-rpxy}
    case $RPXY_STATE in
    skipped) printf '%-9s not serving (skipped)\n' "$name" ;;
    noh2) printf '%-9s no h2 (skipped): %s\n' "$name" "${RPXY_WHY#no h2: }" ;;
    failed) printf '%-9s FAILED: %s\n' "$name" "$RPXY_WHY" ;;
    esac
}

# access_log_lines TARGET: the lines in the access log of the run of TARGET
# that just stopped (rpxy+log, nginx+log); empty for the others.
access_log_lines() {
    case $1 in
    rpxy+log) wc -l <"$WORK/rpxy-logs/access.log" 2>/dev/null || echo 0 ;;
    nginx+log) wc -l <"$WORK/nginx-access.log" 2>/dev/null || echo 0 ;;
    esac
}

# The targets actually measured (rpxy only when it serves), optionally
# without "direct".
measured_targets() {
    local t list=()
    for t in $TARGETS; do
        [ "${t%+log}" = rpxy ] && [ "$RPXY_STATE" != ok ] && continue
        [ "$t" = direct ] && [ "${1:-}" = proxies ] && continue
        list+=("$t")
    done
    echo "${list[@]}"
}

# ---- the backend ----

listening "$BACKEND_PORT" && die "port $BACKEND_PORT (backend) is already in use; set BENCH_PORT"
start_pinned backend "$LOAD_CPU" "$BACKEND_BIN" --quiet --body-size "$BODY_SIZE" "$BACKEND"
BACKEND_PID=$START_PID
wait_listening "$BACKEND_PID" "$BACKEND_PORT" 10 || die "bench-backend did not start: $(cat "$WORK/backend.log")"
check_http "$BACKEND_PORT" || die "bench-backend does not answer on $BACKEND"

# load CMD...: runs a load generator pinned to LOAD_CPU and waits for it. It
# runs as a tracked background job so that a signal stops the script (and it)
# at once: the shell defers traps while a foreground command runs.
load() { run_on "$LOAD_CPU" "$@"; }
# run_on CPU CMD...: the same on another CPU.
run_on() {
    local pid rc=0 cpu=$1
    shift
    taskset -c "$cpu" "$@" &
    pid=$!
    STARTED_PIDS+=("$pid")
    wait "$pid" || rc=$?
    forget_pid "$pid"
    return "$rc"
}
url() { echo "http://127.0.0.1:$(target_port "$1")/"; }

# h2load_ok FILE N: h2load's output shows N succeeded requests with 2xx.
h2load_ok() {
    local ok
    ok=$(awk '/^requests:/ { for (i = 2; i <= NF; i++) if ($i == "succeeded,") print $(i - 1) }' "$1")
    [ "${ok:-0}" = "$2" ]
}

# ---- measuring ----

# least_busy LABEL VARS CMD...: runs CMD, a measurement that sets M_BUSY,
# M_BUSY_TEXT and the variables named in VARS ($TRY numbers the attempt),
# again (up to RETRIES times) while something else takes a share of the CPUs,
# and leaves VARS and M_BUSY of the least disturbed attempt set, with its
# M_BUSY_TEXT in BEST_BUSY_TEXT. The last of VARS may hold spaces.
least_busy() {
    local label=$1 vars=$2 best="" best_busy=101 v
    shift 2
    for ((TRY = 0; TRY <= RETRIES; TRY++)); do
        "$@"
        if [ "$M_BUSY" -lt "$best_busy" ]; then
            best_busy=$M_BUSY
            best=""
            for v in M_BUSY $vars; do best+="${!v} "; done
            BEST_BUSY_TEXT=$M_BUSY_TEXT
        fi
        [ "$M_BUSY" -lt "$BUSY_LIMIT" ] && break
        [ "$TRY" -lt "$RETRIES" ] && note "$label: other load ($M_BUSY_TEXT), measuring again"
    done
    # shellcheck disable=SC2086 # VARS is a list of names
    read -r M_BUSY $vars <<<"$best"
}

# window_open PID / window_close PID: the CPU readings around a measured
# load (run with `load`) of the target PID. window_close stops the target
# and sets W_TICKS (the target's clock ticks, all its processes), W_BTICKS
# (the backend's), M_BUSY and M_BUSY_TEXT as wrk_once does. They run in
# this shell (children_ticks must).
window_open() {
    W_C0=$(cpu_ticks "$1")
    W_B0=$(cpu_ticks "$BACKEND_PID")
    read -r W_PB0 W_PT0 <<<"$(cpu_ticks_of "$PROXY_CPU")"
    read -r W_LB0 W_LT0 <<<"$(cpu_ticks_of "$LOAD_CPU")"
    children_ticks W_W0
}

window_close() {
    local c1 b1 w1 fp fl
    children_ticks w1
    c1=$(cpu_ticks "$1")
    b1=$(cpu_ticks "$BACKEND_PID")
    fp=$(foreign_load "$PROXY_CPU" "$W_PB0" "$W_PT0" $((c1 - W_C0)))
    fl=$(foreign_load "$LOAD_CPU" "$W_LB0" "$W_LT0" $((b1 - W_B0 + w1 - W_W0)))
    M_BUSY=$fl
    [ "$fp" -gt "$fl" ] && M_BUSY=$fp
    M_BUSY_TEXT="CPU $PROXY_CPU ${fp}%, CPU $LOAD_CPU ${fl}%"
    stop_pid "$1"
    W_TICKS=$((c1 - W_C0))
    W_BTICKS=$((b1 - W_B0))
}

# round_warnings LABEL RESDIR [PROBLEM...]: the warnings of one measurement,
# each "  WARNING: ...": every non-empty PROBLEM, then other load at or above
# BUSY_LIMIT (M_BUSY, BEST_BUSY_TEXT). Appends "LABEL:<warnings>" to
# RESDIR/warnings when there are any; prints the warnings.
round_warnings() {
    local label=$1 res=$2 warn="" p
    shift 2
    for p in "$@"; do
        [ -z "$p" ] || warn+="  WARNING: $p"
    done
    [ "$M_BUSY" -lt "$BUSY_LIMIT" ] || warn+="  WARNING: other load $BEST_BUSY_TEXT"
    [ -z "$warn" ] || echo "$label:$warn" >>"$res/warnings"
    printf '%s' "$warn"
}

# per_req TICKS REQUESTS: microseconds of CPU per request.
per_req() {
    awk -v t="$1" -v n="$2" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t * 1e6 / hz / n }'
}

# ---- the modes: bench/modes/<mode>.sh, mode_<mode> in each ----

# shellcheck source=bench/modes/throughput.sh
. "$BENCH_DIR/modes/throughput.sh"
# shellcheck source=bench/modes/callgrind.sh
. "$BENCH_DIR/modes/callgrind.sh"
# shellcheck source=bench/modes/strace.sh
. "$BENCH_DIR/modes/strace.sh"
# shellcheck source=bench/modes/memory.sh
. "$BENCH_DIR/modes/memory.sh"
# shellcheck source=bench/modes/tls.sh
. "$BENCH_DIR/modes/tls.sh"
# shellcheck source=bench/modes/h2.sh
. "$BENCH_DIR/modes/h2.sh"
# shellcheck source=bench/modes/h3.sh
. "$BENCH_DIR/modes/h3.sh"
# shellcheck source=bench/modes/failover.sh
. "$BENCH_DIR/modes/failover.sh"

say "bench: $(nproc --all) CPUs, proxy on CPU $PROXY_CPU, backend and load on CPU $LOAD_CPU; nginx $("$NGINX" -v 2>&1 | sed 's|.*/||'), HAProxy $("$HAPROXY" -v | awk 'NR == 1 { print $3 }'), $(timeout 5 "$RPXY_BIN" --version 2>/dev/null </dev/null || echo "rpxy: no version")$([ -n "$H2O" ] && echo ", h2o $("$H2O" --version | awk 'NR == 1 { print $3 }')")$([ -n "$CADDY" ] && echo ", Caddy $("$CADDY" version | awk '{ print $1 }')")"
RPXY_FAILED=0
for m in "${modes[@]}"; do
    "mode_$m"
    [ "$RPXY_STATE" = failed ] && RPXY_FAILED=1
done
# rpxy not serving yet is not an error; rpxy failing (crash, wrong answers,
# no build) is.
exit "$RPXY_FAILED"
