#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# HTTPS benchmark (issue 5, bench item): caddy-c (1 worker) against nginx (ssl,
# worker_processes 1) and Caddy (`tls cert key`), all three serving the SAME ECDSA P-256
# certificate (made here with openssl for the test name bench.test) and the same 13-byte
# `respond` body. Two workloads: HTTPS keep-alive requests/s, and new TLS handshakes/s
# (every request on a new connection: `Connection: close`). Every server is verified
# first (body, Server header, TLS 1.3, the served certificate is ours, Connection: close
# really closes, port owner) and the negotiated protocol, cipher and key-exchange group of
# each are printed. Reports req/s, p50/p99, the server's CPU µs per request (utime+stime
# from /proc over the requests wrk completed) and the ratios caddy-c/nginx and
# caddy-c/Caddy; BENCH_RUNS interleaved runs per cell, medians. Writes the report to
# bench/results/tls-<date>.txt.
#
# Usage: bench/tls.sh         (as root if nginx, caddy or wrk must be installed)
# Env:   BENCH_SECONDS=8 BENCH_WARMUP=1 BENCH_CONNS=50 BENCH_THREADS=1 BENCH_RUNS=1
#        BENCH_SERVERS="caddy-c nginx caddy" BENCH_WORKLOADS="keepalive handshake"
#        BENCH_PORTS=28300-28399 CADDYC=bin/caddy-c BENCH_RESULTS=bench/results
#        BENCH_QUIET_WAIT=60 BENCH_QUIET_PCT=15 BENCH_LOCK=/tmp/caddyc-bench.lock
#        BENCH_LOCK_WAIT=1800 BENCH_RETRIES=2 BENCH_NOISY_PCT=10 BENCH_NOTE=
#        BENCH_SERVER_CPUS= BENCH_WRK_CPUS= BENCH_NO_INSTALL=1
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD

SECS=${BENCH_SECONDS:-8}
WARMUP=${BENCH_WARMUP:-1}
CONNS=${BENCH_CONNS:-50}
THREADS=${BENCH_THREADS:-1}
RUNS=${BENCH_RUNS:-1}
SERVERS=${BENCH_SERVERS:-"caddy-c nginx caddy"}
WORKLOADS=${BENCH_WORKLOADS:-"keepalive handshake"}
PORTS=${BENCH_PORTS:-28300-28399}
CADDYC=${CADDYC:-bin/caddy-c}
RESULTS=${BENCH_RESULTS:-bench/results}
QUIET_WAIT=${BENCH_QUIET_WAIT:-60}
QUIET_PCT=${BENCH_QUIET_PCT:-15}
LOCK=${BENCH_LOCK:-/tmp/caddyc-bench.lock}
LOCK_WAIT=${BENCH_LOCK_WAIT:-1800}
RETRIES=${BENCH_RETRIES:-2}
NOISY_PCT=${BENCH_NOISY_PCT:-10}
NOTE=${BENCH_NOTE:-}
SRV_PIN=()
WRK_PIN=()
[ -n "${BENCH_SERVER_CPUS:-}" ] && SRV_PIN=(taskset -c "$BENCH_SERVER_CPUS")
[ -n "${BENCH_WRK_CPUS:-}" ] && WRK_PIN=(taskset -c "$BENCH_WRK_CPUS")
PORT_LO=${PORTS%-*}
PORT_HI=${PORTS#*-}
HELLO=$'hello, world\n'
NAME=bench.test
CLK_TCK=$(getconf CLK_TCK)
START_TIMEOUT=15

. "$ROOT/bench/lib.sh"
die() {
    log "tls.sh: $*"
    exit 1
}
# ---------------------------------------------------------------- tools

need_tool wrk wrk || die "wrk is required"
need_tool curl curl || die "curl is required"
need_tool openssl openssl || die "openssl is required (certificate, TLS checks)"
need_tool flock util-linux || die "flock is required"
need_tool python3 python3-minimal python3 || die "python3 is required (port checks)"
if want nginx; then
    need_tool nginx nginx-light nginx || die "nginx could not be installed"
fi
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
    case $w in keepalive | handshake) ;; *) die "unknown workload '$w'" ;; esac
