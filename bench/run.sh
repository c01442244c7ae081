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
# the settings (BENCH_* environment variables).
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

# ---- throughput: wrk ----

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

# One attempt of each kind for least_busy; `out` names its raw output.
wrk_attempt() { out="$WORK/wrk.$1.$2.$TRY.txt"; wrk_once "$1" "$out"; }
tls_attempt() { out="$WORK/tls.$2.$1.$3.$TRY.txt"; tls_once "$1" "$2" "$out"; }

# wrk_once TARGET OUT: one measurement (start, check, warm-up, wrk, stop).
# Sets M_RPS, M_P99 (ms), M_CPU (the proxy's CPU us/request; the backend's
# for direct), M_BCPU (the backend's), M_BAD (non-2xx), M_ERRS (socket
# errors) and M_BUSY (percent of the target's CPUs taken by other work).
wrk_once() {
    local t=$1 out=$2 pid busy c0 c1 b0 b1 w0 w1 pb0 pt0 lb0 lt0 reqs fp fl
    busy=$(wait_quiet "$QUIET_WAIT" "$PROXY_CPU" "$LOAD_CPU") ||
        note "$t: the machine stays busy ($busy); measuring anyway"
    if [ "$t" = direct ]; then
        pid=$BACKEND_PID
    else
        launch_target "$t" || die "$t stopped serving"
        pid=$TPID
    fi
    load wrk -t1 -c"$CONNS" -d"${WARMUP}s" "$(url "$t")" >"$WORK/warmup.txt" 2>&1 ||
        die "wrk warm-up against $t failed: $(cat "$WORK/warmup.txt")"
    c0=$(cpu_ticks "$pid")
    b0=$(cpu_ticks "$BACKEND_PID")
    read -r pb0 pt0 <<<"$(cpu_ticks_of "$PROXY_CPU")"
    read -r lb0 lt0 <<<"$(cpu_ticks_of "$LOAD_CPU")"
    children_ticks w0
    load wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "$(url "$t")" >"$out" 2>&1 ||
        die "wrk against $t failed: $(cat "$out")"
    children_ticks w1
    c1=$(cpu_ticks "$pid")
    b1=$(cpu_ticks "$BACKEND_PID")
    # What the two CPUs spent on anything but the proxy, the backend and wrk
    # (direct runs on the load CPU only).
    local ours_p=$((c1 - c0))
    [ "$t" = direct ] && ours_p=0
    fp=$(foreign_load "$PROXY_CPU" "$pb0" "$pt0" "$ours_p")
    fl=$(foreign_load "$LOAD_CPU" "$lb0" "$lt0" $((b1 - b0 + w1 - w0)))
    M_BUSY=$fl
    [ "$t" != direct ] && [ "$fp" -gt "$fl" ] && M_BUSY=$fp
    M_BUSY_TEXT="CPU $PROXY_CPU ${fp}%, CPU $LOAD_CPU ${fl}%"
    [ "$t" = direct ] || stop_pid "$pid"

    reqs=$(awk '/ requests in / { print $1 }' "$out")
    [ -n "$reqs" ] && [ "$reqs" -gt 0 ] || die "no requests completed against $t: $(cat "$out")"
    M_RPS=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    M_P99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
    M_BAD=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
    M_BAD=${M_BAD:-0}
    M_ERRS=$(awk -F'[ ,]+' '/Socket errors:/ { print $4 + $6 + $8 + $10 }' "$out")
    M_ERRS=${M_ERRS:-0}
    M_CPU=$(awk -v t=$((c1 - c0)) -v n="$reqs" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t * 1e6 / hz / n }')
    M_BCPU=$(awk -v t=$((b1 - b0)) -v n="$reqs" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t * 1e6 / hz / n }')
}

