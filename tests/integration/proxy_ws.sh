#!/usr/bin/env bash
# WebSocket through reverse_proxy with a real server and client (Debian's node-ws): an
# echo server upstream, caddy-c in front; text, binary and 1 MiB messages, the close
# handshake, 50 sockets at once, the upstream's view of the handshake headers, a refused
# upgrade relayed (400), a dead upstream (502), stream_timeout ending a stream, and the
# proxy's own requests still served meanwhile. Then the same echo server over https
# (node's https + ws, certificates made with openssl) behind `transport http` with
# tls_trusted_ca_certs + tls_server_name: text, binary, 1 MiB, close; the SNI and ALPN the
# upstream saw; a CA that did not sign its certificate (502), a wrong server name (502),
# tls_insecure_skip_verify (works).
set -u
cd "$(dirname "$0")/../.."
CADDYC=${CADDYC:-$PWD/bin/caddy-c}
export NODE_PATH=${NODE_PATH:-/usr/share/nodejs}
pass=0 fail=0
ok() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1" >&2; fi; }

if ! node -e "require('ws')" 2>/dev/null; then
    echo "node-ws is missing (scripts/deps.sh test installs it)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(freeport) up=$(freeport) deny=$(freeport) dead=$(freeport) tlsup=$(freeport)
tmp=$(mktemp -d)
pid= upid= tupid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    [ -n "$upid" ] && kill "$upid" 2>/dev/null && wait "$upid" 2>/dev/null
    [ -n "$tupid" ] && kill "$tupid" 2>/dev/null && wait "$tupid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# the upstreams: a ws echo server (which answers "headers?" with the handshake it saw)
# and a plain HTTP server that refuses every upgrade with 400
cat > "$tmp/upstream.js" <<'JS'
const http = require('http');
const { WebSocketServer } = require('ws');
const [up, deny] = process.argv.slice(2).map(Number);
const srv = http.createServer((req, res) => { res.end('plain'); });
const wss = new WebSocketServer({ server: srv, maxPayload: 8 << 20 });
wss.on('connection', (ws, req) => {
    ws.on('message', (data, isBinary) => {
        if (!isBinary && data.toString() === 'headers?')
            ws.send(JSON.stringify({ url: req.url, headers: req.headers }));
        else
            ws.send(data, { binary: isBinary });
    });
});
srv.listen(up, '127.0.0.1');
const refuse = http.createServer((req, res) => { res.end('no upgrade here'); });
refuse.on('upgrade', (req, sock) => {
    sock.end('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n' +
             'Content-Length: 17\r\nX-Refused: yes\r\n\r\nupgrade refused!\n');
});
refuse.listen(deny, '127.0.0.1');
JS
node "$tmp/upstream.js" "$up" "$deny" >"$tmp/up.log" 2>&1 &
upid=$!

# the https upstream: a CA ("ca") signs the server's certificate for ws.test; "ca2" is
# another CA
(
    set -e
    cd "$tmp"
    for c in ca ca2; do
        openssl ecparam -name prime256v1 -genkey -noout -out $c.key
        openssl req -x509 -new -key $c.key -subj "/CN=proxy_ws $c" -days 3 -out $c.pem
    done
    openssl ecparam -name prime256v1 -genkey -noout -out leaf.key
    openssl req -new -key leaf.key -subj /CN=ws.test -out leaf.csr
    printf 'subjectAltName=DNS:ws.test\nextendedKeyUsage=serverAuth\n' >ext.cnf
    openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile ext.cnf -out leaf.pem
) >"$tmp/openssl.log" 2>&1
ok "openssl made the certificates" '[ -s "$tmp/leaf.pem" ]'
cat > "$tmp/tlsupstream.js" <<'JS'
const https = require('https');
const fs = require('fs');
const { WebSocketServer } = require('ws');
const [port, dir] = process.argv.slice(2);
const srv = https.createServer({ key: fs.readFileSync(`${dir}/leaf.key`),
                                 cert: fs.readFileSync(`${dir}/leaf.pem`) },
                               (req, res) => { res.end('plain over tls'); });
const wss = new WebSocketServer({ server: srv, maxPayload: 8 << 20 });
wss.on('connection', (ws, req) => {
    ws.on('message', (data, isBinary) => {
        if (!isBinary && data.toString() === 'tls?')
            ws.send(JSON.stringify({ sni: req.socket.servername, alpn: req.socket.alpnProtocol,
                                     version: req.socket.getProtocol(), url: req.url }));
        else
            ws.send(data, { binary: isBinary });
    });
});
srv.listen(Number(port), '127.0.0.1');
JS
node "$tmp/tlsupstream.js" "$tlsup" "$tmp" >"$tmp/tlsup.log" 2>&1 &
tupid=$!

