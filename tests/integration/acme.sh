#!/usr/bin/env bash
# Automatic HTTPS end to end against the real Pebble CA: `caddy-c run` with three site
# addresses gets a certificate for each from Pebble (the engine answers http-01 on
# http_port and tls-alpn-01 on https_port, the certmagic manager drives the ACME client),
# then serves them: curl trusts only Pebble's issuing root, openssl s_client checks the
# chain and the host name. A restart with the same storage serves at once from the
# stored certificates and account: no new order, no new account. Pebble comes from the
# Debian package (scripts/deps.sh test) and the harness in ../shared/acme
# (or $ACME_HARNESS).
set -u
cd "$(dirname "$0")/../.."
CADDYC=${CADDYC:-$PWD/bin/caddy-c}
. tests/lib/acme.sh "$CADDYC"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/acme-e2e.XXXXXX")
PEBBLE_STATE= pid=
stop_caddy() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        pid=
    fi
}
cleanup() {
    stop_caddy
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
pebble_start pebble 0 "$HP" "$TP" || { bad "pebble-up failed"; finish; }

cat >"$WORK/Caddyfile" <<EOF
{
	admin off
	default_bind 127.0.0.1
	http_port $HP
	https_port $TP
	acme_ca $ACME_DIRECTORY
	acme_ca_root $ACME_CA_CERT
	email ops@example.com
	storage sqlite $WORK/data/caddy-c.db
}
app.test {
	respond "hi"
}
api.test {
	tls {
		issuer acme {
			dir $ACME_DIRECTORY
			trusted_roots $ACME_CA_CERT
			disable_http_challenge
		}
	}
	respond "api"
}
www.app.test {
	tls {
		issuer acme {
			dir $ACME_DIRECTORY
			trusted_roots $ACME_CA_CERT
			disable_tlsalpn_challenge
		}
	}
	respond "www"
}
EOF

start_caddy() { # log file
    HOME=$WORK XDG_DATA_HOME=$WORK/xdg XDG_CONFIG_HOME=$WORK/xdg-config \
        "$CADDYC" run --config "$WORK/Caddyfile" >"$1" 2>&1 &
    pid=$!
}
get() { # name -> body over HTTPS, trusting only Pebble's issuing root
    curl -s -m 10 --resolve "$1:$TP:127.0.0.1" --cacert "$ACME_ROOT_CERT" "https://$1:$TP/"
}
wait_all() { # seconds: until every site answers over HTTPS
    local t0=$SECONDS
    while [ $((SECONDS - t0)) -lt "$1" ]; do
        [ "$(get app.test)$(get api.test)$(get www.app.test)" = hiapiwww ] && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.25
    done
    return 1
}

# 1. first start: three certificates from Pebble
start_caddy "$WORK/run1.log"
t0=$(date +%s%N)
check "all three sites served with Pebble certificates" wait_all 60
echo "first start -> three sites on HTTPS: $((($(date +%s%N) - t0) / 1000000)) ms"
b=$(get app.test)
check "app.test body ($b)" [ "$b" = hi ]
check "api.test body" [ "$(get api.test)" = api ]
check "www.app.test body" [ "$(get www.app.test)" = www ]
curl -s -m 20 -o /dev/null --resolve "app.test:$TP:127.0.0.1" "https://app.test:$TP/"
rc=$?
check "without Pebble's root curl refuses (60, got $rc)" [ $rc = 60 ]
curl -s -m 20 -o /dev/null --resolve "app.test:$TP:127.0.0.1" --cacert "$ACME_CA_CERT" "https://app.test:$TP/"
rc=$?
check "Pebble's TLS CA does not validate issued certificates (60, got $rc)" [ $rc = 60 ]
for n in app.test api.test www.app.test; do
    s=$(echo | timeout 20 openssl s_client -connect "127.0.0.1:$TP" -servername "$n" \
        -CAfile "$ACME_ROOT_CERT" -verify_return_error -verify_hostname "$n" 2>&1)
    echo "$s" >"$WORK/s_client.$n.txt"
    check "$n: openssl verifies chain and host name" grep -q 'Verify return code: 0 (ok)' <<<"$s"
    check "$n: issued by Pebble's intermediate" grep -q 'Pebble Intermediate CA' <<<"$s"
done
log=$WORK/run1.log
check "api.test validated with tls-alpn-01" \
    grep -q '"identifier":"api.test","challenge_type":"tls-alpn-01"' "$log"
check "www.app.test validated with http-01" \
    grep -q '"identifier":"www.app.test","challenge_type":"http-01"' "$log"
check "no http-01 for api.test" bash -c "! grep -q '\"identifier\":\"api.test\",\"challenge_type\":\"http-01\"' '$log'"
check "one account created" [ "$(grep -c 'created new ACME account' "$log")" = 1 ]
check "the other issuances reused it" [ "$(grep -c 'using stored ACME account' "$log")" = 2 ]
check "Pebble saw exactly one account" [ "$(grep -c 'accounts in memory' "$PEBBLE_STATE/pebble.log")" = 1 ]
check "no ACME error logged" bash -c "! grep -q '\"level\":\"error\"' '$log'"
stop_caddy

# 2. restart with the same storage: stored certificates served at once, nothing issued
orders_before=$(grep -c 'POST /order-plz' "$PEBBLE_STATE/pebble.log")
start_caddy "$WORK/run2.log"
t0=$(date +%s%N)
check "after restart all three sites served" wait_all 20
echo "restart -> three sites on HTTPS: $((($(date +%s%N) - t0) / 1000000)) ms"
sleep 1
check "restart: no new order at Pebble" [ "$(grep -c 'POST /order-plz' "$PEBBLE_STATE/pebble.log")" = "$orders_before" ]
check "restart: no account request" bash -c "! grep -qE 'created new ACME account|found existing ACME account' '$WORK/run2.log'"
check "restart: still one account at Pebble" [ "$(grep -c 'accounts in memory' "$PEBBLE_STATE/pebble.log")" = 1 ]
stop_caddy

finish
