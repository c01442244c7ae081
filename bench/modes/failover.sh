# shellcheck shell=bash
# bench/modes/failover.sh: --failover: a backend killed under load.
# Sourced by bench/run.sh: functions only, on its settings and helpers.

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
