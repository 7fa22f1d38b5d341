#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Integration test of static file serving with the real binary: file_server (index,
# canonical redirects, validators and 304/412, ranges, precompressed gzip sidecars, hide,
# content types, files of 1 MiB, 64 KiB+1 and 20 MiB byte for byte, files truncated while
# being sent), browse listings, a try_files SPA fallback
# and basic_auth with a bcrypt hash. Starts `caddy-c run` on 127.0.0.1 with a free port
# and drives it with curl; prints "N passed, N failed" last.
set -u

ROOT_DIR=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT_DIR/tests/lib/counts.sh"
# check NAME GOT WANT
check() {
    if [ "$2" = "$3" ]; then ok; else bad "$1: got '$2', want '$3'"; fi
}
# check_has NAME HAYSTACK NEEDLE
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

WORK=$(mktemp -d /tmp/cc_files_XXXXXX)
PID=
cleanup() {
    if [ -n "$PID" ]; then
        kill "$PID" 2>/dev/null
        for _ in $(seq 1 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$PID" 2>/dev/null
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(python3 - <<'EOF'
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
)
[ -n "$PORT" ] || { echo "no free port" >&2; echo "0 passed, 1 failed"; exit 1; }
BASE="http://127.0.0.1:$PORT"

# ---- the site ----
SITE=$WORK/site
mkdir -p "$SITE/sub" "$SITE/empty" "$SITE/list/c dir" "$SITE/spa" "$SITE/private"
printf '<h1>home</h1>\n' >"$SITE/index.html"
printf 'hello world\n' >"$SITE/a.txt"
printf 'body{color:red}\n' >"$SITE/style.css"
printf 'sub index\n' >"$SITE/sub/index.html"
printf 'top secret\n' >"$SITE/secret.txt"
printf 'bb' >"$SITE/list/b.txt"
printf 'a' >"$SITE/list/A.txt"
printf '12345' >"$SITE/list/<i>it&y.txt"
printf 'hidden' >"$SITE/list/secret.txt"
printf '<html>spa shell</html>\n' >"$SITE/spa/index.html"
printf 'var app = 1;\n' >"$SITE/spa/app.js"
printf 'members only\n' >"$SITE/private/x.txt"
python3 -c 'import sys; sys.stdout.write("".join("line %06d of the precompressed script\n" % i for i in range(2000)))' >"$SITE/pre.js"
gzip -k -9 "$SITE/pre.js"
head -c 1048576 /dev/urandom >"$SITE/big.bin"
# mapped (<= 16 MiB, engine/filebody.c) and sendfile (above) paths of the engine
head -c 65537 /dev/urandom >"$SITE/mid.bin"
# the edges of the read (<= 8 KiB), mapped and mapped-by-sendfile (>= 64 KiB) buffers
for n in 8192 8193 65535 65536; do head -c $n /dev/urandom >"$SITE/edge$n.bin"; done
head -c $((20 << 20)) /dev/urandom >"$SITE/huge.bin"
touch -d '2023-11-14 22:13:20 UTC' "$SITE/a.txt"

HASH=$(python3 -W ignore -c 'import crypt; print(crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))' 2>/dev/null)
case "$HASH" in
'$2'*) ;;
*) HASH=$(caddy hash-password --plaintext s3cret 2>/dev/null) ;;
esac

