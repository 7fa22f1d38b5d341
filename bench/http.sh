#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# HTTP serving benchmark: starts caddy-c (1 worker, and the default: one per CPU), nginx
# (1 worker, and `auto`) and Caddy side by side on 127.0.0.1, checks that each one really serves the expected bytes, then
# drives each in turn with wrk (keep-alive) on three workloads: a 13-byte `respond`, a 1 KB
# static file and a 1 MB static file. Reports req/s, p50/p99 and the server's CPU time per
# request (utime+stime from /proc, over the requests wrk completed), plus the ratios
# caddy-c/nginx (1 worker each), caddy-c-auto/nginx-auto (one per CPU each) and
# caddy-c/Caddy, and writes the same report to bench/results/.
#
# Usage: bench/http.sh        (as root if nginx, caddy or wrk must be installed)
# Env:   BENCH_SECONDS=8 BENCH_WARMUP=1 BENCH_CONNS=50 BENCH_THREADS=1 BENCH_RUNS=1
#        BENCH_SERVERS="caddy-c caddy-c-auto nginx nginx-auto caddy"
#        BENCH_WORKLOADS="respond static-1k static-1m"
#        BENCH_PORTS=28000-28099 CADDYC=bin/caddy-c BENCH_RESULTS=bench/results
#        BENCH_QUIET_WAIT=60 BENCH_QUIET_PCT=15 (before each cell, wait up to that many
#        seconds for other load on the machine to drop below that % of one core)
#        BENCH_SERVER_CPUS= BENCH_WRK_CPUS= (optional taskset CPU lists, e.g. 0 and 1)
#        BENCH_NO_INSTALL=1 (never call apt-get)
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD

SECS=${BENCH_SECONDS:-8}
WARMUP=${BENCH_WARMUP:-1}
CONNS=${BENCH_CONNS:-50}
THREADS=${BENCH_THREADS:-1}
RUNS=${BENCH_RUNS:-1}
SERVERS=${BENCH_SERVERS:-"caddy-c caddy-c-auto nginx nginx-auto caddy"}
WORKLOADS=${BENCH_WORKLOADS:-"respond static-1k static-1m"}
PORTS=${BENCH_PORTS:-28000-28099}
CADDYC=${CADDYC:-bin/caddy-c}
RESULTS=${BENCH_RESULTS:-bench/results}
QUIET_WAIT=${BENCH_QUIET_WAIT:-60}
QUIET_PCT=${BENCH_QUIET_PCT:-15}
SRV_PIN=()
WRK_PIN=()
[ -n "${BENCH_SERVER_CPUS:-}" ] && SRV_PIN=(taskset -c "$BENCH_SERVER_CPUS")
[ -n "${BENCH_WRK_CPUS:-}" ] && WRK_PIN=(taskset -c "$BENCH_WRK_CPUS")
PORT_LO=${PORTS%-*}
PORT_HI=${PORTS#*-}
HELLO=$'hello, world\n'
CLK_TCK=$(getconf CLK_TCK)
START_TIMEOUT=15

. "$ROOT/bench/lib.sh"
die() {
    log "http.sh: $*"
    exit 1
}

# ---------------------------------------------------------------- tools

need_tool wrk wrk || die "wrk is required"
need_tool curl curl || die "curl is required"
if want nginx || want nginx-auto; then
    need_tool nginx nginx-light nginx || die "nginx could not be installed"
fi
if want caddy; then
    need_tool caddy caddy || die "caddy could not be installed"
fi
if want caddy-c || want caddy-c-auto; then
    if [ ! -x "$CADDYC" ]; then
        log "building caddy-c (make)"
        timeout 600 make >&2 || die "make failed"
    fi
    [ -x "$CADDYC" ] || die "$CADDYC not found"
    case $CADDYC in /*) ;; *) CADDYC=$ROOT/$CADDYC ;; esac
fi

# ---------------------------------------------------------------- work dir and cleanup

work=$(mktemp -d "${TMPDIR:-/tmp}/cc-http-bench.XXXXXX") || die "mktemp failed"
# nginx workers drop to an unprivileged user and must be able to read the document root.
chmod 755 "$work"
declare -A PID=()      # server name -> main PID (nginx: master)
declare -A PORT_A=()   # server name -> port of the respond site
declare -A PORT_B=()   # server name -> port of the static site
declare -A EXTRA=()    # server name -> other PIDs (nginx workers) seen at start
declare -A BROKEN=()   # server name -> why it is excluded
used_ports=""

trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------- helpers

# Sets NEXT to the next free port of the private range not handed out yet (a global, not
# stdout, because a command substitution would lose the update of used_ports).
next_port() {
    local p
    for ((p = PORT_LO; p <= PORT_HI; p++)); do
        case " $used_ports " in *" $p "*) continue ;; esac
        if port_free "$p"; then
            used_ports="$used_ports $p"
            NEXT=$p
            return 0
        fi
    done
    return 1
}

fetch() { curl -s --max-time 5 -o "$2" -D "$3" "$1"; }

# Waits until both sites of a server answer, then verifies bodies, sizes, the Server
# header and the ownership of both ports. Marks the server broken on any mismatch.
verify_server() {
    local name=$1 want_server=$2 i ok=0 a=${PORT_A[$1]} b=${PORT_B[$1]}
    local d="$work/verify-$name"
    mkdir -p "$d"
    for ((i = 0; i < START_TIMEOUT * 10; i++)); do
        if ! alive "${PID[$name]}"; then
            BROKEN[$name]="exited during startup (see log below)"
            return 1
        fi
        if fetch "http://127.0.0.1:$a/" "$d/hello" "$d/h.hdr" && fetch "http://127.0.0.1:$b/f1k.bin" "$d/1k" "$d/1k.hdr"; then
            ok=1
            break
        fi
        sleep 0.1
    done
    [ "$ok" = 1 ] || {
        BROKEN[$name]="did not answer within ${START_TIMEOUT}s"
        return 1
    }
    fetch "http://127.0.0.1:$b/f1m.bin" "$d/1m" "$d/1m.hdr" || true
    local why=""
    [ "$(cat "$d/hello"; echo x)" = "${HELLO}x" ] || why="respond body is not 'hello, world\\n' ($(wc -c <"$d/hello") bytes)"
    cmp -s "$d/1k" "$work/www/f1k.bin" || why="${why:+$why; }1 KB file differs"
    cmp -s "$d/1m" "$work/www/f1m.bin" || why="${why:+$why; }1 MB file differs"
    for f in h 1k 1m; do
        head -n 1 "$d/$f.hdr" | grep -q ' 200' || why="${why:+$why; }status $(head -n 1 "$d/$f.hdr" | tr -d '\r') for $f"
        grep -qi "^server: $want_server" "$d/$f.hdr" || why="${why:+$why; }Server header of $f is '$(grep -i '^server:' "$d/$f.hdr" | tr -d '\r')'"
    done
    port_owned_by "$a" "$name" || why="${why:+$why; }port $a is not held by PID ${PID[$name]}"
    port_owned_by "$b" "$name" || why="${why:+$why; }port $b is not held by PID ${PID[$name]}"
    if [ -n "$why" ]; then
        BROKEN[$name]=$why
        return 1
    fi
    return 0
}

# ---------------------------------------------------------------- content

mkdir -p "$work/www"
head -c 1024 /dev/urandom >"$work/www/f1k.bin"
head -c 1048576 /dev/urandom >"$work/www/f1m.bin"
chmod 755 "$work/www"
chmod 644 "$work/www/"*

# ---------------------------------------------------------------- server configs

caddyfile() { # respond-port static-port
    printf '{\n\tadmin off\n}\n\n'
    printf ':%s {\n\tbind 127.0.0.1\n\trespond "%s"\n}\n\n' "$1" "$HELLO"
    printf ':%s {\n\tbind 127.0.0.1\n\troot * %s\n\tfile_server\n}\n' "$2" "$work/www"
}

# keepalive_requests is raised from nginx's default 1000 so every server keeps its 50
# connections for the whole run (Caddy and caddy-c have no per-connection request cap);
# the rest is Debian's stock tuning (sendfile, tcp_nopush).
nginx_conf() { # worker_processes respond-port static-port dir
    local mime=""
    [ -f /etc/nginx/mime.types ] && mime="include /etc/nginx/mime.types;"
    cat <<EOF
worker_processes $1;
daemon off;
master_process on;
pid $4/nginx.pid;
error_log $4/error.log warn;
events { worker_connections 4096; }
http {
    $mime
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 65;
    client_body_temp_path $4/body;
    proxy_temp_path $4/proxy;
    server {
        listen 127.0.0.1:$2;
        location / { default_type text/plain; return 200 "hello, world\n"; }
    }
    server {
        listen 127.0.0.1:$3;
        root $work/www;
    }
}
EOF
}

# caddy-c runs with --workers 1 (against nginx worker_processes 1) and, as caddy-c-auto,
# with its default of one worker per CPU (against nginx worker_processes auto).
start_caddyc() { # name [run flags...]
    local name=$1 d="$work/$1"
    shift
    mkdir -p "$d"
    caddyfile "${PORT_A[$name]}" "${PORT_B[$name]}" >"$d/Caddyfile"
    env -u CADDYC_WORKERS "${SRV_PIN[@]}" "$CADDYC" run --config "$d/Caddyfile" "$@" \
        >"$work/$name.log" 2>&1 &
    PID[$name]=$!
}

start_caddy() {
    local d="$work/caddy"
    mkdir -p "$d"
    caddyfile "${PORT_A[caddy]}" "${PORT_B[caddy]}" >"$d/Caddyfile"
    HOME="$d" XDG_DATA_HOME="$d/data" XDG_CONFIG_HOME="$d/config" \
        "${SRV_PIN[@]}" caddy run --config "$d/Caddyfile" --adapter caddyfile >"$work/caddy.log" 2>&1 &
    PID[caddy]=$!
}

start_nginx() { # name worker_processes
    local name=$1 d="$work/$1"
    mkdir -p "$d"
    nginx_conf "$2" "${PORT_A[$name]}" "${PORT_B[$name]}" "$d" >"$d/nginx.conf"
    if ! nginx -t -q -p "$d" -e "$d/error.log" -c "$d/nginx.conf" >"$work/$name.log" 2>&1; then
        BROKEN[$name]="nginx -t rejected the generated config"
        return 1
    fi
    "${SRV_PIN[@]}" nginx -p "$d" -e "$d/error.log" -c "$d/nginx.conf" >>"$work/$name.log" 2>&1 &
    PID[$name]=$!
}

# ---------------------------------------------------------------- header

ver_nginx=$(command -v nginx >/dev/null && nginx -v 2>&1 | sed 's/^nginx version: //')
ver_caddy=$(command -v caddy >/dev/null && caddy version 2>/dev/null | cut -d' ' -f1)
ver_wrk=$(wrk -v 2>&1 | head -n 1 | awk '{print $2}')
ver_caddyc=$([ -x "$CADDYC" ] && "$CADDYC" version 2>/dev/null | head -n 1)
git_rev=$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD 2>/dev/null || echo "+dirty")
cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')

report="$work/report.txt"
{
    echo "caddy-c HTTP benchmark, $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "machine: nproc=$(nproc), $cpu_model, kernel $(uname -r), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "versions: caddy-c ${ver_caddyc:-?} (git $git_rev), nginx ${ver_nginx:-?}, caddy ${ver_caddy:-?}, wrk ${ver_wrk:-?}"
    echo "pinning: servers ${BENCH_SERVER_CPUS:-any CPU}, wrk ${BENCH_WRK_CPUS:-any CPU}"
    echo "load: wrk -t$THREADS -c$CONNS -d${SECS}s --latency, keep-alive, after a ${WARMUP}s warm-up; $RUNS round(s), each running every server once in rotating order (median of a cell by req/s)"
    echo "wrk and the servers share the machine's cores; CPU/req = server utime+stime / requests completed"
    echo "caddy-c = --workers 1; caddy-c-auto = default (one worker per CPU)"
    echo "nginx = worker_processes 1; nginx-auto = worker_processes auto; caddy = Caddy, admin off"
    echo
} >"$report"
cat "$report" >&2

# ---------------------------------------------------------------- start everything

for s in $SERVERS; do
    case $s in caddy-c | caddy-c-auto | nginx | nginx-auto | caddy) ;; *) die "unknown server '$s'" ;; esac
    next_port || die "no free port in $PORTS"
    PORT_A[$s]=$NEXT
    next_port || die "no free port in $PORTS"
    PORT_B[$s]=$NEXT
done

for s in $SERVERS; do
    case $s in
    caddy-c) start_caddyc caddy-c --workers 1 ;;
    caddy-c-auto) start_caddyc caddy-c-auto ;;
    caddy) start_caddy ;;
    nginx) start_nginx nginx 1 ;;
    nginx-auto) start_nginx nginx-auto auto ;;
    esac
done

for s in $SERVERS; do
    [ -n "${BROKEN[$s]:-}" ] && continue
    case $s in
    caddy-c | caddy-c-auto) want_hdr="caddy-c" ;;
    caddy) want_hdr="Caddy" ;;
    *) want_hdr="nginx" ;;
    esac
    if verify_server "$s" "$want_hdr"; then
        EXTRA[$s]=$(pid_tree "${PID[$s]}" | grep -vx "${PID[$s]}" | tr '\n' ' ')
        log "$s: PID ${PID[$s]}${EXTRA[$s]:+ (+ ${EXTRA[$s]% })}, ports ${PORT_A[$s]} (respond) ${PORT_B[$s]} (static): verified"
    else
        log "$s: EXCLUDED: ${BROKEN[$s]}"
        show_log "$s"
    fi
done

# ---------------------------------------------------------------- measure

declare -A RES=() # "server workload" -> "rps p50 p99 cpu_us cpu_pct errors other_pct"

url_of() { # server workload
    case $2 in
    respond) echo "http://127.0.0.1:${PORT_A[$1]}/" ;;
    static-1k) echo "http://127.0.0.1:${PORT_B[$1]}/f1k.bin" ;;
    static-1m) echo "http://127.0.0.1:${PORT_B[$1]}/f1m.bin" ;;
    *) die "unknown workload '$2'" ;;
    esac
}

# Runs wrk under a time limit in the background and waits for it, so that a signal to
# this script runs the cleanup trap at once instead of after the run.
WRK_PID=""
# One measured wrk run (called in this shell, not in a command substitution, so that
# `times` sees wrk's CPU time and signals are not deferred); prints "rps p50 p99 cpu_us cpu_pct errors other_pct" or "fail why".
# other_pct is the CPU (in % of one core) that neither the server nor wrk used during the
# run: other load on the machine, which makes a row unreliable when it is high.
measure() {
    local s=$1 url=$2 out="$work/wrk.out" pids t0 t1 pids_after
    pids=$(pid_tree "${PID[$s]}" | tr '\n' ' ')
    local b0 b1 c0 c1
    child_secs >"$work/c0"
    b0=$(sys_busy)
    t0=$(cpu_ticks $pids)
    if ! run_wrk $((SECS + 60)) "$out" -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency "$url"; then
        echo "fail wrk-failed"
        return
    fi
    t1=$(cpu_ticks $pids)
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
    awk -v r="$rps" -v a="$p50" -v b="$p99" -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$reqs" \
        -v secs="$SECS" -v e="$errs" -v busy=$((b1 - b0)) -v c0="$c0" -v c1="$c1" 'BEGIN {
        other = (busy - d) / hz - (c1 - c0)
        if (other < 0) other = 0
        printf "%s %s %s %.2f %.0f %d %.0f %.0f\n", r, a, b, d / hz * 1e6 / n, d / hz / secs * 100, e,
            other / secs * 100, (c1 - c0) / secs * 100 }'
}

# The runs of a workload go round the servers (the order rotating each round) instead of
# one server's runs back to back: this VM's speed drifts by 10-20% over a minute, and a
# block of runs hands that drift to whichever server measured during the slow part.
declare -A LINES=() ROUND=() # ROUND: "server workload round" -> req/s
for w in $WORKLOADS; do
    live=()
    for s in $SERVERS; do
        [ -n "${BROKEN[$s]:-}" ] && continue
        wait_quiet
        run_wrk $((WARMUP + 30)) /dev/null -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" "$(url_of "$s" "$w")"
        live+=("$s")
        LINES[$s]=""
    done
    for ((r = 0; r < RUNS; r++)); do
        for ((k = 0; k < ${#live[@]}; k++)); do
            s=${live[$(((k + r) % ${#live[@]}))]}
            [ -n "${BROKEN[$s]:-}" ] && continue
            measure "$s" "$(url_of "$s" "$w")" >"$work/res"
            res=$(cat "$work/res")
            log "$w $s: $res"
            case $res in fail*) continue ;; esac
            LINES[$s]="${LINES[$s]}$res"$'\n'
            ROUND["$s $w $r"]=${res%% *}
        done
    done
    for s in "${live[@]}"; do
        if ! alive "${PID[$s]}"; then
            BROKEN[$s]="died during the $w workload"
            log "$s: ${BROKEN[$s]}"
            show_log "$s"
            continue
        fi
        lines=${LINES[$s]}
        [ -n "$lines" ] || continue
        n=$(printf '%s' "$lines" | wc -l)
        RES["$s $w"]=$(printf '%s' "$lines" | sort -n -k1,1 | sed -n "$(((n + 1) / 2))p")
    done
done

# ---------------------------------------------------------------- report

label() { case $1 in caddy) echo "Caddy" ;; *) echo "$1" ;; esac; }

{
    printf '%-10s %-12s %10s %9s %9s %11s %6s %7s %7s %5s\n' workload server req/s p50_us p99_us cpu_us/req cpu% errors other% wrk%
    for w in $WORKLOADS; do
        for s in $SERVERS; do
            v=${RES["$s $w"]:-}
            if [ -z "$v" ]; then
                printf '%-10s %-12s %10s\n' "$w" "$(label "$s")" "n/a"
                continue
            fi
            read -r rps p50 p99 cpu pct errs other wrkpct <<<"$v"
            printf '%-10s %-12s %10s %9s %9s %11s %6s %7s %7s %5s\n' "$w" "$(label "$s")" "$rps" "$p50" "$p99" "$cpu" "$pct" "$errs" "$other" "$wrkpct"
            [ "$other" -le 10 ] || noisy=1
        done
    done
    echo "cpu% = server CPU in % of one core; other% = CPU used by neither the server nor wrk;"
    echo "wrk% = wrk's CPU in % of one core (near 100 with -t1: the load generator, not the server, is the limit)"
    [ "${noisy:-0}" = 0 ] || echo "WARNING: other load above 10% of a core during some rows: those figures are unreliable"
    echo
    echo "ratios (req/s: higher is better for caddy-c; CPU/req: lower is better for caddy-c)"
    # like for like: 1 worker against 1 worker, one per CPU against one per CPU
    for pair in caddy-c:nginx caddy-c-auto:nginx-auto caddy-c:caddy caddy-c-auto:caddy; do
        mine=${pair%%:*}
        other=${pair#*:}
        want "$other" && want "$mine" || continue
        for w in $WORKLOADS; do
            a=${RES["$mine $w"]:-}
            b=${RES["$other $w"]:-}
            if [ -z "$a" ] || [ -z "$b" ]; then
                printf '%-10s %-24s n/a\n' "$w" "$mine/$(label "$other")"
                continue
            fi
            read -r ar _ _ ac _ _ <<<"$a"
            read -r br _ _ bc _ _ <<<"$b"
            # the same ratio within each round (runs less than half a minute apart)
            rr=""
            for ((r = 0; r < RUNS; r++)); do
                x=${ROUND["$mine $w $r"]:-}
                y=${ROUND["$other $w $r"]:-}
                [ -n "$x" ] && [ -n "$y" ] && rr="$rr $x/$y"
            done
            awk -v w="$w" -v o="$mine/$(label "$other")" -v ar="$ar" -v br="$br" -v ac="$ac" -v bc="$bc" -v rr="$rr" 'BEGIN {
                line = sprintf("%-10s %-24s req/s %5.2fx   CPU/req %5.2fx", w, o,
                    (br > 0 ? ar / br : 0), (bc > 0 ? ac / bc : 0))
                n = split(rr, p, " ")
                for (i = 1; i <= n; i++) { split(p[i], q, "/"); v[i] = q[2] > 0 ? q[1] / q[2] : 0 }
                for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
                if (n > 1)
                    line = line sprintf("   per round: median %.2fx, %.2f-%.2fx", v[int((n + 1) / 2)], v[1], v[n])
                print line }'
        done
    done
    bad=0
    for s in $SERVERS; do
        if [ -n "${BROKEN[$s]:-}" ]; then
            echo "EXCLUDED $(label "$s"): ${BROKEN[$s]}"
            bad=1
        fi
    done
    [ "$bad" = 1 ] || echo "all servers verified (body, size, Server header, port owner) before measuring"
} >>"$report"

mkdir -p "$RESULTS"
outfile="$RESULTS/http-$(date '+%Y-%m-%d-%H%M%S').txt"
cp "$report" "$outfile"
echo
sed -n '/^workload/,$p' "$report"
echo
echo "written to $outfile"
for s in $SERVERS; do [ -n "${BROKEN[$s]:-}" ] && exit 1; done
exit 0
