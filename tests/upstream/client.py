#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Test client for the reverse_proxy suites (stdlib only): streams large downloads and
# uploads with a bounded pause (a slow peer) while another process samples memory,
# times the first bytes of a streamed response, and sends raw bytes. Each mode prints
# one JSON line.
#
#   client.py get  PORT TARGET [--pause-after BYTES --pause SECONDS] [--timeout S]
#       -> {"status", "len", "sha256", "headers", "body"(first 200 bytes, latin1), "error"}
#   client.py put  PORT TARGET SIZE [--chunked] [--timeout S]
#       uploads SIZE bytes of upstream.py's test stream (POST) -> {"status", "body", ...}
#   client.py first PORT TARGET [--bytes N] [--timeout S]
#       -> {"status", "first_ms": ms from request to the first N body bytes, "data"}
#   client.py abort PORT TARGET MS    sends the request, reads MS ms, then closes
#   client.py raw  PORT BYTES [--timeout S]   (BYTES with Python escapes)
#       -> {"reply": everything read (latin1), "eof": bool}
import hashlib
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream import gen, parse_size  # noqa: E402


def opt(args, name, default=None):
    if name in args:
        i = args.index(name)
        return args[i + 1]
    return default


class Reader:
    def __init__(self, sock):
        self.s = sock
        self.buf = b""

    def fill(self):
        d = self.s.recv(1 << 20)
        if not d:
            raise EOFError()
        self.buf += d

    def line(self):
        while b"\n" not in self.buf:
            self.fill()
        i = self.buf.index(b"\n") + 1
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def take(self, n):
        if not self.buf:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


def read_head(rd):
    status_line = rd.line()
    parts = status_line.split(b" ", 2)
    status = int(parts[1])
    headers = []
    while True:
        ln = rd.line().rstrip(b"\r\n")
        if not ln:
            break
        k, _, v = ln.partition(b":")
        headers.append([k.decode("latin1"), v.strip().decode("latin1")])
    return status, headers


def hget(headers, name):
    for k, v in headers:
        if k.lower() == name.lower():
            return v
    return None


def body_iter(rd, headers, method="GET", status=200):
    """Yields the body pieces of a response (CL, chunked or until close)."""
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return
    te = (hget(headers, "Transfer-Encoding") or "").lower()
    cl = hget(headers, "Content-Length")
    if "chunked" in te:
        while True:
            size = int(rd.line().split(b";")[0].strip(), 16)
            if size == 0:
                while rd.line().strip():
                    pass
                return
            left = size
            while left:
                piece = rd.take(left)
                left -= len(piece)
                yield piece
            rd.line()
    elif cl is not None:
        left = int(cl)
        while left:
            piece = rd.take(min(left, 1 << 20))
            left -= len(piece)
            yield piece
    else:
        try:
            while True:
                yield rd.take(1 << 20)
        except EOFError:
            return


def request_bytes(method, port, target, extra=b""):
    return (b"%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: client.py\r\n%s\r\n"
            % (method.encode(), target.encode(), port, extra))


def mode_get(args):
    port, target = int(args[0]), args[1]
    pause_after = parse_size(opt(args, "--pause-after", "0"))
    pause = float(opt(args, "--pause", "0"))
    s = socket.create_connection(("127.0.0.1", port), timeout=float(opt(args, "--timeout", "60")))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 256 * 1024)
    s.sendall(request_bytes("GET", port, target, b"Connection: close\r\n"))
    rd = Reader(s)
    out = {"status": 0, "len": 0, "sha256": "", "headers": [], "body": "", "error": ""}
    h = hashlib.sha256()
    first = b""
    try:
        status, headers = read_head(rd)
        out["status"], out["headers"] = status, headers
        paused = False
        for piece in body_iter(rd, headers, "GET", status):
            h.update(piece)
            out["len"] += len(piece)
            if len(first) < 200:
                first += piece[:200 - len(first)]
            if pause and not paused and out["len"] >= pause_after:
                paused = True
                print(json.dumps({"paused_at": out["len"]}), file=sys.stderr, flush=True)
                time.sleep(pause)
    except (EOFError, OSError, ValueError) as e:
        out["error"] = type(e).__name__
    out["sha256"] = h.hexdigest()
    out["body"] = first.decode("latin1")
    print(json.dumps(out))


def mode_put(args):
    port, target, size = int(args[0]), args[1], parse_size(args[2])
    chunked = "--chunked" in args
    s = socket.create_connection(("127.0.0.1", port), timeout=float(opt(args, "--timeout", "60")))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 256 * 1024)
    extra = b"Connection: close\r\nContent-Type: application/octet-stream\r\n"
    extra += b"Transfer-Encoding: chunked\r\n" if chunked else b"Content-Length: %d\r\n" % size
    s.sendall(request_bytes("POST", port, target, extra))
    out = {"status": 0, "body": "", "sent": 0, "error": ""}
    try:
        for piece in gen(size):
            s.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            out["sent"] += len(piece)
        if chunked:
            s.sendall(b"0\r\n\r\n")
        rd = Reader(s)
        status, headers = read_head(rd)
        out["status"] = status
        out["body"] = b"".join(body_iter(rd, headers, "POST", status)).decode("latin1")
    except (EOFError, OSError, ValueError) as e:
        out["error"] = type(e).__name__
    print(json.dumps(out))


def mode_first(args):
    port, target = int(args[0]), args[1]
    want = int(opt(args, "--bytes", "1"))
    s = socket.create_connection(("127.0.0.1", port), timeout=float(opt(args, "--timeout", "10")))
    t0 = time.monotonic()
    s.sendall(request_bytes("GET", port, target, b"Connection: close\r\n"))
    rd = Reader(s)
    out = {"status": 0, "first_ms": -1, "data": "", "error": ""}
    try:
        status, headers = read_head(rd)
        out["status"] = status
        got = b""
        for piece in body_iter(rd, headers, "GET", status):
            got += piece
            if len(got) >= want:
                out["first_ms"] = round((time.monotonic() - t0) * 1000)
                break
        out["data"] = got.decode("latin1")
    except (EOFError, OSError, ValueError) as e:
        out["error"] = type(e).__name__
    print(json.dumps(out))


def mode_abort(args):
    port, target, ms = int(args[0]), args[1], int(args[2])
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(request_bytes("GET", port, target))
    s.settimeout(ms / 1000.0)
    t_end = time.monotonic() + ms / 1000.0
    try:
        while time.monotonic() < t_end:
            if not s.recv(65536):
                break
    except OSError:
        pass
    s.close()
    print(json.dumps({"closed": True}))


def mode_raw(args):
    port = int(args[0])
    data = args[1].encode().decode("unicode_escape").encode("latin1")
    s = socket.create_connection(("127.0.0.1", port), timeout=float(opt(args, "--timeout", "3")))
    out = b""
    eof = False
    try:
        s.sendall(data)
        while True:
            d = s.recv(65536)
            if not d:
                eof = True
                break
            out += d
    except (ConnectionResetError, BrokenPipeError):
        eof = True
    except socket.timeout:
        pass
    print(json.dumps({"reply": out.decode("latin1"), "eof": eof}))


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    {"get": mode_get, "put": mode_put, "first": mode_first, "abort": mode_abort,
     "raw": mode_raw}[mode](args)


if __name__ == "__main__":
    main()
