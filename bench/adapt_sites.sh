#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Adapt benchmark: generates a Caddyfile with many varied sites (proxies, static files,
# named matchers, nested handle blocks) and times `caddy-c adapt` on it over several
# runs, alongside the installed Caddy when there is one. Fails if the best caddy-c time
# is 1 second or more.
# Usage: bench/adapt_sites.sh   (env: SITES=2000 RUNS=5 CADDYC=bin/caddy-c)
set -u
cd "$(dirname "$0")/.." || exit 1
SITES=${SITES:-2000}
RUNS=${RUNS:-5}
CADDYC=${CADDYC:-bin/caddy-c}
LIMIT=1.0

work=$(mktemp -d "${TMPDIR:-/tmp}/cc-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cf=$work/Caddyfile

gen() {
    printf '{\n\tadmin off\n}\n\n'
    local i port
    for ((i = 0; i < SITES; i++)); do
        port=$((10000 + i))
        case $((i % 5)) in
        0)
            printf 'site%d.example.com {\n\treverse_proxy 127.0.0.1:%d\n\tencode gzip\n\theader X-Site-%d %d\n}\n\n' \
                "$i" "$port" "$i" "$i"
            ;;
        1)
            printf 'site%d.example.com {\n\troot * /srv/site%d\n\tencode zstd gzip\n\theader Cache-Control "max-age=%d"\n\tfile_server\n}\n\n' \
                "$i" "$i" "$i"
            ;;
        2)
            printf 'site%d.example.com {\n\t@api path /api/* /v%d/*\n\treverse_proxy @api 127.0.0.1:%d 127.0.0.1:%d {\n\t\tlb_policy round_robin\n\t\thealth_uri /health\n\t}\n\troot * /srv/site%d\n\tfile_server browse\n}\n\n' \
                "$i" "$i" "$port" $((port + 20000)) "$i"
            ;;
        3)
            printf 'site%d.example.com {\n\t@post {\n\t\tmethod POST\n\t\tpath /submit*\n\t}\n\trespond @post "created %d" 201\n\tredir /old /new 301\n\trewrite /app /index.html\n\trespond "hello %d"\n}\n\n' \
                "$i" "$i" "$i"
            ;;
        4)
            printf 'site%d.example.com, www.site%d.example.com {\n\thandle /static/* {\n\t\troot * /srv/static%d\n\t\tfile_server\n\t}\n\thandle {\n\t\treverse_proxy 127.0.0.1:%d {\n\t\t\theader_up X-Real-IP {remote_host}\n\t\t}\n\t\theader -Server\n\t}\n\ttry_files {path} /index.html\n}\n\n' \
                "$i" "$i" "$i" "$port"
            ;;
        esac
    done
}

# Prints the wall time of one run in seconds (3 decimals), or "fail" if the command
# failed or took longer than 60 s.
time_one() {
    local t
    t=$({
        TIMEFORMAT=%3R
        time timeout 60 "$@" >"$work/out.json" 2>"$work/err.txt"
    } 2>&1) || {
        echo fail
        return
    }
    echo "$t"
}

# Runs "$@" RUNS times; prints "best median" or returns 1 after showing the error.
bench() {
    local times=() i t
    for ((i = 0; i < RUNS; i++)); do
        t=$(time_one "$@")
        if [ "$t" = fail ]; then
            echo "  command failed: $*" >&2
            head -n 20 "$work/err.txt" >&2
            return 1
        fi
        times+=("$t")
    done
    local sorted
    sorted=$(printf '%s\n' "${times[@]}" | sort -n)
    echo "$(echo "$sorted" | head -n 1) $(echo "$sorted" | sed -n "$(((RUNS + 1) / 2))p")"
}

gen >"$cf"
echo "Caddyfile: $SITES sites, $(wc -l <"$cf") lines, $(wc -c <"$cf") bytes; $RUNS runs each"

if [ ! -x "$CADDYC" ]; then
    echo "caddy-c: $CADDYC not found (run make)" >&2
    exit 1
fi
res=$(bench "$CADDYC" adapt --config "$cf") || exit 1
read -r best median <<<"$res"
if ! head -c 1 "$work/out.json" | grep -q '{'; then
    echo "caddy-c adapt printed no JSON" >&2
    exit 1
fi
echo "caddy-c adapt: best ${best}s, median ${median}s"

if [ -x /usr/bin/caddy ]; then
    if cres=$(bench /usr/bin/caddy adapt --config "$cf" --adapter caddyfile); then
        read -r cbest cmedian <<<"$cres"
        echo "caddy adapt:   best ${cbest}s, median ${cmedian}s ($(/usr/bin/caddy version | cut -d' ' -f1))"
    else
        echo "caddy adapt: failed on this file (comparison skipped)"
    fi
fi

if awk -v b="$best" -v l="$LIMIT" 'BEGIN { exit !(b + 0 >= l + 0) }'; then
    echo "FAIL: best time ${best}s >= ${LIMIT}s"
    exit 1
fi
echo "ok: best time ${best}s < ${LIMIT}s"
