#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The HTTP engine through the real binary: `caddy-c run` serves a Caddyfile on
# 127.0.0.1 and is driven with curl and raw sockets: keep-alive and pipelining, every
# refused framing case (status, connection closed, handler never reached), 431/414, the
# read-header deadline, HEAD, the Server header, abort, close and a sendfile body.
set -u
cd "$(dirname "$0")/../.."
CADDYC=${CADDYC:-$PWD/bin/caddy-c}
pass=0 fail=0
tmp=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

free_port() {
    python3 - <<'EOF'
import random, socket
for _ in range(200):
    p = random.randint(20000, 29999)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        s.close()
        print(p)
        break
    except OSError:
        s.close()
EOF
}

# raw PORT BYTES: sends BYTES (Python escapes allowed) on one connection and prints
# everything read back, then <EOF> if the server closed or <TIMEOUT>.
raw() {
    python3 - "$1" "$2" <<'EOF'
import socket, sys
data = sys.argv[2].encode().decode("unicode_escape").encode("latin1")
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(data)
out = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            out += b"<EOF>"
            break
        out += d
except ConnectionResetError:
    out += b"<EOF>"
except socket.timeout:
    out += b"<TIMEOUT>"
sys.stdout.write(out.decode("latin1"))
EOF
}

P=$(free_port)
mkdir -p "$tmp/site/files"
head -c 3000000 /dev/urandom >"$tmp/site/files/big.bin"
cat >"$tmp/Caddyfile" <<EOF
{
	admin off
	servers 127.0.0.1:$P {
		timeouts {
			read_header 1s
		}
	}
}
http://127.0.0.1:$P {
	bind 127.0.0.1
	root * $tmp/site
	header /noserver -Server
	respond /hello "hello, world"
	respond /close "bye" {
		close
	}
	abort /abort
	respond /noserver "ns"
	respond /echo* "{method}|{path}|{query}|{http.request.body}"
	file_server /files/*
}
EOF

"$CADDYC" run --config "$tmp/Caddyfile" --adapter caddyfile >"$tmp/log" 2>&1 &
pid=$!
up=0
for _ in $(seq 100); do
    if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$P/hello"; then up=1; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
if [ "$up" -ne 1 ]; then
    cat "$tmp/log"
    bad "server did not start"
    echo "$pass passed, $fail failed"
    exit 1
fi

# ---- basics ----
out=$(curl -s -i --max-time 5 "http://127.0.0.1:$P/hello")
case "$out" in *"HTTP/1.1 200"*) ok ;; *) bad "hello status: $out" ;; esac
case "$out" in *"Server: caddy-c"*) ok ;; *) bad "Server header: $out" ;; esac
case "$out" in *"hello, world") ok ;; *) bad "hello body" ;; esac
out=$(curl -s -i --max-time 5 "http://127.0.0.1:$P/noserver")
case "$out" in *"Server:"*) bad "Server not removed: $out" ;; *) ok ;; esac
out=$(curl -s -I --max-time 5 "http://127.0.0.1:$P/hello")
case "$out" in *"Content-Length: 12"*) ok ;; *) bad "HEAD length: $out" ;; esac
case "$out" in *"hello, world"*) bad "HEAD body" ;; *) ok ;; esac

# curl reuses one connection for two URLs
out=$(curl -s -v --max-time 5 "http://127.0.0.1:$P/hello" "http://127.0.0.1:$P/echo?x" 2>&1)
case "$out" in *"Re-using existing connection"*|*"Reusing existing connection"*) ok ;; *) bad "keep-alive reuse" ;; esac

# three pipelined requests answered in order
out=$(raw "$P" 'GET /echo?1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /echo?2 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /echo?3 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')
order=$(printf '%s' "$out" | grep -o 'GET|/echo|[0-9]' | tr -d '\n')
[ "$order" = "GET|/echo|1GET|/echo|2GET|/echo|3" ] && ok || bad "pipelining order: $order"

# request bodies (Content-Length and chunked) and the raw target
out=$(curl -s --max-time 5 --data-binary 'a+b c' "http://127.0.0.1:$P/echo/x%20y?q=1+2")
[ "$out" = "POST|/echo/x y|q=1+2|a+b c" ] && ok || bad "echo: $out"
out=$(curl -s --max-time 5 -H 'Transfer-Encoding: chunked' --data-binary 'chunky' "http://127.0.0.1:$P/echo")
[ "$out" = "POST|/echo||chunky" ] && ok || bad "chunked echo: $out"

# abort: an empty reply; close: Connection: close
curl -s --max-time 5 "http://127.0.0.1:$P/abort" >/dev/null 2>&1
[ $? -eq 52 ] && ok || bad "abort: curl should see an empty reply (52)"
out=$(raw "$P" 'GET /close HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
case "$out" in *"Connection: close"*"bye<EOF>") ok ;; *) bad "close: $out" ;; esac

# a file body through sendfile
sum=$(curl -s --max-time 10 "http://127.0.0.1:$P/files/big.bin" | sha256sum | cut -d' ' -f1)
[ "$sum" = "$(sha256sum <"$tmp/site/files/big.bin" | cut -d' ' -f1)" ] && ok || bad "big file"

# ---- refused framing: status, closed, the pipelined /hello never answered ----
H='Host: 127.0.0.1\r\n'
NEXT='GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'
refuse() { # name status request
    local out
    out=$(raw "$P" "$3$NEXT")
    case "$out" in "HTTP/1.1 $2"*) ;; *) bad "$1: want $2, got: ${out:0:60}"; return ;; esac
    case "$out" in *"hello, world"*) bad "$1: handler reached"; return ;; esac
    case "$out" in *"<EOF>") ok ;; *) bad "$1: connection left open" ;; esac
}
refuse "duplicate CL" 400 "POST /hello HTTP/1.1\r\n${H}Content-Length: 1\r\nContent-Length: 1\r\n\r\nx"
refuse "conflicting CL" 400 "POST /hello HTTP/1.1\r\n${H}Content-Length: 1\r\nContent-Length: 2\r\n\r\nxx"
refuse "CL and TE" 400 "POST /hello HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
refuse "TE gzip" 501 "POST /hello HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\n"
refuse "TE gzip, chunked" 501 "POST /hello HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"
refuse "TE list malformed" 400 "POST /hello HTTP/1.1\r\n${H}Transfer-Encoding: chunked,,\r\n\r\n0\r\n\r\n"
refuse "TE on HTTP/1.0" 400 "POST /hello HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
refuse "CR in value" 400 "GET /hello HTTP/1.1\r\n${H}X: a\rb\r\n\r\n"
refuse "NUL in value" 400 "GET /hello HTTP/1.1\r\n${H}X: a\x00b\r\n\r\n"
refuse "bad header name" 400 "GET /hello HTTP/1.1\r\n${H}X Y: z\r\n\r\n"
refuse "space before colon" 400 "GET /hello HTTP/1.1\r\nHost : 127.0.0.1\r\n\r\n"
refuse "obs-fold" 400 "GET /hello HTTP/1.1\r\n${H}X-Fold: a\r\n  b\r\n\r\n"
refuse "missing Host" 400 "GET /hello HTTP/1.1\r\n\r\n"
refuse "duplicate Host" 400 "GET /hello HTTP/1.1\r\n${H}${H}\r\n"
refuse "space in target" 400 "GET /hel lo HTTP/1.1\r\n${H}\r\n"
refuse "HTTP/2.0" 505 "GET /hello HTTP/2.0\r\n${H}\r\n"
refuse "CONNECT" 501 "CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n"
refuse "CL +5" 400 "POST /hello HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\nhello"

# ---- limits ----
big=$(head -c 100000 /dev/zero | tr '\0' a)
out=$(raw "$P" "GET /hello HTTP/1.1\r\n${H}X-Big: $big\r\n\r\n")
case "$out" in "HTTP/1.1 431"*) ok ;; *) bad "431: ${out:0:40}" ;; esac
out=$(raw "$P" "GET /$big HTTP/1.1\r\n${H}\r\n")
case "$out" in "HTTP/1.1 414"*) ok ;; *) bad "414: ${out:0:40}" ;; esac

# read_header 1s: a trickled head is cut off without a response
out=$(python3 - "$P" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n")
t0 = time.time()
s.settimeout(0.2)
res = "open"
while time.time() - t0 < 4:
    try:
        s.sendall(b"X")
        d = s.recv(100)
        res = "closed" if not d else "answered"
        break
    except socket.timeout:
        pass
    except (BrokenPipeError, ConnectionResetError):
        res = "closed"
        break
print("%s %.1f" % (res, time.time() - t0))
EOF
)
case "$out" in "closed 0."[89]*|"closed 1."*|"closed 2."[0-4]*) ok ;; *) bad "slowloris: $out" ;; esac

# still serving after all that
out=$(curl -s --max-time 5 "http://127.0.0.1:$P/hello")
[ "$out" = "hello, world" ] && ok || bad "alive at the end"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
