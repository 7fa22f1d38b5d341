#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# reverse_proxy headers (caddy-reference.md 4.1) through the real binary and an echo
# backend (tests/upstream/upstream.py): Host passed through, hop-by-hop fields (and those
# named in Connection) removed in both directions, X-Forwarded-For/-Proto/-Host for
# untrusted and trusted peers (handler-level trusted_proxies and the server-level
# `trusted_proxies static` + `client_ip_headers`, which also feed {client_ip}), Via,
# header_up / header_down with every op, and the raw request target forwarded byte for
# byte.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/upstream/lib.sh

ports 6
U=${PORT[0]} P0=${PORT[1]} P1=${PORT[2]} P2=${PORT[3]} P3=${PORT[4]} P4=${PORT[5]}
up "$U" echo || exit 1

cat >"$tmp/Caddyfile" <<EOF
{
	admin off
	servers 127.0.0.1:$P2 {
		trusted_proxies static 127.0.0.1/32
		client_ip_headers X-Real-IP
	}
}
# untrusted peer: the defaults
:$P0 {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:$U {
		header_up X-Client-IP {client_ip}
	}
}
# handler-level trusted_proxies
:$P1 {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:$U {
		trusted_proxies 127.0.0.1/32
	}
}
# server-level trusted_proxies + client_ip_headers
:$P2 {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:$U {
		header_up X-Client-IP {client_ip}
	}
}
# header_up / header_down ops
:$P3 {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:$U {
		header_up X-Set "set-{method}"
		header_up +X-Add "a2"
		header_up -X-Del
		header_up -X-Wild-*
		header_up X-Rep "foo(\d+)" "bar\$1"
		header_up >X-Gt "gt"
		header_up X-Up {upstream_hostport}
		header_down X-DSet "dset"
		header_down +X-DAdd "d2"
		header_down -X-DDel
		header_down X-DRep "old(\d+)" "new\$1"
		header_down >X-DGt "dgt"
		header_down X-Status "{http.reverse_proxy.status_code}"
	}
}
# Host override and suppressed X-Forwarded-For
:$P4 {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:$U {
		header_up Host {upstream_hostport}
		header_up -X-Forwarded-For
	}
}
EOF
caddy "$tmp/Caddyfile" "$P0" || exit 1

# req PORT TARGET [curl args]: the echo JSON of a proxied request
req() {
    local port=$1 target=$2
    shift 2
    curl -s -m 10 --path-as-is "$@" "http://127.0.0.1:$port$target"
}

# ---- Host, method, raw target, duplicates, missing User-Agent
j=$(req "$P0" /h -H 'Host: example.test:1234')
eq "Host passed through unchanged" "example.test:1234" "$(ehdr "$j" host)"
j=$(req "$P0" '/a%2Fb/../c%20d?x=%2B&y=a+b&z=%26' )
eq "raw target forwarded byte-identical" '/a%2Fb/../c%20d?x=%2B&y=a+b&z=%26' "$(jq -r .target <<<"$j")"
j=$(req "$P0" '//double//slash/./x?' )
eq "raw target with // and ./ and empty query kept" '//double//slash/./x?' "$(jq -r .target <<<"$j")"
j=$(req "$P0" '/%7euser/%E2%82%AC?q=%zz' )
eq "raw target with invalid escape kept" '/%7euser/%E2%82%AC?q=%zz' "$(jq -r .target <<<"$j")"
j=$(req "$P0" /m -X PATCH -d 'abc')
eq "method and body passed" "PATCH 3" "$(jq -r '"\(.method) \(.body_len)"' <<<"$j")"
j=$(req "$P0" /dup -H 'X-Dup: 1' -H 'X-Dup: 2')
eq "repeated request header kept in order" "1 | 2" "$(ehdr "$j" x-dup)"
j=$(req "$P0" /noua -H 'User-Agent:')
eq "missing User-Agent stays missing" "<none>" "$(ehdr "$j" user-agent)"
eq "upstream speaks HTTP/1.1" "HTTP/1.1" "$(jq -r .version <<<"$j")"

# ---- hop-by-hop, request side
j=$(req "$P0" /hop -H 'Connection: keep-alive, X-Hop' -H 'X-Hop: 1' -H 'Keep-Alive: timeout=5' \
    -H 'Proxy-Connection: keep-alive' -H 'Proxy-Authorization: Basic Zm9vOmJhcg==' \
    -H 'Te: trailers, deflate' -H 'Trailer: X-T' -H 'Alt-Svc: h3=":443"' -H 'X-Keep: yes')
for h in connection x-hop keep-alive proxy-connection proxy-authorization trailer alt-svc; do
    eq "request hop-by-hop $h removed" "<none>" "$(ehdr "$j" "$h")"
