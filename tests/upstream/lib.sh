# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Shared helpers of the reverse_proxy integration suites (tests/integration/proxy_*.sh):
# free ports, starting tests/upstream/upstream.py backends and caddy-c and waiting until
# each really listens, stopping every process by PID on exit, JSON field access, and
# the pass/fail counters. Source it after `cd` to the repository root.

CADDYC=${CADDYC:-$PWD/bin/caddy-c}
# Debian's interpreter when present: a version-manager shim on PATH can cost ~0.5 s a start
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
UPSTREAM=$PWD/tests/upstream/upstream.py
CLIENT=$PWD/tests/upstream/client.py
pass=0 fail=0
PIDS=()
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cc-proxy-test.XXXXXX")

stop_pid() {
    local p=$1 i
    kill -0 "$p" 2>/dev/null || return 0
    kill -TERM "$p" 2>/dev/null
    for ((i = 0; i < 50; i++)); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    return 0
}

lib_cleanup() {
    local p
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    rm -rf "$tmp"
}
trap lib_cleanup EXIT
trap 'exit 130' INT TERM

# ok NAME CONDITION: CONDITION is eval'ed; counts a pass or prints the failure.
ok() {
    if eval "$2"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: $1" >&2
    fi
}
# eq NAME EXPECTED GOT: exact comparison that prints both on failure.
eq() {
    if [ "$2" = "$3" ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        printf 'FAIL: %s\n  expected: %s\n  got:      %s\n' "$1" "$2" "$3" >&2
    fi
}
finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}

# ports N: sets the array PORT to N distinct free loopback ports, drawn at random from
# 20000-27999: below the kernel's ephemeral range (so no outgoing connection takes one
# between this check and its use) and below the benchmarks' 28000-28299. All are bound at
# once, then released, so they differ from each other.
ports() {
    mapfile -t PORT < <("$PY" - "$1" <<'EOF'
import random, socket, sys
socks = []
while len(socks) < int(sys.argv[1]):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", random.randint(20000, 27999)))
        socks.append(s)
    except OSError:
        s.close()
for s in socks:
    print(s.getsockname()[1])
EOF
)
}

# up PORT [NAME] [extra upstream.py args]: starts a backend, waits for "ready" (5 s).
# Sets UP_PID[PORT].
declare -A UP_PID=()
up() {
    local port=$1 name=${2:-u$1} i
    shift 2 2>/dev/null || shift
    "$PY" "$UPSTREAM" "$port" --name "$name" "$@" >"$tmp/up-$port.out" 2>"$tmp/up-$port.err" &
    UP_PID[$port]=$!
    PIDS+=("$!")
    for ((i = 0; i < 50; i++)); do
        grep -q '^ready' "$tmp/up-$port.out" 2>/dev/null && return 0
        kill -0 "${UP_PID[$port]}" 2>/dev/null || break
        sleep 0.1
    done
    echo "upstream on $port did not start:" >&2
    cat "$tmp/up-$port.err" >&2
    return 1
}
down() { stop_pid "${UP_PID[$1]}"; }

# caddy FILE PORT [PATH]: starts caddy-c with a Caddyfile and waits (10 s) until PORT
# answers any HTTP status. Sets CPID.
caddy() {
    local file=$1 port=$2 path=${3:-/} i code
    "$CADDYC" run --config "$file" >"$file.log" 2>&1 &
    CPID=$!
    PIDS+=("$CPID")
    for ((i = 0; i < 100; i++)); do
        code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$port$path")
        [ "$code" != 000 ] && return 0
        kill -0 "$CPID" 2>/dev/null || break
        sleep 0.1
    done
    echo "caddy-c did not start with $file:" >&2
    sed -n '1,30p' "$file.log" >&2
    return 1
}

# stats PORT [FIELD]: the backend's /_stats (or one top-level field of it).
stats() {
    if [ -n "${2:-}" ]; then
        curl -s -m 5 "http://127.0.0.1:$1/_stats" | jq -r ".$2"
    else
        curl -s -m 5 "http://127.0.0.1:$1/_stats"
    fi
}
reset() { curl -s -m 5 -o /dev/null "http://127.0.0.1:$1/_reset"; }

# The echo JSON's request header value (first one, case-insensitive) or "<none>".
ehdr() { # json name
    jq -r --arg n "$2" '[.headers[] | select(.[0] | ascii_downcase == ($n | ascii_downcase)) | .[1]] | if length == 0 then "<none>" else join(" | ") end' <<<"$1"
}

# rss_kb PID: VmRSS of a process in kB.
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# caddy_alive: the caddy-c process is still running (checked at the end of each suite).
caddy_alive() { kill -0 "$CPID" 2>/dev/null; }