cat >"$SITE/Caddyfile" <<EOF
{
	admin off
}
http://127.0.0.1:$PORT {
	root * $SITE
	basic_auth /private/* {
		alice $HASH
	}
	handle /spa/* {
		try_files {path} /spa/index.html
		file_server
	}
	handle {
		file_server browse {
			hide secret.txt
			precompressed gzip
		}
	}
}
EOF

# started from the site directory so that the Caddyfile there is the hidden ./Caddyfile
(cd "$SITE" && exec "$CADDYC" run --config Caddyfile >"$WORK/server.log" 2>&1) &
PID=$!
up=
for _ in $(seq 1 100); do
    if curl -s -o /dev/null --max-time 1 "$BASE/"; then up=1; break; fi
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$up" ]; then
    echo "server did not start:" >&2
    cat "$WORK/server.log" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

C=(curl -s --max-time 10)
# status PATH [curl args...]
status() {
    local p=$1
    shift
    "${C[@]}" -o /dev/null -w '%{http_code}' "$@" "$BASE$p"
}
# header NAME PATH [curl args...]: the value of a response header
header() {
    local n=$1 p=$2
    shift 2
    "${C[@]}" -o /dev/null -D - "$@" "$BASE$p" | tr -d '\r' |
        awk -v n="$n" 'BEGIN{IGNORECASE=1} tolower($0) ~ "^" tolower(n) ":" {sub(/^[^:]*: ?/, ""); print; exit}'
}

# ---- file_server basics ----
check "index" "$("${C[@]}" "$BASE/")" "<h1>home</h1>"
check "file" "$("${C[@]}" "$BASE/a.txt")" "hello world"
check "server header" "$(header Server /a.txt)" "caddy-c"
check "css type" "$(header Content-Type /style.css)" "text/css; charset=utf-8"
check "txt type" "$(header Content-Type /a.txt)" "text/plain; charset=utf-8"
check "missing 404" "$(status /nope.txt)" "404"
check "hidden 404" "$(status /secret.txt)" "404"
check "Caddyfile hidden" "$(status /Caddyfile)" "404"
check "traversal" "$(status /../../../../etc/passwd --path-as-is)" "404"
check "encoded traversal" "$("${C[@]}" --path-as-is "$BASE/%2e%2e/%2e%2e/a.txt")" "hello world"
check "HEAD length" "$(header Content-Length /a.txt -I)" "12"
check "HEAD status" "$(status /a.txt -I)" "200"
check "POST 405" "$(status /a.txt -X POST)" "405"

# ---- canonical URIs ----
check "dir redirect" "$(status /sub)" "308"
check "dir location" "$(header Location /sub)" "/sub/"
check "dir location query" "$(header Location '/sub?x=1')" "/sub/?x=1"
check "dir index" "$("${C[@]}" "$BASE/sub/")" "sub index"
check "file redirect" "$(header Location /a.txt/)" "/a.txt"

# ---- validators ----
ETAG=$(header Etag /a.txt)
check_has "etag quoted" "$ETAG" '"'
check "last-modified" "$(header Last-Modified /a.txt)" "Tue, 14 Nov 2023 22:13:20 GMT"
check "if-none-match 304" "$(status /a.txt -H "If-None-Match: $ETAG")" "304"
check "if-none-match other" "$(status /a.txt -H 'If-None-Match: "x"')" "200"
check "if-modified-since 304" "$(status /a.txt -H 'If-Modified-Since: Tue, 14 Nov 2023 22:13:20 GMT')" "304"
check "if-modified-since old" "$(status /a.txt -H 'If-Modified-Since: Mon, 13 Nov 2023 00:00:00 GMT')" "200"
check "if-match 412" "$(status /a.txt -H 'If-Match: "nope"')" "412"
check "if-unmodified-since 412" "$(status /a.txt -H 'If-Unmodified-Since: Mon, 13 Nov 2023 00:00:00 GMT')" "412"

# ---- ranges ----
check "range body" "$("${C[@]}" -r 0-4 "$BASE/a.txt")" "hello"
check "range status" "$(status /a.txt -r 6-)" "206"
check "content-range" "$(header Content-Range /a.txt -r 6-)" "bytes 6-11/12"
check "suffix range" "$("${C[@]}" -r -6 "$BASE/a.txt")" "world"
check "416" "$(status /a.txt -r 100-)" "416"
check "416 content-range" "$(header Content-Range /a.txt -r 100-)" "bytes */12"
MP=$("${C[@]}" -r 0-1,6-7 "$BASE/a.txt" | tr -d '\r')
check_has "multipart part 1" "$MP" $'Content-Range: bytes 0-1/12\nContent-Type: text/plain; charset=utf-8\n\nhe'
check_has "multipart part 2" "$MP" $'Content-Range: bytes 6-7/12\nContent-Type: text/plain; charset=utf-8\n\nwo'
check_has "multipart type" "$(header Content-Type /a.txt -r 0-1,6-7)" "multipart/byteranges; boundary="
check "if-range stale" "$(status /a.txt -r 0-1 -H 'If-Range: "stale"')" "200"
check "if-range fresh" "$(status /a.txt -r 0-1 -H "If-Range: $ETAG")" "206"

# ---- large file ----
want=$(sha256sum <"$SITE/big.bin" | cut -d' ' -f1)
got=$("${C[@]}" "$BASE/big.bin" | sha256sum | cut -d' ' -f1)
check "1 MiB sha256" "$got" "$want"
got=$("${C[@]}" -r 1000-524287 "$BASE/big.bin" | sha256sum | cut -d' ' -f1)
want=$(tail -c +1001 "$SITE/big.bin" | head -c 523288 | sha256sum | cut -d' ' -f1)
check "range of a large file" "$got" "$want"
check "64 KiB + 1 sha256" "$("${C[@]}" "$BASE/mid.bin" | sha256sum | cut -d' ' -f1)" \
    "$(sha256sum <"$SITE/mid.bin" | cut -d' ' -f1)"
for n in 8192 8193 65535 65536; do
    check "$n bytes sha256" "$("${C[@]}" "$BASE/edge$n.bin" | sha256sum | cut -d' ' -f1)" \
        "$(sha256sum <"$SITE/edge$n.bin" | cut -d' ' -f1)"
    check "$n bytes: range 100-4195" "$("${C[@]}" -r 100-4195 "$BASE/edge$n.bin" | sha256sum | cut -d' ' -f1)" \
        "$(tail -c +101 "$SITE/edge$n.bin" | head -c 4096 | sha256sum | cut -d' ' -f1)"
