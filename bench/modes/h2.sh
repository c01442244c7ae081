# shellcheck shell=bash
# bench/modes/h2.sh: --h2: HTTP/2 over TLS with h2load, also against h2o.
# Sourced by bench/run.sh: functions only, on its settings and helpers.

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
            local warn errs=""
            [ "$M_BAD" = 0 ] && [ "$M_ERRS" = 0 ] || errs="$M_BAD non-2xx, $M_ERRS failed requests"
            warn=$(round_warnings "round $round $t" "$res" "$errs")
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
