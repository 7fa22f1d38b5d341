#!/usr/bin/env bash
# ACME renewal through `caddy-c run` against the real Pebble CA: Pebble issues
# short-lived certificates (certificateValidityPeriod, one hour) and the site's
# `tls { renewal_window_ratio 0.999 }` makes each one due a few seconds after its
# notBefore, so the certmagic manager renews on its own timer with no restart. Checked:
# a new order at Pebble, "certificate renewed successfully" in the log, a different
# serial on new connections, and a keep-alive connection opened on the old certificate
# still answering after the swap. Pebble comes from the Debian package (scripts/deps.sh
# test) and the harness in ../shared/acme (or $ACME_HARNESS).
set -u
cd "$(dirname "$0")/../.."
CADDYC=${CADDYC:-$PWD/bin/caddy-c}
. tests/lib/acme.sh "$CADDYC"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/acme-renew.XXXXXX")
PEBBLE_STATE= pid= kpid=
cleanup() {
    [ -n "$kpid" ] && { kill "$kpid" 2>/dev/null; wait "$kpid" 2>/dev/null; }
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    [ -n "$PEBBLE_STATE" ] && bash "$HARNESS/pebble-down" "$PEBBLE_STATE" >/dev/null 2>&1
    [ "$fail" -eq 0 ] && rm -rf "$WORK" || echo "kept $WORK"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
HP=$(free_port)
TP=$(free_port)
while [ "$TP" = "$HP" ]; do TP=$(free_port); done
pebble_start pebble 0 "$HP" "$TP" ACME_CERT_VALIDITY=3600 || { bad "pebble-up failed"; finish; }

cat >"$WORK/Caddyfile" <<EOF
{
	admin off
	default_bind 127.0.0.1
	http_port $HP
	https_port $TP
	acme_ca $ACME_DIRECTORY
	acme_ca_root $ACME_CA_CERT
	email ops@example.com
	renew_interval 2s
	storage sqlite $WORK/data/caddy-c.db
}
renew.test {
	tls {
		renewal_window_ratio 0.999
	}
	respond "renewed {http.request.tls.server_name}"
}
EOF

HOME=$WORK XDG_DATA_HOME=$WORK/xdg XDG_CONFIG_HOME=$WORK/xdg-config \
    "$CADDYC" run --config "$WORK/Caddyfile" >"$WORK/run.log" 2>&1 &
pid=$!

# serial and notAfter of the certificate a new connection gets ("" when none yet)
serial() {
    echo | timeout 10 openssl s_client -connect "127.0.0.1:$TP" -servername renew.test \
        -CAfile "$ACME_ROOT_CERT" -verify_return_error -verify_hostname renew.test 2>/dev/null |
        openssl x509 -noout -serial 2>/dev/null | sed 's/^serial=//'
}
first=
t0=$SECONDS
while [ $((SECONDS - t0)) -lt 30 ]; do
    first=$(serial)
    [ -n "$first" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
done
check "first certificate from Pebble served and verified" [ -n "$first" ]
[ -n "$first" ] || finish
exp=$(echo | openssl s_client -connect "127.0.0.1:$TP" -servername renew.test 2>/dev/null |
    openssl x509 -noout -startdate -enddate 2>/dev/null | tr '\n' ' ')
echo "first certificate: serial $first $exp"

# a keep-alive connection opened on the first certificate: one request now, then it waits
# for "go" on stdin (sent after the swap) and makes a second request on the same socket
mkfifo "$WORK/ka.in"
cat >"$WORK/ka.py" <<'PY'
import socket, ssl, sys
port, root = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=root)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20),
                    server_hostname="renew.test")
f = s.makefile("rb")
def get():
    s.sendall(b"GET / HTTP/1.1\r\nHost: renew.test\r\n\r\n")
    status = f.readline().decode().strip()
    n = 0
    while True:
        h = f.readline().decode().strip()
        if not h:
            break
        if h.lower().startswith("content-length:"):
            n = int(h.split(":")[1])
    return status, f.read(n).decode()
print("serial1", s.getpeercert()["serialNumber"], *get(), flush=True)
sys.stdin.readline()
print("serial2", s.getpeercert()["serialNumber"], *get(), flush=True)
PY
python3 "$WORK/ka.py" "$TP" "$ACME_ROOT_CERT" <"$WORK/ka.in" >"$WORK/ka.out" 2>&1 &
kpid=$!
exec 3>"$WORK/ka.in"
t0=$SECONDS
while [ $((SECONDS - t0)) -lt 10 ] && ! grep -q serial1 "$WORK/ka.out"; do sleep 0.1; done
check "keep-alive connection: first request ($(cat "$WORK/ka.out"))" \
    grep -q '^serial1 [0-9A-F]* HTTP/1.1 200 OK renewed renew.test$' "$WORK/ka.out"

# renewal: wait (bounded) until a new connection gets a different certificate
second=
t0=$SECONDS
while [ $((SECONDS - t0)) -lt 40 ]; do
    second=$(serial)
    [ -n "$second" ] && [ "$second" != "$first" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
done
echo "renewed certificate: serial $second after $((SECONDS - t0)) s"
check "renewed certificate served to new connections ($first -> $second)" \
    bash -c "[ -n '$second' ] && [ '$second' != '$first' ]"
check "log: certificate renewed successfully" grep -q 'certificate renewed successfully' "$WORK/run.log"
check "log: renewal went through tls.renew" grep -q '"logger":"tls.renew"' "$WORK/run.log"
orders=$(grep -c 'POST /order-plz' "$PEBBLE_STATE/pebble.log")
check "Pebble saw a new order ($orders orders)" [ "$orders" -ge 2 ]
check "the renewal reused the account" [ "$(grep -c 'accounts in memory' "$PEBBLE_STATE/pebble.log")" = 1 ]
b=$(curl -s -m 10 --resolve "renew.test:$TP:127.0.0.1" --cacert "$ACME_ROOT_CERT" "https://renew.test:$TP/")
check "curl over the renewed certificate ($b)" [ "$b" = "renewed renew.test" ]

# the old keep-alive connection still answers
(echo go >&3) 2>/dev/null # a subshell: a dead reader must not SIGPIPE the script
exec 3>&-
t0=$SECONDS
while [ $((SECONDS - t0)) -lt 10 ] && ! grep -q serial2 "$WORK/ka.out"; do sleep 0.1; done
check "keep-alive connection survives the swap ($(tail -n 1 "$WORK/ka.out"))" \
    grep -q '^serial2 [0-9A-F]* HTTP/1.1 200 OK renewed renew.test$' "$WORK/ka.out"
s1=$(awk '/^serial1/ {print $2}' "$WORK/ka.out")
s2=$(awk '/^serial2/ {print $2}' "$WORK/ka.out")
check "keep-alive connection still on the first certificate ($s1 = $s2 = $first)" \
    bash -c "[ '$s1' = '$s2' ] && [ '$s1' = '$first' ]"
wait "$kpid" 2>/dev/null
kpid=
check "no error logged" bash -c "! grep -q '\"level\":\"error\"' '$WORK/run.log'"
kill -0 "$pid" 2>/dev/null
check "server still running" [ $? = 0 ]
finish
