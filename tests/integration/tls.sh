#!/usr/bin/env bash
# The TLS front against real clients: certificates loaded with `tls <cert> <key>` (through
# the certificate manager), SNI picking the right one (exact, wildcard one label deep,
# default_sni without SNI), ALPN http/1.1 and never h2, TLS 1.2 and 1.3 only, a policy's
# protocol range and cipher list honoured, client authentication with a trust pool,
# strict SNI-Host (421), session resumption, keep-alive, pipelining with a request body,
# 10 MB each way, a handshake deadline, plain HTTP on the TLS port answered with Go's 400,
# and the http-01 path falling through on the plain port. Certificates are ECDSA P-256
# from a throwaway CA made with openssl.
set -u
cd "$(dirname "$0")/../.."
CADDYC=${CADDYC:-$PWD/bin/caddy-c}
pass=0 fail=0
ok() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1" >&2; fi; }
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

P=$(freeport) H=$(freeport) U=$(freeport) A=$(freeport)
tmp=$(mktemp -d)
pid= upid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    [ -n "$upid" ] && kill "$upid" 2>/dev/null && wait "$upid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# ---- certificates ----
ca() { # name cn
    openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/$1.key" 2>/dev/null
    openssl req -x509 -new -key "$tmp/$1.key" -out "$tmp/$1.pem" -days 30 -subj "/CN=$2" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
}
leaf() { # name ca cn san [ext]
    openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/$1.key" 2>/dev/null
    openssl req -new -key "$tmp/$1.key" -subj "/CN=$3" -out "$tmp/$1.csr" 2>/dev/null
    printf 'subjectAltName=%s\nextendedKeyUsage=%s\n' "$4" "${5:-serverAuth}" >"$tmp/$1.ext"
    openssl x509 -req -in "$tmp/$1.csr" -CA "$tmp/$2.pem" -CAkey "$tmp/$2.key" -CAcreateserial \
        -days 30 -extfile "$tmp/$1.ext" -out "$tmp/$1.pem" 2>/dev/null
}
ca ca "Test Root"
leaf a ca a.test "DNS:a.test,DNS:localhost,IP:127.0.0.1"
leaf b ca b.test "DNS:b.test"
leaf b2 ca b.test "DNS:b.test"
leaf w ca w.test "DNS:*.w.test"
leaf c ca c12.test "DNS:c12.test"
leaf m ca mtls.test "DNS:mtls.test"
leaf v ca vig.test "DNS:vig.test"
leaf k ca p384.test "DNS:p384.test"
ca cca "Client Root"
leaf client cca client "DNS:client" clientAuth
ca other "Other Root"
leaf rogue other client "DNS:client" clientAuth
head -c 10485760 /dev/urandom >"$tmp/big.bin"
# password "secret", bcrypt cost 16: a check takes seconds
slow_hash='$2b$16$t6bI4FWCvdwM47LPvsfujeeFeekhfWm84nQ/4G.Xp/DkvKrM/r/lm'
big_sum=$(sha256sum "$tmp/big.bin" | cut -d' ' -f1)

# ---- an upstream that answers with the sha256 and length of what it received ----
cat >"$tmp/up.py" <<'PY'
import hashlib, http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        h = hashlib.sha256(); left = n
        while left:
            b = self.rfile.read(min(65536, left))
            if not b: break
            h.update(b); left -= len(b)
        body = ("%s %d" % (h.hexdigest(), n)).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
python3 "$tmp/up.py" "$U" &
upid=$!

