#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Framing attacks sent raw to caddy-c in front of a raw-recording backend
# (tests/upstream/upstream.py --raw: it logs every byte it receives). Each attack
# (CL+TE, double CL, TE gzip, obs-fold, CR/NUL in a value, bad names, bare-LF tricks,
# bad chunk sizes, ...) is followed on the same connection by a pipelined
# "GET /smuggled": caddy-c must refuse it with Caddy's status and close, and the backend
# must receive nothing for it. Accepted oddities (bare LF line ends) must reach the
# backend re-framed: only CRLF, only well-formed header lines. A control request first
# proves the path really reaches the backend. Finally a header_up placeholder fed with
# a decoded %0d%0a must not inject a header line.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/upstream/lib.sh

ports 3
R=${PORT[0]} P=${PORT[1]} P2=${PORT[2]}
up "$R" raw --raw "$tmp/raw.log" || exit 1
cat >"$tmp/Caddyfile" <<EOF
{
	admin off
}
:$P {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:$R
}
:$P2 {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:$R {
		header_up X-Q {http.request.uri.query.q}
	}
}
EOF
caddy "$tmp/Caddyfile" "$P" /ready || exit 1
H='Host: 127.0.0.1\r\n'
SMUGGLE='GET /smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'

# raw PORT BYTES -> sets REPLY (latin1 text) and EOF (True/False)
raw() {
    local j
    j=$("$PY" "$CLIENT" raw "$1" "$2" --timeout 3)
    {
        read -r EOF
        REPLY=$(cat)
    } < <(jq -r '.eof, .reply' <<<"$j")
}
status_of() { head -n 1 <<<"$REPLY" | awk '{print $2}'; }
# wellformed FILE: only CRLF line ends, no NUL, no obs-fold, token names in every head
wellformed() {
    "$PY" - "$1" <<'EOF'
import re, sys
data = open(sys.argv[1], "rb").read()
bad = []
if b"\x00" in data:
    bad.append("NUL")
if re.search(rb"(?<!\r)\n", data) or re.search(rb"\r(?!\n)", data):
    bad.append("bare CR or LF")
if b"smuggled" in data:
    bad.append("smuggled request reached the backend")
for head in re.findall(rb"(?:^|\r\n\r\n)([A-Z]+ [^\r\n]* HTTP/1\.1\r\n(?:[^\r\n]*\r\n)*?)\r\n", data):
    for line in head.split(b"\r\n")[1:]:
        if not line:
            continue
        if line[:1] in (b" ", b"\t"):
            bad.append("obs-fold line")
        elif not re.match(rb"^[!#$%&'*+.^_`|~0-9A-Za-z-]+:[ \t]*[^\r\n]*$", line):
            bad.append("bad header line %r" % line[:40])
print(" ".join(bad) if bad else "ok")
EOF
}

# ---- control: a normal request and a chunked POST really reach the backend
: >"$tmp/raw.log"
raw "$P" "GET /ok HTTP/1.1\r\n${H}Connection: close\r\n\r\n"
ok "control: GET proxied to the raw backend" 'grep -q "raw-ok" <<<"$REPLY" && grep -q "^GET /ok HTTP/1.1" "$tmp/raw.log"'
: >"$tmp/raw.log"
raw "$P" "POST /c HTTP/1.1\r\n${H}Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
ok "control: chunked POST proxied with its body" 'grep -q "raw-ok" <<<"$REPLY" && grep -q "hello" "$tmp/raw.log"'
eq "control: backend bytes well-formed" ok "$(wellformed "$tmp/raw.log")"

