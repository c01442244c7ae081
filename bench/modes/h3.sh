# shellcheck shell=bash
# bench/modes/h3.sh: --h3: HTTP/3 (build/h3load) against Caddy and against our HTTP/2.
# Sourced by bench/run.sh: functions only, on its settings and helpers.

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
                    local warn errs=""
                    [ "$M_BAD" = 0 ] && [ "$M_ERRS" = 0 ] || errs="$M_BAD non-2xx, $M_ERRS failed requests"
                    warn=$(round_warnings "round $round $shape $t $proto" "$res" "$errs")
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