cat >"$tmp/Caddyfile" <<CF
{
	admin 127.0.0.1:$A
	http_port $H
	https_port $P
	default_sni b.test
	servers {
		timeouts {
			read_header 2s
		}
	}
}
a.test:$P, localhost:$P {
	tls $tmp/a.pem $tmp/a.key
	root * $tmp
	file_server /big.bin
	reverse_proxy /upload 127.0.0.1:$U
	basic_auth /slow {
		alice $slow_hash
	}
	respond /echo "posted {http.request.header.Content-Length}"
	respond /second "site a {tls_version} {http.request.tls.server_name} {http.request.tls.proto} {scheme}"
	respond /third "site a {tls_version} {http.request.tls.server_name} {http.request.tls.proto} {scheme}"
	respond / "site a {tls_version} {http.request.tls.server_name} {http.request.tls.proto} {scheme}"
}
b.test:$P {
	tls $tmp/b.pem $tmp/b.key
	respond "site b"
}
*.w.test:$P {
	tls $tmp/w.pem $tmp/w.key
	respond "site w {host}"
}
c12.test:$P {
	tls $tmp/c.pem $tmp/c.key {
		protocols tls1.2 tls1.2
		ciphers TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
	}
	respond "site c12 {tls_cipher}"
}
mtls.test:$P {
	tls $tmp/m.pem $tmp/m.key {
		client_auth {
			mode require_and_verify
			trust_pool file $tmp/cca.pem
		}
	}
	respond "mtls ok"
}
vig.test:$P {
	tls $tmp/v.pem $tmp/v.key {
		client_auth {
			mode verify_if_given
			trust_pool file $tmp/cca.pem
		}
	}
	respond "vig ok"
}
p384.test:$P {
	tls $tmp/k.pem $tmp/k.key {
		curves secp384r1
	}
	respond "p384 ok"
}
CF
"$CADDYC" run --config "$tmp/Caddyfile" >"$tmp/log" 2>&1 &
pid=$!
for _ in $(seq 50); do
    curl -s -o /dev/null --cacert "$tmp/ca.pem" "https://localhost:$P/" && break
    sleep 0.1
done

C() { curl -s -m 10 --cacert "$tmp/ca.pem" --resolve "$1:$P:127.0.0.1" "${@:2}"; }
sclient() { # sni, extra args...: ClientHello with that SNI ("" = none), prints the session
    local sni=$1; shift
    if [ -n "$sni" ]; then set -- -servername "$sni" "$@"; else set -- -noservername "$@"; fi
    timeout 10 openssl s_client -connect "127.0.0.1:$P" "$@" </dev/null 2>&1
}
subject() { sclient "$@" | sed -n 's/^subject=.*CN *= *\([^,/]*\).*/\1/p' | head -n1; }

# ---- basics and SNI ----
ok "https://localhost answered over TLS 1.3 with http/1.1" \
    '[ "$(curl -s -m 10 --cacert "$tmp/ca.pem" "https://localhost:$P/")" = "site a tls1.3 localhost http/1.1 https" ]'
ok "https by IP (no SNI) uses the default_sni certificate" \
    '[ "$(subject "")" = b.test ]'
ok "SNI a.test -> a's certificate" '[ "$(subject a.test)" = a.test ]'
ok "SNI b.test -> b's certificate" '[ "$(subject b.test)" = b.test ]'
ok "SNI B.TEST (case) -> b's certificate" '[ "$(subject B.TEST)" = b.test ]'
ok "SNI x.w.test -> the wildcard" '[ "$(subject x.w.test)" = w.test ]'
ok "curl b.test" '[ "$(C b.test "https://b.test:$P/")" = "site b" ]'
ok "curl x.w.test" '[ "$(C x.w.test "https://x.w.test:$P/")" = "site w x.w.test" ]'
out=$(sclient y.x.w.test)
ok "SNI two labels under the wildcard: no certificate, handshake refused" \
    'echo "$out" | grep -q "alert" && ! echo "$out" | grep -q "^subject="'
out=$(sclient unknown.test)
ok "unknown SNI refused" '! echo "$out" | grep -q "^subject="'
ok "curl to an unknown name fails" '! C unknown.test "https://unknown.test:$P/" >/dev/null'

# ---- ALPN ----
ok "ALPN h2,http/1.1 -> http/1.1" \
    'sclient a.test -alpn h2,http/1.1 | grep -q "^ALPN protocol: http/1.1"'
out=$(sclient a.test -alpn h2)
ok "ALPN h2 only -> nothing negotiated (no h2)" \
    'echo "$out" | grep -q "No ALPN negotiated" && ! echo "$out" | grep -q "ALPN protocol: h2"'
ok "curl --http2 still gets HTTP/1.1" \
    '[ "$(C a.test --http2 -o /dev/null -w "%{http_version}" "https://a.test:$P/")" = 1.1 ]'