done
eq "Te kept as 'trailers'" "trailers" "$(ehdr "$j" te)"
eq "end-to-end header kept" "yes" "$(ehdr "$j" x-keep)"
j=$(req "$P0" /hop2 -H 'Te: deflate' -H 'Upgrade: foo')
eq "Te without trailers removed" "<none>" "$(ehdr "$j" te)"
eq "Upgrade without Connection: upgrade removed" "<none>" "$(ehdr "$j" upgrade)"
j=$(req "$P0" /hop3 -H 'Connection: close, X-A, x-b' -H 'X-A: 1' -H 'X-B: 2' -H 'X-C: 3')
eq "all Connection-listed fields removed (case-insensitive)" "<none> <none> 3" \
    "$(ehdr "$j" x-a) $(ehdr "$j" x-b) $(ehdr "$j" x-c)"

# ---- hop-by-hop, response side; Server and Via
hd=$(curl -s -m 10 -D - -o /dev/null \
    "http://127.0.0.1:$P0/who?hdr=Connection:X-RHop&hdr=X-RHop:1&hdr=Keep-Alive:timeout%3D9&hdr=Proxy-Authenticate:Basic&hdr=Trailer:X-T&hdr=Upgrade:foo&hdr=Alt-Svc:h3%3D%22:1%22&hdr=X-Fine:yes&hdr=Set-Cookie:a%3D1&hdr=Set-Cookie:b%3D2" | tr -d '\r')
for h in x-rhop keep-alive proxy-authenticate trailer upgrade alt-svc; do
    ok "response hop-by-hop $h removed" '! grep -qi "^$h:" <<<"$hd"'
done
ok "response Connection does not carry the upstream's tokens" '! grep -i "^connection:" <<<"$hd" | grep -qi x-rhop'
ok "end-to-end response header kept" 'grep -qi "^x-fine: yes" <<<"$hd"'
eq "both Set-Cookie kept" "2" "$(grep -ci '^set-cookie:' <<<"$hd")"
eq "response Via" "1.1 Caddy" "$(grep -i '^via:' <<<"$hd" | cut -d' ' -f2- | paste -sd'|')"
eq "upstream Server passed, no own Server (Caddy #6275)" "upstream" "$(grep -i '^server:' <<<"$hd" | cut -d' ' -f2- | paste -sd'|')"
j=$(req "$P0" /via)
eq "request Via added" "1.1 Caddy" "$(ehdr "$j" via)"
code=$(curl -s -m 10 -o "$tmp/body" -w '%{http_code}' "http://127.0.0.1:$P0/who?status=418")
eq "upstream status and body passed" "418 echo" "$code $(cat "$tmp/body")"

# ---- X-Forwarded-*: untrusted peer
j=$(req "$P0" /xf -H 'Host: orig.test' -H 'X-Forwarded-For: 1.2.3.4' -H 'X-Forwarded-Proto: https' \
    -H 'X-Forwarded-Host: evil.test' -H 'X-Real-IP: 9.9.9.9')
eq "untrusted: X-Forwarded-For replaced by the peer" "127.0.0.1" "$(ehdr "$j" x-forwarded-for)"
eq "untrusted: X-Forwarded-Proto = http" "http" "$(ehdr "$j" x-forwarded-proto)"
eq "untrusted: X-Forwarded-Host = original Host" "orig.test" "$(ehdr "$j" x-forwarded-host)"
eq "untrusted: {client_ip} is the peer" "127.0.0.1" "$(ehdr "$j" x-client-ip)"
j=$(req "$P0" /xf2 -H 'Host: orig.test')
eq "no prior X-Forwarded-For: peer" "127.0.0.1" "$(ehdr "$j" x-forwarded-for)"
eq "X-Forwarded-Host set from Host" "orig.test" "$(ehdr "$j" x-forwarded-host)"

# ---- handler-level trusted_proxies
j=$(req "$P1" /xf -H 'Host: orig.test' -H 'X-Forwarded-For: 1.2.3.4' -H 'X-Forwarded-Proto: https' \
    -H 'X-Forwarded-Host: front.test')
eq "trusted (handler): X-Forwarded-For appended" "1.2.3.4, 127.0.0.1" "$(ehdr "$j" x-forwarded-for)"
eq "trusted (handler): X-Forwarded-Proto kept" "https" "$(ehdr "$j" x-forwarded-proto)"
eq "trusted (handler): X-Forwarded-Host kept" "front.test" "$(ehdr "$j" x-forwarded-host)"
j=$(req "$P1" /xf -H 'X-Forwarded-For: 1.1.1.1' -H 'X-Forwarded-For: 2.2.2.2')
eq "trusted: repeated X-Forwarded-For folded, then appended" "1.1.1.1, 2.2.2.2, 127.0.0.1" "$(ehdr "$j" x-forwarded-for)"
# a peer outside the trusted range (127.0.0.2 is loopback but not 127.0.0.1/32)
j=$(req "$P1" /xf --interface 127.0.0.2 -H 'X-Forwarded-For: 1.2.3.4' -H 'X-Forwarded-Proto: https')
eq "peer outside handler trusted_proxies: X-Forwarded-For replaced" "127.0.0.2" "$(ehdr "$j" x-forwarded-for)"
eq "peer outside handler trusted_proxies: X-Forwarded-Proto = http" "http" "$(ehdr "$j" x-forwarded-proto)"

