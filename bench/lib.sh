# Helpers for bench/run.sh (sourced, not run): packages, processes started
# and cleaned up by pid, /proc readings, readiness checks, statistics.
# shellcheck shell=bash

# ---- messages ----

say() { printf '%s\n' "$*"; }
note() { printf 'bench: %s\n' "$*" >&2; }
die() {
    printf 'bench: error: %s\n' "$*" >&2
    exit 1
}

# ---- Debian packages ----

# pkg_installed NAME: true when dpkg says NAME is installed.
pkg_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# ensure_packages SPEC...: installs with apt-get whatever is missing. A SPEC
# "a|b" is satisfied by any of a, b and installs a when none is present.
# Nothing is touched when everything is there already.
ensure_packages() {
    local spec alt ok missing=()
    for spec in "$@"; do
        ok=0
        IFS='|' read -r -a alts <<<"$spec"
        for alt in "${alts[@]}"; do
            if pkg_installed "$alt"; then
                ok=1
                break
            fi
        done
        [ "$ok" = 1 ] || missing+=("${alts[0]}")
    done
    [ ${#missing[@]} -eq 0 ] && return 0

    note "installing from Debian: ${missing[*]}"
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || die "need root (or sudo) to install: ${missing[*]}"
        sudo="sudo"
    fi
    # Package scripts would start nginx and HAProxy as system services (on
    # port 80 and so on); a policy-rc.d answering 101 stops that, and is
    # removed again right after (only if we created it).
    local policy=/usr/sbin/policy-rc.d made_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod 755 "$policy" && made_policy=1
    fi
    local rc=0
    export DEBIAN_FRONTEND=noninteractive
    if ! $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"; then
        # a fresh machine has empty package lists: refresh them once
        $sudo apt-get update -q && $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" || rc=1
    fi
    [ "$made_policy" = 1 ] && $sudo rm -f "$policy"
    [ "$rc" = 0 ] || die "apt-get could not install: ${missing[*]}"
}

# ---- processes we start (and only those are ever signalled) ----

STARTED_PIDS=()

# start_pinned NAME CPU CMD...: starts CMD in the background pinned to CPU,
# output in $WORK/NAME.log; sets START_PID.
start_pinned() {
    local name=$1 cpu=$2
    shift 2
    taskset -c "$cpu" "$@" >"$WORK/$name.log" 2>&1 &
    START_PID=$!
    STARTED_PIDS+=("$START_PID")
}

# proc_tree PID: PID and all its descendants, one per line.
proc_tree() {
    ps -e -o pid=,ppid= 2>/dev/null | awk -v root="$1" '
        { parent[$1] = $2; pids[NR] = $1 }
        END {
            keep[root] = 1; print root
            do {
                added = 0
                for (i = 1; i <= NR; i++) {
                    p = pids[i]
                    if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; print p; added = 1 }
                }
            } while (added)
        }'
}

# alive PID: the process exists and is not a zombie.
alive() {
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    s=${s##*) }
    [ "${s%% *}" != Z ]
}

# stop_pid PID [GRACE_SECONDS]: SIGTERM to PID, then SIGKILL to whatever is
# left of it and its descendants after GRACE seconds (default 10); reaps it.
stop_pid() {
    local pid=$1 grace=${2:-10} tree p i
    tree=$(proc_tree "$pid")
    if alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < grace * 20; i++)); do
            alive "$pid" || break
            sleep 0.05
        done
    fi
    for p in $tree; do
        alive "$p" && kill -KILL "$p" 2>/dev/null || true
    done
    wait "$pid" 2>/dev/null || true
    forget_pid "$pid"
}

# forget_pid PID: PID is gone (reaped); drop it from STARTED_PIDS.
forget_pid() {
    local keep=() q
    for q in "${STARTED_PIDS[@]}"; do
        [ "$q" = "$1" ] || keep+=("$q")
    done
    STARTED_PIDS=("${keep[@]}")
}

# stop_all: stops every process started by start_pinned that is still around
# (the EXIT trap calls it).
stop_all() {
    local pid
    for pid in "${STARTED_PIDS[@]}"; do
        stop_pid "$pid" 5
    done
}

# ---- /proc readings ----

CLK_TCK=$(getconf CLK_TCK)

