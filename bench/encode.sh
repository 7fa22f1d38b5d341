#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Compression and rate-limit benchmark (issue 6, bench item): in one run, (1) gzip of a
# 100 KB HTML page by caddy-c, nginx (gzip_comp_level 5) and Caddy (`encode gzip`), (2) br
# and zstd throughput of caddy-c on the same page, (3) the cost of a rate_limit zone keyed
# by a header over 1,000 distinct keys against the same `respond` site without it. Every
# server is verified first (it really compresses, the decoded body is the file); each cell
# runs BENCH_RUNS times, interleaved, and medians are reported with the ratios. Writes the
# report to bench/results/encode-<date>.txt.
#
# Usage: bench/encode.sh      (as root if nginx, caddy, wrk, brotli or zstd must be installed)
# Env:   BENCH_SECONDS=8 BENCH_WARMUP=1 BENCH_CONNS=50 BENCH_THREADS=1 BENCH_RUNS=3
#        BENCH_PARTS="gzip codecs ratelimit" BENCH_PORTS=28100-28199 CADDYC=bin/caddy-c
#        BENCH_RESULTS=bench/results BENCH_QUIET_WAIT=60 BENCH_QUIET_PCT=15
#        BENCH_LOCK=/tmp/caddyc-bench.lock BENCH_LOCK_WAIT=1800 BENCH_RL_EVENTS=10000
#        BENCH_RL_KEYS=1000 BENCH_RETRIES=2 BENCH_NOISY_PCT=10 BENCH_SERVER_CPUS= BENCH_WRK_CPUS= BENCH_NO_INSTALL=1
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD

SECS=${BENCH_SECONDS:-8}
WARMUP=${BENCH_WARMUP:-1}
CONNS=${BENCH_CONNS:-50}
THREADS=${BENCH_THREADS:-1}
RUNS=${BENCH_RUNS:-3}
PARTS=${BENCH_PARTS:-"gzip codecs ratelimit"}
PORTS=${BENCH_PORTS:-28100-28199}
CADDYC=${CADDYC:-bin/caddy-c}
RESULTS=${BENCH_RESULTS:-bench/results}
QUIET_WAIT=${BENCH_QUIET_WAIT:-60}
QUIET_PCT=${BENCH_QUIET_PCT:-15}
LOCK=${BENCH_LOCK:-/tmp/caddyc-bench.lock}
LOCK_WAIT=${BENCH_LOCK_WAIT:-1800}
RL_EVENTS=${BENCH_RL_EVENTS:-10000}
RL_KEYS=${BENCH_RL_KEYS:-1000}
RETRIES=${BENCH_RETRIES:-2}
NOISY_PCT=${BENCH_NOISY_PCT:-10}
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
    log "encode.sh: $*"
    exit 1
}
part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }

# ---------------------------------------------------------------- tools

need_tool wrk wrk || die "wrk is required"
need_tool curl curl || die "curl is required"
need_tool flock util-linux || die "flock is required"
need_tool gzip gzip || die "gzip is required"
need_tool python3 python3-minimal python3 || die "python3 is required (test page, port checks)"
if part gzip; then
    need_tool nginx nginx-light nginx || die "nginx could not be installed"
    need_tool caddy caddy || die "caddy could not be installed"
fi
if part codecs; then
    need_tool brotli brotli || die "brotli is required to verify br responses"
    need_tool zstd zstd || die "zstd is required to verify zstd responses"
fi
if [ ! -x "$CADDYC" ]; then
    log "building caddy-c (make)"
    timeout 600 make >&2 || die "make failed"
