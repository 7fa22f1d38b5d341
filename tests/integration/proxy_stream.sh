#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# reverse_proxy streaming with real peers (tests/upstream/upstream.py and client.py):
# a 1 GiB download to a client that stops reading for 3 s, and a 1 GiB upload to a
# backend that stops reading for 3 s, both with the sha256 intact and caddy-c's VmRSS
# (sampled every 100 ms from /proc/PID/status) staying within RSS_BOUND_MB of what it
# was before the transfer (a proxy that buffered would grow by up to 1 GiB); SSE events,
# chunked bodies and flush_interval -1 / 200ms delivered at once; a client that goes away
# cancels its upstream request (the backend sees the disconnect, before or after the
# response headers), and a late upstream answer to a departed client is dropped safely.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/upstream/lib.sh

SIZE=${PROXY_STREAM_SIZE:-1G}
RSS_BOUND_MB=${RSS_BOUND_MB:-60}
PAUSE=3
# Under ASan, freed memory sits in a quarantine (256 MB by default) and would read as
# growth; keep it small so the bound measures the proxy's buffering, not the allocator.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}quarantine_size_mb=8"

ports 5
U=${PORT[0]} P=${PORT[1]} PF=${PORT[2]} PI=${PORT[3]}
up "$U" U || exit 1
cat >"$tmp/Caddyfile" <<EOF
{
	admin off
}
:$P {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:$U
}
:$PF {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:$U {
		flush_interval -1
	}
}
:$PI {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:$U {
		flush_interval 200ms
	}
}
EOF
caddy "$tmp/Caddyfile" "$P" /who || exit 1
want_sha=$("$PY" "$UPSTREAM" --sha "$SIZE")
want_len=$("$PY" -c "import sys; sys.path.insert(0, 'tests/upstream'); from upstream import parse_size; print(parse_size('$SIZE'))")

# sample_rss OUT: writes the peak VmRSS (kB) of caddy-c to OUT until $tmp/stop exists
sample_rss() {
    local peak=0 v
    # also ends when the work dir is gone (the script exited early)
    while [ -d "$tmp" ] && [ ! -e "$tmp/stop" ]; do
        v=$(rss_kb "$CPID")
        [ "${v:-0}" -gt "$peak" ] && peak=$v
        echo "$peak" >"$1"
        sleep 0.1
    done
}
# warm up the paths (connection pools, buffers) before the baseline
"$PY" "$CLIENT" get "$P" /bytes/64M >/dev/null
"$PY" "$CLIENT" put "$P" /slowread 64M >/dev/null

# ---- 1 GiB download, client pauses 3 s after 64 MiB
base=$(rss_kb "$CPID")
rm -f "$tmp/stop"
sample_rss "$tmp/peak.dl" &
sp=$!
PIDS+=("$sp")
t0=$(now_ms)
"$PY" "$CLIENT" get "$P" "/bytes/$SIZE" --pause-after 64M --pause "$PAUSE" --timeout 120 >"$tmp/dl.json" 2>/dev/null
el=$(($(now_ms) - t0))
touch "$tmp/stop"
wait "$sp"
peak=$(cat "$tmp/peak.dl")
eq "download $SIZE: status, length, sha256 intact" "200 $want_len $want_sha" \
    "$(jq -r '"\(.status) \(.len) \(.sha256)"' "$tmp/dl.json")"
echo "info: download $SIZE: RSS before ${base} kB, peak ${peak} kB, ${el} ms"
ok "download $SIZE with a 3 s stalled reader: caddy-c RSS ${base} kB -> peak ${peak} kB (bound +${RSS_BOUND_MB} MB, took ${el} ms)" \
    '[ $((peak - base)) -lt $((RSS_BOUND_MB * 1024)) ]'

# ---- 1 GiB upload (Content-Length), backend pauses 3 s after 64 MiB
base=$(rss_kb "$CPID")
rm -f "$tmp/stop"
sample_rss "$tmp/peak.ul" &
sp=$!
PIDS+=("$sp")
t0=$(now_ms)
"$PY" "$CLIENT" put "$P" "/slowread?pause_ms=$((PAUSE * 1000))&pause_after=64M" "$SIZE" --timeout 120 >"$tmp/ul.json"
el=$(($(now_ms) - t0))
touch "$tmp/stop"
wait "$sp"
peak=$(cat "$tmp/peak.ul")
eq "upload $SIZE: status, length and sha256 seen by the backend" "200 $want_len $want_sha" \
    "$(jq -r '.status as $s | (.body | fromjson? // {}) | "\($s) \(.body_len) \(.body_sha256)"' "$tmp/ul.json")"
