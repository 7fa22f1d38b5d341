#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# reverse_proxy load balancing over three real backends (tests/upstream/upstream.py,
# named A, B, C): round_robin order, weighted_round_robin counts, first with failover
# and return, ip_hash / client_ip_hash / uri_hash / header / query / cookie stickiness
# (the lb cookie is Caddy's HMAC-SHA256 of the dial address), fallback, least_conn
# avoiding a busy upstream, random and random_choose spreading over all upstreams.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/upstream/lib.sh

ports 16
A=${PORT[0]} B=${PORT[1]} C=${PORT[2]}
PRR=${PORT[3]} PW=${PORT[4]} PF=${PORT[5]} PIP=${PORT[6]} PCIP=${PORT[7]} PURI=${PORT[8]}
PH=${PORT[9]} PQ=${PORT[10]} PCK=${PORT[11]} PLC=${PORT[12]} PRND=${PORT[13]} PRC=${PORT[14]}
up "$A" A && up "$B" B && up "$C" C || exit 1
ABC="127.0.0.1:$A 127.0.0.1:$B 127.0.0.1:$C"

site() { # port policy-line [more lines]
    local port=$1
    shift
    printf ':%s {\n\tbind 127.0.0.1\n\treverse_proxy %s {\n' "$port" "$ABC"
    printf '\t\t%s\n' "$@"
    printf '\t}\n}\n'
}
{
    printf '{\n\tadmin off\n\tservers 127.0.0.1:%s {\n\t\ttrusted_proxies static 127.0.0.1/32\n\t}\n}\n' "$PCIP"
    site "$PRR" "lb_policy round_robin"
    site "$PW" "lb_policy weighted_round_robin 3 1 0"
    site "$PF" "lb_policy first" "lb_try_duration 2s" "lb_try_interval 50ms" "fail_duration 1s"
    site "$PIP" "lb_policy ip_hash"
    site "$PCIP" "lb_policy client_ip_hash"
    site "$PURI" "lb_policy uri_hash"
    site "$PH" "lb_policy header X-User {" "	fallback first" "}"
    site "$PQ" "lb_policy query user"
    site "$PCK" "lb_policy cookie lbc s3cret"
    site "$PLC" "lb_policy least_conn"
    site "$PRND" "lb_policy random"
    site "$PRC" "lb_policy random_choose 2"
} >"$tmp/Caddyfile"
caddy "$tmp/Caddyfile" "$PRR" /who || exit 1

# names PORT N PATH [curl args]: the upstream names of N requests on one keep-alive
# connection, one per line
names() {
    local port=$1 n=$2 path=$3 i urls=()
    shift 3
    for ((i = 0; i < n; i++)); do urls+=("http://127.0.0.1:$port$path"); done
    curl -s -m 20 -w '\n' "$@" "${urls[@]}"
}
count() { grep -cx "$1" <<<"$2"; } # name list

# ---- round_robin: config order, cyclic, each equally
s=$(names "$PRR" 9 /who)
eq "round_robin: 9 answers" 9 "$(grep -c . <<<"$s")"
good=1
prev=""
for n in $s; do
    if [ -n "$prev" ]; then
        case "$prev$n" in AB | BC | CA) ;; *) good=0 ;; esac
    fi
    prev=$n
done
ok "round_robin visits A B C in config order (got: $(echo $s))" '[ "$good" = 1 ]'
eq "round_robin: 3 each" "3 3 3" "$(count A "$s") $(count B "$s") $(count C "$s")"

# ---- weighted_round_robin 3 1 0
s=$(names "$PW" 40 /who)
eq "weighted_round_robin 3 1 0 over 40 requests" "30 10 0" "$(count A "$s") $(count B "$s") $(count C "$s")"

# ---- ip_hash: each peer address sticks to one upstream; addresses spread
declare -A seen=()
sticky=1
for i in $(seq 1 12); do
    s=$(names "$PIP" 3 /who --interface "127.0.0.$i")
    [ "$(sort -u <<<"$s" | grep -c .)" = 1 ] || sticky=0
    seen[$(head -n 1 <<<"$s")]=1
done
ok "ip_hash: every peer address always gets the same upstream" '[ "$sticky" = 1 ]'
ok "ip_hash: 12 peer addresses use more than one upstream (${!seen[*]})" '[ "${#seen[@]}" -gt 1 ]'