done

# ---------------------------------------------------------------- work dir and cleanup

work=$(mktemp -d "${TMPDIR:-/tmp}/cc-tls-bench.XXXXXX") || die "mktemp failed"
chmod 755 "$work"
declare -A PID=()    # name -> main PID (nginx: master)
declare -A EXTRA=()  # name -> other PIDs (nginx worker) seen at start
declare -A BROKEN=() # name -> why it is excluded
declare -A PORT=()   # "name https|http" -> port
declare -A TLSINFO=() # name -> "protocol cipher group signature"
used_ports=""
WRK_PID=""

trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------- helpers (as bench/http.sh)

take_port() { # name kind
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

# ---------------------------------------------------------------- the certificate

# One self-signed ECDSA P-256 certificate for every server. wrk takes its TLS server name
# from the URL and cannot be pointed at a name that does not resolve, so it connects to
# https://127.0.0.1:PORT/ and sends SNI "127.0.0.1": the certificate also carries that IP
# address, and the sites are `bench.test, 127.0.0.1` so that Caddy and caddy-c, which pick
# a certificate by SNI, find it. curl and openssl use the name bench.test.
openssl ecparam -name prime256v1 -genkey -noout -out "$work/key.pem" 2>"$work/openssl.log" &&
    openssl req -new -x509 -key "$work/key.pem" -out "$work/cert.pem" -days 7 -subj "/CN=$NAME" \
        -addext "subjectAltName=DNS:$NAME,IP:127.0.0.1" -addext "basicConstraints=critical,CA:FALSE" \
        -addext "keyUsage=critical,digitalSignature" -addext "extendedKeyUsage=serverAuth" \
        2>>"$work/openssl.log" || die "openssl could not make the certificate: $(cat "$work/openssl.log")"
chmod 644 "$work/cert.pem" "$work/key.pem" # nginx reads them as root; Caddy and caddy-c as us
CERT_FP=$(openssl x509 -in "$work/cert.pem" -noout -fingerprint -sha256 | cut -d= -f2)
CERT_ALG=$(openssl x509 -in "$work/cert.pem" -noout -text | grep -m1 -E 'ASN1 OID|NIST CURVE' | sed 's/^ *//')

# ---------------------------------------------------------------- configs

nginx_conf() { # dir https-port
    cat <<EOF
worker_processes 1;
daemon off;
master_process on;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 4096; }
http {
    default_type application/octet-stream;
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 65;
    client_body_temp_path $1/body;
    proxy_temp_path $1/proxy;
    fastcgi_temp_path $1/fastcgi;
    uwsgi_temp_path $1/uwsgi;
    scgi_temp_path $1/scgi;
    server {
        listen 127.0.0.1:$2 ssl backlog=4096;
        server_name $NAME 127.0.0.1;
        ssl_certificate $work/cert.pem;
        ssl_certificate_key $work/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        location / { default_type text/plain; return 200 "hello, world\n"; }
    }
}
EOF
}

# The same Caddyfile for caddy-c and Caddy: HTTPS on a private port, the given
# certificate, no HTTP->HTTPS redirect server (the http_port is private too, and checked
# to stay unbound), and no attempt to put a local CA into the system trust store.
caddyfile() { # name
    printf '{\n\tadmin off\n\thttps_port %s\n\thttp_port %s\n' "${PORT[$1 https]}" "${PORT[$1 http]}"
    printf '\tauto_https disable_redirects\n\tdefault_bind 127.0.0.1\n\tskip_install_trust\n}\n\n'
    printf '%s, 127.0.0.1 {\n\ttls %s %s\n\trespond "%s"\n}\n' "$NAME" "$work/cert.pem" "$work/key.pem" "$HELLO"
}

