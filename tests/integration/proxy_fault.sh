#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The reverse_proxy fault test (issue 4): three backends (tests/upstream/upstream.py)
# behind round_robin with retries (lb_try_duration 3s) and passive health (fail_duration
# 30s, max_fails 1) under wrk load; one backend is SIGKILLed mid-run.
#   Phase 1 (wrk 6 s, kill at 2 s): every request must still succeed: the in-flight and
#     later requests to the dead backend fail with a dial or transport error on a GET,
#     which Caddy's rules retry on another upstream.
#   Then the admin endpoint must show the dead backend with fails >= 1 (passive health
#   has marked it down: max_fails 1).
#   Phase 2 (wrk 4 s): zero failed requests (no non-2xx, no socket error), all served by
#     the two live backends, none even tried on the dead one (its fails do not grow).
# wrk runs under `timeout`; every process is stopped by PID.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/upstream/lib.sh

command -v wrk >/dev/null || {
    echo "wrk not installed (scripts/deps.sh test)"
    echo "0 passed, 1 failed"
    exit 1
}
ports 5
U1=${PORT[0]} U2=${PORT[1]} U3=${PORT[2]} P=${PORT[3]} ADM=${PORT[4]}
up "$U1" U1 && up "$U2" U2 && up "$U3" U3 || exit 1
cat >"$tmp/Caddyfile" <<EOF
{
	admin 127.0.0.1:$ADM
}
:$P {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:$U1 127.0.0.1:$U2 127.0.0.1:$U3 {
		lb_policy round_robin
		lb_try_duration 3s
		lb_try_interval 50ms
		fail_duration 30s
		max_fails 1
	}
}
EOF
caddy "$tmp/Caddyfile" "$P" /who || exit 1

# wrk_run SECONDS OUT: bounded wrk; prints "requests non2xx socket_errors"
wrk_run() {
    timeout $(($1 + 20)) wrk -t1 -c16 -d"$1"s "http://127.0.0.1:$P/who" >"$2" 2>&1
    local reqs non2xx errs
    reqs=$(awk '/requests in/ {print $1; exit}' "$2")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF; exit}' "$2")
    errs=$(awk '/Socket errors:/ {gsub(/,/, ""); print $4 + $6 + $8 + $10; exit}' "$2")
    echo "${reqs:-0} ${non2xx:-0} ${errs:-0}"
}
fails_of() {
    curl -s -m 5 "http://127.0.0.1:$ADM/reverse_proxy/upstreams" |
        jq -r --arg a "127.0.0.1:$1" '.[] | select(.address == $a) | .fails'
}

# ---- phase 1: kill U3 after 2 s of a 6 s run
wrk_run 6 "$tmp/wrk1" >"$tmp/wrk1.res" &
wrkjob=$!
sleep 2
kill -KILL "${UP_PID[$U3]}"
wait "${UP_PID[$U3]}" 2>/dev/null # reaped here, quietly
wait "$wrkjob"
read -r r1 n1 e1 <"$tmp/wrk1.res"
echo "info: phase 1: $r1 requests, $n1 non-2xx, $e1 socket errors"
ok "phase 1: wrk completed requests ($r1)" '[ "$r1" -gt 100 ]'
eq "phase 1 (U3 killed mid-run, retries on): non-2xx responses" "0" "$n1"
eq "phase 1: socket errors" "0" "$e1"
ok "U3 is really dead" '! kill -0 "${UP_PID[$U3]}" 2>/dev/null'

# ---- passive health has marked U3 down
f3=$(fails_of "$U3")
ok "admin: U3 has fails >= max_fails (got '$f3')" '[ -n "$f3" ] && [ "$f3" -ge 1 ]'
eq "admin: U1 and U2 have no fails" "0 0" "$(fails_of "$U1") $(fails_of "$U2")"

# ---- phase 2: zero failures, nothing tried on U3
c1=$(stats "$U1" requests)
c2=$(stats "$U2" requests)
read -r r2 n2 e2 <<<"$(wrk_run 4 "$tmp/wrk2")"
d=$(($(stats "$U1" requests) - c1 + $(stats "$U2" requests) - c2))
echo "info: phase 2: $r2 requests, $n2 non-2xx, $e2 socket errors; U3 fails $f3"
ok "phase 2: wrk completed requests ($r2)" '[ "$r2" -gt 100 ]'
eq "phase 2 (U3 marked down): non-2xx responses" "0" "$n2"
eq "phase 2: socket errors" "0" "$e2"
ok "phase 2: U1 + U2 served every request ($d served, wrk counted $r2)" '[ "$d" -ge "$r2" ]'
eq "phase 2: U3 not tried again (fails unchanged)" "$f3" "$(fails_of "$U3")"
ok "caddy-c still running" caddy_alive
[ "$fail" -eq 0 ] || { echo "--- wrk phase 1:"; cat "$tmp/wrk1"; echo "--- wrk phase 2:"; cat "$tmp/wrk2"; } >&2
finish