# ---- server-level trusted_proxies and client_ip_headers
j=$(req "$P2" /xf -H 'X-Forwarded-For: 1.2.3.4' -H 'X-Forwarded-Proto: https' -H 'X-Real-IP: 9.9.9.9')
eq "trusted (server): X-Forwarded-For appended" "1.2.3.4, 127.0.0.1" "$(ehdr "$j" x-forwarded-for)"
eq "trusted (server): X-Forwarded-Proto kept" "https" "$(ehdr "$j" x-forwarded-proto)"
eq "client_ip_headers X-Real-IP feeds {client_ip}" "9.9.9.9" "$(ehdr "$j" x-client-ip)"
j=$(req "$P2" /xf -H 'X-Forwarded-For: 1.2.3.4')
eq "client_ip_headers without X-Real-IP: {client_ip} = peer" "127.0.0.1" "$(ehdr "$j" x-client-ip)"
j=$(req "$P2" /xf --interface 127.0.0.2 -H 'X-Real-IP: 9.9.9.9' -H 'X-Forwarded-For: 1.2.3.4')
eq "untrusted peer: X-Real-IP ignored for {client_ip}" "127.0.0.2" "$(ehdr "$j" x-client-ip)"
eq "untrusted peer (server list): X-Forwarded-For replaced" "127.0.0.2" "$(ehdr "$j" x-forwarded-for)"

# ---- header_up ops
j=$(req "$P3" /ops -X PUT -H 'X-Set: client' -H 'X-Add: a1' -H 'X-Del: gone' -H 'X-Wild-One: 1' \
    -H 'X-Wild-Two: 2' -H 'X-Rep: foo42' -H 'X-Other: stays')
eq "header_up set (with placeholder)" "set-PUT" "$(ehdr "$j" x-set)"
eq "header_up +add keeps the client's value" "a1 | a2" "$(ehdr "$j" x-add)"
eq "header_up -delete" "<none>" "$(ehdr "$j" x-del)"
eq "header_up -prefix* deletes all matching" "<none> <none>" "$(ehdr "$j" x-wild-one) $(ehdr "$j" x-wild-two)"
eq "header_up regexp replace" "bar42" "$(ehdr "$j" x-rep)"
eq "header_up >set" "gt" "$(ehdr "$j" x-gt)"
eq "header_up {upstream_hostport}" "127.0.0.1:$U" "$(ehdr "$j" x-up)"
eq "other header untouched" "stays" "$(ehdr "$j" x-other)"

# ---- header_down ops
hd=$(curl -s -m 10 -D - -o /dev/null \
    "http://127.0.0.1:$P3/who?status=203&hdr=X-DSet:up&hdr=X-DAdd:d1&hdr=X-DDel:x&hdr=X-DRep:old7" | tr -d '\r')
hv() { grep -i "^$1:" <<<"$hd" | cut -d' ' -f2- | paste -sd'|'; }
eq "header_down set" "dset" "$(hv x-dset)"
eq "header_down +add" "d1|d2" "$(hv x-dadd)"
eq "header_down -delete" "" "$(hv x-ddel)"
eq "header_down regexp replace" "new7" "$(hv x-drep)"
eq "header_down >set" "dgt" "$(hv x-dgt)"
eq "header_down {http.reverse_proxy.status_code}" "203" "$(hv x-status)"
# '?' (default) is for the header directive only: reverse_proxy refuses it (Caddy's text)
printf ':1 {\n\treverse_proxy 127.0.0.1:1 {\n\t\theader_down ?X-D v\n\t}\n}\n' >"$tmp/bad.Caddyfile"
msg=$("$CADDYC" adapt --config "$tmp/bad.Caddyfile" 2>&1 >/dev/null)
ok "header_down ?field refused like Caddy (got: $msg)" \
    'grep -q "the default header modifier (.?.) can only be used on response headers" <<<"$msg"'

# ---- Host override, X-Forwarded-For suppressed
j=$(req "$P4" /h -H 'Host: example.test' -H 'X-Forwarded-For: 1.2.3.4')
eq "header_up Host {upstream_hostport}" "127.0.0.1:$U" "$(ehdr "$j" host)"
eq "header_up -X-Forwarded-For suppresses it" "<none>" "$(ehdr "$j" x-forwarded-for)"
eq "X-Forwarded-Host is still the client's Host" "example.test" "$(ehdr "$j" x-forwarded-host)"

ok "caddy-c still running" caddy_alive
finish