# ---------------------------------------------------------------- start and verify

for s in $SERVERS; do
    take_port "$s" https
    take_port "$s" http
done

for s in $SERVERS; do
    d="$work/$s"
    mkdir -p "$d"
    case $s in
    nginx)
        nginx_conf "$d" "${PORT[nginx https]}" >"$d/nginx.conf"
        if ! nginx -t -q -p "$d" -e "$d/error.log" -c "$d/nginx.conf" >"$work/nginx.log" 2>&1; then
            BROKEN[nginx]="nginx -t rejected the generated config"
            continue
        fi
        "${SRV_PIN[@]}" nginx -p "$d" -e "$d/error.log" -c "$d/nginx.conf" >>"$work/nginx.log" 2>&1 &
        PID[nginx]=$!
        ;;
    caddy-c)
        caddyfile caddy-c >"$d/Caddyfile"
        if ! "$CADDYC" validate --config "$d/Caddyfile" >"$work/caddy-c.log" 2>&1; then
            BROKEN[caddy-c]="caddy-c validate rejected the generated Caddyfile"
            continue
        fi
        HOME="$d" XDG_DATA_HOME="$d/data" XDG_CONFIG_HOME="$d/config" env -u CADDYC_WORKERS \
            "${SRV_PIN[@]}" "$CADDYC" run --config "$d/Caddyfile" --workers 1 >>"$work/caddy-c.log" 2>&1 &
        PID[caddy-c]=$!
        ;;
    caddy)
        caddyfile caddy >"$d/Caddyfile"
        HOME="$d" XDG_DATA_HOME="$d/data" XDG_CONFIG_HOME="$d/config" \
            "${SRV_PIN[@]}" caddy run --config "$d/Caddyfile" --adapter caddyfile >"$work/caddy.log" 2>&1 &
        PID[caddy]=$!
        ;;
    esac
done

why=""
curl_tls() { # port out hdr [curl args]
    local port=$1 out=$2 h=$3
    shift 3
    curl -s --max-time 5 --cacert "$work/cert.pem" --resolve "$NAME:$port:127.0.0.1" \
        -o "$out" -D "$h" "$@" "https://$NAME:$port/"
}

wait_up() { # name
    local i port=${PORT[$1 https]}
    for ((i = 0; i < START_TIMEOUT * 10; i++)); do
        alive "${PID[$1]}" || return 1
        curl_tls "$port" /dev/null /dev/null && return 0
        sleep 0.1
    done
    return 1
}

