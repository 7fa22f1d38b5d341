#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# reverse_proxy retries (caddy-reference.md 4.1) with real backends: a dead port (dial
# failure), X (tests/upstream/upstream.py in close mode: reads the request, then closes
# without answering: a transport error after the connection was made) and A (echo).
# Dial failures are always retried (even POST); transport errors only for GET unless
# lb_retry_match matches; lb_retries bounds the attempts, lb_try_duration/lb_try_interval
# bound the time; a request body is replayed only when request_buffers holds it.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/upstream/lib.sh

ports 12
A=${PORT[0]} X=${PORT[1]} DEAD=${PORT[2]}
R0=${PORT[3]} R1=${PORT[4]} R2=${PORT[5]} R3=${PORT[6]} R4=${PORT[7]} R5=${PORT[8]} R6=${PORT[9]} R7=${PORT[10]}
up "$A" A && up "$X" X || exit 1
curl -s -o /dev/null "http://127.0.0.1:$X/_mode?close=1"

rp() { # port upstreams lines...
    local port=$1 ups=$2
    shift 2
    printf ':%s {\n\tbind 127.0.0.1\n\treverse_proxy %s {\n' "$port" "$ups"
    printf '\t\t%s\n' "$@"
    printf '\t}\n}\n'
}
{
    printf '{\n\tadmin off\n}\n'
    rp "$R0" "127.0.0.1:$DEAD 127.0.0.1:$A" "lb_policy round_robin"
    rp "$R1" "127.0.0.1:$DEAD 127.0.0.1:$A" "lb_policy round_robin" "lb_try_duration 2s"
    rp "$R2" "127.0.0.1:$X" "lb_retries 2"
    rp "$R3" "127.0.0.1:$X" "lb_try_duration 1s" "lb_try_interval 250ms"
    # lb_policy first + passive health (max_fails 1): a failed attempt takes the upstream
    # out, so the retry goes to the next one (Caddy's Select has no memory of tries)
    rp "$R4" "127.0.0.1:$X 127.0.0.1:$A" "lb_policy first" "lb_try_duration 2s" "lb_try_interval 50ms" \
        "fail_duration 1s"
    rp "$R5" "127.0.0.1:$X 127.0.0.1:$A" "lb_policy first" "lb_try_duration 1s" "lb_try_interval 50ms" \
        "fail_duration 1s" "lb_retry_match {" "	method POST" "}"
    rp "$R6" "127.0.0.1:$DEAD 127.0.0.1:$A" "lb_policy first" "lb_try_duration 2s" "lb_try_interval 50ms" \
        "fail_duration 1s"
    rp "$R7" "127.0.0.1:$X 127.0.0.1:$A" "lb_policy first" "lb_try_duration 2s" "lb_try_interval 50ms" \
        "fail_duration 1s" "request_buffers 1MB" "lb_retry_match {" "	method POST" "}"
} >"$tmp/Caddyfile"
caddy "$tmp/Caddyfile" "$R0" /who || exit 1

codes() { # port n [curl args]: status codes of n requests, space separated
    local port=$1 n=$2 i out=""
    shift 2
    for ((i = 0; i < n; i++)); do
        out="$out $(curl -s -m 10 -o /dev/null -w '%{http_code}' "$@" "http://127.0.0.1:$port/who")"
    done
    echo "${out# }"
}
# passive failures are shared by address across handlers: let them expire between cases
settle() { sleep 1.1; }
cnt() { tr ' ' '\n' <<<"$2" | grep -cx "$1"; }
xreq() { stats "$X" requests; }
post_log() { stats "$A" log | jq -c '[.[] | select(.[0] == "POST") | .[2]]'; }
head -c 100000 /dev/urandom >"$tmp/body"
sha=$(sha256sum <"$tmp/body" | cut -d' ' -f1)
post() { # port: POSTs the 100 KB body to /echo; prints "code sha-or-empty"
    curl -s -m 15 -o "$tmp/post.out" -w '%{http_code}' --data-binary @"$tmp/body" \
        -H 'Content-Type: application/octet-stream' "http://127.0.0.1:$1/echo" >"$tmp/post.code"
    echo "$(cat "$tmp/post.code") $(jq -r '.body_sha256 // empty' "$tmp/post.out" 2>/dev/null)"
}

# ---- dial failures
c=$(codes "$R0" 10)
eq "no retries: round_robin over a dead port fails every other request with 502" "5 5" \
    "$(cnt 502 "$c") $(cnt 200 "$c")"
c=$(codes "$R1" 10)
eq "lb_try_duration: dial failures retried, all 10 answered" "10" "$(cnt 200 "$c")"
eq "POST after a dial failure is retried with its body (no buffering needed)" "200 $sha" "$(post "$R6")"

# ---- transport errors after connecting: GET retried, lb_retries bounds it
reset "$X"
eq "lb_retries 2: GET to a closing upstream -> 502" "502" "$(codes "$R2" 1)"
eq "lb_retries 2: 1 try + 2 retries reached the upstream" "3" "$(xreq)"

reset "$X"
t0=$(now_ms)
c=$(codes "$R3" 1)
el=$(($(now_ms) - t0))
n=$(xreq)
eq "lb_try_duration 1s: GET to a closing upstream -> 502" "502" "$c"
ok "lb_try_duration 1s + lb_try_interval 250ms: 3..6 tries (got $n)" '[ "$n" -ge 3 ] && [ "$n" -le 6 ]'
ok "lb_try_duration 1s: gave up after ~1 s (took $el ms)" '[ "$el" -ge 900 ] && [ "$el" -lt 2500 ]'

# ---- method rules
settle
reset "$X"
reset "$A"
eq "GET after a transport error is retried to the next upstream" "200" "$(codes "$R4" 1)"
eq "... X saw it once, A once" "1 1" "$(xreq) $(stats "$A" requests)"
settle
reset "$X"
reset "$A"
r=$(post "$R4")
eq "POST after a transport error is not retried -> 502" "502" "${r%% *}"
eq "... X saw it once, A never" "1 0" "$(xreq) $(stats "$A" requests)"

# lb_retry_match { method POST }: POST retried, GET no longer retried by default
settle
reset "$X"
reset "$A"
eq "lb_retry_match without POST: GET not retried -> 502" "502" "$(codes "$R5" 1)"
eq "... A never saw the GET" "0" "$(stats "$A" requests)"
settle
reset "$X"
reset "$A"
r=$(post "$R5")
eq "POST matched but body not buffered: not replayed -> 502" "502" "${r%% *}"
eq "... A never received a POST with a missing or partial body" "[]" "$(post_log)"

# request_buffers: the buffered body is replayed in full
settle
reset "$X"
reset "$A"
eq "request_buffers + lb_retry_match POST: retried with the whole body" "200 $sha" "$(post "$R7")"
eq "... X saw it once, A once with all 100000 bytes" "1 [100000]" "$(xreq) $(post_log)"

ok "caddy-c still running" caddy_alive
finish