# ---- client_ip_hash (server trusts 127.0.0.1; client IP from X-Forwarded-For)
seen=()
sticky=1
for i in $(seq 1 12); do
    s=$(names "$PCIP" 3 /who -H "X-Forwarded-For: 10.0.0.$i")
    [ "$(sort -u <<<"$s" | grep -c .)" = 1 ] || sticky=0
    seen[$(head -n 1 <<<"$s")]=1
done
ok "client_ip_hash: every client IP always gets the same upstream" '[ "$sticky" = 1 ]'
ok "client_ip_hash: 12 client IPs use more than one upstream (${!seen[*]})" '[ "${#seen[@]}" -gt 1 ]'
s=$(names "$PCIP" 6 /who -H "X-Forwarded-For: 10.0.0.1" --interface 127.0.0.2)
s2=$(names "$PCIP" 6 /who -H "X-Forwarded-For: 10.0.0.2" --interface 127.0.0.2)
ok "client_ip_hash: untrusted peer hashed by its own address (X-Forwarded-For ignored)" \
    '[ "$(printf "%s\n%s\n" "$s" "$s2" | sort -u | grep -c .)" = 1 ]'

# ---- uri_hash
seen=()
sticky=1
for i in $(seq 1 12); do
    s=$(names "$PURI" 3 "/who?page=$i")
    [ "$(sort -u <<<"$s" | grep -c .)" = 1 ] || sticky=0
    seen[$(head -n 1 <<<"$s")]=1
done
ok "uri_hash: every URI always gets the same upstream" '[ "$sticky" = 1 ]'
ok "uri_hash: 12 URIs use more than one upstream (${!seen[*]})" '[ "${#seen[@]}" -gt 1 ]'

# ---- header X-User { fallback first }
seen=()
sticky=1
for i in $(seq 1 12); do
    s=$(names "$PH" 3 /who -H "X-User: user$i")
    [ "$(sort -u <<<"$s" | grep -c .)" = 1 ] || sticky=0
    seen[$(head -n 1 <<<"$s")]=1
done
ok "header: every X-User value always gets the same upstream" '[ "$sticky" = 1 ]'
ok "header: 12 values use more than one upstream (${!seen[*]})" '[ "${#seen[@]}" -gt 1 ]'
s=$(names "$PH" 6 /who)
eq "header missing: fallback first -> always A" "6" "$(count A "$s")"

# ---- query user
seen=()
sticky=1
for i in $(seq 1 12); do
    s=$(names "$PQ" 3 "/who?user=u$i&r=$RANDOM")
    [ "$(sort -u <<<"$s" | grep -c .)" = 1 ] || sticky=0
    seen[$(head -n 1 <<<"$s")]=1
done
ok "query: every user= value always gets the same upstream (other params ignored)" '[ "$sticky" = 1 ]'
ok "query: 12 values use more than one upstream (${!seen[*]})" '[ "${#seen[@]}" -gt 1 ]'
s=$(names "$PQ" 30 /who)
ok "query missing: fallback random spreads ($(sort <<<"$s" | uniq -c | tr '\n' ' '))" \
    '[ "$(sort -u <<<"$s" | grep -c .)" -gt 1 ]'

# ---- cookie lbc s3cret
hd=$(curl -s -m 10 -D - -o "$tmp/ck.body" "http://127.0.0.1:$PCK/who" | tr -d '\r')
first=$(cat "$tmp/ck.body")
ck=$(grep -i '^set-cookie: lbc=' <<<"$hd" | head -n 1 | cut -d' ' -f2-)
case $first in A) fp=$A ;; B) fp=$B ;; C) fp=$C ;; *) fp=0 ;; esac
want=$("$PY" -c 'import hmac,hashlib,sys; print(hmac.new(sys.argv[1].encode(), sys.argv[2].encode(), hashlib.sha256).hexdigest())' s3cret "127.0.0.1:$fp")
eq "cookie: Set-Cookie is HMAC-SHA256(secret, dial address), Path=/, HttpOnly, SameSite=Lax" \
    "lbc=$want; Path=/; HttpOnly; SameSite=Lax" "$ck"