# verify NAME: checks everything a figure depends on; fills TLSINFO.
verify() {
    local s=$1 d="$work/verify-$1" port want proto cipher group sig fp
    why=""
    port=${PORT[$s https]}
    mkdir -p "$d"
    wait_up "$s" || {
        alive "${PID[$s]}" && BROKEN[$s]="did not answer over HTTPS within ${START_TIMEOUT}s" ||
            BROKEN[$s]="exited during startup (see log below)"
        return 1
    }
    case $s in caddy-c) want=caddy-c ;; caddy) want=Caddy ;; *) want=nginx ;; esac
    # the name, verified against our certificate, over HTTP/1.1 as wrk speaks it
    if curl_tls "$port" "$d/body" "$d/hdr" --http1.1; then
        head -n 1 "$d/hdr" | grep -q ' 200' || fail "status $(head -n 1 "$d/hdr" | tr -d '\r')"
        [ "$(cat "$d/body"; echo x)" = "${HELLO}x" ] || fail "body is not 'hello, world\\n' ($(wc -c <"$d/body") bytes)"
        hdr "$d/hdr" server | grep -q "^$want" || fail "Server header '$(hdr "$d/hdr" server)'"
    else
        fail "curl --cacert over https://$NAME failed (certificate not accepted?)"
    fi
    # what wrk gets: SNI 127.0.0.1, Host 127.0.0.1:port
    curl -s --max-time 5 --cacert "$work/cert.pem" --http1.1 -o "$d/body2" "https://127.0.0.1:$port/" &&
        [ "$(cat "$d/body2"; echo x)" = "${HELLO}x" ] || fail "https://127.0.0.1:$port/ (what wrk requests) does not give the body"
    # the negotiated parameters, with OpenSSL's default client settings (those wrk uses)
    timeout 10 openssl s_client -brief -connect "127.0.0.1:$port" -servername "$NAME" </dev/null >"$d/brief" 2>&1
    proto=$(sed -n 's/^Protocol version: *//p' "$d/brief" | head -n 1)
    cipher=$(sed -n 's/^Ciphersuite: *//p' "$d/brief" | head -n 1)
    group=$(sed -n 's/^Server Temp Key: *//p' "$d/brief" | head -n 1 | cut -d, -f1)
    sig=$(sed -n 's/^Signature type: *//p' "$d/brief" | head -n 1)+$(sed -n 's/^Hash used: *//p' "$d/brief" | head -n 1)
    TLSINFO[$s]="${proto:-?} ${cipher:-?} ${group:-?} ${sig:-?}"
    [ "$proto" = TLSv1.3 ] || fail "negotiated '${proto:-nothing}', not TLSv1.3"
    # the served certificate is ours (not a self-made or internal one)
    timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername 127.0.0.1 </dev/null 2>/dev/null |
        openssl x509 -noout -fingerprint -sha256 >"$d/fp" 2>/dev/null
    fp=$(cut -d= -f2 "$d/fp")
    [ "$fp" = "$CERT_FP" ] || fail "the certificate served for SNI 127.0.0.1 is not the benchmark's (${fp:-none})"
    # Connection: close really ends the connection, so the handshake workload makes one
    # TLS handshake per request (s_client -quiet waits until the server closes)
    if ! printf 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' |
        timeout 4 openssl s_client -quiet -connect "127.0.0.1:$port" -servername 127.0.0.1 >"$d/close" 2>/dev/null; then
        fail "the connection stayed open after a 'Connection: close' request"
    fi
    grep -q 'hello, world' "$d/close" || fail "no body on the 'Connection: close' request"
    port_owned_by "$port" "$s" || fail "port $port is not held by PID ${PID[$s]}"
    [ -z "$(ss -Hltn "sport = :${PORT[$s http]}" 2>/dev/null)" ] ||
        fail "http_port ${PORT[$s http]} is bound although redirects are disabled"
    [ -z "$why" ] || {
        BROKEN[$s]=$why
        return 1
    }
}

for s in $SERVERS; do
    [ -n "${BROKEN[$s]:-}" ] && {
        log "$s: EXCLUDED: ${BROKEN[$s]}"
        show_log "$s"
        continue
    }
    if verify "$s"; then
        EXTRA[$s]=$(pid_tree "${PID[$s]}" | grep -vx "${PID[$s]}" | tr '\n' ' ')
        log "$s: PID ${PID[$s]}${EXTRA[$s]:+ (+ ${EXTRA[$s]% })}, port ${PORT[$s https]}: verified (${TLSINFO[$s]})"
    else
        log "$s: EXCLUDED: ${BROKEN[$s]}"
        show_log "$s"
    fi
done

# ---------------------------------------------------------------- measure

# One measured run (in this shell, so `times` sees wrk's CPU); prints
# "rps p50 p99 cpu_us cpu_pct errors other_pct" or "fail why".
measure() { # name url workload
    local s=$1 url=$2 out="$work/wrk.out" pids pids_after t0 t1 b0 b1 c0 c1 extra=()
    [ "$3" = handshake ] && extra=(-H 'Connection: close')
    pids=$(pid_tree "${PID[$s]}" | tr '\n' ' ')
    child_secs >"$work/c0"
    b0=$(sys_busy)
    t0=$(cpu_ticks $pids)
    if ! run_wrk $((SECS + 60)) "$out" -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency "${extra[@]}" "$url"; then
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
        printf "%s %s %s %.2f %.0f %d %.0f\n", r, a, b, d / hz * 1e6 / n, d / hz / secs * 100, e,
            other / secs * 100 }'
}

