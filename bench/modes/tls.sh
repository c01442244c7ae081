# shellcheck shell=bash
# bench/modes/tls.sh: --tls: TLS 1.3 keep-alive, full and resumed handshakes (build/tls-load).
# Sourced by bench/run.sh: functions only, on its settings and helpers.

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
    local t=$1 sc=$2 out=$3 pid pids busy TARGS W_C0 W_B0 W_PB0 W_PT0 W_LB0 W_LT0 W_W0 W_TICKS W_BTICKS
    busy=$(wait_quiet "$QUIET_WAIT" "$PROXY_CPU" "$LOAD_CPU") ||
        note "$t: the machine stays busy ($busy); measuring anyway"
    launch_target "$t" || die "$t stopped serving"
    pid=$TPID
    pids=$(proc_tree "$pid" | paste -sd, -)
    tls_args "$sc"
    window_open "$pid"
    load "$TLS_LOAD_BIN" 127.0.0.1 "$(target_port "$t")" --sni "$TLS_HOST" -c "$CONNS" \
        -d "$DURATION" --warmup "$WARMUP" --body-size "$BODY_SIZE" --cpu-pids "$pids" \
        "${TARGS[@]}" >"$out" 2>&1 || die "tls-load against $t ($sc) failed: $(cat "$out")"
    window_close "$pid"
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
                local warn errs="" unresumed=""
                [ "$M_BAD" = 0 ] && [ "$M_ERRS" = 0 ] ||
                    errs="$M_BAD bad responses, $M_ERRS connection errors ($(tls_val "$out" first_error))"
                if [ "$sc" = resume ] && awk -v r="$M_REUSE" 'BEGIN { exit !(r < 99) }'; then
                    unresumed="only $M_REUSE% of the handshakes resumed"
                fi
                warn=$(round_warnings "round $round $sc $t" "$res" "$errs" "$unresumed")
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