cat > "$tmp/Caddyfile" <<CF
{
	admin off
}
http://127.0.0.1:$port {
	reverse_proxy /ws* 127.0.0.1:$up
	reverse_proxy /deny* 127.0.0.1:$deny
	reverse_proxy /dead* 127.0.0.1:$dead
	reverse_proxy /short* 127.0.0.1:$up {
		stream_timeout 600ms
	}
	reverse_proxy /wss* https://127.0.0.1:$tlsup {
		transport http {
			tls_trusted_ca_certs $tmp/ca.pem
			tls_server_name ws.test
		}
	}
	reverse_proxy /badca* https://127.0.0.1:$tlsup {
		transport http {
			tls_trusted_ca_certs $tmp/ca2.pem
			tls_server_name ws.test
		}
	}
	reverse_proxy /badname* https://127.0.0.1:$tlsup {
		transport http {
			tls_trusted_ca_certs $tmp/ca.pem
			tls_server_name other.test
		}
	}
	reverse_proxy /insecure* https://127.0.0.1:$tlsup {
		transport http {
			tls_insecure_skip_verify
		}
	}
	respond /hello "hi"
}
CF
"$CADDYC" run --config "$tmp/Caddyfile" >"$tmp/log" 2>&1 &
pid=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/hello" && break; sleep 0.1; done
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$up/" && break; sleep 0.1; done
for _ in $(seq 50); do curl -sk -o /dev/null "https://127.0.0.1:$tlsup/" && break; sleep 0.1; done

cat > "$tmp/client.js" <<'JS'
const WebSocket = require('ws');
const http = require('http');
const port = process.argv[2];
const base = `ws://127.0.0.1:${port}`;
const report = (ok, name) => console.log(`${ok ? 'ok' : 'fail'} ${name}`);
// every message is queued as it arrives, so none is lost between two awaits
const open = (path, opts) => new Promise((resolve, reject) => {
    const ws = new WebSocket(base + path, opts);
    ws.queue = [];
    ws.waiters = [];
    ws.on('message', (d, bin) => {
        const w = ws.waiters.shift();
        if (w) w({ d, bin }); else ws.queue.push({ d, bin });
    });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (req, res) => {
        let body = '';
        res.on('data', (d) => body += d);
        res.on('end', () => reject({ status: res.statusCode, headers: res.headers, body }));
    });
    ws.once('error', (e) => reject({ error: e.message }));
});
const next = (ws) => new Promise((resolve) => {
    if (ws.queue.length) resolve(ws.queue.shift()); else ws.waiters.push(resolve);
});
const withTimeout = (p, ms, what) => Promise.race([p,
    new Promise((_, rej) => setTimeout(() => rej(new Error(`timeout: ${what}`)), ms))]);

