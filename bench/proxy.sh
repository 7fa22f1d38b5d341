#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Reverse proxy benchmark (issue 4, bench item): caddy-c `reverse_proxy` (1 worker)
# against nginx `proxy_pass` (upstream keepalive 64, 1 worker) and Caddy's
# `reverse_proxy`, all in front of the SAME backend (nginx, 1 worker, two ports serving
# the same static files), in one run: 13-byte, 100 KB and 1 MB bodies through one
# upstream, and 13 bytes through two upstreams round-robin. Every front is verified
# first (bodies byte-identical, the backend's X-Backend header proves the request was
# proxied, both upstreams seen on the round-robin port, ports held by the right PID).
# Reports req/s, p50/p99, the front's CPU µs per request (utime+stime from /proc over the
# requests wrk completed), the backend's CPU share (a saturated backend caps every
# front alike), and the ratios caddy-c/nginx and caddy-c/Caddy; BENCH_RUNS interleaved
# runs per cell, medians. Writes the report to bench/results/proxy-<date>.txt.
#
# Usage: bench/proxy.sh       (as root if nginx, caddy or wrk must be installed)
# Env:   BENCH_SECONDS=8 BENCH_WARMUP=1 BENCH_CONNS=50 BENCH_THREADS=1 BENCH_RUNS=1
#        BENCH_SERVERS="caddy-c nginx caddy" BENCH_WORKLOADS="13b 100k 1m rr-13b"
#        BENCH_PORTS=28200-28299 CADDYC=bin/caddy-c BENCH_RESULTS=bench/results
#        BENCH_QUIET_WAIT=60 BENCH_QUIET_PCT=15 BENCH_LOCK=/tmp/caddyc-bench.lock
#        BENCH_LOCK_WAIT=1800 BENCH_RETRIES=2 BENCH_NOISY_PCT=10
#        BENCH_SERVER_CPUS= BENCH_WRK_CPUS= BENCH_BACKEND_CPUS= BENCH_NO_INSTALL=1
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD

SECS=${BENCH_SECONDS:-8}
WARMUP=${BENCH_WARMUP:-1}
CONNS=${BENCH_CONNS:-50}
THREADS=${BENCH_THREADS:-1}
RUNS=${BENCH_RUNS:-1}
SERVERS=${BENCH_SERVERS:-"caddy-c nginx caddy"}
WORKLOADS=${BENCH_WORKLOADS:-"13b 100k 1m rr-13b"}
PORTS=${BENCH_PORTS:-28200-28299}
CADDYC=${CADDYC:-bin/caddy-c}
RESULTS=${BENCH_RESULTS:-bench/results}
QUIET_WAIT=${BENCH_QUIET_WAIT:-60}
QUIET_PCT=${BENCH_QUIET_PCT:-15}
LOCK=${BENCH_LOCK:-/tmp/caddyc-bench.lock}
LOCK_WAIT=${BENCH_LOCK_WAIT:-1800}
RETRIES=${BENCH_RETRIES:-2}
NOISY_PCT=${BENCH_NOISY_PCT:-10}
SRV_PIN=()
WRK_PIN=()
BK_PIN=()
[ -n "${BENCH_SERVER_CPUS:-}" ] && SRV_PIN=(taskset -c "$BENCH_SERVER_CPUS")
[ -n "${BENCH_WRK_CPUS:-}" ] && WRK_PIN=(taskset -c "$BENCH_WRK_CPUS")
[ -n "${BENCH_BACKEND_CPUS:-}" ] && BK_PIN=(taskset -c "$BENCH_BACKEND_CPUS")
PORT_LO=${PORTS%-*}
PORT_HI=${PORTS#*-}
HELLO=$'hello, world\n'
CLK_TCK=$(getconf CLK_TCK)
START_TIMEOUT=15

. "$ROOT/bench/lib.sh"
die() {
    log "proxy.sh: $*"
    exit 1
}
# ---------------------------------------------------------------- tools

need_tool wrk wrk || die "wrk is required"
need_tool curl curl || die "curl is required"
need_tool flock util-linux || die "flock is required"
need_tool python3 python3-minimal python3 || die "python3 is required (port checks)"
# the backend is nginx whatever the fronts are
need_tool nginx nginx-light nginx || die "nginx could not be installed (it is also the backend)"
if want caddy; then
    need_tool caddy caddy || die "caddy could not be installed"
fi
if want caddy-c; then
    if [ ! -x "$CADDYC" ]; then
        log "building caddy-c (make)"
        timeout 600 make >&2 || die "make failed"
    fi
    [ -x "$CADDYC" ] || die "$CADDYC not found"
    case $CADDYC in /*) ;; *) CADDYC=$ROOT/$CADDYC ;; esac
fi
for s in $SERVERS; do
    case $s in caddy-c | nginx | caddy) ;; *) die "unknown server '$s'" ;; esac
done
for w in $WORKLOADS; do
    case $w in 13b | 100k | 1m | rr-13b) ;; *) die "unknown workload '$w'" ;; esac
done

# ---------------------------------------------------------------- work dir and cleanup

work=$(mktemp -d "${TMPDIR:-/tmp}/cc-proxy-bench.XXXXXX") || die "mktemp failed"
chmod 755 "$work" # nginx workers run unprivileged and read the document root
declare -A PID=()    # name -> main PID (nginx: master); "backend" is the shared backend
declare -A EXTRA=()  # name -> other PIDs (nginx workers) seen at start
declare -A BROKEN=() # name -> why it is excluded
declare -A PORT=()   # "name site" -> port (site: one, rr; backend: b1, b2)
used_ports=""
WRK_PID=""

trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------- helpers (as bench/http.sh)

take_port() { # name site
    local p
    for ((p = PORT_LO; p <= PORT_HI; p++)); do
        case " $used_ports " in *" $p "*) continue ;; esac
        if port_free "$p"; then
            used_ports="$used_ports $p"
            PORT["$1 $2"]=$p
            return 0
        fi
    done
    die "no free port in $PORTS"
}

# ---------------------------------------------------------------- content

mkdir -p "$work/www"
printf '%s' "$HELLO" >"$work/www/13b.txt"
head -c 102400 /dev/urandom >"$work/www/100k.bin"
head -c 1048576 /dev/urandom >"$work/www/1m.bin"
chmod 755 "$work/www"
chmod 644 "$work/www/"*

path_of() { # workload
    case $1 in 13b | rr-13b) echo /13b.txt ;; 100k) echo /100k.bin ;; 1m) echo /1m.bin ;; esac
}
site_of() { case $1 in rr-*) echo rr ;; *) echo one ;; esac; }

# ---------------------------------------------------------------- configs

nginx_head() { # dir
    local mime=""
    [ -f /etc/nginx/mime.types ] && mime="include /etc/nginx/mime.types;"
    cat <<EOF
worker_processes 1;
daemon off;
master_process on;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 4096; }
http {
    $mime
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 65;
    client_body_temp_path $1/body;
    proxy_temp_path $1/proxy;
    fastcgi_temp_path $1/fastcgi;
    uwsgi_temp_path $1/uwsgi;
    scgi_temp_path $1/scgi;
EOF
}

# The backend: two ports, same files; X-Backend tells which one answered.
backend_conf() {
    local d="$work/backend"
    nginx_head "$d"
    cat <<EOF
    server {
        listen 127.0.0.1:${PORT[backend b1]} backlog=4096;
        root $work/www;
        add_header X-Backend b1;
    }
    server {
        listen 127.0.0.1:${PORT[backend b2]} backlog=4096;
        root $work/www;
        add_header X-Backend b2;
    }
}
EOF
}

# nginx front: proxy_pass with upstream keep-alive (HTTP/1.1, Connection cleared) and
# proxy_max_temp_file_size 0 so that a 1 MB body streams through its memory buffers
# instead of being spooled to a temp file (the other fronts stream too).
nginx_front_conf() {
    local d="$work/nginx" b1=${PORT[backend b1]} b2=${PORT[backend b2]}
    nginx_head "$d"
    cat <<EOF
    upstream one { server 127.0.0.1:$b1; keepalive 64; keepalive_requests 1000000; }
    upstream two { server 127.0.0.1:$b1; server 127.0.0.1:$b2; keepalive 64; keepalive_requests 1000000; }
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host \$host;
    proxy_set_header X-Forwarded-For \$remote_addr;
    proxy_max_temp_file_size 0;
    server {
        listen 127.0.0.1:${PORT[nginx one]} backlog=4096;
        location / { proxy_pass http://one; }
    }
    server {
        listen 127.0.0.1:${PORT[nginx rr]} backlog=4096;
        location / { proxy_pass http://two; }
    }
}
EOF
}

caddyfile() { # name
    local b1=${PORT[backend b1]} b2=${PORT[backend b2]}
    printf '{\n\tadmin off\n}\n\n'
    printf ':%s {\n\tbind 127.0.0.1\n\treverse_proxy 127.0.0.1:%s\n}\n\n' "${PORT[$1 one]}" "$b1"
    printf ':%s {\n\tbind 127.0.0.1\n\treverse_proxy 127.0.0.1:%s 127.0.0.1:%s {\n\t\tlb_policy round_robin\n\t}\n}\n' \
        "${PORT[$1 rr]}" "$b1" "$b2"
}

start_nginx() { # name conf-function
    local name=$1 d="$work/$1"
    mkdir -p "$d"
    "$2" >"$d/nginx.conf"
    if ! nginx -t -q -p "$d" -e "$d/error.log" -c "$d/nginx.conf" >"$work/$name.log" 2>&1; then
        BROKEN[$name]="nginx -t rejected the generated config"
        return 1
    fi
    local pin=("${SRV_PIN[@]}")
    [ "$name" = backend ] && pin=("${BK_PIN[@]}")
    "${pin[@]}" nginx -p "$d" -e "$d/error.log" -c "$d/nginx.conf" >>"$work/$name.log" 2>&1 &
    PID[$name]=$!
}

# ---------------------------------------------------------------- start and verify

take_port backend b1
take_port backend b2
for s in $SERVERS; do
    take_port "$s" one
    take_port "$s" rr
done

start_nginx backend backend_conf || die "backend nginx: ${BROKEN[backend]}"
for s in $SERVERS; do
    case $s in
    nginx) start_nginx nginx nginx_front_conf ;;
    caddy-c)
        mkdir -p "$work/caddy-c"
        caddyfile caddy-c >"$work/caddy-c/Caddyfile"
        env -u CADDYC_WORKERS "${SRV_PIN[@]}" "$CADDYC" run --config "$work/caddy-c/Caddyfile" --workers 1 \
            >"$work/caddy-c.log" 2>&1 &
        PID[caddy-c]=$!
        ;;
    caddy)
        mkdir -p "$work/caddy"
        caddyfile caddy >"$work/caddy/Caddyfile"
        HOME="$work/caddy" XDG_DATA_HOME="$work/caddy/data" XDG_CONFIG_HOME="$work/caddy/config" \
            "${SRV_PIN[@]}" caddy run --config "$work/caddy/Caddyfile" --adapter caddyfile >"$work/caddy.log" 2>&1 &
        PID[caddy]=$!
        ;;
    esac
done

wait_up() { # name url
    local i
    for ((i = 0; i < START_TIMEOUT * 10; i++)); do
        alive "${PID[$1]}" || return 1
        curl -s --max-time 2 -o /dev/null "$2" && return 0
        sleep 0.1
    done
    return 1
}

why=""
# fetch_check NAME SITE PATH: checks status 200 and that the body equals the file; sets
# BK to the X-Backend value (a global: `fail` must run in this shell, not a subshell)
fetch_check() {
    local s=$1 site=$2 path=$3 d="$work/verify-$1"
    BK=""
    mkdir -p "$d"
    if ! curl -s --max-time 5 -o "$d/body" -D "$d/hdr" "http://127.0.0.1:${PORT[$s $site]}$path"; then
        fail "$site$path: request failed"
        return
    fi
    head -n 1 "$d/hdr" | grep -q ' 200' || fail "$site$path: status $(head -n 1 "$d/hdr" | tr -d '\r')"
    cmp -s "$d/body" "$work/www$path" || fail "$site$path: body differs from the file ($(wc -c <"$d/body") bytes)"
    BK=$(hdr "$d/hdr" x-backend)
}

verify() { # name
    local s=$1 p b seen=""
    why=""
    wait_up "$s" "http://127.0.0.1:${PORT[$s one]}/13b.txt" || {
        alive "${PID[$s]}" && BROKEN[$s]="did not answer within ${START_TIMEOUT}s" ||
            BROKEN[$s]="exited during startup (see log below)"
        return 1
    }
    for p in /13b.txt /100k.bin /1m.bin; do
        fetch_check "$s" one "$p"
        b=$BK
        [ "$b" = b1 ] || fail "one$p: X-Backend '$b', not b1 (not proxied to the backend?)"
    done
    for _ in 1 2 3 4; do
        fetch_check "$s" rr /13b.txt
        b=$BK
        case " $seen " in *" $b "*) ;; *) seen="$seen $b" ;; esac
    done
    case "$seen" in *b1*b2* | *b2*b1*) ;; *) fail "rr: 4 requests saw backends '${seen# }', not b1 and b2" ;; esac
    port_owned_by "${PORT[$s one]}" "$s" || fail "port ${PORT[$s one]} is not held by PID ${PID[$s]}"
    port_owned_by "${PORT[$s rr]}" "$s" || fail "port ${PORT[$s rr]} is not held by PID ${PID[$s]}"
    [ -z "$why" ] || {
        BROKEN[$s]=$why
        return 1
    }
}

# The backend first: without it nothing can be measured.
wait_up backend "http://127.0.0.1:${PORT[backend b1]}/13b.txt" || {
    show_log backend
    die "backend nginx did not start"
}
for b in b1 b2; do
    curl -s --max-time 5 -o "$work/bk.body" "http://127.0.0.1:${PORT[backend $b]}/1m.bin" &&
        cmp -s "$work/bk.body" "$work/www/1m.bin" || die "backend $b does not serve the files"
    port_owned_by "${PORT[backend $b]}" backend || die "backend port ${PORT[backend $b]} not held by the backend nginx"
done
EXTRA[backend]=$(pid_tree "${PID[backend]}" | grep -vx "${PID[backend]}" | tr '\n' ' ')

for s in $SERVERS; do
    [ -n "${BROKEN[$s]:-}" ] && {
        log "$s: EXCLUDED: ${BROKEN[$s]}"
        continue
    }
    if verify "$s"; then
        EXTRA[$s]=$(pid_tree "${PID[$s]}" | grep -vx "${PID[$s]}" | tr '\n' ' ')
        log "$s: PID ${PID[$s]}${EXTRA[$s]:+ (+ ${EXTRA[$s]% })}, ports ${PORT[$s one]} (one upstream) ${PORT[$s rr]} (round-robin): verified"
    else
        log "$s: EXCLUDED: ${BROKEN[$s]}"
        show_log "$s"
    fi
done

# ---------------------------------------------------------------- measure

# One measured run (in this shell, so `times` sees wrk's CPU); prints
# "rps p50 p99 cpu_us cpu_pct backend_pct errors other_pct" or "fail why".
# other% = CPU used by neither the front, the backend nor wrk (% of one core).
measure() { # name url
    local s=$1 url=$2 out="$work/wrk.out" pids bpids pids_after t0 t1 k0 k1 b0 b1 c0 c1
    pids=$(pid_tree "${PID[$s]}" | tr '\n' ' ')
    bpids=$(pid_tree "${PID[backend]}" | tr '\n' ' ')
    child_secs >"$work/c0"
    b0=$(sys_busy)
    t0=$(cpu_ticks $pids)
    k0=$(cpu_ticks $bpids)
    if ! run_wrk $((SECS + 60)) "$out" -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency "$url"; then
        echo "fail wrk-failed"
        return
    fi
    t1=$(cpu_ticks $pids)
    k1=$(cpu_ticks $bpids)
    b1=$(sys_busy)
    child_secs >"$work/c1"
    c0=$(cat "$work/c0")
    c1=$(cat "$work/c1")
    pids_after=$(pid_tree "${PID[$s]}" | tr '\n' ' ')
    [ "$pids" = "$pids_after" ] || {
        echo "fail process-set-changed"
        return
    }
    local reqs rps p50 p99 errs non2xx
    reqs=$(awk '/requests in/ {print $1; exit}' "$out")
    rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")
    p50=$(to_us "$(awk '$1 == "50%" {print $2; exit}' "$out")")
    p99=$(to_us "$(awk '$1 == "99%" {print $2; exit}' "$out")")
    errs=$(awk '/Socket errors:/ {gsub(/,/, ""); print $4 + $6 + $8 + $10; exit}' "$out")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF; exit}' "$out")
    errs=$((${errs:-0} + ${non2xx:-0}))
    if [ -z "$reqs" ] || [ "$reqs" -eq 0 ] 2>/dev/null; then
        echo "fail no-requests"
        return
    fi
    awk -v r="$rps" -v a="$p50" -v b="$p99" -v d=$((t1 - t0)) -v k=$((k1 - k0)) -v hz="$CLK_TCK" \
        -v n="$reqs" -v secs="$SECS" -v e="$errs" -v busy=$((b1 - b0)) -v c0="$c0" -v c1="$c1" 'BEGIN {
        other = (busy - d - k) / hz - (c1 - c0)
        if (other < 0) other = 0
        printf "%s %s %s %.2f %.0f %.0f %d %.0f\n", r, a, b, d / hz * 1e6 / n, d / hz / secs * 100,
            k / hz / secs * 100, e, other / secs * 100 }'
}

declare -A LINES=() # "server workload" -> one result line per run
for w in $WORKLOADS; do
    for ((r = 1; r <= RUNS; r++)); do
        for s in $SERVERS; do
            [ -n "${BROKEN[$s]:-}" ] && continue
            url="http://127.0.0.1:${PORT[$s $(site_of "$w")]}$(path_of "$w")"
            for ((try = 0; try <= RETRIES; try++)); do
                lock
                wait_quiet
                run_wrk $((WARMUP + 30)) /dev/null -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" "$url"
                measure "$s" "$url" >"$work/res"
                unlock
                res=$(cat "$work/res")
                log "$w $s run $r/$RUNS: $res"
                case $res in fail*) break ;; esac
                [ "$(echo "$res" | awk '{ print $8 }')" -gt "$NOISY_PCT" ] || break
                [ "$try" -lt "$RETRIES" ] && log "  other load ${res##* }% > ${NOISY_PCT}%: measuring again"
            done
            case $res in fail*) ;; *) LINES["$s $w"]="${LINES["$s $w"]:-}$res"$'\n' ;; esac
            if ! alive "${PID[$s]}"; then
                BROKEN[$s]="died during $w"
                log "$s: ${BROKEN[$s]}"
                show_log "$s"
            fi
        done
    done
done

label() { case $1 in caddy) echo Caddy ;; *) echo "$1" ;; esac; }

# ---------------------------------------------------------------- report

ver_nginx=$(nginx -v 2>&1 | sed 's/^nginx version: //')
ver_caddy=$(command -v caddy >/dev/null && caddy version 2>/dev/null | cut -d' ' -f1)
ver_wrk=$(wrk -v 2>&1 | head -n 1 | awk '{print $2}')
ver_caddyc=$(want caddy-c && "$CADDYC" version 2>/dev/null | head -n 1)
git_rev=$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD 2>/dev/null || echo "+dirty")
cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
noisy=0

report="$work/report.txt"
{
    echo "caddy-c reverse proxy benchmark, $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "machine: nproc=$(nproc), $cpu_model, kernel $(uname -r), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "versions: caddy-c ${ver_caddyc:-?} (git $git_rev), nginx ${ver_nginx:-?}, caddy ${ver_caddy:-?}, wrk ${ver_wrk:-?}"
    echo "pinning: fronts ${BENCH_SERVER_CPUS:-any CPU}, backend ${BENCH_BACKEND_CPUS:-any CPU}, wrk ${BENCH_WRK_CPUS:-any CPU}"
    echo "load: wrk -t$THREADS -c$CONNS -d${SECS}s --latency, keep-alive, ${WARMUP}s warm-up; $RUNS interleaved run(s) per cell, medians per column"
    echo "backend: nginx, 1 worker, two ports (b1, b2) serving the same static files (sendfile)"
    echo "fronts: caddy-c reverse_proxy --workers 1; nginx proxy_pass, worker_processes 1, upstream keepalive 64,"
    echo "        proxy_http_version 1.1, proxy_max_temp_file_size 0; Caddy reverse_proxy (defaults), admin off"
    echo "workloads: 13b/100k/1m = one upstream (b1); rr-13b = b1 + b2, lb_policy round_robin / nginx default (round-robin)"
    echo "each cell holds $LOCK; CPU/req = front utime+stime / requests completed (nginx: master + worker)"
    echo
    printf '%-7s %-8s %10s %8s %8s %11s %6s %6s %7s %7s %5s\n' workload server req/s p50_us p99_us cpu_us/req cpu% bk_cpu% errors other% runs
    for w in $WORKLOADS; do
        for s in $SERVERS; do
            c="$s $w"
            if [ -z "${LINES[$c]:-}" ]; then
                printf '%-7s %-8s %10s   %s\n' "$w" "$(label "$s")" n/a "${BROKEN[$s]:-no successful run}"
                continue
            fi
            printf '%-7s %-8s %10s %8s %8s %11s %6s %6s %7s %7s %5s\n' "$w" "$(label "$s")" "$(med "$c" 1)" \
                "$(med "$c" 2)" "$(med "$c" 3)" "$(med "$c" 4)" "$(med "$c" 5)" "$(med "$c" 6)" \
                "$(sumcol "$c" 7)" "$(maxcol "$c" 8)" "$(nruns "$c")"
            [ "$(maxcol "$c" 8 | cut -d. -f1)" -le "$NOISY_PCT" ] || noisy=1
        done
    done
    echo "cpu% = front CPU in % of one core; bk_cpu% = the backend's; other% = max over runs of CPU used by"
    echo "neither front, backend nor wrk. A bk_cpu% near 100 means the backend, not the front, set the pace."
    [ "$noisy" = 0 ] || echo "WARNING: other load above ${NOISY_PCT}% of a core during some counted runs: those figures are less reliable"
    echo
    echo "ratios (req/s: higher is better for caddy-c; CPU/req: lower is better for caddy-c)"
    echo "targets (issue 4): req/s >= 1.0x nginx and >= 2.0x Caddy"
    for o in nginx caddy; do
        want caddy-c && want "$o" || continue
        for w in $WORKLOADS; do
            a="caddy-c $w" b="$o $w"
            if [ -z "${LINES[$a]:-}" ] || [ -z "${LINES[$b]:-}" ]; then
                printf '%-7s caddy-c/%-6s n/a\n' "$w" "$(label "$o")"
                continue
            fi
            awk -v w="$w" -v o="$(label "$o")" -v ar="$(med "$a" 1)" -v br="$(med "$b" 1)" \
                -v ac="$(med "$a" 4)" -v bc="$(med "$b" 4)" -v tgt="$([ "$o" = nginx ] && echo 1.0 || echo 2.0)" 'BEGIN {
                rr = (br > 0 ? ar / br : 0)
                printf "%-7s caddy-c/%-6s req/s %5.2fx   CPU/req %5.2fx   (target req/s >= %sx: %s)\n", w, o, rr,
                    (bc > 0 ? ac / bc : 0), tgt, (rr >= tgt ? "met" : "NOT met") }'
        done
    done
    bad=0
    for s in $SERVERS; do
        if [ -n "${BROKEN[$s]:-}" ]; then
            echo "EXCLUDED $(label "$s"): ${BROKEN[$s]}"
            bad=1
        fi
    done
    [ "$bad" = 1 ] || echo "all fronts verified before measuring (bodies byte-identical, proxied to the backend, round-robin over b1+b2, port owner)"
} >"$report"

mkdir -p "$RESULTS"
outfile="$RESULTS/proxy-$(date '+%Y-%m-%d-%H%M%S').txt"
cp "$report" "$outfile"
echo
cat "$report"
echo
echo "written to $outfile"
for s in $SERVERS; do [ -n "${BROKEN[$s]:-}" ] && exit 1; done
exit 0
