#!/usr/bin/env bash
# reverse_proxy basics against real upstreams on loopback: small and large bodies both
# ways (sha256), the raw target, keep-alive reuse, HEAD, chunked responses, errors (502
# nothing listening, 503 all down, 504 response_header_timeout), a retry to a second
# upstream after a dial failure, a unix socket upstream, an https upstream trusted
# through tls_trusted_ca_certs, placeholders in the upstream address, handle_response
# with copy_response / copy_response_headers, and the rewrite of the handler.
set -u
cd "$(dirname "$0")/../.."
. tests/upstream/lib.sh

ports 8
P=${PORT[0]} U1=${PORT[1]} U2=${PORT[2]} DEAD=${PORT[3]} TLSP=${PORT[4]}
up "$U1" u1 || exit 1
up "$U2" u2 || exit 1

# a unix-socket backend and an https backend (python stdlib)
cat >"$tmp/srv.py" <<'EOF'
import json, os, socket, socketserver, ssl, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def do_GET(self):
        b = json.dumps({"server": NAME, "target": self.path,
                        "host": self.headers.get("Host")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

class UnixHTTP(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    def get_request(self):
        s, _ = self.socket.accept()
        return s, ("127.0.0.1", 0)

mode = sys.argv[1]
if mode == "unix":
    NAME = "unix"
    path = sys.argv[2]
    if os.path.exists(path):
        os.unlink(path)
    srv = UnixHTTP(path, H)
else:
    NAME = "tls"
    class T(socketserver.ThreadingMixIn, HTTPServer):
        daemon_threads = True
    srv = T(("127.0.0.1", int(sys.argv[2])), H)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("ready", flush=True)
srv.serve_forever()
EOF
python3 "$tmp/srv.py" unix "$tmp/app.sock" >"$tmp/unix.out" 2>&1 &
PIDS+=($!)

# a private CA and a leaf for 127.0.0.1 / localhost
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=test CA" -keyout "$tmp/ca.key" -out "$tmp/ca.pem" >/dev/null 2>&1
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$tmp/leaf.key" -out "$tmp/leaf.csr" >/dev/null 2>&1
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$tmp/ext"
openssl x509 -req -in "$tmp/leaf.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial \
    -days 2 -extfile "$tmp/ext" -out "$tmp/leaf.pem" >/dev/null 2>&1
python3 "$tmp/srv.py" tls "$TLSP" "$tmp/leaf.pem" "$tmp/leaf.key" >"$tmp/tls.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do
    grep -q ready "$tmp/unix.out" && grep -q ready "$tmp/tls.out" && break
    sleep 0.1
done

cat >"$tmp/Caddyfile" <<EOF
{
	admin off
}
http://127.0.0.1:$P {
	reverse_proxy /dead/* 127.0.0.1:$DEAD
	handle /retry/* {
		reverse_proxy 127.0.0.1:$DEAD 127.0.0.1:$U1 {
			lb_policy first
			lb_retries 2
			lb_try_interval 10ms
		}
	}
	handle /down/* {
		reverse_proxy 127.0.0.1:$U1 {
			health_uri /health
			health_interval 100ms
			health_status 299
		}
	}
	handle /slow/* {
		reverse_proxy 127.0.0.1:$U1 {
			transport http {
				response_header_timeout 300ms
			}
		}
	}
	handle /unix/* {
		reverse_proxy unix/$tmp/app.sock
	}
	handle /tls/* {
		reverse_proxy https://127.0.0.1:$TLSP {
			transport http {
				tls_trusted_ca_certs $tmp/ca.pem
			}
		}
	}
	handle /tlsname/* {
		reverse_proxy https://127.0.0.1:$TLSP {
			transport http {
				tls_trusted_ca_certs $tmp/ca.pem
				tls_server_name {http.request.header.X-SNI}
			}
		}
	}
	handle /tlsinsecure/* {
		reverse_proxy https://127.0.0.1:$TLSP {
			transport http {
				tls_insecure_skip_verify
			}
		}
	}
	handle /tlsbad/* {
		reverse_proxy https://127.0.0.1:$TLSP
	}
	handle /ph/* {
		reverse_proxy 127.0.0.1:{http.request.header.X-Port}
	}
	handle /hr/* {
		reverse_proxy 127.0.0.1:$U1 {
			@teapot status 418
			handle_response @teapot {
				respond "short and stout" 200
			}
			@gone status 410
			handle_response @gone {
				copy_response_headers {
					include X-Upstream
				}
				copy_response 404
			}
			@moved status 3xx
			replace_status @moved 299
		}
	}
	handle /vars/* {
		reverse_proxy 127.0.0.1:$U1 {
			header_down X-Code {rp.status_code}
			header_down X-Hdr {rp.header.X-Upstream}
			header_down X-Up {rp.upstream.hostport}
			header_down X-Lat {rp.upstream.latency_ms}
		}
	}
	handle /noka/* {
		reverse_proxy 127.0.0.1:$U2 {
			transport http {
				keepalive off
			}
		}
	}
	handle /onecon/* {
		reverse_proxy 127.0.0.1:$U2 {
			transport http {
				max_conns_per_host 1
			}
		}
	}
	handle /rw/* {
		reverse_proxy 127.0.0.1:$U1 {
			rewrite /rewritten{uri}
			method PUT
		}
	}
	reverse_proxy 127.0.0.1:$U1
}
EOF
# one worker: each worker has its own upstream connection pool, so limits such as
# max_conns_per_host hold per worker
CADDYC_WORKERS=1 caddy "$tmp/Caddyfile" "$P" || exit 1
base="http://127.0.0.1:$P"

# ---- small bodies, the raw target ----
j=$(curl -s --path-as-is "$base/a%2Fb/../c%20d?x=%20y&z")
eq "raw target forwarded verbatim" '/a%2Fb/../c%20d?x=%20y&z' "$(jq -r .target <<<"$j")"
eq "Host passed through" "127.0.0.1:$P" "$(ehdr "$j" Host)"
eq "no Accept added when the client sent none" "<none>" "$(curl -s -H 'Accept:' "$base/x" | jq -r '[.headers[]|select(.[0]=="Accept")]|length|if .==0 then "<none>" else . end')"
j=$(curl -s -d 'hello=world' "$base/post")
eq "POST body length" 11 "$(jq -r .body_len <<<"$j")"
eq "POST method" POST "$(jq -r .method <<<"$j")"
eq "POST Content-Length" 11 "$(ehdr "$j" Content-Length)"
j=$(curl -s -X POST "$base/empty")
eq "empty POST sends Content-Length: 0" 0 "$(ehdr "$j" Content-Length)"
eq "no Content-Type invented" "<none>" "$(ehdr "$j" Content-Type)"
j=$(curl -s -X DELETE "$base/del")
eq "DELETE without body" "DELETE <none>" "$(jq -r .method <<<"$j") $(ehdr "$j" Content-Length)"

# ---- large bodies both ways ----
want=$(python3 "$UPSTREAM" --sha 12582912)
got=$(curl -s "$base/bytes/12M" | sha256sum | cut -d' ' -f1)
eq "12 MiB download sha256" "$want" "$got"
got=$(curl -s "$base/bytes/3M?chunked=1" | sha256sum | cut -d' ' -f1)
eq "chunked 3 MiB download sha256" "$(python3 "$UPSTREAM" --sha 3145728)" "$got"
python3 "$UPSTREAM" --gen 11000000 >"$tmp/up.bin"
want=$(sha256sum <"$tmp/up.bin" | cut -d' ' -f1)
j=$(curl -s --data-binary @"$tmp/up.bin" "$base/upload")
eq "11 MB upload (Content-Length) sha256" "$want 11000000" "$(jq -r '.body_sha256 + " " + (.body_len|tostring)' <<<"$j")"
eq "upload keeps its Content-Length" 11000000 "$(ehdr "$j" Content-Length)"
j=$(curl -s -H 'Transfer-Encoding: chunked' --data-binary @"$tmp/up.bin" "$base/upload")
eq "11 MB chunked upload sha256" "$want 11000000" "$(jq -r '.body_sha256 + " " + (.body_len|tostring)' <<<"$j")"
eq "chunked upload stays chunked" "chunked" "$(ehdr "$j" Transfer-Encoding)"

# ---- keep-alive reuse ----
reset "$U1"
for _ in $(seq 20); do curl -s -o /dev/null "$base/ka"; done
c=$(stats "$U1" connections)
ok "20 sequential requests reuse upstream connections ($c connections)" '[ "$c" -le 3 ]'
eq "all 20 counted" 20 "$(stats "$U1" requests)"

reset "$U2"
for _ in $(seq 5); do curl -s -o /dev/null "$base/noka/x"; done
# (the /_stats request itself is one more connection)
eq "keepalive off: one upstream connection per request" 6 "$(stats "$U2" connections)"
reset "$U2"
t0=$(now_ms)
curl -s -o /dev/null "$base/onecon/a?sleep=400" &
c1=$!
curl -s -o /dev/null "$base/onecon/b?sleep=400" &
c2=$!
wait "$c1" "$c2"
t1=$(now_ms)
ok "max_conns_per_host 1 queues the second request ($((t1 - t0)) ms)" '[ $((t1 - t0)) -ge 780 ]'
eq "both queued requests answered on one connection" "2 2" "$(stats "$U2" | jq -r '"\(.requests) \(.connections)"')"

# ---- HEAD, status codes, chunked ----
h=$(curl -s -I "$base/bytes/1000")
ok "HEAD keeps Content-Length" 'grep -qi "^Content-Length: 1000" <<<"$h"'
ok "HEAD has Via" 'grep -qi "^Via: 1.1 Caddy" <<<"$h"'
eq "HEAD status" 200 "$(curl -s -o /dev/null -w '%{http_code}' -I "$base/bytes/1000")"
eq "upstream 404 passes" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$base/x?status=404")"
eq "upstream 204 passes" 204 "$(curl -s -o /dev/null -w '%{http_code}' "$base/x?status=204")"
h=$(curl -s -D - -o "$tmp/drip" "$base/drip?n=3&gap_ms=100&size=10")
ok "a streamed unknown-length body stays chunked" 'grep -qi "^Transfer-Encoding: chunked" <<<"$h"'
eq "all of the streamed body" 30 "$(stat -c %s "$tmp/drip")"
h=$(curl -s -D - -o "$tmp/small" "$base/bytes/100?chunked=1")
eq "a small chunked body complete with its head" 100 "$(stat -c %s "$tmp/small")"
h=$(curl -s -D - -o /dev/null "$base/x?hdr=X-Test:one&hdr=Connection:X-Test"); echo "$h" >"$tmp/hop.txt"
ok "hop-by-hop named in Connection dropped" '! grep -qi "^X-Test" <<<"$h"'
ok "Server of caddy-c replaced by Via" '! grep -qi "^Server: caddy-c" <<<"$h" && grep -qi "^Via: 1.1 Caddy" <<<"$h"'

# ---- errors ----
eq "nothing listening -> 502" 502 "$(curl -s -o /dev/null -w '%{http_code}' "$base/dead/x")"
j=$(curl -s "$base/retry/x")
eq "retry to the second upstream after a dial failure" u1 "$(jq -r .server <<<"$j")"
sleep 0.3 # the active check (expects 299, gets 200) has marked the only upstream down
eq "all upstreams down -> 503" 503 "$(curl -s -o /dev/null -w '%{http_code}' "$base/down/x")"
t0=$(now_ms)
code=$(curl -s -o /dev/null -w '%{http_code}' "$base/slow/x?sleep=2000")
t1=$(now_ms)
eq "response_header_timeout -> 504" 504 "$code"
ok "504 came after the timeout, not the upstream ($((t1 - t0)) ms)" '[ $((t1 - t0)) -ge 250 ] && [ $((t1 - t0)) -lt 1500 ]'
eq "fast answer within the timeout" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$base/slow/x")"

# ---- unix socket, https, placeholders ----
j=$(curl -s "$base/unix/path?q=1")
eq "unix socket upstream" "unix /unix/path?q=1" "$(jq -r '.server + " " + .target' <<<"$j")"
j=$(curl -s "$base/tls/secure")
eq "https upstream trusted through tls_trusted_ca_certs" "tls /tls/secure" "$(jq -r '.server + " " + .target' <<<"$j")"
eq "https upstream gets Host = upstream hostport" "127.0.0.1:$TLSP" "$(jq -r .host <<<"$j")"
eq "tls_server_name (placeholder) used to verify: localhost" 200 "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-SNI: localhost' "$base/tlsname/x")"
eq "tls_server_name that the certificate does not name -> 502" 502 "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-SNI: wrong.example' "$base/tlsname/x")"
eq "tls_insecure_skip_verify" tls "$(curl -s "$base/tlsinsecure/x" | jq -r .server)"
eq "untrusted https upstream -> 502" 502 "$(curl -s -o /dev/null -w '%{http_code}' "$base/tlsbad/x")"
j=$(curl -s -H "X-Port: $U2" "$base/ph/x")
eq "placeholder in the upstream address" u2 "$(jq -r .server <<<"$j")"
eq "bad placeholder address -> 502" 502 "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Port: nope' "$base/ph/x")"

# ---- handle_response, replace_status, copy_response(_headers), rewrite ----
r=$(curl -s -w ' %{http_code}' "$base/hr/x?status=418")
eq "handle_response runs its routes" "short and stout 200" "$r"
h=$(curl -s -D - -o "$tmp/body" "$base/hr/x?status=410&hdr=X-Other:1")
ok "copy_response with a new status" 'grep -q "^HTTP/1.1 404" <<<"$h"'
ok "copy_response_headers include" 'grep -qi "^X-Upstream: u1" <<<"$h"'
ok "copy_response copies the body" 'jq -e ".target" "$tmp/body" >/dev/null'
eq "replace_status" 299 "$(curl -s -o /dev/null -w '%{http_code}' "$base/hr/x?status=302")"
eq "unmatched responses pass" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$base/hr/x")"
j=$(curl -s "$base/rw/p?a=1")
eq "handler rewrite and method" "PUT /rewritten/rw/p?a=1" "$(jq -r '.method + " " + .target' <<<"$j")"

h=$(curl -s -D - -o /dev/null "$base/vars/x?status=201")
ok "{rp.status_code} in header_down" 'grep -qi "^X-Code: 201" <<<"$h"'
ok "{rp.header.*} in header_down" 'grep -qi "^X-Hdr: u1" <<<"$h"'
ok "{rp.upstream.hostport} in header_down" 'grep -qi "^X-Up: 127.0.0.1:$U1" <<<"$h"'
ok "{rp.upstream.latency_ms} is a number" 'grep -qiE "^X-Lat: [0-9]+(\.[0-9]+)?.?$" <<<"$h"'

ok "caddy-c still running" caddy_alive
finish
