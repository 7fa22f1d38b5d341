# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Shared by integration suites that drive the real binary: the binary to run ($CADDYC,
# else bin/caddy-c, made absolute), the pass/fail counters with ok/bad, and a check that
# a file cut short under a slow download ends that transfer. Set ROOT_DIR first, then
# `. "$ROOT_DIR/tests/lib/counts.sh"`.
CADDYC=${CADDYC:-$ROOT_DIR/bin/caddy-c}
case "$CADDYC" in /*) ;; *) CADDYC=$ROOT_DIR/$CADDYC ;; esac

pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
    fail=$((fail + 1))
    echo "FAIL: $*" >&2
}

# Writes MIB MiB of random bytes to FILE, downloads URL slowly into OUT with curl (the
# remaining arguments are curl options), cuts FILE to 4 KiB once bytes have arrived, and
# checks that the transfer ended early. curl's rc 28 (its own --max-time) would mean
# the server stalled instead of ending the response.
cut_under_download() { # label file mib url out curl-options...
    local label=$1 file=$2 mib=$3 url=$4 out=$5 cpid rc size
    shift 5
    head -c $((mib << 20)) /dev/urandom >"$file"
    rm -f "$out"
    curl -s --max-time 30 --limit-rate 4M "$@" -o "$out" "$url" &
    cpid=$!
    for _ in $(seq 1 100); do
        [ -s "$out" ] && break
        sleep 0.05
    done
    truncate -s 4096 "$file"
    wait "$cpid"
    rc=$?
    size=$(stat -c %s "$out" 2>/dev/null || echo 0)
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 28 ] && [ "$size" -lt $((mib << 20)) ]; then ok; else
        bad "$label: truncated file: curl rc $rc, $size bytes (want a short transfer the server ends)"
    fi
}
