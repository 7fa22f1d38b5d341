#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# WebSocket streams across a config reload on the same port (Caddy unloads the old
# config's streams): a stream opened before `caddy-c reload` is closed by the reload
# (Close 1001 from the proxy), at once without stream_close_delay and only after the
# delay with one; a stream opened after the reload works under the new config. Real
# node-ws echo server and client; ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
CADDYC=${CADDYC:-$PWD/bin/caddy-c}
export NODE_PATH=${NODE_PATH:-/usr/share/nodejs}
pass=0 fail=0
ok() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1" >&2; fi; }
if ! node -e "require('ws')" 2>/dev/null; then
    echo "node-ws is missing (scripts/deps.sh test installs it)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(freeport) up=$(freeport) admin=$(freeport)
tmp=$(mktemp -d)
pid= upid= cpid=
cleanup() {
    for p in $cpid $pid $upid; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT

cat >"$tmp/upstream.js" <<'JS'
const http = require('http');
const { WebSocketServer } = require('ws');
const srv = http.createServer((req, res) => res.end('plain'));
new WebSocketServer({ server: srv }).on('connection', (ws) => ws.on('message', (d, b) => ws.send(d, { binary: b })));
srv.listen(Number(process.argv[2]), '127.0.0.1');
JS
# client: opens /ws, checks one echo, prints "ready", then prints the epoch ms and code
# of the close the proxy sends
cat >"$tmp/client.js" <<'JS'
const WebSocket = require('ws');
const ws = new WebSocket(`ws://127.0.0.1:${process.argv[2]}/ws`);
ws.on('open', () => ws.send('ping'));
ws.once('message', (m) => console.log(m.toString() === 'ping' ? 'ready' : 'bad-echo'));
ws.on('close', (code) => { console.log(`closed ${Date.now()} ${code}`); process.exit(0); });
ws.on('error', (e) => { console.log(`error ${e.message}`); process.exit(1); });
JS
node "$tmp/upstream.js" "$up" >"$tmp/up.log" 2>&1 &
upid=$!
# node starts slowly on a loaded machine: the first stream must not race it
for _ in $(seq 200); do [ "$(curl -s -m 1 "http://127.0.0.1:$up/")" = plain ] && break; sleep 0.1; done

caddyfile() { # respond text, extra reverse_proxy options
    printf '{\n\tadmin 127.0.0.1:%s\n}\nhttp://127.0.0.1:%s {\n\treverse_proxy /ws* 127.0.0.1:%s {\n%s\n\t}\n\trespond /text "%s"\n}\n' \
        "$admin" "$port" "$up" "$2" "$1" >"$tmp/Caddyfile"
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
wait_line() { # file pattern: up to 20 s
    for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    return 1
}

# round NAME DELAY_OPTION MIN_MS MAX_MS: opens a stream, reloads, checks when it closed
round() {
    local name=$1 opt=$2 min=$3 max=$4
    : >"$tmp/client.out"
    node "$tmp/client.js" "$port" >"$tmp/client.out" 2>&1 &
    cpid=$!
    ok "$name: stream open, echo works" 'wait_line "$tmp/client.out" "^ready"'
    caddyfile "after $name" "$opt"
    local t0
    t0=$(now_ms)
    timeout 20 "$CADDYC" reload --config "$tmp/Caddyfile" --address "127.0.0.1:$admin" >"$tmp/reload.log" 2>&1
    ok "$name: reload accepted" '[ $? -eq 0 ]'
    ok "$name: the new config serves" '[ "$(curl -s -m 5 "http://127.0.0.1:$port/text")" = "after $name" ]'
    wait_line "$tmp/client.out" "^closed"
    read -r _ t code < <(grep '^closed' "$tmp/client.out")
    local dt=$((${t:-0} - t0))
    ok "$name: the old stream was closed by the reload after ${dt} ms (code ${code:-none}; want ${min}-${max} ms)" \
        '[ -n "${t:-}" ] && [ "$dt" -ge "$min" ] && [ "$dt" -le "$max" ]'
    ok "$name: close code 1001 (going away)" '[ "${code:-}" = 1001 ]'
    wait "$cpid" 2>/dev/null
    cpid=
}

caddyfile "before" ""
"$CADDYC" run --config "$tmp/Caddyfile" >"$tmp/log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -s -o /dev/null -m 1 "http://127.0.0.1:$port/" && break; sleep 0.1; done

round "no delay" "" 0 6000
# the reload above set no delay; this one installs a config whose streams get 1.5 s
caddyfile "delayed" $'\t\tstream_close_delay 1500ms'
timeout 20 "$CADDYC" reload --config "$tmp/Caddyfile" --address "127.0.0.1:$admin" >/dev/null 2>&1
round "stream_close_delay 1500ms" $'\t\tstream_close_delay 1500ms' 1300 9000

# a stream opened after the reloads works
: >"$tmp/client.out"
node "$tmp/client.js" "$port" >"$tmp/client.out" 2>&1 &
cpid=$!
ok "a new stream after the reloads works" 'wait_line "$tmp/client.out" "^ready"'
kill "$cpid" 2>/dev/null
wait "$cpid" 2>/dev/null
cpid=
ok "server still alive" 'kill -0 "$pid"'
kill "$pid"
wait "$pid"
rc=$?
pid=
ok "clean stop (status $rc)" '[ "$rc" -eq 0 ] && ! grep -qE "Sanitizer|runtime error" "$tmp/log"'
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
