#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# reverse_proxy health checks against real backends (tests/upstream/upstream.py, whose
# health answer can be switched per path): active checks (health_uri, interval, fails /
# passes thresholds counted from the checks the backend answered, health_port,
# health_status, health_body, health_headers, health_method) take an upstream out of
# rotation and back; passive checks (max_fails + fail_duration with unhealthy_status,
# unhealthy_latency, unhealthy_request_count) do the same from live traffic; and the
# admin endpoint's GET /reverse_proxy/upstreams reports the addresses with their counts.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/upstream/lib.sh

ports 18
A=${PORT[0]} B=${PORT[1]} H=${PORT[2]} C=${PORT[3]} D=${PORT[4]} E=${PORT[5]} F=${PORT[6]}
G=${PORT[7]} G2=${PORT[8]}
P1=${PORT[9]} P2=${PORT[10]} P3=${PORT[11]} P4=${PORT[12]} P5=${PORT[13]}
PP1=${PORT[14]} PP2=${PORT[15]} PP3=${PORT[16]} ADM=${PORT[17]}
for p in A B H C D E F G G2; do up "${!p}" "$p" || exit 1; done
# health_status 418 + body regex: both upstreams of P4 start healthy
for p in $A $B; do curl -s -o /dev/null "http://127.0.0.1:$p/_health?path=/health4&status=418&body=alive%20and%20well"; done

rp() { # port upstreams lines...
    local port=$1 ups=$2
    shift 2
    printf ':%s {\n\tbind 127.0.0.1\n\treverse_proxy %s {\n\t\tlb_policy round_robin\n' "$port" "$ups"
    printf '\t\t%s\n' "$@"
    printf '\t}\n}\n'
}
AB="127.0.0.1:$A 127.0.0.1:$B"
{
    printf '{\n\tadmin 127.0.0.1:%s\n}\n' "$ADM"
    rp "$P1" "$AB" "health_uri /health1" "health_interval 150ms" "health_timeout 1s"
    rp "$P2" "$AB" "health_uri /health2?probe=1" "health_interval 150ms" "health_fails 3" "health_passes 3"
    rp "$P3" "$AB" "health_uri /health3" "health_port $H" "health_interval 150ms"
    rp "$P4" "$AB" "health_uri /health4" "health_interval 150ms" "health_status 418" \
        'health_body "^alive"' "health_headers {" "	X-Check probe" "	Host health.test" "}"
    rp "$P5" "$AB" "health_uri /health5" "health_interval 150ms" "health_method HEAD"
    rp "$PP1" "127.0.0.1:$C 127.0.0.1:$D" "fail_duration 2s" "max_fails 2" "unhealthy_status 5xx"
    rp "$PP2" "127.0.0.1:$E 127.0.0.1:$F" "fail_duration 2s" "unhealthy_latency 300ms"
    rp "$PP3" "127.0.0.1:$G 127.0.0.1:$G2" "fail_duration 10s" "unhealthy_request_count 1"
} >"$tmp/Caddyfile"
caddy "$tmp/Caddyfile" "$P1" /who || exit 1

# names PORT N: upstream names of N requests (one line each; a non-2xx answer gives its code)
names() {
    local i
    for ((i = 0; i < $2; i++)); do
        curl -s -m 10 -o "$tmp/n.body" -w '%{http_code}\n' "http://127.0.0.1:$1/who" >"$tmp/n.code"
        if [ "$(cat "$tmp/n.code")" -lt 300 ]; then cat "$tmp/n.body"; echo; else cat "$tmp/n.code"; fi
    done
}
count() { grep -cx "$1" <<<"$2"; }
# in_rotation PORT NAME: NAME answers one of 2 round-robin requests
in_rotation() { grep -qx "$2" <<<"$(names "$1" 2)"; }
# wait_for SECONDS CONDITION: polls every 50 ms
wait_for() {
    local end=$(($(now_ms) + $1 * 1000))
    while [ "$(now_ms)" -lt "$end" ]; do
        eval "$2" && return 0
        sleep 0.05
    done
    return 1
}
hcount() { stats "$1" "health_by_path[\"$2\"] // 0"; } # port path
hans() { stats "$1" "health_answers[\"$2\"][\"$3\"] // 0"; } # port path status: checks answered with it
sethealth() { curl -s -o /dev/null "http://127.0.0.1:$1/_health?path=$2&status=$3&body=${4:-ok}"; }

