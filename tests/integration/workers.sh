#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Worker count and per-request recycling: `run --workers N` and $CADDYC_WORKERS start that
# many engine threads (the flag wins), bad values are refused; many keep-alive requests on
# one worker (recycled arenas, per-connection address) keep answering correctly, with one
# Date header on served, refused and MHD-generated (431) responses alike, and heads well
# under the connection pool still pass.
set -u
cd "$(dirname "$0")/../.."
CADDYC=${CADDYC:-$PWD/bin/caddy-c}
pass=0 fail=0
ok() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1" >&2; fi; }

free_port() {
    python3 - <<'PY'
import random, socket
for _ in range(200):
    p = random.randint(20000, 29999)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    s.close()
    print(p)
    break
PY
}
port=$(free_port)
tmp=$(mktemp -d)
pid=
stop() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    pid=
}
trap 'stop; rm -rf "$tmp"' EXIT

cat >"$tmp/Caddyfile" <<CF
{
	admin off
}
http://127.0.0.1:$port {
	respond "ip={client_ip} n={http.request.uri.query}"
}
CF

# start [env...] -- [run flags...]: serves the Caddyfile, waits until it answers
start() {
    local envs=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    env -u CADDYC_WORKERS "${envs[@]}" "$CADDYC" run --config "$tmp/Caddyfile" "$@" >"$tmp/log" 2>&1 &
    pid=$!
    for _ in $(seq 50); do curl -s -m 1 -o /dev/null "http://127.0.0.1:$port/" && return 0; sleep 0.1; done
    return 1
}
threads() { ls "/proc/$pid/task" 2>/dev/null | wc -l; }

start -- --workers 1
t1=$(threads)
ok "--workers 1 serves" '[ "$(curl -s -m 2 "http://127.0.0.1:$port/?a")" = "ip=127.0.0.1 n=a" ]'
# one worker: many keep-alive requests on a few connections reuse the recycled arenas
urls=()
for i in $(seq 300); do urls+=("http://127.0.0.1:$port/?$i"); done
curl -s -m 20 "${urls[@]}" >"$tmp/many"
want=$(for i in $(seq 300); do printf 'ip=127.0.0.1 n=%s' "$i"; done)
ok "300 keep-alive requests answered in order" '[ "$(cat "$tmp/many")" = "$want" ]'
# one Date header on a served response, an engine refusal and an MHD-generated 431
hdr() { printf "$1" | timeout 5 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=4)
out = b""
try:
    # a refused head may be answered and closed before all of it is sent
    s.sendall(sys.stdin.buffer.read())
    s.shutdown(socket.SHUT_WR)
except OSError:
    pass
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
except OSError:
    pass
sys.stdout.write(out.split(b"\r\n\r\n")[0].decode("latin-1"))
' "$port"; }
dates() { grep -ci '^date: [A-Z][a-z][a-z], [0-9][0-9] [A-Z][a-z][a-z] [0-9]\{4\} [0-9:]\{8\} GMT'; }
h=$(hdr "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
ok "200 has one Date" '[ "$(printf "%s" "$h" | tr -d "\r" | dates)" = 1 ]'
h=$(hdr "GET / HTTP/1.1\r\n\r\n")
ok "400 (no Host) has one Date" '[ "${h:0:12}" = "HTTP/1.1 400" ] && [ "$(printf "%s" "$h" | tr -d "\r" | dates)" = 1 ]'
big=$(head -c 100000 /dev/zero | tr '\0' a)
h=$(hdr "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: $big\r\n\r\n")
ok "431 has one Date" '[ "${h:0:12}" = "HTTP/1.1 431" ] && [ "$(printf "%s" "$h" | tr -d "\r" | dates)" = 1 ]'
# a 10 KB header and a 6 KB target stay well within the default pool
mid=$(head -c 10000 /dev/zero | tr '\0' b)
ok "10 KB header accepted" '[ "$(curl -s -m 2 -H "X-Mid: $mid" "http://127.0.0.1:$port/?m")" = "ip=127.0.0.1 n=m" ]'
q=$(head -c 6000 /dev/zero | tr '\0' q)
ok "6 KB target accepted" '[ "$(curl -s -m 2 "http://127.0.0.1:$port/?$q")" = "ip=127.0.0.1 n=$q" ]'
stop

start -- --workers 3
t3=$(threads)
ok "--workers 3 has two more threads than --workers 1 ($t1 vs $t3)" '[ "$t3" -eq $((t1 + 2)) ]'
stop
start CADDYC_WORKERS=3 --
ok "CADDYC_WORKERS=3 gives 3 workers" '[ "$(threads)" -eq "$t3" ]'
stop
start CADDYC_WORKERS=3 -- --workers 1
ok "--workers wins over CADDYC_WORKERS" '[ "$(threads)" -eq "$t1" ]'
stop

out=$("$CADDYC" run --config "$tmp/Caddyfile" --workers abc 2>&1)
rc=$?
ok "bad --workers: exit 1 with an error" '[ "$rc" = 1 ] && [[ "$out" == *"invalid --workers abc"* ]]'
out=$(CADDYC_WORKERS=-2 "$CADDYC" run --config "$tmp/Caddyfile" 2>&1)
rc=$?
ok "bad CADDYC_WORKERS: exit 1 with an error" '[ "$rc" = 1 ] && [[ "$out" == *"invalid CADDYC_WORKERS -2"* ]]'
ok "help lists --workers" '"$CADDYC" help run 2>&1 | grep -q -- "--workers"'

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