fi
[ -x "$CADDYC" ] || die "$CADDYC not found"
case $CADDYC in /*) ;; *) CADDYC=$ROOT/$CADDYC ;; esac

# ---------------------------------------------------------------- work dir and cleanup

work=$(mktemp -d "${TMPDIR:-/tmp}/cc-encode-bench.XXXXXX") || die "mktemp failed"
chmod 755 "$work" # nginx workers run unprivileged and read the document root
declare -A PID=()    # server name -> main PID (nginx: master)
declare -A EXTRA=()  # server name -> other PIDs (nginx workers) seen at start
declare -A BROKEN=() # server name -> why it is excluded
declare -A PORT=()   # "server site" -> port
used_ports=""
WRK_PID=""

trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------- helpers (as bench/http.sh)

# Gives "server site" the next free port of the private range (a global update, so not
# from a command substitution).
take_port() {
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

# A deterministic ~100 KB HTML page: a document skeleton, navigation, articles of English
# prose from a fixed vocabulary with a Zipf-like word frequency, links, lists and a table,
# so that it compresses like a real page (about 3-4x), not like random bytes or a repeat.
mkdir -p "$work/www"
python3 - "$work/www/page.html" <<'EOF' || die "could not generate the test page"
import random, sys
random.seed(20261127)
words = """the of and to in a is that for it as was with be by on not he this are or his
from at which but have an they you were her she there been one all we their has would
when if so no will can more about out up what said them into some could time other than
then only its two may first new these like people now over such also any after most
made many before must through back years where much your way well down should because
each just those how too little state good very make world still own see men work long
here get both between life being under never day same another know while last might us
great old year off come since against go came right used take three server request
response client header cache proxy route handler configuration file static content
compression encoding gzip brotli latency throughput connection socket listener address
certificate domain site page document template module plugin directive option default
value error status message log access metric limit window zone event key worker thread
memory buffer stream chunk body length type charset language policy upstream backend
health check retry timeout interval duration second minute hour network packet browser
user account session token cookie secure private public origin method path query
fragment resource image script style font archive download upload release version""".split()
weights = [1.0 / (i + 1) ** 0.9 for i in range(len(words))]
def sentence():
    w = random.choices(words, weights, k=random.randint(6, 22))
    s = " ".join(w)
    if random.random() < 0.2:
        s += ", " + " ".join(random.choices(words, weights, k=random.randint(3, 9)))
    return s[0].upper() + s[1:] + random.choice([".", ".", ".", "?", "!"])
def para():
    return " ".join(sentence() for _ in range(random.randint(2, 7)))
out = ['<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
       '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
       '<title>Release notes and documentation archive</title>\n'
       '<link rel="stylesheet" href="/assets/css/site.css?v=4.2.1">\n'
       '<script defer src="/assets/js/app.js?v=4.2.1"></script>\n</head>\n<body>\n'
       '<header class="site-header"><nav class="main-nav"><ul>\n']
for i in range(12):
    w = random.choice(words)
    out.append('  <li class="nav-item"><a href="/docs/%s-%d/">%s</a></li>\n' % (w, i, w.title()))
out.append('</ul></nav></header>\n<main id="content" class="container">\n')
n = 0
while sum(len(x) for x in out) < 100 * 1024 - 2000:
    n += 1
    out.append('<article class="post" id="post-%d" data-published="2026-%02d-%02dT%02d:%02d:00Z">\n'
               % (n, random.randint(1, 12), random.randint(1, 28), random.randint(0, 23),
                  random.randint(0, 59)))
    out.append('  <h2 class="post-title"><a href="/blog/%d/%s">%s</a></h2>\n'
               % (n, "-".join(random.choices(words, k=4)), sentence()[:-1]))
    for _ in range(random.randint(2, 4)):
        out.append('  <p>%s</p>\n' % para())
    if random.random() < 0.4:
        out.append('  <ul class="list">\n')
        for _ in range(random.randint(3, 6)):
            out.append('    <li><code>%s</code> %s</li>\n' % (random.choice(words), sentence()))
        out.append('  </ul>\n')
    if random.random() < 0.2:
        out.append('  <table class="data"><tr><th>name</th><th>requests</th><th>bytes</th></tr>\n')
        for _ in range(random.randint(3, 8)):
            out.append('    <tr><td>%s</td><td>%d</td><td>%d</td></tr>\n'
                       % (random.choice(words), random.randint(1, 99999), random.randint(1, 9999999)))
        out.append('  </table>\n')
    out.append('  <footer class="post-meta">Tags: %s</footer>\n</article>\n'
               % ", ".join('<a href="/tags/%s">%s</a>' % (t, t) for t in random.sample(words, 3)))
out.append('</main>\n<footer class="site-footer"><p>&copy; 2026 Example Project.</p></footer>\n'
           '</body>\n</html>\n')
data = "".join(out).encode()
open(sys.argv[1], "wb").write(data)
EOF
PAGE="$work/www/page.html"
PAGE_SIZE=$(wc -c <"$PAGE")
chmod 755 "$work/www"
chmod 644 "$PAGE"

# The wrk script of the rate_limit part: 1,000 ready-made requests, one per X-Key value,
# and a random one of them per request (building them up front keeps wrk's own cost per
# request low and the same for both configs).
cat >"$work/keys.lua" <<EOF
local reqs = {}
local n = $RL_KEYS
init = function(args)
    math.randomseed(os.time())
    for i = 1, n do
        reqs[i] = wrk.format("GET", "/", { ["X-Key"] = tostring(i) })
    end
end
request = function()
    return reqs[math.random(n)]
end
EOF

# ---------------------------------------------------------------- server configs

# caddy-c sites: gz (part 1), zstd and br (part 2), rl and plain (part 3) and a probe that
# proves the rate_limit directive is live in this binary (3 events per key, then 429).
caddyc_file() {
    printf '{\n\tadmin off\n}\n\n'
    printf ':%s {\n\tbind 127.0.0.1\n\troot * %s\n\tencode gzip\n\tfile_server\n}\n\n' "${PORT[caddy-c gzip]}" "$work/www"
    printf ':%s {\n\tbind 127.0.0.1\n\troot * %s\n\tencode zstd\n\tfile_server\n}\n\n' "${PORT[caddy-c zstd]}" "$work/www"
    printf ':%s {\n\tbind 127.0.0.1\n\troot * %s\n\tencode br\n\tfile_server\n}\n\n' "${PORT[caddy-c br]}" "$work/www"
    printf ':%s {\n\tbind 127.0.0.1\n\trespond "%s"\n}\n\n' "${PORT[caddy-c plain]}" "$HELLO"
    printf ':%s {\n\tbind 127.0.0.1\n\trate_limit {\n\t\tzone bench {\n\t\t\tkey {header.X-Key}\n\t\t\tevents %s\n\t\t\twindow 1m\n\t\t}\n\t}\n\trespond "%s"\n}\n\n' \
        "${PORT[caddy-c rl]}" "$RL_EVENTS" "$HELLO"
    printf ':%s {\n\tbind 127.0.0.1\n\trate_limit {\n\t\tzone probe {\n\t\t\tkey {header.X-Key}\n\t\t\tevents 3\n\t\t\twindow 1m\n\t\t}\n\t}\n\trespond "%s"\n}\n' \
        "${PORT[caddy-c probe]}" "$HELLO"
}

caddy_file() {
    printf '{\n\tadmin off\n}\n\n'
    printf ':%s {\n\tbind 127.0.0.1\n\troot * %s\n\tencode gzip\n\tfile_server\n}\n' "${PORT[caddy gzip]}" "$work/www"
}

nginx_conf() { # dir
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
    gzip on;
    gzip_comp_level 5;
    gzip_min_length 512;
    gzip_types text/plain text/html text/css text/xml text/javascript application/javascript application/json application/xml image/svg+xml;
    server {
        listen 127.0.0.1:${PORT[nginx gzip]};
        root $work/www;
    }
}
EOF
}

# ---------------------------------------------------------------- start and verify

SERVERS="caddy-c"
part gzip && SERVERS="caddy-c nginx caddy"
for site in gzip zstd br plain rl probe; do take_port caddy-c "$site"; done
if part gzip; then
    take_port nginx gzip
    take_port caddy gzip
fi

mkdir -p "$work/caddy-c"
caddyc_file >"$work/caddy-c/Caddyfile"
"${SRV_PIN[@]}" "$CADDYC" run --config "$work/caddy-c/Caddyfile" >"$work/caddy-c.log" 2>&1 &
PID[caddy-c]=$!
if part gzip; then
    mkdir -p "$work/caddy" "$work/nginx"
    caddy_file >"$work/caddy/Caddyfile"
    HOME="$work/caddy" XDG_DATA_HOME="$work/caddy/data" XDG_CONFIG_HOME="$work/caddy/config" \
        "${SRV_PIN[@]}" caddy run --config "$work/caddy/Caddyfile" --adapter caddyfile >"$work/caddy.log" 2>&1 &
    PID[caddy]=$!
    nginx_conf "$work/nginx" >"$work/nginx/nginx.conf"
    if nginx -t -q -p "$work/nginx" -e "$work/nginx/error.log" -c "$work/nginx/nginx.conf" >"$work/nginx.log" 2>&1; then
        "${SRV_PIN[@]}" nginx -p "$work/nginx" -e "$work/nginx/error.log" -c "$work/nginx/nginx.conf" >>"$work/nginx.log" 2>&1 &
        PID[nginx]=$!
    else
        BROKEN[nginx]="nginx -t rejected the generated config"
    fi
fi

# Waits until the first port of a server answers.
wait_up() { # server url
    local i
    for ((i = 0; i < START_TIMEOUT * 10; i++)); do
        alive "${PID[$1]}" || return 1
        curl -s --max-time 2 -o /dev/null "$2" && return 0
        sleep 0.1
    done
    return 1
}

declare -A CSIZE=() # "server encoding" -> compressed size of the page
why=""
# Fetches the page with Accept-Encoding: enc and checks status, Server, Content-Encoding,
# and that the body decodes to the page; records the compressed size.
check_encoded() { # server site enc want-server decoder...
    local s=$1 site=$2 enc=$3 want=$4 d="$work/verify-$1-$2"
    shift 4
    mkdir -p "$d"
    if ! curl -s --max-time 5 -H "Accept-Encoding: $enc" -o "$d/body" -D "$d/hdr" \
        "http://127.0.0.1:${PORT[$s $site]}/page.html"; then
        fail "$site: request failed"
        return
    fi
    head -n 1 "$d/hdr" | grep -q ' 200' || fail "$site: status $(head -n 1 "$d/hdr" | tr -d '\r')"
    hdr "$d/hdr" server | grep -q "^$want" || fail "$site: Server header '$(hdr "$d/hdr" server)'"
    [ "$(hdr "$d/hdr" content-encoding)" = "$enc" ] ||
        fail "$site: Content-Encoding '$(hdr "$d/hdr" content-encoding)', not $enc"
    if "$@" <"$d/body" >"$d/plain" 2>/dev/null && cmp -s "$d/plain" "$PAGE"; then
        CSIZE["$s $enc"]=$(wc -c <"$d/body")
    else
        fail "$site: the $enc body does not decode to the page"
    fi
    port_owned_by "${PORT[$s $site]}" "$s" || fail "port ${PORT[$s $site]} is not held by PID ${PID[$s]}"
}

verify() { # server
    local s=$1 want d="$work/verify-$1" i code
    why=""
    case $s in caddy-c) want=caddy-c ;; caddy) want=Caddy ;; *) want=nginx ;; esac
    local first="http://127.0.0.1:${PORT[$s gzip]}/page.html"
    wait_up "$s" "$first" || {
        alive "${PID[$s]}" && BROKEN[$s]="did not answer within ${START_TIMEOUT}s" ||
            BROKEN[$s]="exited during startup (see log below)"
        return 1
    }
    check_encoded "$s" gzip gzip "$want" gzip -dc
    if [ "$s" = caddy-c ]; then
        part codecs && check_encoded caddy-c zstd zstd caddy-c zstd -dcq
        part codecs && check_encoded caddy-c br br caddy-c brotli -dc
        mkdir -p "$d"
        for site in plain rl; do
            curl -s --max-time 5 -H 'X-Key: 7' -o "$d/$site" -D "$d/$site.hdr" "http://127.0.0.1:${PORT[caddy-c $site]}/" ||
                fail "$site: request failed"
            [ "$(cat "$d/$site"; echo x)" = "${HELLO}x" ] || fail "$site: body is not 'hello, world\\n'"
            head -n 1 "$d/$site.hdr" | grep -q ' 200' || fail "$site: status not 200"
            port_owned_by "${PORT[caddy-c $site]}" caddy-c || fail "port ${PORT[caddy-c $site]} not held by caddy-c"
        done
        # the limiter is live: 3 requests pass for a key, the 4th is refused with Retry-After
        for i in 1 2 3 4; do
            code=$(curl -s --max-time 5 -H 'X-Key: probe' -o /dev/null -D "$d/probe.hdr" -w '%{http_code}' \
                "http://127.0.0.1:${PORT[caddy-c probe]}/")
            [ "$i" -lt 4 ] && [ "$code" != 200 ] && fail "rate_limit probe: request $i got $code"
        done
        [ "$code" = 429 ] && [ -n "$(hdr "$d/probe.hdr" retry-after)" ] ||
            fail "rate_limit probe: 4th request got $code, not 429 with Retry-After"
        code=$(curl -s --max-time 5 -H 'X-Key: other' -o /dev/null -w '%{http_code}' "http://127.0.0.1:${PORT[caddy-c probe]}/")
        [ "$code" = 200 ] || fail "rate_limit probe: another key got $code, not 200"
        "$CADDYC" adapt --config "$work/caddy-c/Caddyfile" 2>/dev/null | grep -q '"max_events":'"$RL_EVENTS" ||
            fail "the adapted config has no rate_limit zone with max_events $RL_EVENTS"
    fi
    [ -z "$why" ] || {
        BROKEN[$s]=$why
        return 1
    }
}

for s in $SERVERS; do
    [ -n "${BROKEN[$s]:-}" ] && continue
    if verify "$s"; then
        EXTRA[$s]=$(pid_tree "${PID[$s]}" | grep -vx "${PID[$s]}" | tr '\n' ' ')
        log "$s: PID ${PID[$s]}${EXTRA[$s]:+ (+ ${EXTRA[$s]% })}: verified"
    else
        log "$s: EXCLUDED: ${BROKEN[$s]}"
        show_log "$s"
    fi
done
[ -z "${BROKEN[caddy-c]:-}" ] || die "caddy-c failed verification: ${BROKEN[caddy-c]}"

# ---------------------------------------------------------------- measure

# wrk's "N.NNXB read" in bytes.
to_bytes() {
    awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        m = u == "B" ? 1 : u == "KB" ? 1024 : u == "MB" ? 1048576 : u == "GB" ? 1073741824 : 1099511627776
        printf "%.0f", n * m }'
}

# One measured run of wrk (in this shell, so `times` sees wrk's CPU); prints
# "rps cpu_us_per_req bytes_per_resp errors other_pct" or "fail why".
measure() { # server wrk-args...
    local s=$1 out="$work/wrk.out" pids pids_after t0 t1 b0 b1 c0 c1
    shift
    pids=$(pid_tree "${PID[$s]}" | tr '\n' ' ')
    child_secs >"$work/c0"
    b0=$(sys_busy)
    t0=$(cpu_ticks $pids)
    if ! run_wrk $((SECS + 60)) "$out" -t"$THREADS" -c"$CONNS" -d"${SECS}s" "$@"; then
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
    local reqs rps errs non2xx bytes
    reqs=$(awk '/requests in/ {print $1; exit}' "$out")
    rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")
    bytes=$(to_bytes "$(awk '/requests in/ {print $5; exit}' "$out")")
    errs=$(awk '/Socket errors:/ {gsub(/,/, ""); print $4 + $6 + $8 + $10; exit}' "$out")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF; exit}' "$out")
    errs=$((${errs:-0} + ${non2xx:-0}))
    if [ -z "$reqs" ] || [ "$reqs" -eq 0 ] 2>/dev/null; then
        echo "fail no-requests"
        return
    fi
    awk -v r="$rps" -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$reqs" -v secs="$SECS" -v e="$errs" \
        -v busy=$((b1 - b0)) -v c0="$c0" -v c1="$c1" -v by="$bytes" 'BEGIN {
        other = (busy - d) / hz - (c1 - c0)
        if (other < 0) other = 0
        printf "%s %.2f %.0f %d %.0f\n", r, d / hz * 1e6 / n, by / n, e, other / secs * 100 }'
}

# Cells: "name server url extra-wrk-args". Runs are interleaved (run 1 of every cell of a
# part, then run 2, ...) so slow drift on the machine hits every cell alike.
declare -A CELL_SRV=() CELL_ARGS=() LINES=()
CELLS_GZIP="" CELLS_CODECS="" CELLS_RL=""
cell() { # name server url args...
    local name=$1 s=$2 url=$3
    shift 3
    CELL_SRV[$name]=$s
    CELL_ARGS[$name]="$* $url"
}
page() { echo "http://127.0.0.1:${PORT[$1 $2]}/page.html"; }
if part gzip; then
    for s in caddy-c nginx caddy; do
        [ -n "${BROKEN[$s]:-}" ] && continue
        cell "gzip/$s" "$s" "$(page "$s" gzip)" -H "'Accept-Encoding: gzip'"
        CELLS_GZIP="$CELLS_GZIP gzip/$s"
    done
fi
if part codecs; then
    cell "zstd/caddy-c" caddy-c "$(page caddy-c zstd)" -H "'Accept-Encoding: zstd'"
    cell "br/caddy-c" caddy-c "$(page caddy-c br)" -H "'Accept-Encoding: br'"
    CELLS_CODECS="zstd/caddy-c br/caddy-c"
fi
if part ratelimit; then
    cell "respond/plain" caddy-c "http://127.0.0.1:${PORT[caddy-c plain]}/" -s "$work/keys.lua"
    cell "respond/rate_limit" caddy-c "http://127.0.0.1:${PORT[caddy-c rl]}/" -s "$work/keys.lua"
    CELLS_RL="respond/plain respond/rate_limit"
fi

for group in "$CELLS_GZIP" "$CELLS_CODECS" "$CELLS_RL"; do
    [ -n "${group// /}" ] || continue
    for ((r = 1; r <= RUNS; r++)); do
        for c in $group; do
            s=${CELL_SRV[$c]}
            [ -n "${BROKEN[$s]:-}" ] && continue
            eval "args=(${CELL_ARGS[$c]})"
            # a run disturbed by other load (other% above NOISY_PCT) is measured again,
            # at most RETRIES times; the last attempt counts either way
            for ((try = 0; try <= RETRIES; try++)); do
                lock
                wait_quiet
                run_wrk $((WARMUP + 30)) /dev/null -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" "${args[@]}"
                measure "$s" "${args[@]}" >"$work/res"
                unlock
                res=$(cat "$work/res")
                log "$c run $r/$RUNS: $res"
                case $res in fail*) break ;; esac
                [ "$(echo "$res" | awk '{ print $5 }')" -gt "$NOISY_PCT" ] || break
                [ "$try" -lt "$RETRIES" ] && log "  other load ${res##* }% > ${NOISY_PCT}%: measuring again"
            done
            case $res in fail*) ;; *) LINES[$c]="${LINES[$c]:-}$res"$'\n' ;; esac
            if ! alive "${PID[$s]}"; then
                BROKEN[$s]="died during $c"
                log "$s: ${BROKEN[$s]}"
                show_log "$s"
            fi
        done
    done
done

# ---------------------------------------------------------------- report

ver_nginx=$(command -v nginx >/dev/null && nginx -v 2>&1 | sed 's/^nginx version: //')
ver_caddy=$(command -v caddy >/dev/null && caddy version 2>/dev/null | cut -d' ' -f1)
ver_wrk=$(wrk -v 2>&1 | head -n 1 | awk '{print $2}')
ver_caddyc=$("$CADDYC" version 2>/dev/null | head -n 1)
git_rev=$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD 2>/dev/null || echo "+dirty")
cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
lib_ver() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo "?"; }
noisy=0

report="$work/report.txt"
{
    echo "caddy-c encode / rate_limit benchmark, $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "machine: nproc=$(nproc), $cpu_model, kernel $(uname -r), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "versions: caddy-c ${ver_caddyc:-?} (git $git_rev), nginx ${ver_nginx:-?}, caddy ${ver_caddy:-?}, wrk ${ver_wrk:-?}"
    echo "libraries: zlib $(lib_ver zlib1g), libzstd $(lib_ver libzstd1), libbrotli $(lib_ver libbrotli1)"
    echo "pinning: servers ${BENCH_SERVER_CPUS:-any CPU}, wrk ${BENCH_WRK_CPUS:-any CPU}"
    echo "load: wrk -t$THREADS -c$CONNS -d${SECS}s, keep-alive, ${WARMUP}s warm-up; $RUNS interleaved run(s) per cell, medians per column"
    echo "each cell holds $LOCK; CPU/req = server utime+stime / requests completed (nginx: master + worker)"
    echo "test page: $PAGE_SIZE bytes of generated HTML (gzip -5 -> $(gzip -5 -c "$PAGE" | wc -c) bytes, gzip -9 -> $(gzip -9 -c "$PAGE" | wc -c))"
    echo

    if part gzip; then
        echo "== 1. gzip, 100 KB text/html (caddy-c: encode gzip = level 5; nginx: gzip_comp_level 5, 1 worker; Caddy 2.6.2: encode gzip)"
        printf '%-8s %8s %10s %11s %10s %7s %7s %5s\n' server gz_bytes req/s cpu_us/req B/resp errors other% runs
        for s in caddy-c nginx caddy; do
            c="gzip/$s"
            if [ -z "${LINES[$c]:-}" ]; then
                printf '%-8s %8s %10s   %s\n' "$s" "${CSIZE[$s gzip]:-n/a}" n/a "${BROKEN[$s]:-no successful run}"
                continue
            fi
            printf '%-8s %8s %10s %11s %10s %7s %7s %5s\n' "$([ "$s" = caddy ] && echo Caddy || echo "$s")" \
                "${CSIZE[$s gzip]:-?}" "$(med "$c" 1)" "$(med "$c" 2)" "$(med "$c" 3)" "$(sumcol "$c" 4)" "$(maxcol "$c" 5)" "$(nruns "$c")"
            [ "$(maxcol "$c" 5 | cut -d. -f1)" -le "$NOISY_PCT" ] || noisy=1
        done
        echo "gz_bytes: size of the verified gzip body; B/resp: bytes wrk read per response (headers + body)"
        for o in nginx caddy; do
            a="gzip/caddy-c" b="gzip/$o"
            if [ -z "${LINES[$a]:-}" ] || [ -z "${LINES[$b]:-}" ]; then
                echo "ratio caddy-c/$o: n/a"
                continue
            fi
            awk -v o="$([ "$o" = caddy ] && echo Caddy || echo nginx)" -v ar="$(med "$a" 1)" -v br="$(med "$b" 1)" \
                -v ac="$(med "$a" 2)" -v bc="$(med "$b" 2)" -v as="${CSIZE[caddy-c gzip]:-0}" -v bs="${CSIZE[$o gzip]:-0}" 'BEGIN {
                printf "ratio caddy-c/%-6s req/s %5.2fx   CPU/req %5.2fx   size %5.2fx%s\n", o, ar / br, ac / bc,
                    (bs > 0 ? as / bs : 0), (o == "nginx" ? (ar / br >= 1.0 ? "   (target req/s >= 1.0x: met)" : "   (target req/s >= 1.0x: NOT met)") : "") }'
        done
        echo
    fi

    if part codecs; then
        echo "== 2. caddy-c br and zstd on the same page (encode br = quality 4; encode zstd = level 3, 128 KiB window)"
        printf '%-6s %8s %7s %10s %11s %11s %7s %7s %5s\n' enc bytes ratio req/s cpu_us/req in_MB/cpu_s errors other% runs
        for e in gzip zstd br; do
            c="$e/caddy-c"
            [ -n "${LINES[$c]:-}" ] || {
                [ "$e" = gzip ] || printf '%-6s %8s %7s %10s\n' "$e" "${CSIZE[caddy-c $e]:-n/a}" "" n/a
                continue
            }
            cpu=$(med "$c" 2)
            printf '%-6s %8s %7s %10s %11s %11s %7s %7s %5s\n' "$e" "${CSIZE[caddy-c $e]:-?}" \
                "$(awk -v a="$PAGE_SIZE" -v b="${CSIZE[caddy-c $e]:-0}" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "?" }')" \
                "$(med "$c" 1)" "$cpu" "$(awk -v s="$PAGE_SIZE" -v c="$cpu" 'BEGIN { printf "%.1f", (c > 0 ? s / c : 0) }')" \
                "$(sumcol "$c" 4)" "$(maxcol "$c" 5)" "$(nruns "$c")"
            [ "$(maxcol "$c" 5 | cut -d. -f1)" -le "$NOISY_PCT" ] || noisy=1
        done
        echo "in_MB/cpu_s: MB (10^6 B) of the page compressed per second of server CPU, including serving it"
        echo
    fi

    if part ratelimit; then
        echo "== 3. rate_limit overhead, respond with $RL_KEYS distinct X-Key values (random per request, wrk Lua)"
        echo "   zone: key {header.X-Key}, events $RL_EVENTS, window 1m (never reached: errors must be 0)"
        printf '%-20s %10s %11s %7s %7s %5s\n' config req/s cpu_us/req errors other% runs
        for c in respond/plain respond/rate_limit; do
            [ -n "${LINES[$c]:-}" ] || {
                printf '%-20s %10s\n' "$c" n/a
                continue
            }
            printf '%-20s %10s %11s %7s %7s %5s\n' "$c" "$(med "$c" 1)" "$(med "$c" 2)" "$(sumcol "$c" 4)" "$(maxcol "$c" 5)" "$(nruns "$c")"
            [ "$(maxcol "$c" 5 | cut -d. -f1)" -le "$NOISY_PCT" ] || noisy=1
        done
        if [ -n "${LINES[respond/plain]:-}" ] && [ -n "${LINES[respond/rate_limit]:-}" ]; then
            awk -v pr="$(med respond/plain 1)" -v rr="$(med respond/rate_limit 1)" \
                -v pc="$(med respond/plain 2)" -v rc="$(med respond/rate_limit 2)" 'BEGIN {
                oc = (rc / pc - 1) * 100; orr = (1 - rr / pr) * 100
                printf "overhead: CPU/req %+.1f%%   req/s %+.1f%% (lost)   target <= 5%%: %s\n", oc, orr,
                    (oc <= 5 && orr <= 5) ? "met" : "NOT met" }'
        fi
        echo
    fi
    echo "other% = max over runs of CPU used by neither the server nor wrk (% of one core)"
    [ "$noisy" = 0 ] || echo "WARNING: other load above ${NOISY_PCT}% of a core during some counted runs (after $RETRIES retries): those figures are less reliable"
    bad=0
    for s in $SERVERS; do
        if [ -n "${BROKEN[$s]:-}" ]; then
            echo "EXCLUDED $s: ${BROKEN[$s]}"
            bad=1
        fi
    done
    [ "$bad" = 1 ] || echo "all servers verified before measuring (Content-Encoding, decoded body = page, Server header, port owner, rate_limit probe)"
} >"$report"

mkdir -p "$RESULTS"
outfile="$RESULTS/encode-$(date '+%Y-%m-%d-%H%M%S').txt"
cp "$report" "$outfile"
echo
cat "$report"
echo
echo "written to $outfile"
for s in $SERVERS; do [ -n "${BROKEN[$s]:-}" ] && exit 1; done
exit 0