declare -A LINES=() # "server workload" -> one result line per run
for w in $WORKLOADS; do
    for ((r = 1; r <= RUNS; r++)); do
        for s in $SERVERS; do
            [ -n "${BROKEN[$s]:-}" ] && continue
            url="https://127.0.0.1:${PORT[$s https]}/"
            warm=()
            [ "$w" = handshake ] && warm=(-H 'Connection: close')
            for ((try = 0; try <= RETRIES; try++)); do
                lock
                wait_quiet
                run_wrk $((WARMUP + 30)) /dev/null -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" "${warm[@]}" "$url"
                measure "$s" "$url" "$w" >"$work/res"
                unlock
                res=$(cat "$work/res")
                log "$w $s run $r/$RUNS: $res"
                case $res in fail*) break ;; esac
                [ "$(echo "$res" | awk '{ print $7 }')" -gt "$NOISY_PCT" ] || break
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

ver_nginx=$(command -v nginx >/dev/null && nginx -v 2>&1 | sed 's/^nginx version: //')
ver_caddy=$(command -v caddy >/dev/null && caddy version 2>/dev/null | cut -d' ' -f1)
ver_wrk=$(wrk -v 2>&1 | head -n 1 | awk '{print $2}')
ver_ossl=$(openssl version | cut -d' ' -f1-2)
ver_caddyc=$(want caddy-c && "$CADDYC" version 2>/dev/null | head -n 1)
git_rev=$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD 2>/dev/null || echo "+dirty")
cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
aes=$(grep -qw aes /proc/cpuinfo && echo "AES-NI" || echo "no AES-NI")
noisy=0