mode_throughput() {
    local round t out res="$WORK/res" try line
    # rpxy and nginx also with their access log (rpxy+log, nginx+log)
    local with_log
    # shellcheck disable=SC2086 # a list of names
    with_log=$(log_variants $TARGETS)
    local TARGETS=$with_log
    mkdir -p "$res"
    say ""
    say "== throughput: HTTP/1.1 keep-alive, wrk -t1 -c$CONNS -d${DURATION}s, $ROUNDS rounds =="
    probe_rpxy
    for ((round = 1; round <= ROUNDS; round++)); do
        for t in $(measured_targets); do
            local M_RPS M_P99 M_CPU M_BCPU M_BAD M_ERRS M_BUSY M_BUSY_TEXT BEST_BUSY_TEXT
            least_busy "round $round $t" "M_RPS M_P99 M_CPU M_BCPU M_BAD M_ERRS" wrk_attempt "$t" "$round"
            echo "$M_RPS" >>"$res/$t.rps"
            echo "$M_P99" >>"$res/$t.p99"
            echo "$M_CPU" >>"$res/$t.cpu"
            local warn=""
            if [ "$M_BAD" != 0 ] || [ "$M_ERRS" != 0 ]; then
                warn+="  WARNING: $M_BAD non-2xx, $M_ERRS socket errors"
            fi
            if [ "$M_BUSY" -ge "$BUSY_LIMIT" ]; then
                warn+="  WARNING: other load $BEST_BUSY_TEXT"
            fi
            [ -z "$warn" ] || echo "round $round $t:$warn" >>"$res/warnings"
            if [ "$t" = direct ]; then
                printf 'round %d  %-8s %9.0f req/s  p99 %7.3f ms  backend CPU %6.2f us/req%s\n' \
                    "$round" "$t" "$M_RPS" "$M_P99" "$M_CPU" "$warn"
            else
                printf 'round %d  %-8s %9.0f req/s  p99 %7.3f ms  proxy CPU %6.2f us/req  (backend %.2f)%s\n' \
                    "$round" "$t" "$M_RPS" "$M_P99" "$M_CPU" "$M_BCPU" "$warn"
            fi
        done
    done

    say ""
    say "scenario: HTTP/1.1 keep-alive, wrk -t1 -c$CONNS -d${DURATION}s, 1 worker pinned to CPU $PROXY_CPU (backend, wrk on CPU $LOAD_CPU), median of $ROUNDS"
    printf '%-9s %10s %10s %11s\n' target req/s p99 "CPU us/req"
    for t in $TARGETS; do
        if [ "${t%+log}" = rpxy ] && [ "$RPXY_STATE" != ok ]; then
            rpxy_row "$t"
            continue
        fi
        printf '%-9s %10.0f %8.3fms %11.2f%s\n' "$t" "$(median <"$res/$t.rps")" \
            "$(median <"$res/$t.p99")" "$(median <"$res/$t.cpu")" \
            "$([ "$t" = direct ] && echo "  (the backend's CPU)")"
    done
    say "(rpxy+log, nginx+log: with the access log, rpxy --log-dir, nginx access_log ... buffer=64k)"
    if has_target rpxy; then
        local line="" peer me
        for peer in nginx haproxy nginx+log; do
            [[ " $TARGETS " == *" $peer "* ]] || continue
            me=rpxy
            [ "$peer" = nginx+log ] && me=rpxy+log
            [[ " $TARGETS " == *" $me "* ]] || continue
            if [ "$RPXY_STATE" = ok ]; then
                line+="${line:+ ; }$me/$peer: cpu $(ratio "$(median <"$res/$me.cpu")" "$(median <"$res/$peer.cpu")")"
                line+=" req/s $(ratio "$(median <"$res/$me.rps")" "$(median <"$res/$peer.rps")")"
                line+=" p99 $(ratio "$(median <"$res/$me.p99")" "$(median <"$res/$peer.p99")")"
            else
                line+="${line:+ ; }$me/$peer: n/a"
            fi
        done
        [ -n "$line" ] && say "ratios $line"
    fi
    # what the access line costs: CPU per request with the log minus without
    line=""
    for t in rpxy nginx; do
        [[ " $TARGETS " == *" $t "* ]] && [[ " $TARGETS " == *" $t+log "* ]] || continue
        [ "$t" = rpxy ] && [ "$RPXY_STATE" != ok ] && continue
        line+="${line:+, }$t $(awk -v a="$(median <"$res/$t+log.cpu")" -v b="$(median <"$res/$t.cpu")" \
            'BEGIN { printf "%+.2f", a - b }') us"
    done
    [ -n "$line" ] && say "access log, CPU per request (log on - off, medians): $line"
    if [ -f "$res/warnings" ]; then
        say "warnings (req/s and p99 of these rounds are unreliable):"
        cat "$res/warnings"
    fi
}

# ---- callgrind: instructions per request ----

# cg_run TARGET PHASE: one run under callgrind, timed from "listening" to
# the stop signal. PHASE "load": one curl check and REQUESTS requests with
# h2load; sets CG_SECONDS to how long that took. PHASE "idle": no request,
# up for CG_SECONDS, so timers and housekeeping cancel out. Sets CG_IR to
# the Ir total of all the target's processes (nginx: master and worker).
cg_run() {
    local t=$1 phase=$2 files out t0 dir="$WORK/cg"
    # nginx's worker runs as nobody and writes its own profile: it needs to
    # reach the directory and write in it
    chmod 711 "$WORK"
    mkdir -p "$dir" && chmod 1777 "$dir"
    rm -f "$dir/$t.$phase".*
    LAUNCH_WAIT=180 LAUNCH_NO_CHECK=1 launch_target "$t" valgrind --tool=callgrind \
        --callgrind-out-file="$dir/$t.$phase.%p" ||
        die "$t did not start under callgrind: $(tail -n 5 "$WORK/$t.log")"
    t0=$(date +%s.%N)
    if [ "$phase" = load ]; then
        check_http "$(target_port "$t")" || die "$t under callgrind does not answer"
        out="$WORK/h2load.cg.$t.txt"
        load h2load --h1 -n "$REQUESTS" -c "$CONNS" -t 1 "$(url "$t")" >"$out" 2>&1 || true
        h2load_ok "$out" "$REQUESTS" || die "h2load against $t under callgrind: $(grep -E '^(requests|status codes):' "$out")"
        CG_SECONDS=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
    else
        sleep "$CG_SECONDS"
    fi
    stop_pid "$TPID" 120
    files=("$dir/$t.$phase".*)
    [ -s "${files[0]}" ] || die "callgrind wrote no profile for $t ($phase): $(tail -n 5 "$WORK/$t.log")"
    if grep -q 'can not open' "$WORK/$t.log"; then
        die "callgrind could not write a profile for $t ($phase): $(grep 'can not open' "$WORK/$t.log")"
    fi
    CG_IR=$(awk 'FNR == 1 { seen = 0 } /^summary:/ { s += $2; seen = 1 } /^totals:/ && !seen { s += $2 }
        END { printf "%.0f", s }' "${files[@]}")
    [ "${CG_IR:-0}" -gt 0 ] || die "no instruction count in the callgrind profile of $t ($phase)"
    CG_MALLOC=$(cg_calls malloc "${files[@]}")
    CG_FREE=$(cg_calls free "${files[@]}")
}

# cg_calls NAME FILE...: calls to the C library's NAME (malloc, free) in
# callgrind profiles, summed over its callers.
cg_calls() {
    local name=$1 f n=0
    shift
    for f in "$@"; do
        n=$((n + $(callgrind_annotate --tree=caller --inclusive=yes "$f" 2>/dev/null | awk -v fn="$name" '
            /^$/ { sum = 0; next }
            / < / { c = $0; sub(/.*\(/, "", c); sub(/x\).*/, "", c); gsub(/,/, "", c); sum += c; next }
            $0 ~ "\\*  [^ ]*:" fn " \\[[^]]*/libc\\.so" { total += sum }
            { sum = 0 }
            END { print total + 0 }')))
    done
    echo "$n"
}

mode_callgrind() {
    local t idle total per lines allocs CG_IR CG_SECONDS CG_MALLOC CG_FREE
    local res="$WORK/res.cg"
    # rpxy and nginx also with their access log (rpxy+log, nginx+log)
    local with_log
    # shellcheck disable=SC2086 # a list of names
    with_log=$(log_variants $TARGETS)
    local TARGETS=$with_log
    mkdir -p "$res"
    say ""
    say "== callgrind: user-space instructions per request, h2load --h1 -n $REQUESTS -c $CONNS =="
    probe_rpxy
    for t in $(measured_targets proxies); do
        cg_run "$t" load
        total=$CG_IR
        allocs="$CG_MALLOC $CG_FREE"
        # every request has its line once the proxy has stopped
        lines=$(access_log_lines "$t")
        if [ -n "$lines" ] && [ "$lines" != $((REQUESTS + 1)) ]; then
            die "$t: $lines lines in its access log after $((REQUESTS + 1)) requests"
        fi
        cg_run "$t" idle
        idle=$CG_IR
        # the load run served REQUESTS + 1 (the curl check) requests
        per=$(awk -v a="$total" -v b="$idle" -v n=$((REQUESTS + 1)) 'BEGIN { printf "%.0f", (a - b) / n }')
        [ "$per" -gt 0 ] || die "$t: the idle run ($idle Ir) cost more than the load run ($total Ir)"
        echo "$per" >"$res/$t"
        # malloc and free per request, the idle run's taken off
        allocs=$(awk -v l="$allocs" -v m="$CG_MALLOC" -v f="$CG_FREE" -v n=$((REQUESTS + 1)) \
            'BEGIN { split(l, a, " "); printf "malloc %.2f, free %.2f", (a[1] - m) / n, (a[2] - f) / n }')
        printf '%-9s Ir with load %13s, idle for %ss %12s  -> %s instructions/request (%s per request)%s\n' \
            "$t" "$total" "$CG_SECONDS" "$idle" "$per" "$allocs" "${lines:+ ($lines access lines)}"
    done
    say ""
    say "scenario: user-space instructions per request (callgrind Ir, (load - idle) / requests), h2load --h1 -n $REQUESTS -c $CONNS, 1 worker"
    say "log on: rpxy --log-dir (RUST_LOG=info), nginx access_log ... combined buffer=64k; access line = log on - log off"
    printf '%-9s %12s %12s %12s\n' target "log off" "log on" "access line"
    local base got off on
    for t in $TARGETS; do
        base=${t%+log}
        [ "$base" = direct ] && continue
        [ "$t" != "$base" ] && [[ " $TARGETS " == *" $base "* ]] && continue # printed with base
        if [ "$base" = rpxy ] && [ "$RPXY_STATE" != ok ]; then
            rpxy_row
            continue
        fi
        off=-
        on=-
        got=-
        [ -f "$res/$base" ] && off=$(cat "$res/$base")
        [ -f "$res/$base+log" ] && on=$(cat "$res/$base+log")
        [ "$off" != - ] && [ "$on" != - ] && got=$((on - off))
        printf '%-9s %12s %12s %12s\n' "$base" "$off" "$on" "$got"
    done
    has_target rpxy || return 0
    if [ "$RPXY_STATE" != ok ]; then
        say "ratios rpxy n/a"
        return 0
    fi
    local line="" peer
    for peer in nginx haproxy; do
        [ -f "$res/rpxy" ] && [ -f "$res/$peer" ] || continue
        line+="${line:+ ; }rpxy/$peer $(ratio "$(cat "$res/rpxy")" "$(cat "$res/$peer")")"
    done
    if [ -f "$res/rpxy+log" ] && [ -f "$res/nginx+log" ]; then
        line+="${line:+ ; }with access log rpxy/nginx $(ratio "$(cat "$res/rpxy+log")" "$(cat "$res/nginx+log")")"
    fi
    [ -n "$line" ] && say "ratios $line"
    if [ -f "$res/rpxy" ] && [ -f "$res/rpxy+log" ]; then
        got=$(($(cat "$res/rpxy+log") - $(cat "$res/rpxy")))
        line="access line: rpxy $got instructions (target <= 2000: $([ "$got" -le 2000 ] && echo met || echo MISSED))"
        if [ -f "$res/nginx" ] && [ -f "$res/nginx+log" ]; then
            off=$(($(cat "$res/nginx+log") - $(cat "$res/nginx")))
            line+=", nginx $off, rpxy/nginx $(ratio "$got" "$off")"
        fi
        say "$line"
    fi
}

# ---- strace: system calls per request ----

# all_traced TRACER PIDS...: every thread of PIDS is traced by TRACER.
all_traced() {
    local tracer=$1 p task tp
    shift
    for p in "$@"; do
        for task in /proc/"$p"/task/*; do
            tp=$(awk '/^TracerPid:/ { print $2 }' "$task/status" 2>/dev/null) || return 1
            [ "$tp" = "$tracer" ] || return 1
        done
    done
}

mode_strace() {
    local t res="$WORK/res.st"
    mkdir -p "$res"
    say ""
    say "== strace: system calls per request, h2load --h1 -n $REQUESTS -c $CONNS =="
    probe_rpxy
    for t in $(measured_targets); do
        local pid pids=() args=() p spid i out sum n rest
        if [ "$t" = direct ]; then
            pid=$BACKEND_PID
        else
            launch_target "$t" || die "$t stopped serving"
            pid=$TPID
        fi
        load h2load --h1 -n 2000 -c "$CONNS" -t 1 "$(url "$t")" >"$WORK/h2load.warm.txt" 2>&1 || true
        mapfile -t pids < <(proc_tree "$pid")
        for p in "${pids[@]}"; do args+=(-p "$p"); done
        sum="$WORK/strace.$t.txt"
        start_pinned "strace-$t" "$LOAD_CPU" strace -c -f -o "$sum" "${args[@]}"
        spid=$START_PID
        for ((i = 0; i < 200; i++)); do
            all_traced "$spid" "${pids[@]}" && break
            alive "$spid" || die "strace could not attach to $t: $(cat "$WORK/strace-$t.log")"
            sleep 0.05
        done
        all_traced "$spid" "${pids[@]}" || die "strace did not attach to every thread of $t"
        out="$WORK/h2load.st.$t.txt"
        load h2load --h1 -n "$REQUESTS" -c "$CONNS" -t 1 "$(url "$t")" >"$out" 2>&1 || true
        stop_pid "$spid" 30 # SIGTERM: strace detaches and writes the summary
        [ "$t" = direct ] || stop_pid "$pid"
        h2load_ok "$out" "$REQUESTS" || die "h2load against $t under strace: $(grep -E '^(requests|status codes):' "$out")"
        # "calls" is column 4 and the name the last one ("errors" may be empty)
        awk -v n="$REQUESTS" '
            $NF == "total" && NF >= 4 { total = $4 }
            $1 ~ /^[0-9.]+$/ && $NF != "total" { c[$NF] = $4 }
            END {
                printf "%.2f", total / n
                k = 0
                while (k < 5) {
                    best = ""; for (s in c) if (best == "" || c[s] > c[best]) best = s
                    if (best == "") break
                    printf "%s %s %.2f", (k ? "," : "  "), best, c[best] / n
                    delete c[best]; k++
                }
                print ""
            }' "$sum" >"$res/$t"
        read -r n rest <"$res/$t"
        printf '%-8s %s syscalls/request (%s)\n' "$t" "$n" "${rest# }"
    done
    say ""
    say "scenario: system calls per request (strace -c -f), h2load --h1 -n $REQUESTS -c $CONNS, 1 worker (target for rpxy: <= 5)"
    printf '%-9s %12s  %s\n' target "calls/req" "most frequent (per request)"
    for t in $TARGETS; do
        if [ "$t" = rpxy ] && [ "$RPXY_STATE" != ok ]; then
            rpxy_row
            continue
        fi
        read -r n rest <"$res/$t"
        printf '%-9s %12s  %s%s\n' "$t" "$n" "$rest" "$([ "$t" = direct ] && echo "  (the backend)")"
    done
}

# ---- memory: idle keep-alive connections ----

mode_memory() {
    local t res="$WORK/res.mem"
    mkdir -p "$res"
    say ""
    say "== memory: RSS with $IDLE_CONNS idle keep-alive client connections =="
    probe_rpxy
    for t in $(measured_targets proxies); do
        local pid before after cpid out i ready ok failed open
        launch_target "$t" || die "$t stopped serving"
        pid=$TPID
        sleep 0.5
        before=$(rss_kib "$pid")
        # set up CONNS at a time: no more upstream connections than the pool keeps
        start_pinned "idle-$t" "$LOAD_CPU" "$PYTHON" "$BENCH_DIR/idle_conns.py" 127.0.0.1 \
            "$(target_port "$t")" "$IDLE_CONNS" --concurrency "$CONNS"
        cpid=$START_PID
        out="$WORK/idle-$t.log"
        for ((i = 0; i < 20 * 300; i++)); do
            grep -q '^ready ' "$out" 2>/dev/null && break
            alive "$cpid" || die "idle_conns.py failed against $t: $(cat "$out")"
            sleep 0.05
        done
        ready=$(awk '/^ready / { print $2, $3 }' "$out")
        [ -n "$ready" ] || die "idle_conns.py did not finish against $t"
        read -r ok failed <<<"$ready"
        sleep 2
        after=$(rss_kib "$pid")
        kill -USR1 "$cpid"
        for ((i = 0; i < 200; i++)); do
            grep -q '^open ' "$out" && break
            sleep 0.05
        done
        open=$(awk '/^open / { print $2 }' "$out")
        stop_pid "$cpid" 10
        stop_pid "$pid"
        [ "$failed" = 0 ] || note "$t: $failed of $IDLE_CONNS connections failed: $(grep -v -E '^(ready|open) ' "$out" | tr '\n' ' ')"
        echo "$before $after $ok ${open:-?}" >"$res/$t"
        printf '%-8s RSS %.1f -> %.1f MiB with %s idle connections (%s still open at the end)\n' \
            "$t" "$(awk -v k="$before" 'BEGIN { print k / 1024 }')" \
            "$(awk -v k="$after" 'BEGIN { print k / 1024 }')" "$ok" "${open:-?}"
    done
    say ""
    say "scenario: RSS (VmRSS, all processes) with $IDLE_CONNS idle keep-alive client connections, 1 worker"
    printf '%-9s %10s %10s %10s %9s %7s\n' target "before MiB" "after MiB" "delta MiB" "KiB/conn" open
    for t in $TARGETS; do
        [ "$t" = direct ] && continue
        if [ "$t" = rpxy ] && [ "$RPXY_STATE" != ok ]; then
            rpxy_row
            continue
        fi
        read -r before after ok open <"$res/$t"
        awk -v t="$t" -v b="$before" -v a="$after" -v n="$ok" -v o="$open" 'BEGIN {
            printf "%-9s %10.1f %10.1f %10.1f %9.2f %7s\n", t, b / 1024, a / 1024, (a - b) / 1024,
                (n > 0 ? (a - b) / n : 0), o }'
    done
    if has_target rpxy; then
        local line="" peer
        for peer in nginx haproxy; do
            has_target "$peer" || continue
            if [ "$RPXY_STATE" = ok ]; then
                read -r b1 a1 _ _ <"$res/rpxy"
                read -r b2 a2 _ _ <"$res/$peer"
                line+="${line:+ ; }rpxy/$peer delta $(ratio $((a1 - b1)) $((a2 - b2)))"
            else
                line+="${line:+ ; }rpxy/$peer n/a"
            fi
        done
        say "ratios $line"
    fi
}

# ---- TLS: build/tls-load ----

tls_label() {
    case $1 in
    keepalive) echo "H1/TLS keep-alive" ;;
    full) echo "new conn, full handshake" ;;
    resume) echo "new conn, resumed" ;;
    pq) echo "full, X25519MLKEM768" ;;
    esac
}

# tls_args SCENARIO: the tls-load options of a scenario (TARGS). Every
# scenario but pq offers X25519 only, which all three prefer anyway; pq
# offers only the hybrid, so rpxy needs no HelloRetryRequest.
tls_args() {
    case $1 in
    keepalive) TARGS=(--groups X25519) ;;
    full) TARGS=(--new-conn --groups X25519) ;;
    resume) TARGS=(--new-conn --resume --groups X25519) ;;
    pq) TARGS=(--new-conn --groups X25519MLKEM768) ;;
    esac
}

# tls_val FILE KEY: a "key value" line of tls-load's output.
tls_val() { awk -v k="$2" '$1 == k { sub(/^[^ ]+ /, ""); print; exit }' "$1"; }

# tls_once TARGET SCENARIO OUT: one measurement (start, check, tls-load with
# its own warm-up, stop). tls-load reads the proxy's CPU time (all its
# processes) over the measured window itself. Sets M_RPS, M_P99, M_CPU,
# M_REUSE, M_TPC (session tickets per connection), M_NEG (version, cipher,
# group, ALPN), M_BAD, M_ERRS, M_BUSY, M_BUSY_TEXT as wrk_once does.
tls_once() {
    local t=$1 sc=$2 out=$3 pid pids busy c0 c1 b0 b1 w0 w1 pb0 pt0 lb0 lt0 fp fl TARGS
    busy=$(wait_quiet "$QUIET_WAIT" "$PROXY_CPU" "$LOAD_CPU") ||
        note "$t: the machine stays busy ($busy); measuring anyway"
    launch_target "$t" || die "$t stopped serving"
    pid=$TPID
    pids=$(proc_tree "$pid" | paste -sd, -)
    tls_args "$sc"
    c0=$(cpu_ticks "$pid")
    b0=$(cpu_ticks "$BACKEND_PID")
    read -r pb0 pt0 <<<"$(cpu_ticks_of "$PROXY_CPU")"
    read -r lb0 lt0 <<<"$(cpu_ticks_of "$LOAD_CPU")"
    children_ticks w0
    load "$TLS_LOAD_BIN" 127.0.0.1 "$(target_port "$t")" --sni "$TLS_HOST" -c "$CONNS" \
        -d "$DURATION" --warmup "$WARMUP" --body-size "$BODY_SIZE" --cpu-pids "$pids" \
        "${TARGS[@]}" >"$out" 2>&1 || die "tls-load against $t ($sc) failed: $(cat "$out")"
    children_ticks w1
    c1=$(cpu_ticks "$pid")
    b1=$(cpu_ticks "$BACKEND_PID")
    fp=$(foreign_load "$PROXY_CPU" "$pb0" "$pt0" $((c1 - c0)))
    fl=$(foreign_load "$LOAD_CPU" "$lb0" "$lt0" $((b1 - b0 + w1 - w0)))
    M_BUSY=$fl
    [ "$fp" -gt "$fl" ] && M_BUSY=$fp
    M_BUSY_TEXT="CPU $PROXY_CPU ${fp}%, CPU $LOAD_CPU ${fl}%"
    stop_pid "$pid"
    M_RPS=$(tls_val "$out" rps)
    M_P99=$(tls_val "$out" p99_ms)
    M_CPU=$(tls_val "$out" cpu_us_per_req)
    M_REUSE=$(tls_val "$out" reuse_pct)
    M_TPC=$(tls_val "$out" tickets_per_conn)
    M_BAD=$(tls_val "$out" bad)
    M_ERRS=$(tls_val "$out" errors)
    M_NEG="$(tls_val "$out" version) $(tls_val "$out" cipher) $(tls_val "$out" group) $(tls_val "$out" alpn)"
    [ -n "$M_CPU" ] && [ "$(tls_val "$out" requests)" -gt 0 ] || die "no requests completed against $t ($sc): $(cat "$out")"
}

# tls_single_use TARGET: reuse rate of a client that offers every ticket
# once (as OpenSSL's client and browsers do): a server that issues no new
# ticket on a resumed handshake gets a full one every other connection.
tls_single_use() {
    local t=$1 out="$WORK/tls-single-use.$1.txt"
    launch_target "$t" || die "$t stopped serving"
    load "$TLS_LOAD_BIN" 127.0.0.1 "$(target_port "$t")" --sni "$TLS_HOST" -c 8 -d 1 --warmup 0.5 \
        --body-size "$BODY_SIZE" --new-conn --resume --single-use --groups X25519 >"$out" 2>&1 ||
        die "tls-load --single-use against $t failed: $(cat "$out")"
    stop_pid "$TPID"
    echo "$(tls_val "$out" reuse_pct) $(tls_val "$out" tickets_per_conn)"
}

# tls_inmem GROUP OUT: OpenSSL's own server side of a full handshake, in
# memory (no sockets, no proxy), pinned to the proxy CPU.
tls_inmem() {
    run_on "$PROXY_CPU" "$TLS_LOAD_BIN" --inmem "$TLS_DIR/cert.pem" "$TLS_DIR/key.pem" -n "$TLS_INMEM" \
        --groups "$1" --tickets 1 >"$2" 2>&1 || die "tls-load --inmem ($1) failed: $(cat "$2")"
    tls_val "$2" server_us_per_handshake
}

has_scenario() { [[ " $TLS_SCENARIOS " == *" $1 "* ]]; }

mode_tls() {
    local round t sc out res="$WORK/res.tls" try targets
    mkdir -p "$res"
    VARIANT=-tls
    say ""
    say "== TLS 1.3: tls-load -c$CONNS, ${WARMUP}s warm-up + ${DURATION}s, scenarios: $TLS_SCENARIOS; $ROUNDS rounds =="
    probe_rpxy
    targets=$(measured_targets proxies)
    [ -n "$targets" ] || die "no proxy to measure over TLS"
    for ((round = 1; round <= ROUNDS; round++)); do
        if [ "$TLS_INMEM" -gt 0 ]; then
            local g v
            for g in X25519 $(has_scenario pq && echo X25519MLKEM768); do
                wait_quiet "$QUIET_WAIT" "$PROXY_CPU" >/dev/null || true
                v=$(tls_inmem "$g" "$WORK/tls-inmem.$g.$round.txt")
                echo "$v" >>"$res/inmem.$g"
                printf 'round %d  in memory  %-15s OpenSSL server side of a full handshake %8.1f us\n' "$round" "$g" "$v"
            done
        fi
        for sc in $TLS_SCENARIOS; do
            for t in $targets; do
                [ "$sc" = pq ] && [ "$t" != rpxy ] && continue # Debian's OpenSSL 3.0 lacks the hybrid
                local M_RPS M_P99 M_CPU M_REUSE M_TPC M_NEG M_BAD M_ERRS M_BUSY M_BUSY_TEXT BEST_BUSY_TEXT
                # M_NEG last: it has spaces
                least_busy "round $round $sc $t" "M_RPS M_P99 M_CPU M_REUSE M_TPC M_BAD M_ERRS M_NEG" \
                    tls_attempt "$t" "$sc" "$round"
                echo "$M_RPS" >>"$res/$sc.$t.rps"
                echo "$M_P99" >>"$res/$sc.$t.p99"
                echo "$M_CPU" >>"$res/$sc.$t.cpu"
                echo "$M_REUSE" >>"$res/$sc.$t.reuse"
                echo "$M_TPC" >>"$res/$sc.$t.tpc"
                echo "$M_NEG" >"$res/$sc.$t.neg"
                local warn=""
                if [ "$M_BAD" != 0 ] || [ "$M_ERRS" != 0 ]; then
                    warn+="  WARNING: $M_BAD bad responses, $M_ERRS connection errors ($(tls_val "$out" first_error))"
                fi
                if [ "$sc" = resume ] && awk -v r="$M_REUSE" 'BEGIN { exit !(r < 99) }'; then
                    warn+="  WARNING: only $M_REUSE% of the handshakes resumed"
                fi
                if [ "$M_BUSY" -ge "$BUSY_LIMIT" ]; then
                    warn+="  WARNING: other load $BEST_BUSY_TEXT"
                fi
                [ -z "$warn" ] || echo "round $round $sc $t:$warn" >>"$res/warnings"
                printf 'round %d  %-9s %-8s %8.0f req/s  p99 %8.3f ms  proxy CPU %7.2f us/req  resumed %5.1f%%  tickets/conn %.2f  (%s)%s\n' \
                    "$round" "$sc" "$t" "$M_RPS" "$M_P99" "$M_CPU" "$M_REUSE" "$M_TPC" "$M_NEG" "$warn"
            done
        done
    done
    if has_scenario resume; then
        for t in $targets; do
            tls_single_use "$t" >"$res/single-use.$t"
        done
    fi
    VARIANT=""

    say ""
    say "scenario: TLS 1.3, ECDSA P-256 certificate for $TLS_HOST (SNI), HTTP/1.1 to the backend with keep-alive; tls-load -c$CONNS on CPU $LOAD_CPU, ${WARMUP}s warm-up + ${DURATION}s; 1 worker pinned to CPU $PROXY_CPU; median of $ROUNDS"
    printf '%-26s %-9s %9s %10s %11s %8s %8s\n' scenario target req/s p99 "CPU us/req" resumed tickets
    for sc in $TLS_SCENARIOS; do
        for t in $TARGETS; do
            [ "$t" = direct ] && continue
            [ "$sc" = pq ] && [ "$t" != rpxy ] && continue
            if [ "$t" = rpxy ] && [ "$RPXY_STATE" != ok ]; then
                printf '%-26s ' "$(tls_label "$sc")"
                rpxy_row
                continue
            fi
            printf '%-26s %-9s %9.0f %8.3fms %11.2f %7.1f%% %8.2f\n' "$(tls_label "$sc")" "$t" \
                "$(median <"$res/$sc.$t.rps")" "$(median <"$res/$sc.$t.p99")" "$(median <"$res/$sc.$t.cpu")" \
                "$(median <"$res/$sc.$t.reuse")" "$(median <"$res/$sc.$t.tpc")"
        done
    done
    say "(resumed: share of the handshakes that resumed a session; tickets: session tickets the proxy sent per connection)"
    if has_target rpxy; then
        local line peer lim c1 c2 r
        for peer in nginx haproxy; do
            has_target "$peer" || continue
            line=""
            for sc in keepalive full resume; do
                has_scenario "$sc" || continue
                if [ "$RPXY_STATE" = ok ]; then
                    c1=$(median <"$res/$sc.rpxy.cpu")
                    c2=$(median <"$res/$sc.$peer.cpu")
                    r=$(ratio "$c1" "$c2")
                    line+="${line:+, }$sc $r"
                    lim=""
                    [ "$peer" = nginx ] && [ "$sc" = keepalive ] && lim=0.80
                    [ "$peer" = nginx ] && [ "$sc" = full ] && lim=0.90
                    if [ -n "$lim" ] && [ "$r" != n/a ]; then
                        line+=" (target <= $lim: $(awk -v r="$r" -v l="$lim" 'BEGIN { print r <= l ? "met" : "MISSED" }'))"
                    fi
                else
                    line+="${line:+, }$sc n/a"
                fi
            done
            say "ratios CPU per request rpxy/$peer: $line"
        done
    fi
    if has_scenario pq && has_scenario full && [ "$RPXY_STATE" = ok ]; then
        local f q
        f=$(median <"$res/full.rpxy.cpu")
        q=$(median <"$res/pq.rpxy.cpu")
        say "$(awk -v f="$f" -v q="$q" 'BEGIN { printf "X25519MLKEM768 over X25519 (rpxy, full handshake + request): %+.1f us of proxy CPU per request (%+.1f%%; %.1f -> %.1f us)", q - f, (q - f) * 100 / f, f, q }')"
    fi
    if [ "$TLS_INMEM" -gt 0 ] && [ -f "$res/inmem.X25519" ]; then
        local a b
        a=$(median <"$res/inmem.X25519")
        if [ -f "$res/inmem.X25519MLKEM768" ]; then
            b=$(median <"$res/inmem.X25519MLKEM768")
            say "$(awk -v a="$a" -v b="$b" -v n="$TLS_INMEM" 'BEGIN { printf "OpenSSL alone, server side of a full handshake in memory (%d handshakes, 1 ticket): X25519 %.1f us, X25519MLKEM768 %.1f us (%+.1f us)", n, a, b, b - a }')"
        else
            say "$(awk -v a="$a" -v n="$TLS_INMEM" 'BEGIN { printf "OpenSSL alone, server side of a full handshake in memory (%d handshakes, 1 ticket): X25519 %.1f us", n, a }')"
        fi
    fi
    if has_scenario resume; then
        local su="" pct tpc
        for t in $targets; do
            read -r pct tpc <"$res/single-use.$t"
            su+="${su:+, }$t $pct% ($tpc tickets/conn)"
        done
        say "clients using each ticket once (tls-load --single-use, as OpenSSL clients and browsers): resumed $su"
    fi
    # the same version, suite, group and ALPN everywhere (pq aside)?
    local negs=""
    for sc in $TLS_SCENARIOS; do
        [ "$sc" = pq ] && continue
        for t in $targets; do
            if [ -f "$res/$sc.$t.neg" ]; then negs+="$(cat "$res/$sc.$t.neg")"$'\n'; fi
        done
    done
    negs=$(printf '%s' "$negs" | sort -u)
    if [ -n "$negs" ] && [ "$(wc -l <<<"$negs")" = 1 ]; then
        say "negotiated everywhere: $negs$(has_scenario pq && [ -f "$res/pq.rpxy.neg" ] && echo "; pq: $(cat "$res/pq.rpxy.neg")")"
    else
        say "WARNING: the targets negotiated different parameters:"
        for sc in $TLS_SCENARIOS; do
            for t in $targets; do
                if [ -f "$res/$sc.$t.neg" ]; then say "  $sc $t: $(cat "$res/$sc.$t.neg")"; fi
            done
        done
    fi
    if [ -f "$res/warnings" ]; then
        say "warnings:"
        cat "$res/warnings"
    fi
}

# ---- HTTP/2 over TLS: h2load ----

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

# per_req TICKS REQUESTS: microseconds of CPU per request.
per_req() {
    awk -v t="$1" -v n="$2" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t * 1e6 / hz / n }'
}

# h2_val FILE WHAT: a figure from h2load's output: rps (req/s), done,
# succeeded, errored (requests), bad (responses other than 2xx),
# mean (mean time for request, ms), neg (TLS version, cipher, key exchange
# group and ALPN protocol).
h2_val() {
    awk -v what="$2" '
        /^finished in / { rps = $4 }
        /^requests: / {
            for (i = 3; i <= NF; i++) { k = $i; sub(/,$/, "", k); n[k] = $(i - 1) }
        }
        /^status codes: / { bad = $5 + $7 + $9 }
        /^time for request: / { mean = $6 }
        /^TLS Protocol: / { ver = $3 }
        /^Cipher: / { cipher = $2 }
        /^Server Temp Key: / { group = $4 }
        /^Application protocol: / { alpn = $3 }
        END {
            if (what == "rps") print rps
            else if (what == "bad") print bad + 0
            else if (what == "mean") print mean
            else if (what == "neg") print ver, cipher, group, alpn
            else print n[what] + 0
        }' "$1"
}

# h2load_run TARGET SECONDS OUT: h2load against TARGET for SECONDS on
# H2_CONNS connections with H2_STREAMS streams each. The URL names the bench
# host, so that is the SNI (checked) and :authority, as a browser sends
# them; --connect-to takes the connection to 127.0.0.1 without /etc/hosts.
h2load_run() {
    local port
    port=$(target_port "$1")
    load h2load -c "$H2_CONNS" -m "$H2_STREAMS" -t 1 -D "$2" --groups X25519 \
        --connect-to="127.0.0.1:$port" "https://$TLS_HOST:$port/" >"$3" 2>&1
}

# h2_once TARGET OUT: one measurement (start, check, warm-up, h2load, stop).
# Sets M_RPS, M_MEAN (mean time for request, ms), M_CPU (the proxy's CPU
# us/request, all its processes), M_BCPU (the backend's), M_BAD (non-2xx),
# M_ERRS (failed or errored requests), M_NEG and M_BUSY, M_BUSY_TEXT as
# wrk_once does.
h2_once() {
    local t=$1 out=$2 busy reqs W_C0 W_B0 W_PB0 W_PT0 W_LB0 W_LT0 W_W0 W_TICKS W_BTICKS
    busy=$(wait_quiet "$QUIET_WAIT" "$PROXY_CPU" "$LOAD_CPU") ||
        note "$t: the machine stays busy ($busy); measuring anyway"
    launch_target "$t" || die "$t stopped serving"
    if [ "$WARMUP" -gt 0 ]; then
        h2load_run "$t" "$WARMUP" "$WORK/h2-warmup.txt" ||
            die "h2load warm-up against $t failed: $(tail -n 5 "$WORK/h2-warmup.txt")"
    fi
    window_open "$TPID"
    h2load_run "$t" "$DURATION" "$out" || die "h2load against $t failed: $(tail -n 5 "$out")"
    window_close "$TPID"

    reqs=$(h2_val "$out" "done")
    [ "$reqs" -gt 0 ] || die "no requests completed against $t over h2: $(tail -n 12 "$out")"
    M_NEG=$(h2_val "$out" neg)
    [ "${M_NEG##* }" = h2 ] || die "h2load did not speak h2 with $t (negotiated: $M_NEG)"
    M_RPS=$(h2_val "$out" rps)
    M_MEAN=$(to_ms "$(h2_val "$out" mean)")
    M_BAD=$(h2_val "$out" bad)
    # h2load's "failed" counts the non-2xx too, "errored" the rest
    M_ERRS=$(h2_val "$out" errored)
    M_CPU=$(per_req "$W_TICKS" "$reqs")
    M_BCPU=$(per_req "$W_BTICKS" "$reqs")
}
h2_attempt() { out="$WORK/h2.$1.$2.$TRY.txt"; h2_once "$1" "$out"; }

mode_h2() {
    local round t out res="$WORK/res.h2" targets
    # the --h2 targets, for the helpers too (has_target, probe_rpxy, ...)
    local TARGETS=$H2_TARGETS
    mkdir -p "$res"
    VARIANT=-h2
    say ""
    say "== HTTP/2 over TLS: h2load -c$H2_CONNS -m$H2_STREAMS, ${WARMUP}s warm-up + ${DURATION}s, $ROUNDS rounds =="
    probe_rpxy
    targets=$(measured_targets proxies)
    [ -n "$targets" ] || die "no proxy to measure over HTTP/2"
    for ((round = 1; round <= ROUNDS; round++)); do
        for t in $targets; do
            local M_RPS M_MEAN M_CPU M_BCPU M_BAD M_ERRS M_NEG M_BUSY M_BUSY_TEXT BEST_BUSY_TEXT
            # M_NEG last: it has spaces
            least_busy "round $round h2 $t" "M_RPS M_MEAN M_CPU M_BCPU M_BAD M_ERRS M_NEG" h2_attempt "$t" "$round"
            echo "$M_RPS" >>"$res/$t.rps"
            echo "$M_MEAN" >>"$res/$t.mean"
            echo "$M_CPU" >>"$res/$t.cpu"
            echo "$M_NEG" >"$res/$t.neg"
            local warn=""
            if [ "$M_BAD" != 0 ] || [ "$M_ERRS" != 0 ]; then
                warn+="  WARNING: $M_BAD non-2xx, $M_ERRS failed requests"
            fi
            if [ "$M_BUSY" -ge "$BUSY_LIMIT" ]; then
                warn+="  WARNING: other load $BEST_BUSY_TEXT"
            fi
            [ -z "$warn" ] || echo "round $round $t:$warn" >>"$res/warnings"
            printf 'round %d  %-8s %9.0f req/s  mean %7.3f ms  proxy CPU %6.2f us/req  (backend %.2f)  (%s)%s\n' \
                "$round" "$t" "$M_RPS" "$M_MEAN" "$M_CPU" "$M_BCPU" "$M_NEG" "$warn"
        done
    done
    VARIANT=""

    say ""
    say "scenario: HTTP/2 over TLS 1.3 (ALPN h2), ECDSA P-256 certificate for $TLS_HOST (SNI), HTTP/1.1 to the backend with keep-alive; h2load -c$H2_CONNS -m$H2_STREAMS on CPU $LOAD_CPU, ${WARMUP}s warm-up + ${DURATION}s; 1 worker pinned to CPU $PROXY_CPU; median of $ROUNDS"
    printf '%-9s %10s %10s %11s\n' target req/s mean "CPU us/req"
    for t in $TARGETS; do
        if [ "$t" = rpxy ] && [ "$RPXY_STATE" != ok ]; then
            rpxy_row
            continue
        fi
        printf '%-9s %10.0f %8.3fms %11.2f\n' "$t" "$(median <"$res/$t.rps")" \
            "$(median <"$res/$t.mean")" "$(median <"$res/$t.cpu")"
    done
    say "(mean: h2load's mean time per request, $((H2_CONNS * H2_STREAMS)) requests in flight)"
    if has_target rpxy; then
        local line="" peer
        for peer in h2o nginx haproxy; do
            has_target "$peer" || continue
            if [ "$RPXY_STATE" = ok ]; then
                line+="${line:+ ; }rpxy/$peer: cpu $(ratio "$(median <"$res/rpxy.cpu")" "$(median <"$res/$peer.cpu")")"
                line+=" req/s $(ratio "$(median <"$res/rpxy.rps")" "$(median <"$res/$peer.rps")")"
            else
                line+="${line:+ ; }rpxy/$peer: n/a"
            fi
        done
        [ -n "$line" ] && say "ratios $line"
    fi
    # the same version, suite, group and ALPN everywhere?
    local negs
    negs=$(for t in $targets; do cat "$res/$t.neg"; done | sort -u)
    if [ "$(wc -l <<<"$negs")" = 1 ]; then
        say "negotiated everywhere: $negs"
    else
        say "WARNING: the targets negotiated different parameters:"
        for t in $targets; do say "  $t: $(cat "$res/$t.neg")"; done
    fi
    if [ -f "$res/warnings" ]; then
        say "warnings (req/s of these rounds is unreliable):"
        cat "$res/warnings"
    fi
}

# ---- HTTP/3: build/h3load, against HTTP/2 with h2load ----

h3_label() {
    case $1 in
    streams) echo "-c$H3_CONNS -m$H3_STREAMS" ;;
    newconn) echo "new conn/request" ;;
    esac
}

# h3_load TARGET PROTO SHAPE SECONDS OUT: the load of one measurement (or
# its warm-up) for SECONDS. PROTO h3: h3load; h2: h2load, over TLS to the
# same port. SHAPE streams: PROTO's -c/-m; newconn: one request per new
# connection with a full handshake (h3load --new-conn, closed loop;
# h2load's rate mode at H3_NEWCONN_RATE connections/s, one request each).
h3_load() {
    local t=$1 proto=$2 shape=$3 secs=$4 out=$5 port n per
    port=$(target_port "$t")
    if [ "$proto" = h3 ]; then
        local args=(-c "$H3_CONNS" -m "$H3_STREAMS")
        [ "$shape" = newconn ] && args=(-c "$H3_NEWCONN_CONNS" --new-conn)
        load "$H3LOAD_BIN" -D "$secs" "${args[@]}" --groups X25519 --connect-to "127.0.0.1:$port" \
            "https://$TLS_HOST:$port/" >"$out" 2>&1
    elif [ "$shape" = streams ]; then
        load h2load -c "$H3_CONNS" -m "$H3_STREAMS" -t 1 -D "$secs" --groups X25519 \
            --connect-to="127.0.0.1:$port" "https://$TLS_HOST:$port/" >"$out" 2>&1
    else
        # connections in batches every 20 ms; -c is the total in rate mode
        per=$(((H3_NEWCONN_RATE + 25) / 50))
        n=$((per * 50 * secs))
        load h2load -r "$per" --rate-period 20ms -c "$n" -n "$n" -m 1 -t 1 --groups X25519 \
            --connect-to="127.0.0.1:$port" "https://$TLS_HOST:$port/" >"$out" 2>&1
    fi
}

# h3_once TARGET PROTO SHAPE OUT: one measurement (start, check, warm-up,
# load, stop). Sets M_RPS, M_MEAN (ms), M_CPU (the proxy's CPU us/request,
# all its processes), M_BCPU (the backend's), M_BAD (non-2xx), M_ERRS
# (failed or errored requests), M_NEG (TLS version, cipher, group, ALPN) and
# M_BUSY, M_BUSY_TEXT as wrk_once does.
h3_once() {
    local t=$1 proto=$2 shape=$3 out=$4 busy reqs W_C0 W_B0 W_PB0 W_PT0 W_LB0 W_LT0 W_W0 W_TICKS W_BTICKS
    busy=$(wait_quiet "$QUIET_WAIT" "$PROXY_CPU" "$LOAD_CPU") ||
        note "$t: the machine stays busy ($busy); measuring anyway"
    launch_target "$t" || die "$t stopped serving"
    if [ "$WARMUP" -gt 0 ]; then
        h3_load "$t" "$proto" "$shape" "$WARMUP" "$WORK/h3-warmup.txt" ||
            die "$proto warm-up against $t ($shape) failed: $(tail -n 5 "$WORK/h3-warmup.txt")"
    fi
    window_open "$TPID"
    h3_load "$t" "$proto" "$shape" "$DURATION" "$out" ||
        die "$proto load against $t ($shape) failed: $(tail -n 5 "$out")"
    window_close "$TPID"

    if [ "$proto" = h3 ]; then
        reqs=$(tls_val "$out" requests)
        M_NEG="$(tls_val "$out" version) $(tls_val "$out" cipher) $(tls_val "$out" group) $(tls_val "$out" alpn)"
        M_RPS=$(tls_val "$out" rps)
        M_MEAN=$(tls_val "$out" mean_ms)
        M_BAD=$(tls_val "$out" failed)
        M_ERRS=$(tls_val "$out" errors)
    else
        reqs=$(h2_val "$out" "done")
        M_NEG=$(h2_val "$out" neg)
        M_RPS=$(h2_val "$out" rps)
        M_MEAN=$(to_ms "$(h2_val "$out" mean)")
        M_BAD=$(h2_val "$out" bad)
        M_ERRS=$(h2_val "$out" errored)
    fi
    [ "${reqs:-0}" -gt 0 ] || die "no requests completed against $t over $proto ($shape): $(tail -n 12 "$out")"
    [ "${M_NEG##* }" = "$proto" ] || die "the load did not speak $proto with $t (negotiated: $M_NEG)"
    M_CPU=$(per_req "$W_TICKS" "$reqs")
    M_BCPU=$(per_req "$W_BTICKS" "$reqs")
}
h3_attempt() { out="$WORK/h3.$3.$1.$2.$4.$TRY.txt"; h3_once "$1" "$2" "$3" "$out"; }

mode_h3() {
    local round t proto shape out res="$WORK/res.h3" targets
    # the --h3 targets, for the helpers too (has_target, probe_rpxy, ...)
    local TARGETS=$H3_TARGETS
    mkdir -p "$res"
    VARIANT=-h3
    say ""
    say "== HTTP/3 (h3load) and HTTP/2 (h2load), shapes: $H3_SHAPES; ${WARMUP}s warm-up + ${DURATION}s, $ROUNDS rounds =="
    probe_rpxy
    targets=$(measured_targets proxies)
    [ -n "$targets" ] || die "no proxy to measure over HTTP/3"
    for ((round = 1; round <= ROUNDS; round++)); do
        for shape in $H3_SHAPES; do
            for t in $targets; do
                for proto in h3 h2; do
                    local M_RPS M_MEAN M_CPU M_BCPU M_BAD M_ERRS M_NEG M_BUSY M_BUSY_TEXT BEST_BUSY_TEXT
                    # M_NEG last: it has spaces
                    least_busy "round $round $shape $t $proto" "M_RPS M_MEAN M_CPU M_BCPU M_BAD M_ERRS M_NEG" \
                        h3_attempt "$t" "$proto" "$shape" "$round"
                    local key="$shape.$t.$proto"
                    echo "$M_RPS" >>"$res/$key.rps"
                    echo "$M_MEAN" >>"$res/$key.mean"
                    echo "$M_CPU" >>"$res/$key.cpu"
                    echo "$M_NEG" >"$res/$key.neg"
                    local warn=""
                    if [ "$M_BAD" != 0 ] || [ "$M_ERRS" != 0 ]; then
                        warn+="  WARNING: $M_BAD non-2xx, $M_ERRS failed requests"
                    fi
                    if [ "$M_BUSY" -ge "$BUSY_LIMIT" ]; then
                        warn+="  WARNING: other load $BEST_BUSY_TEXT"
                    fi
                    [ -z "$warn" ] || echo "round $round $shape $t $proto:$warn" >>"$res/warnings"
                    printf 'round %d  %-16s %-6s %s %8.0f req/s  mean %8.3f ms  proxy CPU %7.2f us/req  (backend %.2f)  (%s)%s\n' \
                        "$round" "$(h3_label "$shape")" "$t" "$proto" "$M_RPS" "$M_MEAN" "$M_CPU" "$M_BCPU" "$M_NEG" "$warn"
                done
            done
        done
    done
    VARIANT=""

    say ""
    say "scenario: HTTP/3 (build/h3load) and HTTP/2 over TLS 1.3 (h2load) to the same port, ECDSA P-256 certificate for $TLS_HOST (SNI), HTTP/1.1 to the backend with keep-alive; load on CPU $LOAD_CPU, ${WARMUP}s warm-up + ${DURATION}s; 1 worker pinned to CPU $PROXY_CPU (Caddy: GOMAXPROCS=1); median of $ROUNDS"
    say "shapes: -c$H3_CONNS -m$H3_STREAMS = $H3_CONNS connections, $H3_STREAMS streams each; new conn/request = a full handshake per request (h3load --new-conn -c$H3_NEWCONN_CONNS, closed loop; h2load rate mode, $H3_NEWCONN_RATE connections/s)"
    printf '%-17s %-6s %-5s %9s %10s %11s\n' shape target proto req/s mean "CPU us/req"
    for shape in $H3_SHAPES; do
        for t in $TARGETS; do
            if [ "$t" = rpxy ] && [ "$RPXY_STATE" != ok ]; then
                printf '%-17s ' "$(h3_label "$shape")"
                rpxy_row
                continue
            fi
            for proto in h3 h2; do
                local key="$shape.$t.$proto"
                printf '%-17s %-6s %-5s %9.0f %8.3fms %11.2f\n' "$(h3_label "$shape")" "$t" "$proto" \
                    "$(median <"$res/$key.rps")" "$(median <"$res/$key.mean")" "$(median <"$res/$key.cpu")"
            done
        done
    done
    if has_target rpxy && [ "$RPXY_STATE" = ok ]; then
        local r line
        for shape in $H3_SHAPES; do
            line=""
            if has_target caddy; then
                r=$(ratio "$(median <"$res/$shape.rpxy.h3.cpu")" "$(median <"$res/$shape.caddy.h3.cpu")")
                line+="rpxy/caddy h3 cpu $r (target <= 0.50: $(awk -v r="$r" 'BEGIN { print r != "n/a" && r <= 0.5 ? "met" : "MISSED" }'))"
                line+=" req/s $(ratio "$(median <"$res/$shape.rpxy.h3.rps")" "$(median <"$res/$shape.caddy.h3.rps")")"
            fi
            r=$(ratio "$(median <"$res/$shape.rpxy.h3.cpu")" "$(median <"$res/$shape.rpxy.h2.cpu")")
            line+="${line:+ ; }rpxy h3/h2 cpu $r (target <= 1.50: $(awk -v r="$r" 'BEGIN { print r != "n/a" && r <= 1.5 ? "met" : "MISSED" }'))"
            say "ratios $(h3_label "$shape"): $line"
        done
    fi
    local negs
    negs=$(cat "$res"/*.neg | sort -u)
    say "negotiated: $(paste -sd ';' <<<"$negs" | sed 's/;/; /g')"
    if [ -f "$res/warnings" ]; then
        say "warnings (req/s of these rounds is unreliable):"
        cat "$res/warnings"
    fi
}

# ---- failover: a backend killed under load ----

# failover_once TARGET OUT: the second backend started, TARGET launched,
# wrk for FO_DURATION seconds with the second backend killed (SIGKILL) at
# half. Sets F_REQS, F_BAD (non-2xx) and F_ERRS (socket errors).
failover_once() {
    local t=$1 out=$2 b2 killer
    listening "$BACKEND2_PORT" && die "port $BACKEND2_PORT (second backend) is already in use; set BENCH_PORT"
    start_pinned backend2 "$LOAD_CPU" "$BACKEND_BIN" --quiet --body-size "$BODY_SIZE" "$BACKEND2"
    b2=$START_PID
    wait_listening "$b2" "$BACKEND2_PORT" 10 || die "the second bench-backend did not start: $(cat "$WORK/backend2.log")"
    launch_target "$t" || die "$t did not serve with two backends"
    (sleep $((FO_DURATION / 2)) && kill -KILL "$b2" 2>/dev/null) &
    killer=$!
    STARTED_PIDS+=("$killer")
    load wrk -t1 -c"$FO_CONNS" -d"${FO_DURATION}s" "$(url "$t")" >"$out" 2>&1 ||
        die "wrk against $t failed: $(cat "$out")"
    wait "$killer" 2>/dev/null || true
    forget_pid "$killer"
    stop_pid "$b2" 1
    stop_pid "$TPID"
    F_REQS=$(awk '/ requests in / { print $1 }' "$out")
    F_BAD=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
    F_BAD=${F_BAD:-0}
    F_ERRS=$(awk -F'[ ,]+' '/Socket errors:/ { print $4 + $6 + $8 + $10 }' "$out")
    F_ERRS=${F_ERRS:-0}
}

mode_failover() {
    local t res="$WORK/res-failover" F_REQS F_BAD F_ERRS
    mkdir -p "$res"
    VARIANT=-failover
    say ""
    say "== failover: two backends (round robin), wrk -t1 -c$FO_CONNS -d${FO_DURATION}s, the second killed after $((FO_DURATION / 2))s =="
    probe_rpxy
    for t in $(measured_targets proxies); do
        case $t in rpxy | nginx) ;; *) continue ;; esac
        failover_once "$t" "$WORK/wrk.failover.$t.txt"
        echo "$F_REQS $F_BAD $F_ERRS" >"$res/$t"
        printf '%-8s %10s requests  %8s failed (%s non-2xx, %s socket errors)\n' "$t" "$F_REQS" \
            $((F_BAD + F_ERRS)) "$F_BAD" "$F_ERRS"
    done
    VARIANT=""
    say ""
    say "scenario: a backend killed under load, 1 worker pinned to CPU $PROXY_CPU (backends, wrk on CPU $LOAD_CPU); rpxy: TCP health check every 2 s, passive health and failover defaults; nginx: max_fails 1, fail_timeout 10s, proxy_next_upstream error timeout"
    printf '%-9s %10s %10s\n' target requests failed
    for t in $TARGETS; do
        case $t in rpxy | nginx) ;; *) continue ;; esac
        if [ "$t" = rpxy ] && [ "$RPXY_STATE" != ok ]; then
            rpxy_row
            continue
        fi
        read -r F_REQS F_BAD F_ERRS <"$res/$t"
        printf '%-9s %10s %10s\n' "$t" "$F_REQS" $((F_BAD + F_ERRS))
    done
}

say "bench: $(nproc --all) CPUs, proxy on CPU $PROXY_CPU, backend and load on CPU $LOAD_CPU; nginx $("$NGINX" -v 2>&1 | sed 's|.*/||'), HAProxy $("$HAPROXY" -v | awk 'NR == 1 { print $3 }'), $(timeout 5 "$RPXY_BIN" --version 2>/dev/null </dev/null || echo "rpxy: no version")$([ -n "$H2O" ] && echo ", h2o $("$H2O" --version | awk 'NR == 1 { print $3 }')")$([ -n "$CADDY" ] && echo ", Caddy $("$CADDY" version | awk '{ print $1 }')")"
RPXY_FAILED=0
for m in "${modes[@]}"; do
    "mode_$m"
    [ "$RPXY_STATE" = failed ] && RPXY_FAILED=1
done
# rpxy not serving yet is not an error; rpxy failing (crash, wrong answers,
# no build) is.
exit "$RPXY_FAILED"
