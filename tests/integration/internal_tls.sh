#!/usr/bin/env bash
# Automatic HTTPS with the internal CA: `caddy-c run` on localhost-style sites gets
# certificates in the background (storage: SQLite in a temp dir), curl trusts them with
# the root from storage (written by `caddy-c trust` into an overridden directory), the
# HTTP port answers 308 redirects with Connection: close, a short-lived leaf (issuer
# internal { lifetime 12s }) is renewed and swapped while a keep-alive connection keeps
# working, a restart reuses the stored CA and certificates, and trust/untrust write and
# remove the root. The system trust store is never touched (CADDYC_TRUST_DIR).
set -u
cd "$(dirname "$0")/../.."
CADDYC=${CADDYC:-$PWD/bin/caddy-c}
pass=0 fail=0
ok() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1" >&2; fi; }
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

hp=$(freeport)
sp=$(freeport)
tmp=$(mktemp -d)
pid=
stop_server() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=; fi; }
cleanup() { stop_server; rm -rf "$tmp"; }
trap cleanup EXIT
export CADDYC_TRUST_DIR="$tmp/trust" CADDYC_TRUST_UPDATE="echo run >> $tmp/updates"

cat > "$tmp/Caddyfile" <<CF
{
	admin off
	http_port $hp
	https_port $sp
	storage sqlite $tmp/data/caddy-c.db
}
localhost, 127.0.0.1 {
	respond "hello {http.request.host}"
}
short.localhost {
	tls {
		issuer internal {
			lifetime 12s
		}
	}
	respond "short"
}
CF

start_server() {
    "$CADDYC" run --config "$tmp/Caddyfile" >"$tmp/$1" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$hp/" && break
        sleep 0.05
    done
}
root="$tmp/trust/caddy-c-local-root.crt"
# the leaf certificate served for a name, as PEM
leaf() { openssl s_client -connect "127.0.0.1:$sp" -servername "$1" </dev/null 2>/dev/null | openssl x509 2>/dev/null; }
fp() { leaf "$1" | openssl x509 -noout -fingerprint -sha256 2>/dev/null; }
https() { curl -s -m 5 --cacert "$root" --resolve "$1:$sp:127.0.0.1" "https://$1:$sp${2:-/}"; }
wait_https() {
    for _ in $(seq 100); do [ "$(https "$1")" = "$2" ] && return 0; sleep 0.05; done
    return 1
}

start_server log1
ok "server started" 'kill -0 "$pid"'
"$CADDYC" trust --config "$tmp/Caddyfile" >"$tmp/trust.out" 2>&1
ok "trust exits 0" '[ $? -eq 0 ]'
ok "trust wrote the root" '[ -s "$root" ] && grep -q "BEGIN CERTIFICATE" "$root"'
ok "trust ran the update command" '[ "$(cat "$tmp/updates" 2>/dev/null)" = run ]'
ok "root is the local CA" 'openssl x509 -in "$root" -noout -subject | grep -q "Caddy Local Authority - .* ECC Root"'

ok "https://localhost verifies with the stored root" 'wait_https localhost "hello localhost"'
ok "https://short.localhost too" 'wait_https short.localhost short'
body=$(curl -s -m 5 --cacert "$root" "https://127.0.0.1:$sp/")
ok "https://127.0.0.1 (IP SAN, no SNI): $body" '[ "$body" = "hello 127.0.0.1" ]'
sc=$(openssl s_client -connect "127.0.0.1:$sp" -servername localhost -CAfile "$root" </dev/null 2>&1)
ok "s_client verifies the chain" 'echo "$sc" | grep -q "Verify return code: 0 (ok)"'
ok "chain is leaf + intermediate" '[ "$(echo "$sc" | grep -c "^ [0-9] s:")" = 2 ]'
leaf localhost >"$tmp/leaf.pem"
nb=$(date -d "$(openssl x509 -in "$tmp/leaf.pem" -noout -startdate | cut -d= -f2)" +%s)
na=$(date -d "$(openssl x509 -in "$tmp/leaf.pem" -noout -enddate | cut -d= -f2)" +%s)
ok "leaf lives 12 hours ($((na - nb)) s)" '[ $((na - nb)) -eq 43200 ]'
ok "leaf has the localhost SAN" 'openssl x509 -in "$tmp/leaf.pem" -noout -ext subjectAltName | grep -q "DNS:localhost"'
ok "leaf is ECDSA P-256" 'openssl x509 -in "$tmp/leaf.pem" -noout -text | grep -q "NIST CURVE: P-256"'

