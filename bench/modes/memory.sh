# shellcheck shell=bash
# bench/modes/memory.sh: --memory: RSS with idle keep-alive client connections.
# Sourced by bench/run.sh: functions only, on its settings and helpers.

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
