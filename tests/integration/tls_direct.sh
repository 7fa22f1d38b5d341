#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# HTTPS with libmicrohttpd serving the TLS socket itself (engine/tls_direct.c: its recv,
# send, sendmsg, sendfile64 and shutdown calls go through wolfSSL), against the real
# binary on 127.0.0.1 with curl and node-ws: bodies on the mapped path (1 MiB) and the
# sendfile path (20 MiB) byte for byte, read fast and read slowly (the socket fills and
# ciphertext queues), with Connection: close (the queue and close_notify go out after
# MHD let go), a file truncated under a TLS download, keep-alive and pipelining, and a
# WebSocket over TLS (the upgraded stream goes back through the front's socketpair).
# Any plaintext written to the socket would break curl's TLS stream, so an intact body
# is also the proof that nothing bypassed wolfSSL. The same checks run again with
# CADDYC_TLS_PAIR=1, the socketpair fallback. Prints "N passed, N failed" last.
set -u

ROOT_DIR=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT_DIR/tests/lib/counts.sh"
check() { if [ "$2" = "$3" ]; then ok; else bad "$1: got '$2', want '$3'"; fi; }

if [ ! -x "$CADDYC" ]; then
    echo "no binary at $CADDYC" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
export NODE_PATH=${NODE_PATH:-/usr/share/nodejs}
have_node=1
node -e "require('ws')" 2>/dev/null || have_node=

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
tmp=$(mktemp -d /tmp/cc_tlsdirect_XXXXXX)
pid= upid=
stop_server() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        pid=
    fi
}
cleanup() {
    stop_server
    [ -n "$upid" ] && kill "$upid" 2>/dev/null && wait "$upid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

mkdir -p "$tmp/www" "$tmp/data"
head -c 1048576 /dev/urandom >"$tmp/www/m1.bin"
head -c $((20 << 20)) /dev/urandom >"$tmp/www/m20.bin"
sum() { sha256sum | cut -d' ' -f1; }
sum1=$(sum <"$tmp/www/m1.bin")
sum20=$(sum <"$tmp/www/m20.bin")

wsup=$(freeport)
if [ -n "$have_node" ]; then
    cat >"$tmp/echo.js" <<'JS'
const http = require('http');
const { WebSocketServer } = require('ws');
const srv = http.createServer((req, res) => res.end('plain'));
const wss = new WebSocketServer({ server: srv, maxPayload: 8 << 20 });
wss.on('connection', (ws) => ws.on('message', (d, bin) => ws.send(d, { binary: bin })));
srv.listen(Number(process.argv[2]), '127.0.0.1');
JS
    node "$tmp/echo.js" "$wsup" >"$tmp/echo.log" 2>&1 &
    upid=$!
    for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$wsup/" && break; sleep 0.1; done
    cat >"$tmp/client.js" <<'JS'
const WebSocket = require('ws');
const crypto = require('crypto');
const port = process.argv[2];
const ws = new WebSocket(`wss://127.0.0.1:${port}/ws`, {
    servername: 'localhost', rejectUnauthorized: false,
    headers: { host: `localhost:${port}` } });
const big = crypto.randomBytes(1 << 20);
const want = ['hello', big.toString('hex')];
const got = [];
const timer = setTimeout(() => { console.log('timeout'); process.exit(1); }, 15000);
ws.on('open', () => { ws.send('hello'); ws.send(big); });
ws.on('message', (d, bin) => {
    got.push(bin ? Buffer.from(d).toString('hex') : d.toString());
    if (got.length === want.length) {
        console.log(got[0] === want[0] && got[1] === want[1] ? 'echo ok' : 'echo differs');
        ws.close(1000);
    }
});
ws.on('close', (code) => { clearTimeout(timer); console.log('closed ' + code); });
ws.on('error', (e) => { console.log('error ' + e.message); process.exit(1); });
JS
fi

# one round of checks against a fresh server; $1 names the mode in the messages
round() {
    local mode=$1 port
    port=$(freeport)
    cat >"$tmp/Caddyfile" <<EOF
{
	admin off
	skip_install_trust
	storage file_system $tmp/data
}
https://localhost:$port {
	bind 127.0.0.1
	tls internal
	handle /ws* {
		reverse_proxy 127.0.0.1:$wsup
	}
	handle {
		root * $tmp/www
		file_server
	}
}
EOF
    "$CADDYC" run --config "$tmp/Caddyfile" >"$tmp/server-$mode.log" 2>&1 &
    pid=$!
    local C=(curl -s -k --max-time 60 --resolve "localhost:$port:127.0.0.1")
    local base="https://localhost:$port"
    for _ in $(seq 1 100); do
        "${C[@]}" -o /dev/null "$base/" && break
        sleep 0.1
    done

    check "$mode: 1 MiB (mapped)" "$("${C[@]}" "$base/m1.bin" | sum)" "$sum1"
    check "$mode: 20 MiB (sendfile)" "$("${C[@]}" "$base/m20.bin" | sum)" "$sum20"
    check "$mode: 1 MiB read slowly" "$("${C[@]}" --limit-rate 4M "$base/m1.bin" | sum)" "$sum1"
    check "$mode: 20 MiB read slowly" "$("${C[@]}" --limit-rate 16M "$base/m20.bin" | sum)" "$sum20"
    check "$mode: 20 MiB with Connection: close, read slowly" \
        "$("${C[@]}" --limit-rate 16M -H 'Connection: close' "$base/m20.bin" | sum)" "$sum20"
    local want
    want=$(tail -c +15000001 "$tmp/www/m20.bin" | head -c 300000 | sum)
    check "$mode: range deep in 20 MiB" "$("${C[@]}" -r 15000000-15299999 "$base/m20.bin" | sum)" "$want"
    # one connection, many requests (curl reuses it; -w counts the new connections)
    local urls=() i
    for i in $(seq 1 20); do urls+=("$base/m1.bin" -o /dev/null); done
    check "$mode: 20 requests on one connection" \
        "$("${C[@]}" -w '%{num_connects}\n' "${urls[@]}" | awk '{ n += $1 } END { print n }')" "1"
    local pipe
    pipe=$(python3 - "$port" <<'PY'
import socket, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10),
                    server_hostname="localhost")