done
check "20 MiB (sendfile) sha256" "$("${C[@]}" "$BASE/huge.bin" | sha256sum | cut -d' ' -f1)" \
    "$(sha256sum <"$SITE/huge.bin" | cut -d' ' -f1)"
got=$("${C[@]}" -r 17000000-17000099 "$BASE/huge.bin" | sha256sum | cut -d' ' -f1)
want=$(tail -c +17000001 "$SITE/huge.bin" | head -c 100 | sha256sum | cut -d' ' -f1)
check "range deep in a 20 MiB file" "$got" "$want"
check "HEAD of a large file: length" "$(curl -s -I --max-time 10 "$BASE/big.bin" | tr -d '\r' |
    awk -F': ' 'tolower($1) == "content-length" { print $2 }')" "1048576"
check "HEAD of a large file: no body" "$(curl -s -I --max-time 10 -o /dev/null -w '%{size_download}' "$BASE/big.bin")" "0"

# A file cut short while a slow client is still reading it: the transfer ends early
# (curl reports a partial body), the server keeps serving. Both the mapped (16 MiB) and
# the sendfile (20 MiB) path; loopback socket buffers hold several MiB, so the files are
# large and the client slow enough that most of each is still unsent at the cut.
for f in shrink16 shrink20; do
    n=${f#shrink}
    cut_under_download "$f" "$SITE/$f.bin" "$n" "$BASE/$f.bin" "$WORK/$f.got"
    kill -0 "$PID" 2>/dev/null && ok || bad "$f: server died after truncation: $(tail -5 "$WORK/server.log")"
    check "$f: next request" "$(status /a.txt)" "200"
done
check_has "the sendfile cut is logged" "$(cat "$WORK/server.log")" "the file being sent was truncated"

# ---- precompressed ----
check "gzip sidecar" "$(header Content-Encoding /pre.js -H 'Accept-Encoding: gzip')" "gzip"
check "vary" "$(header Vary /pre.js -H 'Accept-Encoding: gzip')" "Accept-Encoding"
check "sidecar type" "$(header Content-Type /pre.js -H 'Accept-Encoding: gzip')" "text/javascript; charset=utf-8"
check "sidecar length" "$(header Content-Length /pre.js -H 'Accept-Encoding: gzip')" "$(stat -c %s "$SITE/pre.js.gz")"
got=$("${C[@]}" -H 'Accept-Encoding: gzip' "$BASE/pre.js" | gzip -dc | sha256sum | cut -d' ' -f1)
check "sidecar content" "$got" "$(sha256sum <"$SITE/pre.js" | cut -d' ' -f1)"
check "no encoding without accept" "$(header Content-Encoding /pre.js)" ""
got=$("${C[@]}" "$BASE/pre.js" | sha256sum | cut -d' ' -f1)
check "identity content" "$got" "$(sha256sum <"$SITE/pre.js" | cut -d' ' -f1)"

# ---- browse ----
check "browse redirect" "$(header Location /list)" "/list/"
LIST=$("${C[@]}" "$BASE/list/")
check_has "browse html" "$LIST" "&lt;i&gt;it&amp;y.txt"
check_has "browse href" "$LIST" 'href="./%3Ci%3Eit&amp;y.txt"'
check_not "browse escaped" "$LIST" "<i>it"
check_has "browse link" "$LIST" 'href="./c%20dir/"'
check "browse type" "$(header Content-Type /list/)" "text/html; charset=utf-8"
JS=$("${C[@]}" -H 'Accept: application/json' "$BASE/list/?sort=size&order=desc")
check_has "browse json" "$JS" '"name":"\u003ci\u003eit\u0026y.txt","size":5'
first=$(printf '%s' "$JS" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["name"])' 2>/dev/null)
check "browse sort size desc" "$first" "<i>it&y.txt"
check_not "browse hides" "$LIST" "secret.txt"

# ---- try_files SPA ----
check "spa asset" "$("${C[@]}" "$BASE/spa/app.js")" "var app = 1;"
check "spa fallback" "$("${C[@]}" "$BASE/spa/some/client/route")" "<html>spa shell</html>"
check "spa fallback status" "$(status /spa/deep/link)" "200"

# ---- basic_auth ----
check "auth required" "$(status /private/x.txt)" "401"
check "auth challenge" "$(header WWW-Authenticate /private/x.txt)" 'Basic realm="restricted"'
check "auth wrong" "$(status /private/x.txt -u alice:wrong)" "401"
check "auth unknown user" "$(status /private/x.txt -u mallory:s3cret)" "401"
check "auth ok" "$("${C[@]}" -u alice:s3cret "$BASE/private/x.txt")" "members only"
check "auth ok again (cached)" "$(status /private/x.txt -u alice:s3cret)" "200"
check "public needs no auth" "$(status /a.txt)" "200"

kill -0 "$PID" 2>/dev/null && ok || bad "server died: $(tail -5 "$WORK/server.log")"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