# ---- protocol versions ----
for v in tls1 tls1_1; do
    out=$(sclient a.test "-$v" -cipher 'DEFAULT@SECLEVEL=0')
    ok "$v refused" 'echo "$out" | grep -q "Cipher is (NONE)" && ! echo "$out" | grep -q "^subject="'
done
ok "TLS 1.2 accepted" 'sclient a.test -tls1_2 | grep -q "^New, TLSv1.2"'
ok "TLS 1.3 accepted" 'sclient a.test -tls1_3 | grep -q "^New, TLSv1.3"'
ok "TLS 1.2 default suite is ChaCha20 (no AES-NI in this wolfSSL)" \
    'sclient a.test -tls1_2 | grep -qE "Cipher *: ECDHE-ECDSA-CHACHA20-POLY1305"'
ok "curl --tlsv1.2 --tls-max 1.2" \
    '[ "$(C a.test --tlsv1.2 --tls-max 1.2 "https://a.test:$P/")" = "site a tls1.2 a.test http/1.1 https" ]'

# ---- a policy's protocols and ciphers ----
ok "c12.test: TLS 1.2 with the one configured suite" \
    'sclient c12.test -tls1_2 | grep -qE "Cipher *: ECDHE-ECDSA-AES128-GCM-SHA256"'
ok "c12.test: the cipher placeholder" \
    '[ "$(C c12.test "https://c12.test:$P/")" = "site c12 TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" ]'
out=$(sclient c12.test -tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305)
ok "c12.test: a suite outside the list is refused" '! echo "$out" | grep -q "^subject="'
ok "c12.test: TLS 1.3 gets no response (protocols tls1.2 tls1.2)" \
    '[ -z "$(C c12.test --tlsv1.3 "https://c12.test:$P/")" ]'
ok "c12.test over TLS 1.2 still fine after that" \
    '[ "$(C c12.test --tls-max 1.2 -o /dev/null -w "%{http_code}" "https://c12.test:$P/")" = 200 ]'

# ---- a policy's curves ----
out=$(sclient p384.test -groups X25519)
ok "curves secp384r1: a client with X25519 only is refused" '! echo "$out" | grep -q "^subject="'
ok "curves secp384r1: P-384 key exchange" \
    'sclient p384.test -groups X25519:P-384 | grep -qE "Temp Key: ECDH, (secp384r1|P-384)"'
ok "default curves: X25519 first" 'sclient a.test | grep -qE "Temp Key: X25519"'
ok "curl p384.test" '[ "$(C p384.test "https://p384.test:$P/")" = "p384 ok" ]'

# ---- acme-tls/1 without a pending challenge: an ordinary handshake, no ALPN ----
out=$(sclient a.test -alpn acme-tls/1)
ok "acme-tls/1 with no challenge: normal certificate, nothing negotiated" \
    'echo "$out" | grep -q "No ALPN negotiated" && echo "$out" | grep -q "CN *= *a.test"'

# ---- client authentication ----
ok "mtls without a client certificate fails" \
    '[ -z "$(C mtls.test "https://mtls.test:$P/")" ]'
ok "mtls with a trusted client certificate" \
    '[ "$(C mtls.test --cert "$tmp/client.pem" --key "$tmp/client.key" "https://mtls.test:$P/")" = "mtls ok" ]'
ok "mtls with a certificate from another CA fails" \
    '[ -z "$(C mtls.test --cert "$tmp/rogue.pem" --key "$tmp/rogue.key" "https://mtls.test:$P/")" ]'
ok "verify_if_given without a certificate" \
    '[ "$(C vig.test "https://vig.test:$P/")" = "vig ok" ]'
ok "verify_if_given with a trusted certificate" \
    '[ "$(C vig.test --cert "$tmp/client.pem" --key "$tmp/client.key" "https://vig.test:$P/")" = "vig ok" ]'
ok "verify_if_given with an untrusted certificate fails" \
    '[ -z "$(C vig.test --cert "$tmp/rogue.pem" --key "$tmp/rogue.key" "https://vig.test:$P/")" ]'