echo "info: upload $SIZE: RSS before ${base} kB, peak ${peak} kB, ${el} ms"
ok "upload $SIZE to a 3 s stalled backend: caddy-c RSS ${base} kB -> peak ${peak} kB (bound +${RSS_BOUND_MB} MB, took ${el} ms)" \
    '[ $((peak - base)) -lt $((RSS_BOUND_MB * 1024)) ]'

# ---- chunked upload (64 MiB) streams too
r=$("$PY" "$CLIENT" put "$P" /slowread 64M --chunked --timeout 60)
eq "chunked upload 64M: backend got every byte" "200 $("$PY" "$UPSTREAM" --sha 64M)" \
    "$(jq -r '.status as $s | (.body | fromjson? // {}) | "\($s) \(.body_sha256)"' <<<"$r")"

# ---- immediate delivery
r=$("$PY" "$CLIENT" first "$P" "/sse?n=2&interval_ms=2000" --bytes 10)
ok "text/event-stream: first event after $(jq .first_ms <<<"$r") ms (< 1000, next one comes 2 s later)" \
    '[ "$(jq -r .status <<<"$r")" = 200 ] && [ "$(jq .first_ms <<<"$r")" -ge 0 ] && [ "$(jq .first_ms <<<"$r")" -lt 1000 ]'
eq "text/event-stream: event bytes intact" "id: 0" "$(jq -r .data <<<"$r" | head -n 1)"
r=$("$PY" "$CLIENT" first "$P" "/drip?n=2&gap_ms=2000&size=10" --bytes 10)
ok "unknown-length (chunked) body: first piece after $(jq .first_ms <<<"$r") ms (< 1000)" \
    '[ "$(jq .first_ms <<<"$r")" -ge 0 ] && [ "$(jq .first_ms <<<"$r")" -lt 1000 ]'
r=$("$PY" "$CLIENT" first "$PF" "/drip?n=2&gap_ms=2000&size=10&cl=1" --bytes 10)
ok "flush_interval -1, Content-Length body: first piece after $(jq .first_ms <<<"$r") ms (< 1000)" \
    '[ "$(jq .first_ms <<<"$r")" -ge 0 ] && [ "$(jq .first_ms <<<"$r")" -lt 1000 ]'
r=$("$PY" "$CLIENT" first "$PI" "/drip?n=2&gap_ms=2000&size=10&cl=1" --bytes 10)
ok "flush_interval 200ms, Content-Length body: first piece after $(jq .first_ms <<<"$r") ms (< 1000)" \
    '[ "$(jq .first_ms <<<"$r")" -ge 0 ] && [ "$(jq .first_ms <<<"$r")" -lt 1000 ]'
r=$("$PY" "$CLIENT" get "$PF" "/drip?n=3&gap_ms=100&size=1000&cl=1")
eq "flush_interval -1: whole body still delivered" "200 3000" "$(jq -r '"\(.status) \(.len)"' <<<"$r")"

# ---- client going away cancels the upstream request (disconnects counted per path, so
# a late broken pipe of an earlier test cannot count)
gone() { # path: disconnects the backend saw on it
    stats "$U" "disconnects_by_path[\"$1\"] // 0"
}
wait_gone() { # path
    local end=$(($(now_ms) + 3000))
    while [ "$(now_ms)" -lt "$end" ] && [ "$(gone "$1")" = 0 ]; do sleep 0.05; done
}
sleep 2.5 # the drip/SSE responses above end (or break) on their own first
reset "$U"
"$PY" "$CLIENT" abort "$P" "/hold?ms=8000" 300 >/dev/null
wait_gone /hold
eq "client gone while the upstream has not answered yet: backend sees the disconnect (within 3 s)" "1" "$(gone /hold)"
"$PY" "$CLIENT" abort "$P" "/sse?n=100&interval_ms=200" 500 >/dev/null
wait_gone /sse
eq "client gone during an SSE stream: backend sees the disconnect (within 3 s)" "1" "$(gone /sse)"
"$PY" "$CLIENT" abort "$P" /bytes/1G 300 >/dev/null
wait_gone /bytes/1G
eq "client gone mid-download: backend's send fails (within 3 s)" "1" "$(gone /bytes/1G)"
# the client leaves before the upstream's answer; the answer then arrives for a request
# whose connection is gone (caddy-c must drop it, not touch the freed connection)
"$PY" "$CLIENT" abort "$P" "/who?sleep=500" 100 >/dev/null
sleep 1
eq "client gone before a late upstream answer: caddy-c alive and serving" "200" \
    "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P/who")"
eq "nothing left active on the backend" "0" "$(stats "$U" active)"

ok "caddy-c still running" caddy_alive
finish