# cpu_ticks PID: utime+stime (clock ticks) of PID and its descendants, all
# threads (a process's /proc/PID/stat sums its threads).
cpu_ticks() {
    local total=0 p s f
    for p in $(proc_tree "$1"); do
        s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        read -r -a f <<<"${s##*) }"
        # f[0] is field 3 (state): utime is field 14, stime field 15
        total=$((total + f[11] + f[12]))
    done
    echo "$total"
}

# rss_kib PID: VmRSS (KiB) of PID and its descendants.
rss_kib() {
    local total=0 p v
    for p in $(proc_tree "$1"); do
        v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null) || continue
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

# listening PORT: true when some socket listens on TCP PORT (read from
# /proc/net/tcp*, so no connection is made).
listening() {
    local hex
    hex=$(printf '%04X' "$1")
    awk -v port="$hex" '$4 == "0A" { split($2, a, ":"); if (a[2] == port) found = 1 }
        END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# wait_listening PID PORT SECONDS: waits until PORT listens; fails early if
# PID dies. Returns 0 listening, 1 timeout, 2 process gone.
wait_listening() {
    local pid=$1 port=$2 secs=$3 i
    for ((i = 0; i < secs * 20; i++)); do
        listening "$port" && return 0
        alive "$pid" || return 2
        sleep 0.05
    done
    listening "$port" && return 0
    return 1
}

# ---- numbers ----

# median < numbers: the median (mean of the middle two for an even count).
median() {
    sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "nan"; exit }
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ratio A B: A/B with two decimals, "n/a" when either is missing.
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a == "" || b == "" || a == "nan" || b == "nan" || b + 0 == 0) print "n/a"
        else printf "%.2f", a / b }'
}

# to_ms VALUE: a wrk duration ("845.12us", "1.23ms", "2.00s") in ms.
to_ms() {
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) printf "%.3f", v / 1000
        else if (v ~ /ms$/) printf "%.3f", v + 0
        else if (v ~ /m$/) printf "%.3f", v * 60000
        else if (v ~ /s$/) printf "%.3f", v * 1000
        else print "nan" }'
}

# ---- other load on the machine ----

# cpu_ticks_of CPU: "busy total" clock ticks of one CPU from /proc/stat.
cpu_ticks_of() {
    awk -v c="cpu$1" '$1 == c { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t }' /proc/stat
}

# foreign_load CPU BUSY0 TOTAL0 OURS_TICKS: percent of CPU's time since the
# (BUSY0, TOTAL0) reading spent busy on something else than OURS_TICKS.
foreign_load() {
    local b1 t1
    read -r b1 t1 <<<"$(cpu_ticks_of "$1")"
    awk -v b=$((b1 - $2)) -v t=$((t1 - $3)) -v o="$4" 'BEGIN {
        x = t > 0 ? (b - o) * 100 / t : 0; printf "%.0f", x < 0 ? 0 : x }'
}

# busy_pct CPU: percent busy of CPU over half a second.
busy_pct() {
    local b0 t0
    read -r b0 t0 <<<"$(cpu_ticks_of "$1")"
    sleep 0.5
    foreign_load "$1" "$b0" "$t0" 0
}

# wait_quiet SECONDS CPU...: waits up to SECONDS until every CPU is below 10%
# busy (nothing else running); prints the last readings when it gives up.
wait_quiet() {
    local secs=$1 i c p busy
    shift
    for ((i = 0; i < secs * 2 + 1; i++)); do
        busy=""
        for c in "$@"; do
            p=$(busy_pct "$c")
            [ "$p" -ge 10 ] && busy+="${busy:+, }CPU $c ${p}%"
        done
        [ -z "$busy" ] && return 0
    done
    printf '%s\n' "$busy"
    return 1
}

# children_ticks VAR: sets VAR to the CPU time (clock ticks) of this shell's
# reaped children, from the "times" builtin (run in this shell, not in a
# subshell); the difference around a foreground command is its CPU time.
children_ticks() {
    times >"$WORK/.times"
    printf -v "$1" '%s' "$(awk -v hz="$CLK_TCK" 'NR == 2 {
        t = 0
        for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] }
        printf "%.0f", t * hz }' "$WORK/.times")"
}