s.sendall(b"GET /m1.bin HTTP/1.1\r\nHost: localhost\r\n\r\n" * 3 +
          b"GET /m1.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
n = 0
while True:
    try:
        b = s.recv(1 << 16)
    except (ssl.SSLError, OSError):
        break
    if not b:
        break
    n += len(b)
print(n > 4 * 1048576 and n < 4 * 1048576 + 4096)
PY
)
    check "$mode: 4 pipelined 1 MiB responses in one write" "$pipe" "True"

    # a file cut short under a slow TLS download: the transfer ends, the server stays
    cut_under_download "$mode: over TLS" "$tmp/www/cut.bin" 20 "$base/cut.bin" "$tmp/cut.got" \
        -k --resolve "localhost:$port:127.0.0.1"
    check "$mode: served after the cut" "$("${C[@]}" -o /dev/null -w '%{http_code}' "$base/m1.bin")" "200"

    if [ -n "$have_node" ]; then
        check "$mode: WebSocket over TLS" \
            "$(cd "$ROOT_DIR" && timeout 20 node "$tmp/client.js" "$port" | paste -sd' ')" \
            "echo ok closed 1000"
        check "$mode: served after the WebSocket" \
            "$("${C[@]}" -o /dev/null -w '%{http_code}' "$base/m1.bin")" "200"
    else
        bad "$mode: node-ws is missing (scripts/deps.sh test installs it)"
    fi
    kill -0 "$pid" 2>/dev/null && ok || bad "$mode: server died: $(tail -5 "$tmp/server-$mode.log")"
    stop_server
}

round direct
export CADDYC_TLS_PAIR=1
round pair
unset CADDYC_TLS_PAIR

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
