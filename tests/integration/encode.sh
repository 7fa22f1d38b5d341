#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Integration test of response compression (encode) with the real binary: gzip, zstd and
# br responses decoded by the real gzip, zstd and brotli tools and compared byte for byte
# (a respond body, small and 5 MB static files), Vary and Content-Length, minimum_length,
# no-transform, q=0, If-None-Match with the suffixed ETag, a 200 MB file streamed while
# the server's RSS stays small, and `caddy-c file-server`'s default compression.
# Starts `caddy-c run` on 127.0.0.1 with free ports; prints "N passed, N failed" last.
set -u

ROOT_DIR=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT_DIR/tests/lib/counts.sh"
check() {
    if [ "$2" = "$3" ]; then ok; else bad "$1: got '$2', want '$3'"; fi
}
check_has() {
    case "$2" in *"$3"*) ok ;; *) bad "$1: '$3' not in: $(printf '%s' "$2" | head -c 300)" ;; esac
}
check_not() {
    case "$2" in *"$3"*) bad "$1: unexpected '$3'" ;; *) ok ;; esac
}

if [ ! -x "$CADDYC" ]; then
    echo "no binary at $CADDYC" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
for tool in curl gzip zstd brotli python3; do
    if ! command -v "$tool" >/dev/null; then
        echo "missing tool: $tool (scripts/deps.sh test)" >&2
        echo "0 passed, 1 failed"
        exit 1
    fi
done

WORK=$(mktemp -d /tmp/cc_encode_XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null
        for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    python3 - <<'EOF'
import random, socket
for _ in range(200):
    p = random.randint(20000, 29999)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break
EOF
}

# wait_up URL: up to 10 s for the server to answer
wait_up() {
    for _ in $(seq 1 100); do
        curl -s -o /dev/null --max-time 1 "$1" && return 0
        sleep 0.1
    done
    return 1
}

PORT=$(free_port)
[ -n "$PORT" ] || { echo "no free port" >&2; echo "0 passed, 1 failed"; exit 1; }
BASE="http://127.0.0.1:$PORT"

# ---- content ----
SITE=$WORK/site
mkdir -p "$SITE"
python3 - "$SITE" <<'EOF'
import random, sys
random.seed(7)
words = ["alpha", "beta", "gamma", "<div>", "</div>", "caddy", "server", "zstd", "\n"]
def text(n):
    out, size = [], 0
    while size < n:
        w = random.choice(words) + " "
        out.append(w)
        size += len(w)
    return "".join(out)[:n]
d = sys.argv[1]
open(d + "/small.txt", "w").write(text(3000))
open(d + "/mid.txt", "w").write(text(5000))
open(d + "/big.txt", "w").write(text(5 * 1024 * 1024))
open(d + "/tiny.txt", "w").write(text(400))
open(d + "/page.html", "w").write("<!DOCTYPE html><html>" + text(4000) + "</html>")
open(d + "/respond.txt", "w").write(("respond body line " * 150).strip())
EOF
head -c 4000 /dev/urandom >"$SITE/pic.png"
RESPOND=$(cat "$SITE/respond.txt")

