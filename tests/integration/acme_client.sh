#!/usr/bin/env bash
# The ACME client (certmagic/acme*.c) against the real Pebble CA: the test program
# $BUILD/tests/acme_probe runs cc_acme_obtain and answers http-01 and tls-alpn-01 itself
# from the challenge table. Covers: http-01 only, tls-alpn-01 only, several names (DNS
# and IP) in one order, key types, account reuse across runs sharing storage (Pebble
# sees one account), a failed challenge reported in one line, cancellation, ARI (Pebble
# 2.4 has none: the client says so; a stand-in CA checks the certificate id and the
# answer), then Pebble restarted with badNonce rejection, random validation delays and
# -strict (the stored account is unknown to the new Pebble and registers again), and
# with external account binding required. Issued chains are checked with
# `openssl verify` against Pebble's issuing root. Pebble comes from the Debian package
# (scripts/deps.sh test) and the harness in ../shared/acme (or $ACME_HARNESS).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
PROBE=${ACME_PROBE:-$PWD/$BUILD/tests/acme_probe}
. tests/lib/acme.sh "$PROBE"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/acme-client.XXXXXX")
PEBBLE_STATE=
stop_pebble() {
    if [ -n "$PEBBLE_STATE" ]; then
        bash "$HARNESS/pebble-down" "$PEBBLE_STATE" >/dev/null 2>&1
        PEBBLE_STATE=
    fi
}
cleanup() {
    stop_pebble
    [ "$fail" -eq 0 ] && rm -rf "$WORK" || echo "kept $WORK"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
HTTP_PORT=$(free_port)
TLS_PORT=$(free_port)
while [ "$TLS_PORT" = "$HTTP_PORT" ]; do TLS_PORT=$(free_port); done

# start_pebble NAME [VAR=value...]: a fresh Pebble (all its own ports picked free)
# (the directory port stays the same across restarts, as a real CA's URL does, so that
# the account stored for it is found again; a port race on start is retried)
DIR_PORT=$(free_port)
start_pebble() { pebble_start "$1" "$DIR_PORT" "$HTTP_PORT" "$TLS_PORT" "${@:2}"; }

# probe OUTNAME args...: runs the probe against the current Pebble; output in
# $WORK/OUTNAME.out (stdout: result lines) and .log (stderr: the client's log)
probe() {
    local name=$1; shift
    timeout 120 "$PROBE" --dir "$ACME_DIRECTORY" --ca-root "$ACME_CA_CERT" \
        --http-port "$HTTP_PORT" --tls-port "$TLS_PORT" "$@" \
        >"$WORK/$name.out" 2>"$WORK/$name.log"
    if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$WORK/$name.log"; then
        bad "$name: sanitizer report"
        head -n 30 "$WORK/$name.log"
    fi
}
field() { sed -n "s/^$2: //p" "$WORK/$1.out"; }
has() { grep -qF -- "$2" "$WORK/$1.$3"; }

# verify NAME: chain verifies against Pebble's issuing root, the key matches the leaf
verify() {
    local c=$WORK/$1.chain k=$WORK/$1.key
    [ -s "$c" ] && [ -s "$k" ] || return 1
    openssl verify -CAfile "$ACME_ROOT_CERT" -untrusted "$c" "$c" >/dev/null 2>&1 || return 1
    [ "$(openssl x509 -in "$c" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum)" = \
      "$(openssl pkey -in "$k" -pubout -outform DER | sha256sum)" ]
}
sans() { openssl x509 -in "$WORK/$1.chain" -noout -ext subjectAltName | tail -n +2 | tr -d ' '; }
accounts() { grep -c 'accounts in memory' "$PEBBLE_STATE/pebble.log"; }

start_pebble p1 || { bad "pebble-up failed"; finish; }

# 1. http-01 only
probe h1 --no-alpn01 --chain-out "$WORK/h1.chain" --key-out "$WORK/h1.key" web.test
check "http-01: result ok" [ "$(field h1 result)" = ok ]
check "http-01: served 3 validations (pebble sends 3)" [ "$(field h1 'served http-01')" = 3 ]
check "http-01: no tls-alpn-01 served" [ "$(field h1 'served tls-alpn-01')" = 0 ]
check "http-01: chain verifies, key matches" verify h1
check "http-01: SAN" [ "$(sans h1)" = "DNS:web.test" ]
check "http-01: challenge table empty afterwards" [ "$(field h1 'pending challenges')" = 0 ]
check "http-01: log names the challenge" has h1 '"challenge_type":"http-01"' log

# 2. tls-alpn-01 only
probe a1 --no-http01 --chain-out "$WORK/a1.chain" --key-out "$WORK/a1.key" alpn.test
check "tls-alpn-01: result ok" [ "$(field a1 result)" = ok ]
check "tls-alpn-01: served 3 handshakes with acme-tls/1" [ "$(field a1 'served tls-alpn-01')" = 3 ]
check "tls-alpn-01: no http-01 served" [ "$(field a1 'served http-01')" = 0 ]
check "tls-alpn-01: chain verifies, key matches" verify a1
check "tls-alpn-01: SAN" [ "$(sans a1)" = "DNS:alpn.test" ]
check "tls-alpn-01: leaf is P-256 by default" \
    bash -c "openssl x509 -in '$WORK/a1.chain' -noout -text | grep -q 'NIST CURVE: P-256'"
check "tls-alpn-01: chain has leaf and intermediate" \
    [ "$(grep -c 'BEGIN CERTIFICATE' "$WORK/a1.chain")" = 2 ]

# 3. several names, DNS and IP, one order; both challenge types allowed
probe m1 --chain-out "$WORK/m1.chain" --key-out "$WORK/m1.key" one.test two.test Three.TEST 127.0.0.1
check "multi: result ok" [ "$(field m1 result)" = ok ]
check "multi: chain verifies" verify m1
check "multi: all four SANs (lower-cased)" \
    [ "$(sans m1 | tr ',' '\n' | sort | tr '\n' ' ')" = "DNS:one.test DNS:three.test DNS:two.test IPAddress:127.0.0.1 " ]
check "multi: 4 authorizations x 3 validations" \
    [ $(($(field m1 'served http-01') + $(field m1 'served tls-alpn-01'))) = 12 ]
check "multi: one order" [ "$(grep -c 'finalizing order' "$WORK/m1.log")" = 1 ]

# 4. key types
probe k384 --key-type p384 --chain-out "$WORK/k384.chain" --key-out "$WORK/k384.key" p384.test
check "p384: ok and verifies" verify k384
check "p384: leaf key" bash -c "openssl x509 -in '$WORK/k384.chain' -noout -text | grep -q 'NIST CURVE: P-384'"
probe krsa --key-type rsa2048 --chain-out "$WORK/krsa.chain" --key-out "$WORK/krsa.key" rsa.test
check "rsa2048: ok and verifies" verify krsa
check "rsa2048: leaf key" bash -c "openssl x509 -in '$WORK/krsa.chain' -noout -text | grep -q 'Public-Key: (2048 bit)'"
check "rsa2048: key PEM is PKCS#1" grep -q "BEGIN RSA PRIVATE KEY" "$WORK/krsa.key"
probe kbad --key-type p999 bad.test
check "bad key type: one clear error, before any order" grep -qE '^error: .*key type.*p999' "$WORK/kbad.out"
check "bad key type: no order created" bash -c "! grep -q 'trying to solve' '$WORK/kbad.log'"

# 5. account stored and reused: two runs, one storage, one account at Pebble
before=$(accounts)
probe r1 --storage "$WORK/store.db" --email Ops@Example.com --chain-out "$WORK/r1.chain" --key-out "$WORK/r1.key" reuse1.test
probe r2 --storage "$WORK/store.db" --email Ops@Example.com --chain-out "$WORK/r2.chain" --key-out "$WORK/r2.key" reuse2.test
check "reuse: both runs ok" [ "$(field r1 result)$(field r2 result)" = okok ]
check "reuse: Pebble created exactly one account" [ $(($(accounts) - before)) = 1 ]
check "reuse: first run created it" has r1 "created new ACME account" log
check "reuse: second run used the stored one" has r2 "using stored ACME account" log
check "reuse: second run sent no newAccount" bash -c "! grep -qE 'created new ACME account|found existing ACME account' '$WORK/r2.log'"
check "reuse: first chain verifies" verify r1
check "reuse: second chain verifies" verify r2
keys=$(python3 -c 'import sqlite3,sys; print("\n".join(r[0] for r in sqlite3.connect(sys.argv[1]).execute("select key from kv order by key")))' "$WORK/store.db" 2>&1)
dirkey=$(echo "$ACME_DIRECTORY" | sed -E 's#^https://##; s#:#-#; s#/#-#g')
check "reuse: certmagic key layout (registration)" grep -qx "acme/$dirkey/users/ops@example.com/ops.json" <<<"$keys"
check "reuse: certmagic key layout (account key)" grep -qx "acme/$dirkey/users/ops@example.com/ops.key" <<<"$keys"
python3 -c 'import sqlite3,sys; sys.stdout.write(sqlite3.connect(sys.argv[1]).execute("select value from kv where key=?", (sys.argv[2],)).fetchone()[0].decode())' \
    "$WORK/store.db" "acme/$dirkey/users/ops@example.com/ops.key" >"$WORK/acct.key" 2>/dev/null
check "reuse: stored account key is a P-256 SEC1 key" \
    bash -c "grep -q 'BEGIN EC PRIVATE KEY' '$WORK/acct.key' && openssl ec -in '$WORK/acct.key' -noout -text 2>/dev/null | grep -q 'NIST CURVE: P-256'"

# 6. a failed challenge: nothing answers; every tried type is in one error line
probe f1 --no-serve fail.test
check "failure: no result" [ -z "$(field f1 result)" ]
check "failure: exactly one error line" [ "$(grep -c '^error: ' "$WORK/f1.out")" = 1 ]
check "failure: names identifier and tls-alpn-01" has f1 "fail.test (tls-alpn-01): urn:ietf:params:acme:error:" out
check "failure: names identifier and http-01" has f1 "fail.test (http-01): urn:ietf:params:acme:error:connection" out
check "failure: carries the validation error" has f1 "connection refused" out
check "failure: challenges unpublished" [ "$(field f1 'pending challenges')" = 0 ]
probe f2 --no-serve --no-alpn01 fail2.test
check "failure (http-01 only): one line with the CA's detail" \
    grep -qE '^error: acme: validation failed: fail2.test \(http-01\): urn:ietf:params:acme:error:connection - .*fail2.test.*connection refused$' "$WORK/f2.out"

# a wildcard needs dns-01, which this client does not solve: said in one line
probe w1 '*.wild.test'
check "wildcard: no solver, offered and configured types named" \
    grep -qE '^error: acme: \*\.wild\.test: no solvers available for remaining challenges \(configured=\[http-01 tls-alpn-01\] offered=\[dns-01\] remaining=\[\]\)$' "$WORK/w1.out"

# 7. cancellation: the CA never answers; cfg->cancel set after 500 ms ends it at once
BH=$(free_port)
timeout 60 "$PROBE" --dir "https://127.0.0.1:$BH/dir" --blackhole "$BH" --cancel-after 500 cx.test \
    >"$WORK/c1.out" 2>"$WORK/c1.log"
check "cancel: reported" has c1 "error: acme: cancelled" out
check "cancel: within 3 s" [ "$(field c1 elapsed_ms)" -lt 3000 ]

# 8. ARI: Pebble 2.4 has no renewalInfo
probe ari0 --ari --cert "$WORK/h1.chain"
check "ARI: Pebble offers none, said clearly" has ari0 "no renewalInfo" out
# a stand-in CA with renewalInfo (HTTPS with Pebble's own TLS certificate)
aki=$(openssl x509 -in "$WORK/h1.chain" -noout -ext authorityKeyIdentifier | tail -n 1 | tr -d ' :' | sed 's/^keyid//')
serial=$(openssl x509 -in "$WORK/h1.chain" -noout -serial | cut -d= -f2)
[ $((${#serial} % 2)) = 1 ] && serial=0$serial
case $serial in [89A-Fa-f]*) serial=00$serial ;; esac
b64u() { python3 -c 'import base64,sys; print(base64.urlsafe_b64encode(bytes.fromhex(sys.stdin.read().strip())).decode().rstrip("="))'; }
want_id="$(printf %s "$aki" | b64u).$(printf %s "$serial" | b64u)"
ARI_PORT=$(free_port)
cat >"$WORK/ari.py" <<'EOF'
import http.server, json, ssl, sys
port, cert, key, log = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        base = "https://127.0.0.1:%d" % port
        if self.path == "/dir":
            body = {"newNonce": base + "/nonce", "newAccount": base + "/acct",
                    "newOrder": base + "/order", "renewalInfo": base + "/ari/"}
        elif self.path.startswith("/ari/"):
            open(log, "a").write(self.path[5:] + "\n")
            body = {"suggestedWindow": {"start": "2030-01-02T03:04:05Z",
                                        "end": "2030-01-03T00:00:00.5+01:00"}}
        else:
            self.send_response(404); self.end_headers(); return
        b = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers(); self.wfile.write(b)
srv = http.server.HTTPServer(("127.0.0.1", port), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.timeout = 1
for _ in range(30):
    srv.handle_request()
EOF
python3 "$WORK/ari.py" "$ARI_PORT" "$PEBBLE_STATE/pebble-tls/cert.pem" "$PEBBLE_STATE/pebble-tls/key.pem" "$WORK/ari.ids" &
ari_pid=$!
for _ in $(seq 50); do curl -s --cacert "$ACME_CA_CERT" "https://127.0.0.1:$ARI_PORT/dir" >/dev/null && break; sleep 0.1; done
timeout 30 "$PROBE" --dir "https://127.0.0.1:$ARI_PORT/dir" --ca-root "$ACME_CA_CERT" --ari \
    --cert "$WORK/h1.chain" >"$WORK/ari1.out" 2>"$WORK/ari1.log"
kill "$ari_pid" 2>/dev/null; wait "$ari_pid" 2>/dev/null
check "ARI: window start parsed (2030-01-02T03:04:05Z)" [ "$(field ari1 ari_start)" = 1893553445 ]
check "ARI: certificate id = b64url(AKI).b64url(serial)" [ "$(head -n 1 "$WORK/ari.ids" 2>/dev/null)" = "$want_id" ]

# 9. Pebble restarted with its upstream defaults switched back on (50% badNonce, random
# validation sleeps) and -strict; the stored account is unknown there and registers again
stop_pebble
start_pebble p2 PEBBLE_WFE_NONCEREJECT=50 PEBBLE_VA_NOSLEEP=0 ACME_STRICT=1 || { bad "pebble-up (nonce reject) failed"; finish; }
probe n1 --debug --storage "$WORK/store.db" --email Ops@Example.com --chain-out "$WORK/n1.chain" --key-out "$WORK/n1.key" n1.test n2.test 127.0.0.1
check "badNonce+sleep+strict: result ok" [ "$(field n1 result)" = ok ]
check "badNonce+sleep+strict: chain verifies" verify n1
check "badNonce+sleep+strict: badNonce was retried" has n1 "badNonce from the CA; retrying" log
check "badNonce+sleep+strict: stale stored account registered again" has n1 "registering it again" log
check "badNonce+sleep+strict: one account at the new Pebble" [ "$(accounts)" = 1 ]
probe n2 --storage "$WORK/store.db" --email Ops@Example.com n3.test
check "re-registered account is stored and reused" has n2 "using stored ACME account" log
check "re-registered account: ok" [ "$(field n2 result)" = ok ]

# 10. external account binding required
stop_pebble
MAC=$(head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=')
start_pebble p3 ACME_EAB="kid-7:$MAC" ACME_DOMAIN_BLOCKLIST=blocked.test || { bad "pebble-up (EAB) failed"; finish; }
probe e0 eab0.test
check "EAB: refused without a binding, clear error" has e0 "requires external account binding" out
probe e1 --eab-kid kid-7 --eab-key "$MAC" --chain-out "$WORK/e1.chain" --key-out "$WORK/e1.key" eab.test
check "EAB: account bound, certificate issued" [ "$(field e1 result)" = ok ]
check "EAB: chain verifies" verify e1
probe e2 --eab-kid kid-7 --eab-key "$(head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=')" eab2.test
check "EAB: a wrong MAC key is the CA's clear error" grep -qE '^error: acme: registering account: HTTP 4[0-9][0-9] urn:ietf:params:acme:error:' "$WORK/e2.out"
probe b1 --eab-kid kid-7 --eab-key "$MAC" blocked.test
check "refused identifier: the CA's problem document in one line" \
    grep -qE '^error: acme: creating order: HTTP 400 urn:ietf:params:acme:error:rejectedIdentifier - .*blocked.test' "$WORK/b1.out"

finish
