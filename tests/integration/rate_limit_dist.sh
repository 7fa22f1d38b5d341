#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Distributed rate limiting through the storage backend: two caddy-c instances share
# one SQLite storage file; events spent on the first count against the second once
# the state has been written and read (intervals of 1 s). Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
CADDYC=${CADDYC:-$PWD/bin/caddy-c}
pass=0 fail=0
ok() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1" >&2; fi; }
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT

start() { # name port
    cat > "$tmp/$1.Caddyfile" <<CF
{
	admin off
	storage sqlite $tmp/shared.db
}
http://127.0.0.1:$2 {
	rate_limit {
		zone shared {
			key static
			events 6
			window 30s
		}
		distributed {
			read_interval 1s
			write_interval 1s
		}
	}
	respond "ok $1"
}
CF
    "$CADDYC" run --config "$tmp/$1.Caddyfile" >"$tmp/$1.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$2/" && return 0; sleep 0.1; done
    return 1
}
pa=$(freeport); pb=$(freeport)
ok "instance a starts" 'start a "$pa"'
ok "instance b starts" 'start b "$pb"'
# each start probe spent one event on its own instance; spend 4 more on a
codes=""
for i in 1 2 3 4; do codes="$codes$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$pa/")"; done
ok "a allows its own events ($codes)" '[ "$codes" = 200200200200 ]'
ok "storage file is private (0600)" '[ "$(stat -c %a "$tmp/shared.db")" = 600 ]'
sleep 3 # a writes, b reads
# a spent 5, b spent 1: b has room for at most 0 more (6 events per window in total)
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$pb/")
ok "b refuses because of a's events (got $code)" '[ "$code" = 429 ]'
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$pa/")
ok "a refuses too (got $code)" '[ "$code" = 429 ]'
ok "state written under rate_limit/instances/" 'python3 -c "
import sqlite3,sys
c=sqlite3.connect(sys.argv[1]); n=c.execute(\"select count(*) from kv where key like \x27rate_limit/instances/%\x27\").fetchone()[0]
sys.exit(0 if n>=2 else 1)" "$tmp/shared.db"'
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