cat >"$WORK/Caddyfile" <<EOF
{
	admin off
}
http://127.0.0.1:$PORT {
	root * $SITE
	@nt path /nt/*
	header @nt Cache-Control no-transform
	handle /respond {
		encode gzip zstd br
		respond "$RESPOND"
	}
	handle /min/* {
		uri strip_prefix /min
		encode {
			gzip
			minimum_length 4096
		}
		file_server
	}
	handle /nt/* {
		uri strip_prefix /nt
		encode gzip
		file_server
	}
	handle {
		encode gzip zstd br
		file_server
	}
}
EOF

"$CADDYC" run --config "$WORK/Caddyfile" >"$WORK/server.log" 2>&1 &
PID=$!
PIDS+=("$PID")
if ! wait_up "$BASE/small.txt"; then
    echo "server did not start:" >&2
    cat "$WORK/server.log" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

decoder() {
    case "$1" in
    gzip) echo "gzip -dc" ;;
    zstd) echo "zstd -dcq" ;;
    br) echo "brotli -dc" ;;
    esac
}

# fetch ENC PATH: body to $WORK/out, headers to $WORK/hdr (lower-cased, no CR)
fetch() {
    curl -s --max-time 30 -D "$WORK/hdr.raw" -o "$WORK/out" -H "Accept-Encoding: $1" "$BASE$2"
    tr -d '\r' <"$WORK/hdr.raw" | tr 'A-Z' 'a-z' >"$WORK/hdr"
}
hdr() { grep -i "^$1:" "$WORK/hdr" | head -1 | cut -d' ' -f2-; }

# roundtrip NAME ENC PATH ORIGINAL
roundtrip() {
    fetch "$2" "$3"
    check "$1 $2 status" "$(head -1 "$WORK/hdr" | cut -d' ' -f2)" "200"
    check "$1 $2 content-encoding" "$(hdr content-encoding)" "$2"
    check_has "$1 $2 vary" "$(hdr vary)" "accept-encoding"
    local cl
    cl=$(hdr content-length)
    # a streamed body has no length; a small one compressed at once has its own
    if [ -n "$cl" ]; then check "$1 $2 content-length" "$cl" "$(stat -c %s "$WORK/out")"; else ok; fi
    if $(decoder "$2") <"$WORK/out" >"$WORK/dec" 2>/dev/null && cmp -s "$WORK/dec" "$4"; then
        ok
    else
        bad "$1 $2: decoded body differs from the original"
    fi
    local osize
    osize=$(stat -c %s "$WORK/out")
    if [ "$osize" -lt "$(stat -c %s "$4")" ]; then ok; else bad "$1 $2: not smaller ($osize)"; fi
}

for enc in gzip zstd br; do
    roundtrip respond $enc /respond "$SITE/respond.txt"
    roundtrip small $enc /small.txt "$SITE/small.txt"
    roundtrip big $enc /big.txt "$SITE/big.txt"
    fetch $enc /big.txt
    check "big $enc: no content-length" "$(hdr content-length)" ""
    check "big $enc: no accept-ranges" "$(hdr accept-ranges)" ""
done
roundtrip html gzip /page.html "$SITE/page.html"

# ---- negotiation ----
fetch "gzip;q=0.5, br;q=0.9, zstd;q=0.1" /small.txt
check "q-values pick br" "$(hdr content-encoding)" "br"
fetch "gzip, zstd, br" /small.txt
check "ties: configured order (gzip first)" "$(hdr content-encoding)" "gzip"
fetch "gzip;q=0, zstd;q=0, br;q=0" /small.txt
check "q=0 excludes every encoding" "$(hdr content-encoding)" ""
check_has "q=0: still varies" "$(hdr vary)" "accept-encoding"
cmp -s "$WORK/out" "$SITE/small.txt" && ok || bad "q=0: identity body differs"
fetch "deflate" /small.txt
check "unknown encoding: identity" "$(hdr content-encoding)" ""
check "identity content-length" "$(hdr content-length)" "3000"
curl -s --max-time 10 -D "$WORK/hdr.raw" -o "$WORK/out" "$BASE/small.txt"
cmp -s "$WORK/out" "$SITE/small.txt" && ok || bad "no Accept-Encoding: identity body differs"

# ---- what is not compressed ----
fetch gzip /tiny.txt
check "400 bytes < minimum_length 512" "$(hdr content-encoding)" ""
fetch gzip /pic.png
check "image/png not compressed" "$(hdr content-encoding)" ""
fetch gzip /min/small.txt
check "minimum_length 4096: 3000 bytes not compressed" "$(hdr content-encoding)" ""
fetch gzip /min/mid.txt
check "minimum_length 4096: 5000 bytes compressed" "$(hdr content-encoding)" "gzip"
fetch gzip /nt/small.txt
check "response no-transform" "$(hdr content-encoding)" ""
check "no-transform header sent" "$(hdr cache-control)" "no-transform"
curl -s --max-time 10 -D "$WORK/hdr.raw" -o "$WORK/out" -H "Accept-Encoding: gzip" \
    -H "Cache-Control: no-transform" "$BASE/small.txt"
check_not "request no-transform" "$(tr 'A-Z' 'a-z' <"$WORK/hdr.raw")" "content-encoding"
curl -s --max-time 10 -D "$WORK/hdr.raw" -o /dev/null -I -H "Accept-Encoding: gzip" "$BASE/small.txt"
head_hdr=$(tr -d '\r' <"$WORK/hdr.raw" | tr 'A-Z' 'a-z')
check_has "HEAD varies" "$head_hdr" "vary: accept-encoding"

# ---- ETag ----
fetch gzip /small.txt
etag=$(grep -i '^etag:' "$WORK/hdr.raw" | head -1 | cut -d' ' -f2- | tr -d '\r')
check_has "etag suffixed" "$etag" '-gzip"'
code=$(curl -s --max-time 10 -o /dev/null -D "$WORK/hdr.raw" -w '%{http_code}' \
    -H "Accept-Encoding: gzip" -H "If-None-Match: $etag" "$BASE/small.txt")
check "If-None-Match with the suffixed ETag" "$code" "304"
check_has "304 varies" "$(tr 'A-Z' 'a-z' <"$WORK/hdr.raw")" "vary: accept-encoding"
plain=$(curl -s --max-time 10 -o /dev/null -D - "$BASE/small.txt" | grep -i '^etag:' | cut -d' ' -f2- | tr -d '\r')
check_not "identity etag has no suffix" "$plain" "-gzip"
code=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' -H "Accept-Encoding: zstd" \
    -H "If-None-Match: $etag" "$BASE/small.txt")
check "gzip ETag does not validate the zstd variant" "$code" "200"

# ---- 200 MB streamed in constant memory ----
yes "the quick brown fox jumps over the lazy dog, streamed by caddy-c encode" |
    head -c 209715200 >"$SITE/huge.txt"
want=$(md5sum <"$SITE/huge.txt" | cut -d' ' -f1)
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$PID/status" 2>/dev/null; }
maxrss=$(rss)
(curl -s --max-time 120 -H "Accept-Encoding: gzip" "$BASE/huge.txt" | gzip -dc | md5sum |
    cut -d' ' -f1 >"$WORK/huge.md5") &
CURL=$!
while kill -0 "$CURL" 2>/dev/null; do
    r=$(rss)
    [ -n "$r" ] && [ "$r" -gt "${maxrss:-0}" ] && maxrss=$r
    sleep 0.05
done
wait "$CURL"
check "200 MB gzip stream decodes to the original" "$(cat "$WORK/huge.md5")" "$want"
if [ "${maxrss:-0}" -gt 0 ] && [ "$maxrss" -lt 61440 ]; then
    ok
else
    bad "server RSS reached ${maxrss:-?} kB while streaming 200 MB (limit 60 MB)"
fi
echo "server peak RSS while streaming 200 MB: ${maxrss:-?} kB" >&2
rm -f "$SITE/huge.txt"

# ---- caddy-c file-server compresses by default ----
PORT2=$(free_port)
(cd "$SITE" && exec "$CADDYC" file-server --listen "127.0.0.1:$PORT2" >"$WORK/fs.log" 2>&1) &
PIDS+=("$!")
if wait_up "http://127.0.0.1:$PORT2/small.txt"; then
    BASE="http://127.0.0.1:$PORT2"
    roundtrip file-server zstd /small.txt "$SITE/small.txt"
    roundtrip file-server gzip /big.txt "$SITE/big.txt"
    fetch "gzip, zstd" /small.txt
    check "file-server prefers zstd" "$(hdr content-encoding)" "zstd"
    fetch br /small.txt
    check "file-server: br not enabled" "$(hdr content-encoding)" ""
else
    bad "file-server did not start: $(cat "$WORK/fs.log")"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