# client auth turns strict SNI-Host on for the server: Host must equal the SNI
ok "strict SNI: Host a.test over SNI b.test -> 421" \
    '[ "$(C b.test -H "Host: a.test" -o /dev/null -w "%{http_code}" "https://b.test:$P/")" = 421 ]'
ok "strict SNI: matching Host still 200" \
    '[ "$(C b.test -o /dev/null -w "%{http_code}" "https://b.test:$P/")" = 200 ]'
ok "strict SNI logged as enabled" 'grep -q "strict SNI-Host" "$tmp/log"'

# ---- session resumption (tickets) ----
req='GET /second HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n'
resume() { printf "$req" | timeout 5 openssl s_client -connect "127.0.0.1:$P" -servername a.test -ign_eof "$@" 2>&1; }
resume -tls1_2 -sess_out "$tmp/s12" >/dev/null
out=$(resume -tls1_2 -sess_in "$tmp/s12")
ok "TLS 1.2 session ticket resumes" 'echo "$out" | grep -q "^Reused" && echo "$out" | grep -q "site a tls1.2"'
resume -tls1_3 -sess_out "$tmp/s13" >/dev/null
out=$(resume -tls1_3 -sess_in "$tmp/s13")
ok "TLS 1.3 ticket (PSK) resumes" 'echo "$out" | grep -q "^Reused" && echo "$out" | grep -q "site a tls1.3"'
out=$(resume -tls1_2 -no_ticket)
ok "no session-ID cache (tickets only, as Go): empty session ID" \
    'echo "$out" | grep -qE "^ *Session-ID: *$" && echo "$out" | grep -q "site a"'
# a ticket is bound to its server name: a.test's ticket does not resume mtls.test
out=$(printf "$req" | timeout 5 openssl s_client -connect "127.0.0.1:$P" -servername mtls.test \
    -tls1_3 -sess_in "$tmp/s13" -ign_eof 2>&1)
ok "a.test's ticket does not open mtls.test without a client certificate" \
    '! echo "$out" | grep -q "^Reused" && ! echo "$out" | grep -q "mtls ok"'
out=$(printf "$req" | timeout 5 openssl s_client -connect "127.0.0.1:$P" -servername b.test \
    -tls1_3 -sess_in "$tmp/s13" -ign_eof 2>&1)
ok "a.test's ticket is not resumed under b.test" '! echo "$out" | grep -q "^Reused"'
out=$(printf "$req" | timeout 5 openssl s_client -connect "127.0.0.1:$P" -servername mtls.test -tls1_3 \
    -cert "$tmp/client.pem" -key "$tmp/client.key" -ign_eof 2>&1)
ok "no ticket is issued with client authentication" '! echo "$out" | grep -q "Post-Handshake New Session Ticket"'

# ---- keep-alive, big bodies, pipelining ----
urls=()
for i in $(seq 100); do urls+=(-o /dev/null "https://a.test:$P/?n=$i"); done
out=$(C a.test -w '%{http_code} %{num_connects}\n' "${urls[@]}")
ok "100 requests on one kept-alive TLS connection" \
    '[ "$(echo "$out" | grep -c "^200 ")" = 100 ] && [ "$(echo "$out" | awk "{s+=\$2} END {print s}")" = 1 ]'
