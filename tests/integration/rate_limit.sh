#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Integration tests of rate_limit through the real binary: starts `caddy-c run` on
# 127.0.0.1 with a free port and checks over loopback N allowed, N+1 refused with 429 and
# Retry-After, allowed again after the window, per-client keys, a handle_errors page for
# 429, a zone match limiting only POST, and counts kept across a reload through the
# admin API. $CADDYC names the binary (default bin/caddy-c). Ends with
# "N passed, N failed".
set -u
CADDYC=${CADDYC:-bin/caddy-c}
case $CADDYC in /*) ;; *) CADDYC="$PWD/$CADDYC" ;; esac

pass=0 fail=0
tmp=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

check() { # check NAME COMMAND...
    local name=$1
    shift
    if "$@"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: $name" >&2
    fi
}
has() { [[ $1 == *"$2"* ]]; }

used=" "
free_port() {
    local p
    for _ in $(seq 200); do
        p=$((20000 + RANDOM % 10000))
        [[ $used == *" $p "* ]] && continue
        if python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "$p" 2>/dev/null; then
            used+="$p "
            echo "$p"
            return
        fi
    done
}
HP=$(free_port)
AP=$(free_port)
if [ -z "$HP" ] || [ -z "$AP" ]; then
    echo "no free port"
    echo "0 passed, 1 failed"
    exit 1
fi
U="http://127.0.0.1:$HP"
A="http://127.0.0.1:$AP"

# status of a request; extra curl arguments follow the path
st() {
    local path=$1
    shift
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" "$U$path"
}
# count of 200s among N requests
oks() {
    local n=$1 path=$2 ok=0
    shift 2
    for _ in $(seq "$n"); do
        [ "$(st "$path" "$@")" = 200 ] && ok=$((ok + 1))
    done
    echo "$ok"
}

cat >"$tmp/Caddyfile" <<EOF
{
	admin 127.0.0.1:$AP
}

http://127.0.0.1:$HP {
	handle /w {
		rate_limit {
			zone win {
				key {header.X-Client}
				events 5
				window 2s
			}
		}
		respond "ok"
	}
	handle /post {
		rate_limit {
			zone posts {
				key static
				events 2
				window 1m
				match {
					method POST
				}
			}
		}
		respond "posted"
	}
	handle /page {
		rate_limit {
			zone page {
				key static
				events 1
				window 1m
			}
		}
		respond "fine"
	}
	handle /reload {
		rate_limit {
			zone kept {
				key static
				events 2
				window 1m
			}
		}
		respond "v1"
	}
	handle_errors 429 {
		respond "slow down: {err.status_code} in zone {http.rate_limit.exceeded.name}"
	}
}
EOF

cd "$tmp" || exit 1
"$CADDYC" run --config Caddyfile >out.log 2>err.log &
pid=$!
up=false
for _ in $(seq 50); do
    curl -s -o /dev/null --max-time 1 "$U/" && { up=true; break; }
    sleep 0.1
done
check "server starts" $up
if ! $up; then
    cat err.log >&2
    echo "$pass passed, $((fail + 1)) failed"
    exit 1
fi

# ---- N allowed, N+1 refused with Retry-After, allowed after the window -------------
start=$(date +%s.%N)
check "5 requests in the window pass" [ "$(oks 5 /w -H 'X-Client: alice')" = 5 ]
hdrs=$(curl -s -D - -o "$tmp/body" --max-time 5 -H 'X-Client: alice' "$U/w")
check "6th request: 429" has "$hdrs" "HTTP/1.1 429"
ra=$(printf '%s' "$hdrs" | tr -d '\r' | awk -F': ' 'tolower($1)=="retry-after"{print $2}')
check "Retry-After in 1..2 (got '$ra')" [ -n "$ra" ] && [ "$ra" -ge 1 ] && [ "$ra" -le 2 ]
check "Server header on the 429" has "$hdrs" "Server: caddy-c"
check "handle_errors renders the 429" [ "$(cat "$tmp/body")" = "slow down: 429 in zone win" ]
check "another client has its own limit" [ "$(oks 5 /w -H 'X-Client: bob')" = 5 ]
check "bob's 6th: 429" [ "$(st /w -H 'X-Client: bob')" = 429 ]
# sleep until 2.2 s after the first of alice's requests
sleep "$(python3 -c "import time,sys; print(max(0.0, 2.2 - (time.time() - float(sys.argv[1]))))" "$start")"
check "allowed again after the window" [ "$(st /w -H 'X-Client: alice')" = 200 ]

# ---- zone match: only POST counts -----------------------------------------------------
check "GETs are outside the zone" [ "$(oks 6 /post)" = 6 ]
check "2 POSTs pass" [ "$(oks 2 /post -X POST)" = 2 ]
check "3rd POST: 429" [ "$(st /post -X POST)" = 429 ]
check "GET still passes" [ "$(st /post)" = 200 ]

# ---- the error page for the static zone ---------------------------------------------
check "first /page passes" [ "$(curl -s --max-time 5 "$U/page")" = "fine" ]
check "second /page gets the error page" [ "$(curl -s --max-time 5 "$U/page")" = "slow down: 429 in zone page" ]
ra=$(curl -s -D - -o /dev/null --max-time 5 "$U/page" | tr -d '\r' | awk -F': ' 'tolower($1)=="retry-after"{print $2}')
check "Retry-After of a 1m window in 59..60 (got '$ra')" [ -n "$ra" ] && [ "$ra" -ge 59 ] && [ "$ra" -le 60 ]

# ---- reload through the admin API keeps the counts ----------------------------------
check "2 /reload pass" [ "$(oks 2 /reload)" = 2 ]
check "3rd /reload: 429" [ "$(st /reload)" = 429 ]
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST \
    -H 'Content-Type: text/caddyfile' -H 'Cache-Control: must-revalidate' \
    --data-binary @Caddyfile "$A/load")
check "POST /load of the same config: 200" [ "$code" = 200 ]
check "after the reload: still refused" [ "$(st /reload)" = 429 ]
# a changed config (other body) with the same zone parameters keeps the counts too
sed 's/respond "v1"/respond "v2"/' Caddyfile >Caddyfile2
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST \
    -H 'Content-Type: text/caddyfile' --data-binary @Caddyfile2 "$A/load")
check "POST /load of a changed config: 200" [ "$code" = 200 ]
check "the changed config serves" [ "$(curl -s --max-time 5 "$U/w" -H 'X-Client: carol')" = "ok" ]
check "changed config: /reload still refused" [ "$(st /reload)" = 429 ]
# new zone parameters start fresh
sed 's/events 2$/events 3/' Caddyfile2 >Caddyfile3
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST \
    -H 'Content-Type: text/caddyfile' --data-binary @Caddyfile3 "$A/load")
check "POST /load with new zone parameters: 200" [ "$code" = 200 ]
check "new parameters: fresh limiter" [ "$(oks 4 /reload)" = 3 ]

check "the refusal is logged" grep -q '"msg":"rate limit exceeded"' err.log
check "log names zone and remote_ip" grep -q '"zone":"win".*"remote_ip":"127.0.0.1"' err.log

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
