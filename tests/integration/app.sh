#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Lifecycle tests of the real caddy-c binary: run, the admin API (/load, /config, /stop,
# Host check), reload and stop commands, signals (graceful SIGTERM with a request in
# flight, SIGUSR1), --watch, --envfile, file-server, an HTTPS site with a local certificate, and
# reloads under load (wrk). Servers listen on 127.0.0.1 ports from 20000-29999 and are
# killed by PID. $CADDYC names the binary (default bin/caddy-c). Ends with
# "N passed, N failed".
set -u
CADDYC=${CADDYC:-bin/caddy-c}
case $CADDYC in /*) ;; *) CADDYC="$PWD/$CADDYC" ;; esac

pass=0 fail=0
pids=()
tmp=$(mktemp -d)
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp" || exit 1

check() { # description, then a command that must succeed
    local what=$1
    shift
    if "$@"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: $what" >&2
        [ -f err.log ] && tail -n 5 err.log | cut -c1-300 >&2
    fi
}
has() { [[ $1 == *"$2"* ]]; }
lacks() { [[ $1 != *"$2"* ]]; }
differs() { ! cmp -s "$1" "$2"; }
between() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
is_json() { printf '%s' "$1" | python3 -m json.tool >/dev/null 2>&1; }

# A free TCP port on 127.0.0.1 in 20000-29999 (never one handed out before).
used_ports=" "
free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 10000))
        [[ $used_ports == *" $p "* ]] && continue
        if python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "$p" 2>/dev/null; then
            used_ports+="$p "
            echo "$p"
            return
        fi
    done
    echo 0
}

# wait_http URL: until anything answers (5 s at most)
wait_http() {
    for _ in $(seq 1 50); do
        curl -s -o /dev/null --max-time 1 "$1" && return 0
        sleep 0.1
    done
    return 1
}
# wait_exit PID SECONDS: until the process is gone; its status in $exit_rc
wait_exit() {
    local pid=$1 n=$(($2 * 10))
    for _ in $(seq 1 "$n"); do
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid" 2>/dev/null
            exit_rc=$?
            return 0
        fi
        sleep 0.1
    done
    exit_rc=255
    return 1
}
# start ARGS...: runs caddy-c in the background (stderr in err.log); PID in $srv
start() {
    "$CADDYC" "$@" >out.log 2>err.log &
    srv=$!
    pids+=("$srv")
}
stop_srv() {
    kill -TERM "$srv" 2>/dev/null
    wait_exit "$srv" 10 || kill -9 "$srv" 2>/dev/null
}
get() { curl -s --max-time 5 "$@"; }
status_of() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }

AP=$(free_port) # admin port
HP=$(free_port) # site port
HP2=$(free_port)
ADMIN="127.0.0.1:$AP"
A="http://$ADMIN"
U="http://127.0.0.1:$HP"
export CADDY_ADMIN=$ADMIN
site() { # site BODY-DIRECTIVES: a Caddyfile for the test site on $HP
    printf '{\n\tdefault_bind 127.0.0.1\n}\n\nhttp://127.0.0.1:%s {\n%s\n}\n' "$HP" "$1"
}

# ---- run, GET /config, POST /load ------------------------------------------------
site $'\trespond "hello"' >Caddyfile
start run
wait_http "$U/"
check "run: serves the Caddyfile" [ "$(get "$U/")" = "hello" ]
check "run: Server header" has "$(curl -s -i --max-time 5 "$U/")" "Server: caddy-c"
cfg=$(get "$A/config/")
check "GET /config/ is JSON" is_json "$cfg"
check "GET /config/ has the handler" has "$cfg" '"static_response"'
check "GET /config/<path>" [ "$(get "$A/config/apps/http/servers/srv0/listen/0")" = "\"127.0.0.1:$HP\"" ]
check "GET /config/ missing path is 404" [ "$(status_of "$A/config/apps/nope")" = 404 ]
check "GET /config/ bad index is 404" [ "$(status_of "$A/config/apps/http/servers/srv0/listen/7")" = 404 ]
check "admin: Host check answers 403" [ "$(status_of -H 'Host: evil.example:80' "$A/config/")" = 403 ]
check "admin: foreign Origin answers 403" [ "$(status_of -H 'Origin: http://evil.example' "$A/config/")" = 403 ]
check "admin: unknown path 404" [ "$(status_of "$A/nothing")" = 404 ]
check "admin: GET /load is 405" [ "$(status_of "$A/load")" = 405 ]

site $'\trespond "loaded" 201' >new.caddyfile
code=$(status_of -X POST -H 'Content-Type: text/caddyfile' --data-binary @new.caddyfile "$A/load")
check "POST /load Caddyfile: 200" [ "$code" = 200 ]
check "POST /load: new response" [ "$(get "$U/")" = "loaded" ]
check "POST /load: new status" [ "$(status_of "$U/")" = 201 ]

site $'\trespond "ok"\n\tbogus_directive' >bad.caddyfile
resp=$(curl -s -w '\n%{http_code}' --max-time 5 -X POST -H 'Content-Type: text/caddyfile' --data-binary @bad.caddyfile "$A/load")
check "bad /load: 400" has "$resp" $'\n400'
check "bad /load: error names FILE:LINE" has "$resp" '"error":"adapting config using caddyfile adapter: Caddyfile:7: unrecognized directive: bogus_directive"'
check "bad /load: old config keeps serving" [ "$(get "$U/")" = "loaded" ]

resp=$(curl -s -w '\n%{http_code}' --max-time 5 -X POST -H 'Content-Type: application/json' --data '{"apps":' "$A/load")
check "bad JSON /load: 400 with message" has "$resp" 'decoding request body'
json=$(get "$A/config/")
code=$(status_of -X POST -H 'Content-Type: application/json' --data "$json" "$A/load")
check "POST /load JSON: 200" [ "$code" = 200 ]
check "POST /load JSON: serving" [ "$(get "$U/")" = "loaded" ]
check "identical config is a no-op" has "$(tail -n 3 err.log)" 'config is unchanged'

code=$(status_of -X PATCH -H 'Content-Type: application/json' --data '"patched"' \
    "$A/config/apps/http/servers/srv0/routes/0/handle/0/routes/0/handle/0/body")
check "PATCH /config/...: 200" [ "$code" = 200 ]
check "PATCH /config/...: applied" [ "$(get "$U/")" = "patched" ]

code=$(status_of -X POST -H 'Content-Type: application/json' --data '"127.0.0.1:'"$HP2"'"' \
    "$A/config/apps/http/servers/srv0/listen")
check "POST /config/<array>: appends (new listener)" [ "$code" = 200 ]
check "POST /config/<array>: new listener serves" [ "$(get "http://127.0.0.1:$HP2/")" = "patched" ]
code=$(status_of -X DELETE "$A/config/apps/http/servers/srv0/listen/1")
check "DELETE /config/<array>/1: 200" [ "$code" = 200 ]
check "DELETE: listener closed" [ "$(status_of --max-time 2 "http://127.0.0.1:$HP2/")" = 000 ]
code=$(status_of -X PUT -H 'Content-Type: application/json' --data '{}' "$A/config/apps/http/servers/srv0")
check "PUT on an existing key: 409" [ "$code" = 409 ]
code=$(status_of -X PATCH -H 'Content-Type: text/plain' --data '1' "$A/config/apps")
check "PATCH without JSON content type: 400" [ "$code" = 400 ]
code=$(status_of -X PATCH -H 'Content-Type: application/json' --data '{"handler":"nope"}' \
    "$A/config/apps/http/servers/srv0/routes/0/handle/0/routes/0/handle/0")
check "PATCH to a bad handler: 400" [ "$code" = 400 ]
check "PATCH to a bad handler: old config serves" [ "$(get "$U/")" = "patched" ]
check "PATCH to a bad handler: config unchanged" has "$(get "$A/config/")" '"patched"'
out=$(curl -s --max-time 5 -X POST -H 'Content-Type: text/caddyfile' --data-binary @new.caddyfile "$A/adapt")
check "POST /adapt: result JSON" has "$out" '"result":{'
check "POST /adapt: does not load" [ "$(get "$U/")" = "patched" ]

# ---- reload command --------------------------------------------------------------
site $'\trespond "reloaded"' >r1.caddyfile
timeout -s KILL 20 "$CADDYC" reload --config r1.caddyfile >/dev/null 2>rl.err
check "reload: exit 0" [ $? -eq 0 ]
check "reload: new config serves" [ "$(get "$U/")" = "reloaded" ]
site $'\trespond "x"\n\tnope_directive' >r2.caddyfile
timeout -s KILL 20 "$CADDYC" reload --config r2.caddyfile >/dev/null 2>rl.err
rc=$?
check "reload bad: exit 1" [ $rc -eq 1 ]
check "reload bad: FILE:LINE shown" has "$(cat rl.err)" 'Error: adapting config using caddyfile: r2.caddyfile:7:'
check "reload bad: old config serves" [ "$(get "$U/")" = "reloaded" ]
# a config that adapts but fails to provision: the server's error comes back
printf '{"apps":{"http":{"servers":{"srv0":{"listen":["127.0.0.1:%s"],"routes":[{"handle":[{"handler":"no_such_handler"}]}]}}}}}' "$HP" >bad.json
timeout -s KILL 20 "$CADDYC" reload --config bad.json >/dev/null 2>rl.err
rc=$?
check "reload unprovisionable JSON: exit 1" [ $rc -eq 1 ]
check "reload unprovisionable JSON: server's message" has "$(cat rl.err)" 'responded with error: HTTP 400'
check "reload unprovisionable JSON: old config serves" [ "$(get "$U/")" = "reloaded" ]
timeout -s KILL 20 "$CADDYC" reload --config r1.caddyfile --address 127.0.0.1:1 >/dev/null 2>rl.err
check "reload to a dead address: exit 1" [ $? -eq 1 ]

# ---- SIGUSR1 ---------------------------------------------------------------------
site $'\trespond "usr1"' >Caddyfile
kill -USR1 "$srv"
for _ in $(seq 1 30); do [ "$(get "$U/")" = usr1 ] && break; sleep 0.1; done
check "SIGUSR1 reloads the config file" [ "$(get "$U/")" = "usr1" ]

# ---- reloads under load ----------------------------------------------------------
if command -v wrk >/dev/null; then
    site $'\trespond "A"' >la.caddyfile
    site $'\trespond "B"' >lb.caddyfile
    wrk -t1 -c20 -d6s "$U/" >wrk.out 2>&1 &
    wrk_pid=$!
    pids+=("$wrk_pid")
    sleep 0.5
    reload_ok=0
    for i in 1 2 3 4 5; do
        f=la.caddyfile
        [ $((i % 2)) -eq 0 ] && f=lb.caddyfile
        [ "$(status_of -X POST -H 'Content-Type: text/caddyfile' --data-binary @"$f" "$A/load")" = 200 ] &&
            reload_ok=$((reload_ok + 1))
        sleep 0.8
    done
    wait_exit "$wrk_pid" 15
    w=$(cat wrk.out)
    check "under load: 5 reloads accepted" [ "$reload_ok" -eq 5 ]
    check "under load: wrk ran" has "$w" "requests in"
    check "under load: no non-2xx responses" lacks "$w" "Non-2xx"
    check "under load: no socket errors" lacks "$w" "Socket errors"
else
    echo "SKIP: wrk not installed (apt-get install wrk)" >&2
fi

# ---- stop command ----------------------------------------------------------------
timeout -s KILL 20 "$CADDYC" stop >/dev/null 2>st.err
check "stop: exit 0" [ $? -eq 0 ]
wait_exit "$srv" 10
check "stop: the server exits 0" [ "$exit_rc" -eq 0 ]
timeout -s KILL 20 "$CADDYC" stop >/dev/null 2>st.err
check "stop without a server: exit 1" [ $? -eq 1 ]

# ---- graceful SIGTERM with a slow download in flight ---------------------------
# 40 MB at 10 MB/s: far more than the loopback socket buffers hold, so the response is
# still being written when the signal comes.
mkdir -p www
head -c 40000000 /dev/urandom >www/big.bin
site $'\troot * www\n\tfile_server' >Caddyfile
start run
wait_http "$U/"
curl -s --max-time 30 --limit-rate 10M -o got.bin -w '%{http_code}' "$U/big.bin" >dl.code &
dl=$!
sleep 0.7
kill -TERM "$srv"
sleep 0.3
check "SIGTERM: new connections refused while draining" [ "$(status_of --max-time 2 "$U/")" = 000 ]
check "SIGTERM: still running while a request is in flight" kill -0 "$srv"
wait "$dl"
check "SIGTERM: in-flight download completes" cmp -s got.bin www/big.bin
check "SIGTERM: download status 200" [ "$(cat dl.code)" = 200 ]
wait_exit "$srv" 15
check "SIGTERM: exit 0" [ "$exit_rc" -eq 0 ]
check "SIGTERM: logged" has "$(cat err.log)" 'shutting down apps, then terminating'

# grace_period bounds the wait: the download is cut after it
printf '{\n\tdefault_bind 127.0.0.1\n\tgrace_period 1s\n}\nhttp://127.0.0.1:%s {\n\troot * www\n\tfile_server\n}\n' "$HP" >Caddyfile
start run
wait_http "$U/"
curl -s --max-time 30 --limit-rate 10M -o got.bin "$U/big.bin" &
dl=$!
sleep 0.5
t0=$(date +%s%N)
kill -TERM "$srv"
wait_exit "$srv" 10
t1=$(date +%s%N)
wait "$dl"
check "grace_period: exit 0" [ "$exit_rc" -eq 0 ]
check "grace_period: stopped after about 1 s" between $(((t1 - t0) / 1000000)) 900 3000
check "grace_period: the slow download was cut" differs got.bin www/big.bin

# a second SIGINT quits at once (exit 2); SIGQUIT too
site $'\troot * www\n\tfile_server' >Caddyfile
start run
wait_http "$U/"
curl -s --max-time 30 --limit-rate 10M -o /dev/null "$U/big.bin" &
dl=$!
sleep 0.5
kill -INT "$srv"
sleep 0.3
kill -INT "$srv"
wait_exit "$srv" 5
check "second SIGINT: force quit, exit 2" [ "$exit_rc" -eq 2 ]
wait "$dl"
start run
wait_http "$U/"
kill -QUIT "$srv"
wait_exit "$srv" 5
check "SIGQUIT: exit 2" [ "$exit_rc" -eq 2 ]

# ---- admin off -----------------------------------------------------------------
printf '{\n\tadmin off\n\tdefault_bind 127.0.0.1\n}\nhttp://127.0.0.1:%s {\n\trespond "noadmin"\n}\n' "$HP" >Caddyfile
start run
wait_http "$U/"
check "admin off: site serves" [ "$(get "$U/")" = "noadmin" ]
check "admin off: no admin listener" [ "$(status_of --max-time 2 "$A/config/")" = 000 ]
stop_srv

# ---- admin on another address ----------------------------------------------------
AP2=$(free_port)
printf '{\n\tadmin 127.0.0.1:%s\n\tdefault_bind 127.0.0.1\n}\nhttp://127.0.0.1:%s {\n\trespond "a2"\n}\n' "$AP2" "$HP" >Caddyfile
start run
wait_http "$U/"
check "admin <addr>: listens there" [ "$(status_of "http://127.0.0.1:$AP2/config/")" = 200 ]
check "admin <addr>: not on the default" [ "$(status_of --max-time 2 "$A/config/")" = 000 ]
timeout -s KILL 20 "$CADDYC" stop --config Caddyfile >/dev/null 2>st.err
check "stop --config finds the admin address" [ $? -eq 0 ]
wait_exit "$srv" 10
check "stop --config: exit 0" [ "$exit_rc" -eq 0 ]

# ---- admin on a unix socket ------------------------------------------------------
sock="$tmp/admin.sock"
printf '{\n\tadmin unix/%s\n\tdefault_bind 127.0.0.1\n}\nhttp://127.0.0.1:%s {\n\trespond "unix"\n}\n' "$sock" "$HP" >Caddyfile
start run
wait_http "$U/"
check "admin unix socket: config over the socket" has "$(curl -s --max-time 5 --unix-socket "$sock" http://x/config/)" '"unix/'
timeout -s KILL 20 "$CADDYC" stop --address "unix/$sock" >/dev/null 2>st.err
check "admin unix socket: stop --address unix/..." [ $? -eq 0 ]
wait_exit "$srv" 10
check "admin unix socket: exit 0" [ "$exit_rc" -eq 0 ]
check "admin unix socket: socket file removed" [ ! -e "$sock" ]

# ---- --watch ---------------------------------------------------------------------
site $'\trespond "w1"' >watched.caddyfile
start run --config watched.caddyfile --watch
wait_http "$U/"
check "watch: initial" [ "$(get "$U/")" = "w1" ]
sleep 1.1
site $'\trespond "w2"' >watched.caddyfile
for _ in $(seq 1 40); do [ "$(get "$U/")" = w2 ] && break; sleep 0.1; done
check "watch: reloads a changed file" [ "$(get "$U/")" = "w2" ]
site $'\trespond "w3"\n\tnonsense_here' >watched.caddyfile
sleep 2.2
check "watch: a broken file keeps the old config" [ "$(get "$U/")" = "w2" ]
check "watch: failure logged" has "$(cat err.log)" 'watched.caddyfile:7'
stop_srv

# ---- --envfile, JSON config, empty config ----------------------------------------
printf 'GREETING=hi-from-env\n' >vars.env
site $'\trespond "{$GREETING}"' >env.caddyfile
start run --config env.caddyfile --envfile vars.env
wait_http "$U/"
check "envfile: variable used" [ "$(get "$U/")" = "hi-from-env" ]
stop_srv

printf '{"apps":{"http":{"servers":{"s":{"listen":["127.0.0.1:%s"],"routes":[{"handle":[{"handler":"static_response","body":"from json"}]}]}}}}}' "$HP" >conf.json
start run --config conf.json
wait_http "$U/"
check "run JSON config" [ "$(get "$U/")" = "from json" ]
stop_srv

mkdir -p empty
(cd empty && exec "$CADDYC" run >../out.log 2>../err.log) &
srv=$!
pids+=("$srv")
wait_http "$A/config/"
check "no config: admin answers null" [ "$(get "$A/config/")" = "null" ]
site $'\trespond "late"' >late.caddyfile
timeout -s KILL 20 "$CADDYC" reload --config late.caddyfile >/dev/null 2>rl.err
check "no config: reload brings a site" [ "$(get "$U/")" = "late" ]
stop_srv

# ---- failed starts ---------------------------------------------------------------
site $'\trespond "x"\n\tnot_a_directive' >Caddyfile
timeout -s KILL 20 "$CADDYC" run >out.log 2>err.log
rc=$?
check "bad Caddyfile: exit 1" [ $rc -eq 1 ]
check "bad Caddyfile: Error with FILE:LINE" has "$(cat err.log)" 'Error: adapting config using caddyfile: Caddyfile:7: unrecognized directive: not_a_directive'

# an HTTPS site starts: a local name gets a certificate from the internal CA at once
TP=$(free_port)
printf '{\n\tdefault_bind 127.0.0.1\n\thttp_port %s\n\thttps_port %s\n}\nlocalhost {\n\trespond "tls"\n}\n' "$(free_port)" "$TP" >Caddyfile
XDG_DATA_HOME=$tmp/data start run
for _ in $(seq 1 50); do curl -sk -o /dev/null --max-time 1 "https://localhost:$TP/" && break; sleep 0.1; done
check "HTTPS site: served over TLS" [ "$(curl -sk --max-time 5 "https://localhost:$TP/")" = "tls" ]
issuer=$(curl -skv --max-time 5 -o /dev/null "https://localhost:$TP/" 2>&1 | grep -i 'issuer:')
check "HTTPS site: certificate from the local CA" has "$issuer" "Caddy Local Authority"
stop_srv

python3 -c 'import socket,time,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(); time.sleep(8)' "$HP" &
blocker=$!
pids+=("$blocker")
# wait until the blocker really holds the port (python starts slowly on a busy machine)
for _ in $(seq 1 50); do curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$HP/" 2>/dev/null; [ $? -ne 7 ] && break; sleep 0.1; done
site $'\trespond "x"' >Caddyfile
timeout -s KILL 20 "$CADDYC" run >out.log 2>err.log
rc=$?
check "port in use: exit 1" [ $rc -eq 1 ]
check "port in use: message" has "$(cat err.log)" 'Error: loading initial config: loading new config'
kill "$blocker" 2>/dev/null
wait "$blocker" 2>/dev/null

timeout -s KILL 20 "$CADDYC" run --config nope.caddyfile >out.log 2>err.log
check "missing config file: exit 1" [ $? -eq 1 ]
check "missing config file: message" has "$(cat err.log)" 'reading config from file: open nope.caddyfile: no such file or directory'

# ---- file-server -----------------------------------------------------------------
mkdir -p pub/sub
echo "static hello" >pub/index.html
echo "plain" >pub/sub/a.txt
start file-server --root pub --listen "127.0.0.1:$HP" --browse
wait_http "$U/"
check "file-server: index" [ "$(get "$U/")" = "static hello" ]
check "file-server: file" [ "$(get "$U/sub/a.txt")" = "plain" ]
check "file-server: browse lists" has "$(get "$U/sub/")" 'a.txt'
check "file-server: missing is 404" [ "$(status_of "$U/nope")" = 404 ]
stop_srv
start file-server --root pub --listen "127.0.0.1:$HP" --no-compress --access-log
wait_http "$U/"
check "file-server --no-compress: file" [ "$(get "$U/sub/a.txt")" = "plain" ]
check "file-server --no-compress: no listing without --browse" [ "$(status_of "$U/sub/")" = 404 ]
check "file-server --access-log: logged" has "$(cat err.log)" 'handled request'
stop_srv

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