got=$(C a.test "https://a.test:$P/big.bin" | sha256sum | cut -d' ' -f1)
ok "10 MB download over TLS intact" '[ "$got" = "$big_sum" ]'
got=$(C a.test --data-binary "@$tmp/big.bin" -H 'Content-Type: application/octet-stream' "https://a.test:$P/upload")
ok "10 MB upload over TLS intact (through reverse_proxy)" '[ "$got" = "$big_sum 10485760" ]'
cat >"$tmp/pipe.py" <<'PY'
import socket, ssl, sys
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5), server_hostname="a.test")
body = b"x" * 70000
s.sendall(b"POST /echo HTTP/1.1\r\nHost: a.test\r\nContent-Length: %d\r\n\r\n" % len(body) + body +
          b"GET /second HTTP/1.1\r\nHost: a.test\r\n\r\n" +
          b"GET /third HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
data = b""
while True:
    try:
        b = s.recv(65536)
    except (ssl.SSLError, OSError):
        break
    if not b:
        break
    data += b
print(data.count(b"HTTP/1.1 200"), b"posted 70000" in data, data.count(b"site a tls1.3 a.test"))
PY
ok "pipelined POST with a body + 2 GETs over TLS" \
    '[ "$(python3 "$tmp/pipe.py" "$P" "$tmp/ca.pem")" = "3 True 2" ]'

# ---- a client that leaves while its request is suspended (P9) ----
# /slow checks a bcrypt password of cost 16 (about 4 s, on the offload pool) while the
# request is suspended. When the client leaves after 1 s, its socket must close while
# the check still runs: the suspended request sees the hang-up (with MHD on the TCP
# socket itself, past a close_notify the client may send first).
socks() { ls -l "/proc/$pid/fd" 2>/dev/null | grep -c 'socket:'; }
C a.test -m 1 -u alice:wrong "https://a.test:$P/slow" >/dev/null &
cpid=$!
sleep 0.6
n1=$(socks)
wait $cpid
sleep 1
n2=$(socks)
ok "client gone over TLS: its sockets closed at once ($n1 -> $n2 sockets)" \
    '[ "$n2" -le $((n1 - 1)) ]'

# ---- handshake deadline (read_header 2s) ----
cat >"$tmp/slow.py" <<'PY'
import socket, sys, time
port, partial = int(sys.argv[1]), sys.argv[2] == "1"
s = socket.create_connection(("127.0.0.1", port))
if partial:
    s.sendall(bytes.fromhex("160301"))  # the start of a record header, never finished
t0 = time.time()
s.settimeout(8)
try:
    r = s.recv(100)
except socket.timeout:
    r = None
except ConnectionResetError:
    r = b""
print("closed" if r == b"" or (r and r[0] == 0x15) else "open", round(time.time() - t0))
PY
out=$(python3 "$tmp/slow.py" "$P" 0)
ok "a silent client is closed by the handshake deadline ($out)" \
    '[ "${out%% *}" = closed ] && [ "${out##* }" -ge 1 ] && [ "${out##* }" -le 4 ]'
out=$(python3 "$tmp/slow.py" "$P" 1)
ok "a half-sent ClientHello is closed by the deadline ($out)" \
    '[ "${out%% *}" = closed ] && [ "${out##* }" -le 4 ]'
ok "still serving after the deadlines" \
    '[ "$(C a.test -o /dev/null -w "%{http_code}" "https://a.test:$P/")" = 200 ]'

# ---- plain port: http-01 path without a pending challenge falls through ----
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://a.test:$H/.well-known/acme-challenge/nope" --resolve "a.test:$H:127.0.0.1")
ok "http-01 path with no challenge falls through to the redirect ($code)" '[ "$code" = 308 ]'

# ---- plain HTTP or garbage instead of a ClientHello ----
# Go's answer to an HTTP request on a TLS port: a bare 400 with its text, then close
body=$(curl -s -m 5 -o - -w '|%{http_code}|%{http_version}' "http://127.0.0.1:$P/x")
ok "curl http:// to the TLS port: 400 and Go's text ($body)" \
    '[ "$body" = "Client sent an HTTP request to an HTTPS server.
|400|1" ]'
cat >"$tmp/raw.py" <<'PY'
import socket, sys
port, data = int(sys.argv[1]), bytes.fromhex(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port)); s.sendall(data); s.settimeout(4)
got = b""
try:
    while True:
        r = s.recv(4096)
        if not r:
            break
        got += r
    print("closed", got.hex())
except socket.timeout:
    print("open", got.hex())
except ConnectionResetError:
    print("reset", got.hex())
PY
raw() { python3 "$tmp/raw.py" "$P" "$(printf '%b' "$1" | od -An -v -tx1 | tr -d ' \n')"; }
want_hex=$(printf 'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n' |
    od -An -v -tx1 | tr -d ' \n')
