# shellcheck shell=bash
# bench/modes/callgrind.sh: --callgrind: user-space instructions per request (valgrind).
# Sourced by bench/run.sh: functions only, on its settings and helpers.

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
