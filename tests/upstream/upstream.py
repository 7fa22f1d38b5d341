#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# A small HTTP/1.1 backend for the reverse_proxy integration tests (stdlib only). It
# echoes requests as JSON (method, raw target, headers in wire order, body length and
# sha256), sends deterministic bodies (fixed length or chunked, optionally throttled),
# streams SSE, sleeps, answers a given status and headers, reads uploads slowly, counts
# requests (to check load balancing), has a health endpoint whose answer can be switched,
# notices clients that go away, and in --raw mode records exactly the bytes it received.
#
#   upstream.py PORT [--name NAME] [--raw FILE]     prints "ready" once listening
#   upstream.py --gen N                             writes the N-byte test stream to stdout
#   upstream.py --sha N                             prints its sha256 (hex)
#
# Endpoints (every query parameter is optional):
#   /_stats               JSON counters (not counted); /_reset zeroes them
#   /_health?status=&body=&path=   sets what the health path (one path, or all when
#                         path is absent) answers (default 200 "ok")
#   /_mode?status=&sleep=&close=   overrides every counted request: answer this status,
#                         sleep ms first, or close the connection without answering
#                         (close=1); /_mode alone clears it
#   /health...            the health endpoint (counted apart, records the last request)
#   /who                  the server name as text
#   /bytes/N              N bytes of the test stream (suffix K, M, G: powers of 1024);
#                         chunked=1 for chunked framing, chunk=SIZE, rate=KB/s throttle,
#                         ctype=type
#   /drip?n=&gap_ms=&size=&cl=1   n pieces of size bytes, gap_ms apart (cl=1: with a
#                         Content-Length, else chunked)
#   /sse?n=&interval_ms=  text/event-stream, one event at once then one per interval
#   /hold?ms=             waits up to ms watching the client; records a disconnect
#   /slowread?rate=&pause_ms=&pause_after=   reads the body at rate KB/s (or pauses
#                         pause_ms once after pause_after bytes), answers len + sha256
#   anything else         echo (JSON)
# Generic parameters on counted requests: status=CODE, sleep=MS (before answering),
# hdr=Name:Value (repeatable, added to the response).
import hashlib
import json
import os
import random
import select
import socket
import socketserver
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

BLOCK = 1 << 20
_base = random.Random(20261127).randbytes(BLOCK)


def stream_block(k):
    """Block k (1 MiB) of the test stream: the base block with k in its first 8 bytes,
    so that a reordered or repeated block changes the hash."""
    return struct.pack(">Q", k) + _base[8:]


def gen(n, off=0):
    """Yields the bytes [off, off+n) of the test stream in pieces of at most 1 MiB."""
    end = off + n
    while off < end:
        k, i = divmod(off, BLOCK)
        take = min(BLOCK - i, end - off)
        yield stream_block(k)[i:i + take]
        off += take


def parse_size(s):
    s = s.strip()
    mult = 1
    if s and s[-1] in "kKmMgG":
        mult = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[s[-1].lower()]
        s = s[:-1]
    return int(s) * mult


class Stats:
    def __init__(self, name):
        self.name = name
        self.lock = threading.Lock()
        self.health = {"*": {"status": 200, "body": "ok"}}
        self.mode = {}
        self.reset()

    def reset(self):
        with self.lock:
            self.requests = 0
            self.by_path = {}
            self.health_requests = 0
            self.health_by_path = {}
            self.health_last = {}
            self.health_answers = {}  # path -> {status: count}
            self.last_health = None
            self.disconnects = 0
            self.disconnects_by_path = {}
            self.active = 0
            self.max_active = 0
            self.connections = 0
            self.log = []  # last 200 counted requests: method, target, body_len

    def snapshot(self):
        with self.lock:
            return {
                "name": self.name,
                "requests": self.requests,
                "by_path": dict(self.by_path),
                "health_requests": self.health_requests,
                "health_by_path": dict(self.health_by_path),
                "health_last": dict(self.health_last),
                "health_answers": {k: dict(v) for k, v in self.health_answers.items()},
                "last_health": self.last_health,
                "disconnects": self.disconnects,
                "disconnects_by_path": dict(self.disconnects_by_path),
                "active": self.active,
                "max_active": self.max_active,
                "connections": self.connections,
                "log": list(self.log),
            }


