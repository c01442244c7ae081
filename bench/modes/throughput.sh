# shellcheck shell=bash
# bench/modes/throughput.sh: the default mode, wrk over HTTP/1.1 keep-alive.
# Sourced by bench/run.sh: functions only, on its settings and helpers.

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
            local warn errs=""
            [ "$M_BAD" = 0 ] && [ "$M_ERRS" = 0 ] || errs="$M_BAD non-2xx, $M_ERRS socket errors"
            warn=$(round_warnings "round $round $t" "$res" "$errs")
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
