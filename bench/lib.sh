#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Helpers the benchmark scripts share (sourced by bench/http.sh, encode.sh, proxy.sh and
# tls.sh after their settings): logging, installing tools from Debian, the lock that
# keeps benchmarks from running at once, process and port bookkeeping, CPU accounting
# from /proc, the wait for a quiet machine, wrk runs and medians over runs. They read
# the calling script's globals (PID, EXTRA, WRK_PID, work, QUIET_WAIT, QUIET_PCT,
# CLK_TCK, LOCK, LOCK_WAIT, SERVERS, LINES, WRK_PIN) when they are called.

log() { printf '%s\n' "$*" >&2; }

apt_install() {
    [ "${BENCH_NO_INSTALL:-0}" = 1 ] && return 1
    [ "$(id -u)" = 0 ] || {
        log "need root to apt-get install $*"
        return 1
    }
    local p
    for p in "$@"; do
        DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y "$p" >&2 && return 0
    done
    log "apt-get install failed; running apt-get update once and retrying"
    timeout 600 apt-get update >&2 || return 1
    for p in "$@"; do
        DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y "$p" >&2 && return 0
    done
    return 1
}

need_tool() {
    local tool=$1
    shift
    command -v "$tool" >/dev/null 2>&1 && return 0
    log "$tool not found; installing $*"
    apt_install "$@" && command -v "$tool" >/dev/null 2>&1
}

alive() {
    local st
    st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    st=${st##*) }
    [ "${st%% *}" != Z ]
}

stop_pid() {
    local p=$1 i
    alive "$p" || return 0
    kill -TERM "$p" 2>/dev/null
    for ((i = 0; i < 50; i++)); do
        alive "$p" || return 0
        sleep 0.1
    done
    kill -KILL "$p" 2>/dev/null
}

cleanup() {
    local s p
    trap - EXIT INT TERM
    [ -n "${WRK_PID:-}" ] && kill -TERM "$WRK_PID" 2>/dev/null
    for s in "${!PID[@]}"; do
        stop_pid "${PID[$s]}"
        for p in ${EXTRA[$s]:-}; do
            [ "$(cat "/proc/$p/comm" 2>/dev/null)" = nginx ] && stop_pid "$p"
        done
    done
    wait 2>/dev/null
    rm -rf "$work"
}

port_free() {
    local p=$1
    [ -z "$(ss -Hltn "sport = :$p" 2>/dev/null)" ] || return 1
    python3 - "$p" <<'EOF' 2>/dev/null
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
EOF
}

pid_tree() {
    local p=$1 c
    [ -d "/proc/$p" ] || return 0
    echo "$p"
    for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do pid_tree "$c"; done
}

cpu_ticks() {
    local total=0 p line f
    for p in "$@"; do
        line=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        read -r -a f <<<"${line##*) }"
        total=$((total + f[11] + f[12]))
    done
    echo "$total"
}

# Busy ticks of the whole machine (all CPUs) from /proc/stat: user, nice, system, irq
# and softirq; steal is left out since no process on this machine used it.
sys_busy() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat; }

child_secs() {
    times >"$work/times.out"
    awk 'NR == 2 {
        s = 0
        for (i = 1; i <= 2; i++) { split($i, a, "m"); sub(/s$/, "", a[2]); s += a[1] * 60 + a[2] }
        printf "%.3f", s }' "$work/times.out"
}

wait_quiet() {
    local t b0 b1 pct=0
    [ "$QUIET_WAIT" -gt 0 ] || return 0
    for ((t = 0; t < QUIET_WAIT; t++)); do
        b0=$(sys_busy)
        sleep 1
        b1=$(sys_busy)
        pct=$(((b1 - b0) * 100 / CLK_TCK))
        [ "$pct" -lt "$QUIET_PCT" ] && return 0
        [ "$t" = 0 ] && log "waiting for other load to drop (${pct}% of a core busy)"
    done
    log "machine still busy after ${QUIET_WAIT}s (${pct}% of a core); measuring anyway"
}

port_owned_by() {
    local port=$1 name=$2 pids owners o
    pids=" $(pid_tree "${PID[$name]}" | tr '\n' ' ') "
    owners=$(ss -Hltnp "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u)
    [ -n "$owners" ] || return 1
    for o in $owners; do
        case "$pids" in *" $o "*) ;; *) return 1 ;; esac
    done
    return 0
}

run_wrk() { # limit output-file wrk-args...
    local limit=$1 out=$2 rc
    shift 2
    timeout "$limit" "${WRK_PIN[@]}" wrk "$@" >"$out" 2>&1 9>&- &
    WRK_PID=$!
    wait "$WRK_PID"
    rc=$?
    WRK_PID=""
    return $rc
}

show_log() {
    [ -f "$work/$1.log" ] && sed -n '1,15p' "$work/$1.log" | sed 's/^/    | /' >&2
    [ -f "$work/$1/error.log" ] && sed -n '1,10p' "$work/$1/error.log" | sed 's/^/    | /' >&2
    return 0
}

# Header value (case-insensitive name, CR stripped) from a curl -D dump.
hdr() { grep -i "^$2:" "$1" | head -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'; }

want() { case " $SERVERS " in *" $1 "*) return 0 ;; esac; return 1; }

# Converts a wrk latency figure (e.g. 143.00us, 1.21ms, 2.00s) to microseconds.
to_us() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") m = 1; else if (u == "ms") m = 1000; else if (u == "s") m = 1000000;
        else if (u == "m") m = 60000000; else m = -1
        if (m < 0) print "?"; else printf "%.0f", n * m }'
}

fail() { why="${why:+$why; }$*"; }

# Takes the shared benchmark lock (the same flock(2) lock `flock $LOCK <command>` takes),
# so that another benchmark on this machine never runs at the same time as a cell.
lock() {
    exec 9>>"$LOCK" || die "cannot open $LOCK"
    if ! flock -w "$LOCK_WAIT" 9; then
        die "could not take $LOCK within ${LOCK_WAIT}s"
    fi
}

unlock() {
    flock -u 9
    exec 9>&-
}

# Median of column k (1-based) over the runs of a cell.
med() { # cell column
    local v=${LINES[$1]:-}
    [ -n "$v" ] || return 1
    printf '%s' "$v" | awk -v k="$2" '{ print $k }' | sort -g |
        awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

maxcol() { printf '%s' "${LINES[$1]:-}" | awk -v k="$2" 'BEGIN { m = 0 } $k > m { m = $k } END { print m }'; }

sumcol() { printf '%s' "${LINES[$1]:-}" | awk -v k="$2" '{ s += $k } END { print s + 0 }'; }

nruns() { printf '%s' "${LINES[$1]:-}" | grep -c .; }