STATS = None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def version_string(self):
        return "upstream"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with STATS.lock:
            STATS.connections += 1

    def log_message(self, fmt, *args):  # quiet
        pass

    def handle(self):
        try:
            super().handle()
        except (ConnectionError, socket.timeout, OSError):
            pass

    # ---- helpers

    def q(self, key, default=None):
        v = self.query.get(key)
        return v[-1] if v else default

    def read_body(self, sink=None, rate=0, pause_ms=0, pause_after=0):
        """Reads the request body (Content-Length or chunked); returns (length, sha256).
        rate (KB/s) throttles; pause_ms pauses once after pause_after bytes."""
        h = hashlib.sha256()
        total = 0
        paused = False
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        cl = self.headers.get("Content-Length")

        def take(piece):
            nonlocal total, paused
            h.update(piece)
            total += len(piece)
            if sink is not None:
                sink.append(piece)
            if rate:
                time.sleep(len(piece) / (rate * 1024.0))
            if pause_ms and not paused and total >= pause_after:
                paused = True
                time.sleep(pause_ms / 1000.0)

        step = 4096 if rate else 1 << 20
        if "chunked" in te:
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ConnectionError("eof in chunk size")
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while True:  # trailers
                        t = self.rfile.readline(65537)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    break
                left = size
                while left:
                    piece = self.rfile.read(min(left, step))
                    if not piece:
                        raise ConnectionError("eof in chunk")
                    take(piece)
                    left -= len(piece)
                self.rfile.readline(3)
        elif cl is not None:
            left = int(cl)
            while left:
                piece = self.rfile.read(min(left, step))
                if not piece:
                    raise ConnectionError("eof in body")
                take(piece)
                left -= len(piece)
        return total, h.hexdigest()

    def send_simple(self, status, body, ctype="text/plain", extra=()):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Upstream", STATS.name)
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def extra_headers(self):
        out = []
        for hv in self.query.get("hdr", []):
            if ":" in hv:
                k, v = hv.split(":", 1)
                out.append((k.strip(), v.strip()))
        return out

    def client_gone(self):
        """True when the client closed its end (EOF readable without blocking)."""
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
            if not r:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def note_disconnect(self):
        path = self.path.partition("?")[0]
        with STATS.lock:
            STATS.disconnects += 1
            STATS.disconnects_by_path[path] = STATS.disconnects_by_path.get(path, 0) + 1

    # ---- dispatch

    def do_any(self):
        # the target exactly as received (self.path has a leading "//" collapsed)
        parts = self.raw_requestline.split()
        target = parts[1].decode("latin1") if len(parts) >= 2 else self.path
        self.path = target
        path, _, query = target.partition("?")
        self.query = parse_qs(query, keep_blank_values=True)
        if path.startswith("/_"):
            return self.control(path)
        if path.startswith("/health"):
            return self.health_check(target)
        with STATS.lock:
            STATS.requests += 1
            STATS.by_path[path] = STATS.by_path.get(path, 0) + 1
            STATS.active += 1
            STATS.max_active = max(STATS.max_active, STATS.active)
            mode = dict(STATS.mode)
        try:
            self.counted(path, target, mode)
        finally:
            with STATS.lock:
                STATS.active -= 1

    def counted(self, path, target, mode):
        sleep_ms = int(self.q("sleep", mode.get("sleep", 0)) or 0)
        if mode.get("close"):
            self.read_body()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if path == "/slowread":
            n, sha = self.read_body(rate=int(self.q("rate", 0) or 0),
                                    pause_ms=int(self.q("pause_ms", 0) or 0),
                                    pause_after=parse_size(self.q("pause_after", "0")))
            self.logreq(n)
            return self.send_simple(200, json.dumps({"body_len": n, "body_sha256": sha}),
                                    "application/json")
        n, sha = self.read_body()
        self.logreq(n)
        if sleep_ms:
            time.sleep(sleep_ms / 1000.0)
        status = int(self.q("status", mode.get("status", 200)))
        extra = self.extra_headers()
        if path == "/who":
            return self.send_simple(status, STATS.name, extra=extra)
        if path.startswith("/bytes/"):
            return self.bytes_body(parse_size(path[7:]), status, extra)
        if path == "/drip":
            return self.drip(status, extra)
        if path == "/sse":
            return self.sse(extra)
        if path == "/hold":
            return self.hold(int(self.q("ms", 5000)), extra)
        body = json.dumps({
            "server": STATS.name,
            "method": self.command,
            "target": target,
            "version": self.request_version,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body_len": n,
            "body_sha256": sha,
            "peer": self.client_address[0],
        })
        self.send_simple(status, body, "application/json", extra)

    def logreq(self, n):
        with STATS.lock:
            STATS.log.append([self.command, self.path, n])
            del STATS.log[:-200]

    def control(self, path):
        self.read_body()
        if path == "/_stats":
            return self.send_simple(200, json.dumps(STATS.snapshot()), "application/json")
        if path == "/_reset":
            STATS.reset()
            return self.send_simple(200, "reset")
        if path == "/_health":
            with STATS.lock:
                STATS.health[self.q("path", "*")] = {"status": int(self.q("status", 200)),
                                                     "body": self.q("body", "ok")}
            return self.send_simple(200, "health set")
        if path == "/_mode":
            m = {}
            for k in ("status", "sleep", "close"):
                if self.q(k):
                    m[k] = int(self.q(k))
            with STATS.lock:
                STATS.mode = m
            return self.send_simple(200, "mode set")
        return self.send_simple(404, "no such control")

    def health_check(self, target):
        self.read_body()
        path = target.partition("?")[0]
        with STATS.lock:
            h = dict(STATS.health.get(path) or STATS.health["*"])
            STATS.health_requests += 1
            STATS.last_health = {
                "method": self.command,
                "target": target,
                "headers": [[k, v] for k, v in self.headers.items()],
                "answered": h["status"],
            }
            STATS.health_by_path[path] = STATS.health_by_path.get(path, 0) + 1
            STATS.health_last[path] = STATS.last_health
            by = STATS.health_answers.setdefault(path, {})
            by[str(h["status"])] = by.get(str(h["status"]), 0) + 1
        self.send_simple(h["status"], h["body"])

    def bytes_body(self, n, status, extra):
        chunked = self.q("chunked") == "1"
        chunk = parse_size(self.q("chunk", "64K"))
        rate = int(self.q("rate", 0) or 0)
        self.send_response(status)
        self.send_header("Content-Type", self.q("ctype", "application/octet-stream"))
        self.send_header("X-Upstream", STATS.name)
        for k, v in extra:
            self.send_header(k, v)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(n))
        self.end_headers()
        if self.command == "HEAD":
            return
        try:
            off = 0
            while off < n:
                take = min(chunk, n - off)
                piece = b"".join(gen(take, off))
                off += take
                if chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                else:
                    self.wfile.write(piece)
                if rate:
                    time.sleep(len(piece) / (rate * 1024.0))
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.note_disconnect()
            self.close_connection = True

    def drip(self, status, extra):
        n = int(self.q("n", 3))
        gap = int(self.q("gap_ms", 500)) / 1000.0
        size = int(self.q("size", 8))
        cl = self.q("cl") == "1"
        self.send_response(status)
        self.send_header("Content-Type", self.q("ctype", "text/plain"))
        self.send_header("X-Upstream", STATS.name)
        for k, v in extra:
            self.send_header(k, v)
        if cl:
            self.send_header("Content-Length", str(n * size))
        else:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for i in range(n):
                piece = (str(i % 10) * size).encode()
                self.wfile.write(piece if cl else b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.flush()
                if i + 1 < n:
                    time.sleep(gap)
            if not cl:
                self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.note_disconnect()
            self.close_connection = True

    def sse(self, extra):
        n = int(self.q("n", 3))
        gap = int(self.q("interval_ms", 1000)) / 1000.0
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Upstream", STATS.name)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for i in range(n):
                ev = b"id: %d\ndata: event %d\n\n" % (i, i)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(ev), ev))
                self.wfile.flush()
                if i + 1 < n:
                    deadline = time.time() + gap
                    while time.time() < deadline:
                        if self.client_gone():
                            raise ConnectionResetError()
                        time.sleep(0.02)
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.note_disconnect()
            self.close_connection = True

    def hold(self, ms, extra):
        deadline = time.time() + ms / 1000.0
        while time.time() < deadline:
            if self.client_gone():
                self.note_disconnect()
                self.close_connection = True
                return
            time.sleep(0.02)
        self.send_simple(200, "held %d ms" % ms, extra=extra)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