# HTTP -> HTTPS: 308, Connection: close; the port is the configured https_port, which
# Caddy leaves out of the Location (it is the internal view of 443)
hdr=$(curl -s -m 5 -D - -o /dev/null "http://localhost:$hp/a/b?c=d")
ok "redirect is 308" 'echo "$hdr" | head -1 | grep -q "^HTTP/1.1 308"'
ok "Location keeps path and query" 'echo "$hdr" | grep -qi "^Location: https://localhost/a/b?c=d"'
ok "redirect closes the connection" 'echo "$hdr" | grep -qi "^Connection: close"'
hdr=$(curl -s -m 5 -D - -o /dev/null -H "Host: other.example" "http://127.0.0.1:$hp/x")
ok "catch-all redirect for unknown hosts" 'echo "$hdr" | grep -qi "^Location: https://other.example/x"'

# renewal of the 12 s leaf (due with a third left): a new certificate appears, and a
# keep-alive connection opened on the old one keeps working
cat > "$tmp/keepalive.py" <<'PY'
import hashlib, http.client, socket, ssl, subprocess, sys, time
port, root = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=root)
def conn():
    c = http.client.HTTPSConnection("short.localhost", port, context=ctx, timeout=5)
    c.sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                             server_hostname="short.localhost")
    return c
def fp(c):
    return hashlib.sha256(c.sock.getpeercert(binary_form=True)).hexdigest()
c = conn()
c.request("GET", "/"); r = c.getresponse(); b1 = r.read()
first = fp(c)
deadline = time.time() + 25
renewed = None
while time.time() < deadline:
    n = conn()
    n.request("GET", "/"); n.getresponse().read()
    if fp(n) != first:
        renewed = fp(n); n.close(); break
    n.close(); time.sleep(0.5)
c.request("GET", "/"); r = c.getresponse(); b2 = r.read()
print("first", first)
print("renewed", renewed)
print("old", b1.decode(), b2.decode(), r.status, fp(c) == first)
PY
out=$(timeout 40 python3 "$tmp/keepalive.py" "$sp" "$root" 2>&1)
ok "short-lived leaf renewed: $(echo "$out" | tr '\n' ' ')" 'echo "$out" | grep -q "^renewed [0-9a-f]\{64\}$"'
ok "keep-alive connection survives the swap" 'echo "$out" | grep -q "^old short short 200 True$"'
ok "renewal logged" 'grep -q "\"certificate renewed successfully\",\"identifier\":\"short.localhost\"" "$tmp/log1"'

# restart: the stored CA and certificates are reused, nothing is issued again
fp1=$(fp localhost)
rootfp1=$(openssl x509 -in "$root" -noout -fingerprint -sha256)
stop_server
start_server log2
ok "restarted" 'kill -0 "$pid"'
ok "served right after restart" 'wait_https localhost "hello localhost"'
ok "same leaf after restart" '[ -n "$fp1" ] && [ "$(fp localhost)" = "$fp1" ]'
ok "no new issuance for localhost" '! grep -q "\"obtaining certificate\",\"identifier\":\"localhost\"" "$tmp/log2"'
"$CADDYC" trust --config "$tmp/Caddyfile" >/dev/null 2>&1
ok "same root after restart" '[ "$(openssl x509 -in "$root" -noout -fingerprint -sha256)" = "$rootfp1" ]'
stop_server