# ---- active: first checks reach both upstreams at health_uri
ok "active checks reach A and B at /health1" 'wait_for 3 "[ \$(hcount $A /health1) -gt 0 ] && [ \$(hcount $B /health1) -gt 0 ]"'
s=$(names "$P1" 4)
eq "both upstreams in rotation at first (round_robin A B)" "2 2" "$(count A "$s") $(count B "$s")"

# ---- active, health_fails/passes 1: out after one failed check, back after one good one
sethealth "$A" /health1 503
ok "A leaves rotation after /health1 answers 503" 'wait_for 3 "! in_rotation $P1 A"'
n=$(hans "$A" /health1 503)
ok "health_fails 1: out after the first failed check (failed checks seen: $n)" '[ "$n" -ge 1 ] && [ "$n" -le 3 ]'
eq "only B while A is unhealthy" "10" "$(count B "$(names "$P1" 10)")"
sethealth "$A" /health1 200
ok "A back in rotation after /health1 answers 200" 'wait_for 3 "in_rotation $P1 A"'

# ---- active, health_fails 3 / health_passes 3 (query of health_uri kept)
ok "health_uri query reaches the backend" \
    '[ "$(stats "$A" "health_last[\"/health2\"].target")" = "/health2?probe=1" ]'
sethealth "$A" /health2 500
ok "A leaves P2's rotation after failing /health2" 'wait_for 4 "! in_rotation $P2 A"'
n=$(hans "$A" /health2 500)
ok "health_fails 3: not out before 3 failed checks (failed checks seen: $n)" '[ "$n" -ge 3 ]'
ok "P1 (another handler, other health_uri) still uses A" 'in_rotation $P1 A'
c0=$(hans "$A" /health2 200) # read while it still answers 500: every later 200 is a pass
sethealth "$A" /health2 200
ok "A back in P2's rotation after passing /health2" 'wait_for 4 "in_rotation $P2 A"'
n=$(($(hans "$A" /health2 200) - c0))
ok "health_passes 3: not back before 3 passed checks (passed checks seen: $n)" '[ "$n" -ge 3 ]'

# ---- health_port: checks go to another port; all down -> 503
ok "health_port: checks reach the health port" 'wait_for 3 "[ \$(hcount $H /health3) -gt 0 ]"'
eq "health_port: upstreams' own ports get no checks" "0 0" "$(hcount "$A" /health3) $(hcount "$B" /health3)"
sethealth "$H" /health3 503
ok "health_port answering 503 takes every upstream out -> 503" \
    'wait_for 3 "[ \$(curl -s -o /dev/null -w %{http_code} http://127.0.0.1:$P3/who) = 503 ]"'
sethealth "$H" /health3 200
ok "health_port back to 200 -> served again" \
    'wait_for 3 "[ \$(curl -s -o /dev/null -w %{http_code} http://127.0.0.1:$P3/who) = 200 ]"'

# ---- health_status 418, health_body ^alive, health_headers
eq "health_status 418 with matching body: both in" "2" "$(names "$P4" 2 | sort -u | grep -c '^[AB]$')"
hl=$(stats "$A" 'health_last["/health4"]')
eq "health_headers: X-Check sent" "probe" "$(jq -r '[.headers[] | select(.[0] | ascii_downcase == "x-check") | .[1]] | join(",")' <<<"$hl")"
eq "health_headers: Host override" "health.test" "$(jq -r '[.headers[] | select(.[0] | ascii_downcase == "host") | .[1]] | join(",")' <<<"$hl")"
eq "health method defaults to GET" "GET" "$(jq -r .method <<<"$hl")"
sethealth "$A" /health4 418 dead
ok "body not matching health_body -> out" 'wait_for 3 "! in_rotation $P4 A"'
sethealth "$A" /health4 418 alive
ok "body matching again -> in" 'wait_for 3 "in_rotation $P4 A"'
sethealth "$A" /health4 200 alive
ok "2xx when health_status is 418 -> out" 'wait_for 3 "! in_rotation $P4 A"'
sethealth "$A" /health4 418 alive
ok "418 again -> in" 'wait_for 3 "in_rotation $P4 A"'

