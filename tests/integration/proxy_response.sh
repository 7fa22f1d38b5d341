#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# reverse_proxy response handling with a real backend (tests/upstream/upstream.py
# answers any status and headers on request): handle_response with status and header
# matchers, {rp.status_code} / {rp.header.*} placeholders, copy_response with a status,
# copy_response_headers include / exclude, replace_status with and without a matcher;
# and the error statuses 502 (dial failure), 503 (no upstream available) and 504
# (response_header_timeout), bare and rendered through handle_errors.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/upstream/lib.sh

ports 10
U=${PORT[0]} DEAD=${PORT[1]} S1=${PORT[2]} S2=${PORT[3]} S3=${PORT[4]} S4=${PORT[5]} S5=${PORT[6]}
S6=${PORT[7]} S7=${PORT[8]} DEAD2=${PORT[9]}
up "$U" U || exit 1
cat >"$tmp/Caddyfile" <<EOF
{
	admin off
}
:$S1 {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:$U {
		@err status 5xx
		handle_response @err {
			respond "handled {rp.status_code} {rp.header.X-Info}"
		}
		@tea status 418
		handle_response @tea {
			header X-Got "{rp.status_code}"
			copy_response 202
		}
		@incl header X-Kind incl
		handle_response @incl {
			copy_response_headers {
				include X-A
			}
			respond "route"
		}
		@excl header X-Kind excl
		handle_response @excl {
			copy_response_headers {
				exclude X-B
			}
			respond "route"
		}
	}
}
:$S2 {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:$U {
		@nf status 404
		replace_status @nf 200
		@code header X-Code c
		replace_status @code 299
	}
}
:$S3 {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:$U {
		replace_status 203
	}
}
# dial failure: 502, then 503 once passive health marks the only upstream down
:$S4 {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:$DEAD {
		fail_duration 30s
	}
}
:$S5 {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:$U {
		transport http {
			response_header_timeout 300ms
		}
	}
}
# the same errors rendered by handle_errors
:$S6 {
	bind 127.0.0.1
	reverse_proxy /dead* 127.0.0.1:$DEAD2 {
		fail_duration 30s
	}
	reverse_proxy /slow* 127.0.0.1:$U {
		transport http {
			response_header_timeout 300ms
		}
	}
	handle_errors {
		respond "err {err.status_code} {err.status_text}" {err.status_code}
	}
}
:$S7 {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:$U
}
EOF
caddy "$tmp/Caddyfile" "$S7" /who || exit 1

# get PORT TARGET: sets CODE, BODY, HDRS (lower-cased names, CR stripped)
get() {
    CODE=$(curl -s -m 10 -D "$tmp/h" -o "$tmp/b" -w '%{http_code}' "http://127.0.0.1:$1$2")
    BODY=$(cat "$tmp/b")
    HDRS=$(tr -d '\r' <"$tmp/h")
}
hv() { grep -i "^$1:" <<<"$HDRS" | cut -d' ' -f2- | paste -sd'|'; }

# ---- handle_response
get "$S1" "/who?status=503&hdr=X-Info:zzz"
eq "handle_response @status 5xx: the route's response with {rp.status_code} {rp.header.X-Info}" \
    "200 handled 503 zzz" "$CODE $BODY"
get "$S1" "/who?status=500&hdr=X-Info:i2"
eq "handle_response: upstream body not copied" "handled 500 i2" "$BODY"
get "$S1" "/who"
eq "no handle_response matched: upstream response as is" "200 U" "$CODE $BODY"
get "$S1" "/who?status=418&hdr=X-A:1&hdr=X-B:2"
eq "copy_response 202: status replaced, body copied" "202 U" "$CODE $BODY"
eq "copy_response: upstream headers copied once" "1 2" "$(hv x-a) $(hv x-b)"
eq "header directive in handle_response sees {rp.status_code}" "418" "$(hv x-got)"
get "$S1" "/who?hdr=X-Kind:incl&hdr=X-A:1&hdr=X-B:2"
eq "handle_response @header: the route's response" "200 route" "$CODE $BODY"
eq "copy_response_headers include X-A: only X-A copied" "1||" "$(hv x-a)|$(hv x-b)|$(hv x-kind)"
get "$S1" "/who?hdr=X-Kind:excl&hdr=X-A:1&hdr=X-B:2"
eq "copy_response_headers exclude X-B: the others copied, X-B not" "1||excl" "$(hv x-a)|$(hv x-b)|$(hv x-kind)"

# ---- replace_status
get "$S2" "/who?status=404"
eq "replace_status @status 404 -> 200, body kept" "200 U" "$CODE $BODY"
get "$S2" "/who?hdr=X-Code:c"
eq "replace_status @header -> 299" "299 U" "$CODE $BODY"
get "$S2" "/who?status=500"
eq "replace_status: other statuses untouched" "500 U" "$CODE $BODY"
get "$S3" "/who?status=201&hdr=X-A:1"
eq "replace_status without matcher: every response, headers kept" "203 U 1" "$CODE $BODY $(hv x-a)"

# ---- errors
get "$S4" /who
eq "dial failure -> 502, empty body" "502 " "$CODE $BODY"
get "$S4" /who
eq "only upstream down (passive) -> 503, empty body" "503 " "$CODE $BODY"
t0=$(now_ms)
get "$S5" "/who?sleep=1500"
el=$(($(now_ms) - t0))
eq "response_header_timeout 300ms -> 504, empty body" "504 " "$CODE $BODY"
ok "504 after ~300 ms (took $el ms)" '[ "$el" -ge 250 ] && [ "$el" -lt 1400 ]'
get "$S5" "/who?sleep=100"
eq "answer within response_header_timeout -> 200" "200 U" "$CODE $BODY"

get "$S6" /dead
eq "handle_errors renders 502" "502 err 502 Bad Gateway" "$CODE $BODY"
get "$S6" /dead
eq "handle_errors renders 503" "503 err 503 Service Unavailable" "$CODE $BODY"
get "$S6" "/slow?sleep=1500"
eq "handle_errors renders 504" "504 err 504 Gateway Timeout" "$CODE $BODY"
get "$S6" "/slow"
eq "site with handle_errors still proxies normally" "200 U" "$CODE $(jq -r .server <<<"$BODY" 2>/dev/null)"

ok "caddy-c still running" caddy_alive
finish
