#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# encode on the output of reverse_proxy (issue 6 item 1): proxied bodies of every framing
# (Content-Length, chunked, dripped slowly) compressed with gzip, zstd and br, decoded
# with the real tools and compared byte for byte with what the backend sent; an event
# stream delivered event by event through the compressor; a 1 GiB proxied response
# streamed through zstd while caddy-c's RSS stays flat. Backends are
# tests/upstream/upstream.py on loopback; ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
. tests/upstream/lib.sh

for tool in gzip zstd brotli jq; do
    command -v "$tool" >/dev/null || { echo "missing $tool (scripts/deps.sh test)"; echo "0 passed, 1 failed"; exit 1; }
done

ports 2
B=${PORT[0]} P=${PORT[1]}
up "$B" backend || { echo "0 passed, 1 failed"; exit 1; }
cat >"$tmp/Caddyfile" <<CF
{
	admin off
	default_bind 127.0.0.1
}
http://127.0.0.1:$P {
	encode zstd gzip br
	reverse_proxy 127.0.0.1:$B
}
CF
caddy "$tmp/Caddyfile" "$P" || { echo "0 passed, 1 failed"; exit 1; }
U="http://127.0.0.1:$P"
sha_of() { "$PY" "$UPSTREAM" --sha "$1"; }

# decode ENC: the decompressor of each format
decode() {
    case $1 in
    gzip) gzip -dc ;;
    zstd) zstd -dcq ;;
    br) brotli -dc ;;
    esac
}

# fetch ENC TARGET: body decoded, then "sha256 content-encoding" on stdout
fetch() {
    local enc=$1 target=$2
    curl -s -m 60 -H "Accept-Encoding: $enc" -D "$tmp/h" -o "$tmp/body" "$U$target"
    local ce
    ce=$(tr -d '\r' <"$tmp/h" | awk -F': ' 'tolower($1)=="content-encoding" {print $2}')
    local sum
    sum=$(decode "$enc" <"$tmp/body" | sha256sum | cut -d' ' -f1)
    echo "$sum ${ce:-none}"
}

want8=$(sha_of 8M)
for enc in gzip zstd br; do
    eq "$enc: 8 MiB with Content-Length, decoded sha256 matches" "$want8 $enc" \
        "$(fetch "$enc" "/bytes/8M?ctype=text/plain")"
    eq "$enc: 8 MiB chunked upstream, decoded sha256 matches" "$want8 $enc" \
        "$(fetch "$enc" "/bytes/8M?ctype=text/plain&chunked=1&chunk=7000")"
done
ok "compressed answer drops Content-Length and says Vary" \
    "tr -d '\r' <'$tmp/h' | grep -qi '^vary: accept-encoding' && ! tr -d '\r' <'$tmp/h' | grep -qi '^content-length:'"

# a body that trickles in (5 pieces, 200 ms apart) is complete and intact
body=$(curl -s -m 10 -H 'Accept-Encoding: gzip' "$U/drip?n=5&gap_ms=200&size=3000&ctype=text/plain" | gzip -dc)
exp=$(for i in 0 1 2 3 4; do printf "%0.s$i" $(seq 3000); done)
eq "dripped body compressed and complete" "${#exp} $(printf %s "$exp" | sha256sum | cut -d' ' -f1)" \
    "${#body} $(printf %s "$body" | sha256sum | cut -d' ' -f1)"

# no Accept-Encoding: passed through untouched
eq "identity: body untouched" "$(sha_of 1M) none" \
    "$(curl -s -m 20 -D "$tmp/h" "$U/bytes/1M?ctype=text/plain" | sha256sum | cut -d' ' -f1) $(tr -d '\r' <"$tmp/h" | awk -F': ' 'tolower($1)=="content-encoding" {print $2}' | grep . || echo none)"

# an event stream is flushed through the compressor event by event: the first event
# arrives long before the stream ends (3 events, 1.5 s apart)
"$PY" - "$U/sse?n=3&interval_ms=1500" >"$tmp/sse.out" 2>&1 <<'EOF'
import sys, time, urllib.request, zlib
req = urllib.request.Request(sys.argv[1], headers={"Accept-Encoding": "gzip"})
t0 = time.time()
with urllib.request.urlopen(req, timeout=20) as r:
    ce = r.headers.get("Content-Encoding")
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    got = b""
    first = None
    while True:
        chunk = r.read1(65536)
        if not chunk:
            break
        got += d.decompress(chunk)
        if first is None and b"data: event 0" in got:
            first = time.time() - t0
    got += d.flush()
print(ce, "%.2f" % first if first is not None else "none", got.count(b"data: event"), "%.2f" % (time.time() - t0))
EOF
read -r sse_ce sse_first sse_n sse_total <"$tmp/sse.out"
eq "event stream: gzip, all 3 events" "gzip 3" "$sse_ce $sse_n"
ok "event stream: first event after ${sse_first}s of a ${sse_total}s stream" \
    "awk -v f='$sse_first' 'BEGIN { exit !(f != \"none\" && f < 1.0) }'"

# ---- 1 GiB proxied and compressed in constant memory ----
SIZE=${ENCODE_PROXY_SIZE:-1G}
want=$(sha_of "$SIZE")
curl -s -m 30 -H 'Accept-Encoding: zstd' "$U/bytes/64M?ctype=text/plain" -o /dev/null # warm up
base=$(rss_kb "$CPID")
peak=$base
curl -s -m 300 -H 'Accept-Encoding: zstd' "$U/bytes/$SIZE?ctype=text/plain" | zstd -dcq | sha256sum | cut -d' ' -f1 >"$tmp/big.sha" &
cp=$!
PIDS+=("$cp")
while kill -0 "$cp" 2>/dev/null; do
    v=$(rss_kb "$CPID")
    [ "${v:-0}" -gt "$peak" ] && peak=$v
    sleep 0.1
done
wait "$cp"
eq "zstd: $SIZE proxied, decoded sha256 matches" "$want" "$(cat "$tmp/big.sha")"
echo "info: caddy-c RSS ${base} kB before, ${peak} kB peak while compressing $SIZE" >&2
ok "zstd: $SIZE streamed with caddy-c RSS +$((peak - base)) kB (bound 32 MB)" \
    '[ $((peak - base)) -lt 32768 ]'
ok "caddy-c alive" caddy_alive
finish
