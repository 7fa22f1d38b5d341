#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The `log` directive through the real binary: JSON access lines with Caddy's fields,
# credentials redacted, log_skip honoured, and size-based rolling (roll_size 1MiB,
# roll_keep 2) of a file output. Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
CADDYC=${CADDYC:-$PWD/bin/caddy-c}
pass=0 fail=0
ok() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1" >&2; fi; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

cat > "$tmp/Caddyfile" <<CF
{
	admin off
}
http://127.0.0.1:$port {
	log {
		output file $tmp/access.log {
			roll_size 1MiB
			roll_keep 2
		}
		format json
	}
	log_skip /health
	respond /health "ok"
	respond "hello {path}" 203
}
CF
"$CADDYC" run --config "$tmp/Caddyfile" >"$tmp/out" 2>&1 &
pid=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.1; done

curl -s -o /dev/null -u alice:secret -H 'Cookie: session=abc' -A 'logtest/1.0' \
    "http://127.0.0.1:$port/first?x=1"
curl -s -o /dev/null "http://127.0.0.1:$port/health"
sleep 0.3
first=$(grep '"/first?x=1"' "$tmp/access.log" | head -n 1)
check() { printf '%s' "$first" | python3 -c "import json,sys; e=json.load(sys.stdin); sys.exit(0 if ($1) else 1)"; }
ok "an access line is written for /first" '[ -n "$first" ]'
ok "line is JSON with Caddy's logger and msg" 'check "e[\"logger\"].startswith(\"http.log.access\") and e[\"msg\"] == \"handled request\""'
ok "request fields" 'check "e[\"request\"][\"method\"] == \"GET\" and e[\"request\"][\"uri\"] == \"/first?x=1\" and e[\"request\"][\"proto\"] == \"HTTP/1.1\" and e[\"request\"][\"remote_ip\"] == \"127.0.0.1\""'
ok "status, size, duration" 'check "e[\"status\"] == 203 and e[\"size\"] == len(\"hello /first\") and isinstance(e[\"duration\"], float)"'
ok "user agent kept" 'check "e[\"request\"][\"headers\"][\"User-Agent\"] == [\"logtest/1.0\"]"'
ok "Authorization redacted" 'check "e[\"request\"][\"headers\"][\"Authorization\"] == [\"REDACTED\"]"'
ok "Cookie redacted" 'check "e[\"request\"][\"headers\"][\"Cookie\"] == [\"REDACTED\"]"'
ok "the secret is nowhere in the log" '! grep -q "YWxpY2U6c2VjcmV0\|session=abc" "$tmp/access.log"'
ok "log_skip: /health is not logged" '! grep -q "\"/health\"" "$tmp/access.log"'
ok "log file mode is 0600" '[ "$(stat -c %a "$tmp/access.log")" = 600 ]'

# about 3 MiB of log lines (10 KB header each) to make the file roll more than twice
pad=$(head -c 10000 /dev/zero | tr '\0' 'a')
urls=()
for i in $(seq 100); do urls+=("http://127.0.0.1:$port/fill$i"); done
for round in 1 2 3; do
    curl -s -o /dev/null -o /dev/null -H "X-Pad: $pad" "${urls[@]}" >/dev/null
done
sleep 0.5
nbackups=$(ls "$tmp" | grep -c '^access-.*\.log$')
ok "rolled into backups (found $nbackups)" '[ "$nbackups" -ge 1 ]'
ok "roll_keep 2 keeps at most 2 backups" '[ "$nbackups" -le 2 ]'
ok "current file below the roll size" '[ "$(stat -c %s "$tmp/access.log")" -le $((1024 * 1024)) ]'
last=$(tail -n 1 "$tmp/access.log")
ok "lines after rolling are whole JSON" 'printf "%s" "$last" | python3 -c "import json,sys; json.load(sys.stdin)"'
ok "server still alive" 'kill -0 "$pid"'
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