# ---- health_method HEAD
ok "health_method HEAD is used" \
    'wait_for 3 "[ \"\$(stats $B \"health_last[\\\"/health5\\\"].method\")\" = HEAD ]"'

# ---- passive: unhealthy_status 5xx, max_fails 2, fail_duration 2s
curl -s -o /dev/null "http://127.0.0.1:$C/_mode?status=500"
s=$(names "$PP1" 12)
eq "passive: C answers 500 exactly max_fails=2 times, then is out" "2 10" "$(count 500 "$s") $(count D "$s")"
curl -s -o /dev/null "http://127.0.0.1:$C/_mode"
adm=$(curl -s -m 5 "http://127.0.0.1:$ADM/reverse_proxy/upstreams")
eq "admin /reverse_proxy/upstreams lists C with its 2 fails" "2" \
    "$(jq -r --arg a "127.0.0.1:$C" '.[] | select(.address == $a) | .fails' <<<"$adm")"
ok "admin lists every upstream address ($(jq -c 'map(.address)' <<<"$adm" 2>/dev/null))" \
    '[ "$(jq -r "map(.address) | sort | join(\" \")" <<<"$adm")" = "$(printf "127.0.0.1:%s\n" $A $B $C $D $E $F $G $G2 | sort | paste -sd" ")" ]'
ok "admin entries have address, num_requests, fails" \
    '[ "$(jq -r "map(has(\"address\") and has(\"num_requests\") and has(\"fails\")) | all" <<<"$adm")" = true ]'
sleep 2.1 # fail_duration: C's failures expire
s=$(names "$PP1" 4)
eq "passive: C back after fail_duration" "2 2" "$(count C "$s") $(count D "$s")"
adm=$(curl -s -m 5 "http://127.0.0.1:$ADM/reverse_proxy/upstreams")
eq "admin: C's fails expired" "0" "$(jq -r --arg a "127.0.0.1:$C" '.[] | select(.address == $a) | .fails' <<<"$adm")"

# ---- passive: unhealthy_latency 300ms (max_fails 1)
curl -s -o /dev/null "http://127.0.0.1:$E/_mode?sleep=500"
s=$(names "$PP2" 8)
eq "passive: slow E (500 ms > 300 ms) answered once, then out" "1 7" "$(count E "$s") $(count F "$s")"
curl -s -o /dev/null "http://127.0.0.1:$E/_mode"

# ---- passive: unhealthy_request_count 1 (busy upstream unavailable while busy)
curl -s -m 10 -o /dev/null "http://127.0.0.1:$PP3/hold?ms=2000" &
hold=$!
busy=""
wait_for 3 '[ "$(stats $G active)" = 1 ] && busy=G; [ "$(stats $G2 active)" = 1 ] && busy=G2; [ -n "$busy" ]'
ok "unhealthy_request_count: the held request is on one upstream" '[ -n "$busy" ]'
adm=$(curl -s -m 5 "http://127.0.0.1:$ADM/reverse_proxy/upstreams")
bp=${!busy:-0}
eq "admin: num_requests of the busy upstream is 1" "1" \
    "$(jq -r --arg a "127.0.0.1:$bp" '.[] | select(.address == $a) | .num_requests' <<<"$adm")"
other=G2
[ "$busy" = G2 ] && other=G
s=$(names "$PP3" 6)
eq "unhealthy_request_count 1: every request avoids the busy $busy" "6" "$(count "$other" "$s")"
wait "$hold" 2>/dev/null

ok "caddy-c still running" caddy_alive
finish