val=${ck%%;*}
s=$(names "$PCK" 10 /who -b "$val")
eq "cookie: 10 requests with the cookie stick to its upstream" "10" "$(count "$first" "$s")"
hd=$(curl -s -m 10 -D - -o /dev/null -b "$val" "http://127.0.0.1:$PCK/who" | tr -d '\r')
ok "cookie: no new Set-Cookie while the cookie's upstream is fine" '! grep -qi "^set-cookie: lbc=" <<<"$hd"'
hd=$(curl -s -m 10 -D - -o /dev/null -b "lbc=0000" "http://127.0.0.1:$PCK/who" | tr -d '\r')
ok "cookie: unknown cookie value gets a fresh Set-Cookie" 'grep -qi "^set-cookie: lbc=[0-9a-f]\{64\}; Path=/" <<<"$hd"'
seen=()
for i in $(seq 1 12); do
    seen[$(curl -s -m 5 "http://127.0.0.1:$PCK/who")]=1
done
ok "cookie: clients without cookie spread (fallback random: ${!seen[*]})" '[ "${#seen[@]}" -gt 1 ]'

# ---- least_conn: while one upstream holds a request, the others get the new ones
for p in $A $B $C; do reset "$p"; done
curl -s -m 10 -o /dev/null "http://127.0.0.1:$PLC/hold?ms=2000" &
hold=$!
busy=""
for _ in $(seq 40); do
    for p in $A $B $C; do
        [ "$(stats "$p" active)" = 1 ] && busy=$p
    done
    [ -n "$busy" ] && break
    sleep 0.05
done
ok "least_conn: the held request reached an upstream" '[ -n "$busy" ]'
case $busy in "$A") bn=A ;; "$B") bn=B ;; "$C") bn=C ;; *) bn=none ;; esac
s=$(names "$PLC" 12 /who)
eq "least_conn: no new request goes to the busy upstream $bn" "0" "$(count "$bn" "$s")"
ok "least_conn: ties between idle upstreams are spread ($(sort <<<"$s" | uniq -c | tr '\n' ' '))" \
    '[ "$(sort -u <<<"$s" | grep -c .)" = 2 ]'
wait "$hold" 2>/dev/null

# ---- random: 300 requests, roughly uniform (expected 100 each, sd ~8.2; bound 60..140)
s=$(names "$PRND" 300 /who)
a=$(count A "$s") b=$(count B "$s") c=$(count C "$s")
ok "random: 300 answers spread roughly uniformly (A=$a B=$b C=$c)" \
    '[ $((a + b + c)) = 300 ] && [ "$a" -ge 60 ] && [ "$a" -le 140 ] && [ "$b" -ge 60 ] && [ "$b" -le 140 ] && [ "$c" -ge 60 ] && [ "$c" -le 140 ]'
# random_choose 2 as Caddy 2.11 does it: a reservoir sample of 2 over A B C (A, B fill it,
# C replaces entry 0 or 1 with probability 1/3 each), then the least loaded, where an
# idle first entry wins at once: with sequential requests A 2/3, C 1/3, B never.
s=$(names "$PRC" 60 /who)
a=$(count A "$s") b=$(count B "$s") c=$(count C "$s")
ok "random_choose 2, idle upstreams: Caddy's choice (A~2/3, C~1/3, B never; got A=$a B=$b C=$c)" \
    '[ $((a + b + c)) = 60 ] && [ "$b" = 0 ] && [ "$a" -ge 28 ] && [ "$a" -le 52 ]'

# ---- first: always A; A down -> B (retry + passive health); A back after fail_duration
s=$(names "$PF" 6 /who)
eq "first: every request to A" "6" "$(count A "$s")"
down "$A"
codes=""
for i in 1 2 3 4 5 6; do
    codes="$codes $(curl -s -m 10 -o "$tmp/f$i" -w '%{http_code}' "http://127.0.0.1:$PF/who")$(cat "$tmp/f$i")"
done
eq "first: A down -> B answers every request" " 200B 200B 200B 200B 200B 200B" "$codes"
up "$A" A || exit 1
sleep 1.3 # fail_duration 1s: A's failure expires
s=$(names "$PF" 4 /who)
eq "first: A back after fail_duration -> A again" "4" "$(count A "$s")"

ok "caddy-c still running" caddy_alive
finish