async function main() {
    // text, binary, 1 MiB, close handshake
    const ws = await open('/ws/echo?x=1', { headers: { 'X-Client': 'node' } });
    ws.send('hello');
    let m = await next(ws);
    report(!m.bin && m.d.toString() === 'hello', 'text echo');
    const bin = Buffer.from([0, 1, 2, 255, 254, 0, 10, 13]);
    ws.send(bin);
    m = await next(ws);
    report(m.bin && Buffer.compare(m.d, bin) === 0, 'binary echo');
    const big = Buffer.alloc(1 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 11)) & 255;
    ws.send(big);
    m = await withTimeout(next(ws), 10000, '1 MiB echo');
    report(m.bin && Buffer.compare(m.d, big) === 0, '1 MiB binary echo');
    const many = [];
    for (let i = 0; i < 200; i++) ws.send(`msg ${i}`);
    for (let i = 0; i < 200; i++) many.push((await next(ws)).d.toString());
    report(many.every((s, i) => s === `msg ${i}`), '200 messages in order');
    ws.send('headers?');
    const seen = JSON.parse((await next(ws)).d.toString());
    const h = seen.headers;
    report(seen.url === '/ws/echo?x=1', `raw target forwarded (${seen.url})`);
    report(h.host === `127.0.0.1:${port}`, `Host passed through (${h.host})`);
    report(h['x-forwarded-for'] === '127.0.0.1', `X-Forwarded-For (${h['x-forwarded-for']})`);
    report(h['x-forwarded-proto'] === 'http', 'X-Forwarded-Proto');
    report(h['x-forwarded-host'] === `127.0.0.1:${port}`, 'X-Forwarded-Host');
    report(h.via === '1.1 Caddy', `Via (${h.via})`);
    report(h['x-client'] === 'node', 'client header kept');
    report(h.upgrade === 'websocket' && /upgrade/i.test(h.connection), 'Upgrade/Connection re-added');
    const closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.close(1000, 'bye');
    const c = await withTimeout(closed, 5000, 'close handshake');
    report(c.code === 1000 && c.reason === 'bye', `close handshake (${c.code} ${c.reason})`);

    // 50 sockets at once
    const socks = await Promise.all(Array.from({ length: 50 }, () => open('/ws')));
    const echoes = await Promise.all(socks.map((s, i) => { s.send(`sock ${i}`); return next(s); }));
    report(echoes.every((e, i) => e.d.toString() === `sock ${i}`), '50 concurrent sockets echo');
    const plain = await new Promise((resolve) => http.get(`http://127.0.0.1:${port}/hello`, (res) => {
        let b = ''; res.on('data', (d) => b += d); res.on('end', () => resolve(b));
    }).on('error', () => resolve('')));
    report(plain === 'hi', 'plain requests served while 50 streams are open');
    await Promise.all(socks.map((s) => new Promise((resolve) => { s.once('close', resolve); s.close(); })));
    report(true, '50 sockets closed');

    // the upstream refuses the upgrade: its answer is relayed
    try {
        await open('/deny');
        report(false, 'refused upgrade relayed');
    } catch (e) {
        report(e.status === 400 && e.body === 'upgrade refused!\n' && e.headers['x-refused'] === 'yes',
               `refused upgrade relayed (${e.status} ${JSON.stringify(e.body)})`);
        report(e.headers.via === '1.1 Caddy', 'Via on the relayed answer');
    }
    // the upstream is down
    try {
        await open('/dead');
        report(false, 'dead upstream 502');
    } catch (e) {
        report(e.status === 502, `dead upstream 502 (${e.status || e.error})`);
    }
    // stream_timeout ends the stream
    const t0 = Date.now();
    const st = await open('/short');
    st.send('still there?');
    m = await next(st);
    report(m.d.toString() === 'still there?', 'echo before stream_timeout');
    const code = await withTimeout(new Promise((resolve) => st.once('close', (c2) => resolve(c2))), 5000,
                                   'stream_timeout');
    const dt = Date.now() - t0;
    report(dt >= 500 && dt < 3000, `stream_timeout closed the stream after ${dt} ms (code ${code})`);

    // an https upstream (wolfSSL client in caddy-c)
    const ts = await open('/wss/echo?t=1');
    ts.send('hello tls');
    m = await next(ts);
    report(!m.bin && m.d.toString() === 'hello tls', 'https upstream: text echo');
    ts.send(bin);
    m = await next(ts);
    report(m.bin && Buffer.compare(m.d, bin) === 0, 'https upstream: binary echo');
    ts.send(big);
    m = await withTimeout(next(ts), 10000, '1 MiB echo over tls');
    report(m.bin && Buffer.compare(m.d, big) === 0, 'https upstream: 1 MiB binary echo');
    for (let i = 0; i < 200; i++) ts.send(`tls ${i}`);
    const tmany = [];
    for (let i = 0; i < 200; i++) tmany.push((await next(ts)).d.toString());
    report(tmany.every((s, i) => s === `tls ${i}`), 'https upstream: 200 messages in order');
    ts.send('tls?');
    const ti = JSON.parse((await next(ts)).d.toString());
    report(ti.sni === 'ws.test', `https upstream: SNI is tls_server_name (${ti.sni})`);
    report(ti.alpn === 'http/1.1', `https upstream: ALPN http/1.1 (${ti.alpn})`);
    report(/^TLSv1\.[23]$/.test(ti.version), `https upstream: ${ti.version}`);
    report(ti.url === '/wss/echo?t=1', `https upstream: raw target (${ti.url})`);
    const tclosed = new Promise((resolve) => ts.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ts.close(1000, 'tls bye');
    const tc = await withTimeout(tclosed, 5000, 'close handshake over tls');
    report(tc.code === 1000 && tc.reason === 'tls bye', `https upstream: close handshake (${tc.code} ${tc.reason})`);
    for (const [path, what] of [['/badca', 'CA that did not sign it'], ['/badname', 'wrong tls_server_name']]) {
        try {
            await open(path);
            report(false, `https upstream, ${what}: 502`);
        } catch (e) {
            report(e.status === 502, `https upstream, ${what}: 502 (${e.status || e.error})`);
        }
    }
    const ins = await open('/insecure');
    ins.send('insecure');
    m = await next(ins);
    report(m.d.toString() === 'insecure', 'https upstream, tls_insecure_skip_verify: echo');
    await new Promise((resolve) => { ins.once('close', resolve); ins.close(); });
}
main().then(() => process.exit(0), (e) => { console.log(`fail exception ${JSON.stringify(e.message || e)}`); process.exit(1); });
JS
timeout 60 node "$tmp/client.js" "$port" >"$tmp/client.out" 2>&1
[ -n "${KEEP_LOG:-}" ] && cp "$tmp/client.out" "$tmp/log" "$KEEP_LOG/" 2>/dev/null
cat "$tmp/client.out" | grep -v '^ok' >&2
while read -r status name; do
    ok "$name" '[ "$status" = ok ]'
done < <(grep -E '^(ok|fail) ' "$tmp/client.out")
ok "client ran every check (33)" '[ "$(grep -c "^ok " "$tmp/client.out")" -eq 33 ]'
ok "server still alive" 'kill -0 "$pid"'
# a graceful stop: exit status 0 and, in sanitizer builds, no report (leaks included)
kill "$pid"
wait "$pid"
rc=$?
pid=
ok "clean stop (status $rc)" '[ "$rc" -eq 0 ] && ! grep -qE "Sanitizer|runtime error" "$tmp/log"'
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
