#!/usr/bin/env bash
# testssl.sh (Debian package `testssl.sh`) against caddy-c's TLS front on loopback, with
# an ECDSA P-256 certificate from a throwaway CA that testssl is told to trust: no HIGH
# or CRITICAL finding is allowed. The certificate is made like a real one (a year of
# validity, a CRL distribution point) so that what is judged is the server, not the
# test certificate. Bounded in time; client simulation is skipped for speed.
set -u
cd "$(dirname "$0")/../.."
CADDYC=${CADDYC:-$PWD/bin/caddy-c}
pass=0 fail=0
ok() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1" >&2; fi; }

if ! command -v testssl >/dev/null 2>&1; then
    echo "testssl (Debian package testssl.sh) is not installed: make deps-test" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
P=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
H=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/ca.key" 2>/dev/null
openssl req -x509 -new -key "$tmp/ca.key" -out "$tmp/ca.pem" -days 3650 -subj "/CN=testssl Root" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/leaf.key" 2>/dev/null
openssl req -new -key "$tmp/leaf.key" -subj "/CN=localhost" -out "$tmp/leaf.csr" 2>/dev/null
cat >"$tmp/leaf.ext" <<EXT
subjectAltName=DNS:localhost
extendedKeyUsage=serverAuth
keyUsage=critical,digitalSignature
crlDistributionPoints=URI:http://127.0.0.1:$H/root.crl
EXT
openssl x509 -req -in "$tmp/leaf.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial \
    -days 365 -sha256 -extfile "$tmp/leaf.ext" -out "$tmp/leaf.pem" 2>/dev/null

cat >"$tmp/Caddyfile" <<CF
{
	admin off
	http_port $H
	https_port $P
}
localhost:$P {
	tls $tmp/leaf.pem $tmp/leaf.key
	respond "hello"
}
CF
"$CADDYC" run --config "$tmp/Caddyfile" >"$tmp/log" 2>&1 &
pid=$!
for _ in $(seq 50); do
    curl -s -o /dev/null --cacert "$tmp/ca.pem" "https://localhost:$P/" && break
    sleep 0.1
done
ok "server up" '[ "$(curl -s --cacert "$tmp/ca.pem" "https://localhost:$P/")" = hello ]'

# protocols, cipher lists, forward secrecy, preferences, server defaults, headers and
# vulnerabilities; --fast skips the slowest per-cipher probes
timeout 500 testssl --quiet --fast --warnings off --color 0 --ip one --sneaky \
    -p -s -f -P -S -h -U --add-ca "$tmp/ca.pem" --jsonfile "$tmp/ts.json" \
    "localhost:$P" >"$tmp/ts.out" 2>&1
rc=$?
ok "testssl finished in time (exit $rc)" '[ "$rc" -ne 124 ] && [ -s "$tmp/ts.json" ]'
bad=$(python3 - "$tmp/ts.json" <<'PY'
import json, sys
try:
    findings = json.load(open(sys.argv[1]))
except Exception as e:
    print("unreadable JSON: %s" % e); sys.exit(0)
for f in findings:
    if f.get("severity") in ("HIGH", "CRITICAL"):
        print("%s %s: %s" % (f["severity"], f.get("id"), f.get("finding")))
PY
)
ok "no HIGH or CRITICAL finding" '[ -z "$bad" ]'
[ -n "$bad" ] && echo "$bad" >&2
ok "TLS 1.0 and 1.1 not offered" \
    'python3 -c "import json,sys; d={f[\"id\"]:f[\"finding\"] for f in json.load(open(sys.argv[1]))}; sys.exit(0 if d.get(\"TLS1\",\"\").startswith(\"not offered\") and d.get(\"TLS1_1\",\"\").startswith(\"not offered\") else 1)" "$tmp/ts.json"'
ok "TLS 1.3 offered" \
    'python3 -c "import json,sys; d={f[\"id\"]:f[\"finding\"] for f in json.load(open(sys.argv[1]))}; sys.exit(0 if d.get(\"TLS1_3\",\"\").startswith(\"offered\") else 1)" "$tmp/ts.json"'
ok "server alive" 'kill -0 "$pid"'
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
