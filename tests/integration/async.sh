#!/usr/bin/env bash
# Asynchronous handlers: a bcrypt check (about 1 s at cost 14) runs on the offload pool,
# so while several are in progress the workers still answer other requests at once, and
# the checks themselves still give the right answers.
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

# password "secret", bcrypt cost 14
hash='$2b$14$Y2gowxTSGCpjxrg8FhEX/eeVZTmw5llmzvzROvQq6TgSWf0q0t6Oi'
cat > "$tmp/Caddyfile" <<CF
{
	admin off
}
http://127.0.0.1:$port {
	basic_auth /slow/* {
		alice $hash
	}
	respond /slow/* "in"
	respond /fast "fast"
}
CF
"$CADDYC" run --config "$tmp/Caddyfile" >"$tmp/log" 2>&1 &
pid=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/fast" && break; sleep 0.1; done

# four wrong-password checks in flight (more than the 2 workers a 2-core machine has)
for i in 1 2 3 4; do
    curl -s -o "$tmp/bad$i" -w '%{http_code}' -u alice:wrong "http://127.0.0.1:$port/slow/x" >"$tmp/code$i" &
done
sleep 0.2
t0=$(date +%s%N)
fast=$(curl -s -m 5 "http://127.0.0.1:$port/fast")
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
ok "a plain request is answered while bcrypt checks run (took ${ms} ms)" '[ "$fast" = fast ] && [ "$ms" -lt 500 ]'
wait $(jobs -p | grep -v "^$pid\$") 2>/dev/null
for i in 1 2 3 4; do
    ok "wrong password $i -> 401" '[ "$(cat "$tmp/code$i")" = 401 ]'
done
code=$(curl -s -o "$tmp/good" -w '%{http_code}' -u alice:secret "http://127.0.0.1:$port/slow/x")
ok "right password -> 200 in" '[ "$code" = 200 ] && [ "$(cat "$tmp/good")" = in ]'
# the verified password is cached: the second request does not pay for bcrypt again
t0=$(date +%s%N)
code=$(curl -s -o /dev/null -w '%{http_code}' -u alice:secret "http://127.0.0.1:$port/slow/x")
t1=$(date +%s%N)
ok "cached check is fast ($(( (t1 - t0) / 1000000 )) ms)" '[ "$code" = 200 ] && [ $(( (t1 - t0) / 1000000 )) -lt 300 ]'
ok "unknown user -> 401" '[ "$(curl -s -o /dev/null -w "%{http_code}" -u bob:secret "http://127.0.0.1:$port/slow/x")" = 401 ]'
ok "server still alive" 'kill -0 "$pid"'
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