# ---- raw mode: records every byte received, answers each complete request with 200

class RawHandler(socketserver.BaseRequestHandler):
    lock = threading.Lock()
    path = None

    def record(self, data):
        with RawHandler.lock, open(RawHandler.path, "ab") as f:
            f.write(data)

    def handle(self):
        s = self.request
        s.settimeout(30)
        buf = b""
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    return
                self.record(d)
                buf += d
                while True:
                    n = complete_request(buf)
                    if n <= 0:
                        break
                    buf = buf[n:]
                    s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                              b"Content-Length: 6\r\n\r\nraw-ok")
                if len(buf) > 1 << 20 or n < 0:
                    return
        except OSError:
            return


def complete_request(buf):
    """Length of the first complete request in buf, 0 if incomplete, -1 if unframeable."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return 0
    head = buf[:end].split(b"\r\n")
    cl = None
    chunked = False
    for line in head[1:]:
        k, _, v = line.partition(b":")
        k = k.strip().lower()
        if k == b"content-length":
            cl = int(v.strip())
        elif k == b"transfer-encoding":
            chunked = b"chunked" in v.lower()
    pos = end + 4
    if chunked:
        while True:
            e = buf.find(b"\r\n", pos)
            if e < 0:
                return 0
            try:
                size = int(buf[pos:e].split(b";")[0], 16)
            except ValueError:
                return -1
            pos = e + 2
            if size == 0:
                e = buf.find(b"\r\n", pos)  # no trailers expected
                return e + 2 if e >= 0 else 0
            if len(buf) < pos + size + 2:
                return 0
            pos += size + 2
    if cl:
        return pos + cl if len(buf) >= pos + cl else 0
    return pos


class RawServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global STATS
    args = sys.argv[1:]
    if args[:1] == ["--gen"]:
        out = sys.stdout.buffer
        for piece in gen(parse_size(args[1])):
            out.write(piece)
        return
    if args[:1] == ["--sha"]:
        h = hashlib.sha256()
        for piece in gen(parse_size(args[1])):
            h.update(piece)
        print(h.hexdigest())
        return
    port = int(args[0])
    name = "u%d" % port
    raw = None
    host = "127.0.0.1"
    i = 1
    while i < len(args):
        if args[i] == "--name":
            name = args[i + 1]
        elif args[i] == "--raw":
            raw = args[i + 1]
        elif args[i] == "--host":
            host = args[i + 1]
        i += 2
    if raw:
        RawHandler.path = raw
        open(raw, "wb").close()
        srv = RawServer((host, port), RawHandler)
    else:
        STATS = Stats(name)
        srv = Server((host, port), Handler)
    print("ready", flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        os._exit(0)