report="$work/report.txt"
{
    echo "caddy-c HTTPS benchmark, $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    [ -n "$NOTE" ] && echo "NOTE: $NOTE"
    echo "machine: nproc=$(nproc), $cpu_model ($aes), kernel $(uname -r), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "versions: caddy-c ${ver_caddyc:-?} (git $git_rev), nginx ${ver_nginx:-?}, caddy ${ver_caddy:-?}, wrk ${ver_wrk:-?} ($ver_ossl)"
    echo "pinning: servers ${BENCH_SERVER_CPUS:-any CPU}, wrk ${BENCH_WRK_CPUS:-any CPU}"
    echo "load: wrk -t$THREADS -c$CONNS -d${SECS}s --latency, ${WARMUP}s warm-up; $RUNS interleaved run(s) per cell, medians per column"
    echo "  keepalive = HTTPS keep-alive requests; handshake = -H 'Connection: close': a new TCP connection"
    echo "  and a full TLS handshake per request (wrk does not resume sessions)"
    echo "certificate: the same self-signed ECDSA P-256 ($CERT_ALG) for CN=$NAME, SAN $NAME + IP 127.0.0.1, for all"
    echo "servers: caddy-c --workers 1; nginx worker_processes 1, ssl_protocols TLSv1.2 TLSv1.3 (OpenSSL defaults"
    echo "  otherwise); Caddy: the same Caddyfile as caddy-c (tls cert key, auto_https disable_redirects), admin off"
    echo "body: 13 bytes (respond / return 200); wrk requests https://127.0.0.1:PORT/ (SNI 127.0.0.1), HTTP/1.1, no ALPN"
    echo "each cell holds $LOCK; CPU/req = server utime+stime / requests completed (nginx: master + worker)"
    echo
    echo "negotiated (openssl s_client, default client settings as wrk's):"
    printf '  %-8s %-9s %-28s %-10s %s\n' server protocol cipher group signature+hash
    for s in $SERVERS; do
        [ -n "${TLSINFO[$s]:-}" ] || continue
        read -r p c g sg <<<"${TLSINFO[$s]}"
        printf '  %-8s %-9s %-28s %-10s %s\n' "$(label "$s")" "$p" "$c" "$g" "$sg"
    done
    echo
    printf '%-9s %-8s %10s %8s %8s %11s %6s %7s %7s %5s\n' workload server req/s p50_us p99_us cpu_us/req cpu% errors other% runs
    for w in $WORKLOADS; do
        for s in $SERVERS; do
            c="$s $w"
            if [ -z "${LINES[$c]:-}" ]; then
                printf '%-9s %-8s %10s   %s\n' "$w" "$(label "$s")" n/a "${BROKEN[$s]:-no successful run}"
                continue
            fi
            printf '%-9s %-8s %10s %8s %8s %11s %6s %7s %7s %5s\n' "$w" "$(label "$s")" "$(med "$c" 1)" \
                "$(med "$c" 2)" "$(med "$c" 3)" "$(med "$c" 4)" "$(med "$c" 5)" \
                "$(sumcol "$c" 6)" "$(maxcol "$c" 7)" "$(nruns "$c")"
            [ "$(maxcol "$c" 7 | cut -d. -f1)" -le "$NOISY_PCT" ] || noisy=1
        done
    done
    echo "cpu% = server CPU in % of one core; errors = wrk socket errors (a failed TLS handshake counts as"
    echo "'connect') + non-2xx; other% = max over runs of CPU used by neither the server nor wrk"
    [ "$noisy" = 0 ] || echo "WARNING: other load above ${NOISY_PCT}% of a core during some counted runs: those figures are less reliable"
    echo
    echo "ratios (req/s: higher is better for caddy-c; CPU/req: lower is better for caddy-c)"
    echo "target (issue 5): req/s >= 1.0x nginx for keep-alive and for handshakes"
    for o in nginx caddy; do
        want caddy-c && want "$o" || continue
        for w in $WORKLOADS; do
            a="caddy-c $w" b="$o $w"
            if [ -z "${LINES[$a]:-}" ] || [ -z "${LINES[$b]:-}" ]; then
                printf '%-9s caddy-c/%-6s n/a\n' "$w" "$(label "$o")"
                continue
            fi
            awk -v w="$w" -v o="$(label "$o")" -v ar="$(med "$a" 1)" -v br="$(med "$b" 1)" \
                -v ac="$(med "$a" 4)" -v bc="$(med "$b" 4)" -v isng="$([ "$o" = nginx ] && echo 1 || echo 0)" 'BEGIN {
                rr = (br > 0 ? ar / br : 0)
                t = isng ? sprintf("   (target req/s >= 1.0x: %s)", rr >= 1.0 ? "met" : "NOT met") : ""
                printf "%-9s caddy-c/%-6s req/s %5.2fx   CPU/req %5.2fx%s\n", w, o, rr, (bc > 0 ? ac / bc : 0), t }'
        done
    done
    bad=0
    for s in $SERVERS; do
        if [ -n "${BROKEN[$s]:-}" ]; then
            echo "EXCLUDED $(label "$s"): ${BROKEN[$s]}"
            bad=1
        fi
    done
    [ "$bad" = 1 ] || echo "all servers verified before measuring (body, Server header, TLS 1.3, our certificate, Connection: close closes, port owner, no http_port listener)"
} >"$report"

mkdir -p "$RESULTS"
outfile="$RESULTS/tls-$(date '+%Y-%m-%d-%H%M%S').txt"
cp "$report" "$outfile"
echo
cat "$report"
echo
echo "written to $outfile"
for s in $SERVERS; do [ -n "${BROKEN[$s]:-}" ] && exit 1; done
exit 0