# refuse NAME STATUS BYTES: status, closed, nothing reached the backend
refuse() {
    : >"$tmp/raw.log"
    raw "$P" "$3$SMUGGLE"
    local st
    st=$(status_of)
    if [ "$st" = "$2" ] && [ "$EOF" = true ] && [ ! -s "$tmp/raw.log" ] && ! grep -q smuggled <<<"$REPLY"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        printf 'FAIL: %s\n  expected: %s, connection closed, backend received nothing\n  got:      status %s, closed %s, backend received %s bytes: %s\n' \
            "$1" "$2" "${st:-none}" "$EOF" "$(wc -c <"$tmp/raw.log")" "$(head -c 200 "$tmp/raw.log" | od -c | head -n 3 | tr -s ' ')" >&2
    fi
}
refuse "CL + TE chunked" 400 "POST /a HTTP/1.1\r\n${H}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
refuse "TE chunked + CL" 400 "POST /a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n0\r\n\r\n"
refuse "double CL, different" 400 "POST /a HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 40\r\n\r\nhello"
refuse "double CL, same" 400 "POST /a HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello"
refuse "CL list" 400 "POST /a HTTP/1.1\r\n${H}Content-Length: 5, 5\r\n\r\nhello"
refuse "CL +5" 400 "POST /a HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\nhello"
refuse "CL negative" 400 "POST /a HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n"
refuse "TE gzip" 501 "POST /a HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\n"
refuse "TE gzip, chunked" 501 "POST /a HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"
refuse "TE chunked,," 400 "POST /a HTTP/1.1\r\n${H}Transfer-Encoding: chunked,,\r\n\r\n0\r\n\r\n"
refuse "two TE headers" 400 "POST /a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
refuse "TE on HTTP/1.0" 400 "POST /a HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
refuse "space before colon (TE)" 400 "POST /a HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n"
refuse "obs-fold" 400 "GET /a HTTP/1.1\r\n${H}X-Fold: a\r\n  b\r\n\r\n"
refuse "obs-fold hiding TE" 400 "POST /a HTTP/1.1\r\n${H}Content-Length: 5\r\nX-Foo: x\r\n Transfer-Encoding: chunked\r\n\r\nhello"
refuse "CR in value" 400 "GET /a HTTP/1.1\r\n${H}X-A: a\rb\r\n\r\n"
refuse "CR-only line end in value" 400 "GET /a HTTP/1.1\r\n${H}X-A: a\rX-Injected: 1\r\n\r\n"
refuse "NUL in value" 400 "GET /a HTTP/1.1\r\n${H}X-A: a\x00b\r\n\r\n"
refuse "space in name" 400 "GET /a HTTP/1.1\r\n${H}X A: z\r\n\r\n"
refuse "space in target" 400 "GET /a b HTTP/1.1\r\n${H}\r\n"
refuse "missing Host" 400 "GET /a HTTP/1.1\r\n\r\n"
refuse "duplicate Host" 400 "GET /a HTTP/1.1\r\n${H}${H}\r\n"

# bad body framing after good headers: the request may already be on its way upstream,
# but caddy-c must stop, close, and never pass on what follows
bodyfail() { # name bytes
    : >"$tmp/raw.log"
    raw "$P" "$2$SMUGGLE"
    local st wf
    st=$(status_of)
    wf=$(wellformed "$tmp/raw.log")
    if [ "$EOF" = true ] && [ "$wf" = ok ] && ! grep -q smuggled <<<"$REPLY" && ! grep -q "raw-ok" <<<"$REPLY"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        printf 'FAIL: %s\n  expected: no upstream answer relayed, connection closed, backend bytes well-formed and no /smuggled\n  got:      status %s, closed %s, backend: %s\n' \
            "$1" "${st:-none}" "$EOF" "$wf" >&2
    fi
}
bodyfail "chunk size overflow" "POST /a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\nx\r\n0\r\n\r\n"
bodyfail "chunk size 0x5" "POST /a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n"
bodyfail "chunk data longer than its size" "POST /a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n"

# ---- accepted oddities are re-framed for the backend
: >"$tmp/raw.log"
raw "$P" "GET /lf HTTP/1.1\nHost: 127.0.0.1\nX-A: 1\nConnection: close\n\n"
ok "bare-LF request accepted" 'grep -q "raw-ok" <<<"$REPLY"'
eq "bare-LF request re-framed with CRLF for the backend" ok "$(wellformed "$tmp/raw.log")"
ok "bare-LF request reached the backend" 'grep -q "^GET /lf HTTP/1.1" "$tmp/raw.log"'
: >"$tmp/raw.log"
raw "$P" "POST /lfc HTTP/1.1\r\n${H}Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n"
eq "bare-LF chunk framing: backend bytes well-formed" ok "$(wellformed "$tmp/raw.log")"
ok "bare-LF chunk framing: the 5 body bytes arrive (or the request is refused)" \
    'grep -q hello "$tmp/raw.log" || [ ! -s "$tmp/raw.log" ]'
: >"$tmp/raw.log"
raw "$P" "GET /p1 HTTP/1.1\r\n${H}\r\nGET /p2 HTTP/1.1\r\n${H}Connection: close\r\n\r\n"
eq "two pipelined requests: both answered" "2" "$(grep -c raw-ok <<<"$REPLY")"
eq "two pipelined requests: both well-formed upstream" "ok 2" \
    "$(wellformed "$tmp/raw.log") $(grep -c '^GET /p[12] HTTP/1.1' "$tmp/raw.log")"

# ---- a decoded %0d%0a in a header_up placeholder must not inject a header line
: >"$tmp/raw.log"
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P2/q?q=a%0d%0aX-Injected:%201")
ok "CRLF from a placeholder never becomes a header line (status $code)" \
    '! grep -qai "^X-Injected" "$tmp/raw.log"'
eq "... backend bytes well-formed" ok "$(wellformed "$tmp/raw.log")"

ok "caddy-c still running" caddy_alive
finish