out=$(raw 'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n')
ok "OPTIONS on the TLS port: exactly Go's 400 response, then EOF" '[ "$out" = "closed $want_hex" ]'
out=$(raw 'PURGE /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello')
ok "any method token: same answer ($out)" '[ "$out" = "closed $want_hex" ]'
out=$(raw '\x01\x02\x03\x04\x05\x06\x07\x08')
ok "binary garbage is closed without an HTTP answer ($out)" \
    '[ "${out%% *}" != open ] && ! echo "$out" | grep -q 48545450'
out=$(raw '/index.html HTTP/1.1\r\n\r\n')
ok "no method token: no HTTP answer ($out)" \
    '[ "${out%% *}" != open ] && ! echo "$out" | grep -q 48545450'
ok "still serving TLS after the plain requests" \
    '[ "$(C a.test -o /dev/null -w "%{http_code}" "https://a.test:$P/")" = 200 ]'
# ---- reload: b.test gets another certificate and answer on the same TLS listener ----
serial() { sclient b.test | openssl x509 -noout -serial 2>/dev/null; }
want=$(openssl x509 -in "$tmp/b2.pem" -noout -serial)
old_serial=$(serial)
sed -e "s#$tmp/b.pem $tmp/b.key#$tmp/b2.pem $tmp/b2.key#" -e 's/respond "site b"/respond "site b2"/' \
    "$tmp/Caddyfile" >"$tmp/Caddyfile2"
"$CADDYC" reload --config "$tmp/Caddyfile2" --address "127.0.0.1:$A" >"$tmp/reload.log" 2>&1
rrc=$?
ok "reload accepted (exit $rrc)" '[ "$rrc" -eq 0 ]'
for _ in $(seq 30); do [ "$(C b.test "https://b.test:$P/")" = "site b2" ] && break; sleep 0.1; done
ok "after reload: b.test answers from the new config" '[ "$(C b.test "https://b.test:$P/")" = "site b2" ]'
ok "after reload: b.test serves the new certificate" \
    '[ "$(serial)" = "$want" ] && [ "$old_serial" != "$want" ]'
ok "after reload: other sites unchanged" '[ "$(C x.w.test "https://x.w.test:$P/")" = "site w x.w.test" ]'
ok "server alive" 'kill -0 "$pid"'

# ---- connection-policy mistakes fail the load with a clear message ----
badcfg() { # policy JSON -> the error output of a run
    local port
    port=$(freeport)
    cat >"$tmp/bad.json" <<JS
{"admin": {"disabled": true}, "apps": {"http": {"servers": {"s": {"listen": [":$port"],
 "routes": [{"handle": [{"handler": "static_response", "body": "x"}]}],
 "tls_connection_policies": [$1]}}}}}
JS
    timeout 10 "$CADDYC" run --config "$tmp/bad.json" 2>&1
    echo "exit $?"
}
out=$(badcfg '{"cipher_suites": ["TLS_FOO"]}')
ok "unknown cipher suite refused" 'echo "$out" | grep -q "unsupported cipher suite: TLS_FOO" && ! echo "$out" | grep -q "exit 0"'
out=$(badcfg '{"protocol_min": "tls1.3", "protocol_max": "tls1.2"}')
ok "protocol min > max refused" 'echo "$out" | grep -q "cannot be greater than protocol max"'
out=$(badcfg '{"protocol_min": "tls1.1"}')
ok "tls1.1 refused" 'echo "$out" | grep -q "unsupported protocol_min: tls1.1"'
out=$(badcfg '{"curves": ["x448"]}')
ok "unknown curve refused" 'echo "$out" | grep -q "unsupported curve: x448"'
out=$(badcfg '{"client_authentication": {"mode": "sometimes"}}')
ok "unknown client auth mode refused" 'echo "$out" | grep -q "client auth mode not recognized: sometimes"'
out=$(badcfg '{"client_authentication": {"ca": {"provider": "file", "pem_files": ["/nonexistent.pem"]}}}')
ok "missing trust pool file refused" 'echo "$out" | grep -q "/nonexistent.pem"'
out=$(badcfg '{"client_authentication": {"ca": {"provider": "file", "pem_files": ["'"$tmp/a.key"'"]}}}')
ok "a trust pool file without certificates refused" 'echo "$out" | grep -q "no CERTIFICATE pem block"'
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
