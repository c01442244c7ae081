# shellcheck shell=bash
# bench/modes/strace.sh: --strace: system calls per request (strace -c -f).
# Sourced by bench/run.sh: functions only, on its settings and helpers.

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