# two instances sharing one storage, started together: the CA is created once and the
# certificate is issued once (a storage lock per name; the second instance finds the
# certificate stored, at start or after waiting for the lock)
hp2=$(freeport); sp2=$(freeport); hp3=$(freeport); sp3=$(freeport)
for n in 2 3; do
    eval "h=\$hp$n s=\$sp$n"
    printf '{\n\tadmin off\n\thttp_port %s\n\thttps_port %s\n\tstorage sqlite %s\n}\nshared.localhost {\n\trespond "i%s"\n}\n' \
        "$h" "$s" "$tmp/shared/caddy-c.db" "$n" >"$tmp/Shared$n.caddyfile"
done
"$CADDYC" run --config "$tmp/Shared2.caddyfile" >"$tmp/log_s2" 2>&1 &
p2=$!
"$CADDYC" run --config "$tmp/Shared3.caddyfile" >"$tmp/log_s3" 2>&1 &
p3=$!
CADDYC_TRUST_DIR="$tmp/trust_shared" CADDYC_TRUST_UPDATE=true "$CADDYC" trust --config "$tmp/Shared2.caddyfile" >/dev/null 2>&1
sroot="$tmp/trust_shared/caddy-c-local-root.crt"
get_s() { curl -s -m 5 --cacert "$sroot" --resolve "shared.localhost:$1:127.0.0.1" "https://shared.localhost:$1/"; }
for _ in $(seq 100); do [ "$(get_s "$sp2")" = i2 ] && [ "$(get_s "$sp3")" = i3 ] && break; sleep 0.05; done
ok "both instances serve with the shared CA" '[ "$(get_s "$sp2")" = i2 ] && [ "$(get_s "$sp3")" = i3 ]'
sfp() { openssl s_client -connect "127.0.0.1:$1" -servername shared.localhost </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null; }
f2=$(sfp "$sp2")
ok "both serve the same certificate" '[ -n "$f2" ] && [ "$f2" = "$(sfp "$sp3")" ]'
issued=$(cat "$tmp/log_s2" "$tmp/log_s3" | grep -c '"trying issuer","identifier":"shared.localhost"')
ok "issued once ($issued attempts)" '[ "$issued" = 1 ]'
kill "$p2" "$p3" 2>/dev/null
wait "$p2" "$p3" 2>/dev/null

# untrust removes the file and runs the update again; a second untrust has nothing to do
"$CADDYC" untrust >"$tmp/untrust.out" 2>&1
ok "untrust exits 0" '[ $? -eq 0 ]'
ok "untrust removed the root" '[ ! -e "$root" ]'
ok "untrust ran the update command" '[ "$(grep -c run "$tmp/updates")" = 3 ]'
"$CADDYC" untrust >"$tmp/untrust2.out" 2>&1
ok "untrust when not installed exits 0" '[ $? -eq 0 ] && grep -q "was not installed" "$tmp/untrust2.out"'
CADDYC_TRUST_UPDATE=false "$CADDYC" trust --config "$tmp/Caddyfile" >"$tmp/trustfail.out" 2>&1
ok "a failing update command fails trust" '[ $? -eq 1 ] && grep -q "failed" "$tmp/trustfail.out"'
# trust without any config creates the CA in the default storage (here: XDG_DATA_HOME)
XDG_DATA_HOME="$tmp/xdg" "$CADDYC" trust >/dev/null 2>&1
ok "trust creates a CA in a fresh default storage" '[ -s "$root" ] && [ -s "$tmp/xdg/caddy-c/caddy-c.db" ] && [ "$(openssl x509 -in "$root" -noout -fingerprint -sha256)" != "$rootfp1" ]'

# validate applies automatic HTTPS: bad certificate files are reported
printf 'example.com {\n\ttls /nonexistent/a.crt /nonexistent/a.key\n}\n' >"$tmp/Bad.caddyfile"
out=$("$CADDYC" validate --config "$tmp/Bad.caddyfile" 2>&1)
ok "validate reports a missing certificate file" 'echo "$out" | grep -q "loading certificates: reading certificate file /nonexistent/a.crt"'

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
