/* SPDX-License-Identifier: Apache-2.0
 * The HTTP engine in-process: a runtime built from a Caddyfile (adapter + provisioning)
 * served on 127.0.0.1 and driven with raw sockets. Covers keep-alive and pipelining,
 * every refused framing case (right status, connection closed, handler never reached),
 * 431/414, the read-header deadline, HEAD, the Server header, abort, close, sendfile
 * bodies, request bodies, runtime swaps (same port, new port, failed bind, TLS refusal)
 * and the graceful stop. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../core/handler.h"
#include "../../core/log.h"
#include "../t.h"
#include "engine_rt.h"
#include "net.h"

static char dir[64];
static int P1, P2;

/* Reads until EOF (sets *closed), timeout or cap; returns bytes read. */
static size_t read_all(int fd, char *out, size_t cap, bool *closed)
{
    size_t n = 0;
    *closed = false;
    while (n < cap - 1) {
        ssize_t r = recv(fd, out + n, cap - 1 - n, 0);
        if (r == 0) {
            *closed = true;
            break;
        }
        if (r < 0) {
            if (errno == ECONNRESET)
                *closed = true;
            break;
        }
        n += (size_t)r;
    }
    out[n] = 0;
    return n;
}

static char resp[1 << 16];
static bool closed;

/* Sends req (n bytes) on a new connection and reads everything back into resp. */
static size_t xfer(int port, const char *req, size_t n)
{
    int fd = t_dial(port);
    if (fd < 0) {
        resp[0] = 0;
        closed = true;
        return 0;
    }
    t_send_all(fd, req, n);
    size_t got = read_all(fd, resp, sizeof(resp), &closed);
    close(fd);
    return got;
}

static size_t xfers(int port, const char *req)
{
    return xfer(port, req, strlen(req));
}

static int count(const char *hay, const char *needle)
{
    int c = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        c++;
    return c;
}

static const char *HELLO = "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

static void test_basics(void)
{
    xfers(P1, "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    T_OK(strncmp(resp, "HTTP/1.1 200", 12) == 0, "hello status: %.40s", resp);
    T_HAS(resp, "\r\nServer: caddy-c\r\n");
    T_HAS(resp, "Content-Length: 12\r\n");
    T_HAS(resp, "\r\n\r\nhello, world");
    T_OK(closed, "Connection: close honoured");

    /* keep-alive + 3 pipelined requests answered in order */
    xfers(P1, "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
              "GET /echo?n=2 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
              "GET /echo?n=3 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    T_INT(count(resp, "HTTP/1.1 200"), 3);
    const char *a = strstr(resp, "hello, world"), *b = strstr(resp, "n=2"),
               *c = strstr(resp, "n=3");
    T_OK(a && b && c && a < b && b < c, "pipelined answers in order");

    /* HEAD: length, no body */
    xfers(P1, "HEAD /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
              "GET /echo?after-head HTTP/1.1\r\n"
              "Host: 127.0.0.1\r\nConnection: close\r\n\r\n");
    T_HAS(resp, "Content-Length: 12\r\n");
    T_OK(!strstr(resp, "hello, world"), "HEAD has no body");
    T_HAS(resp, "after-head");

    /* request fields as the handlers see them (raw target, decoded path, Host) */
    xfers(P1, "GET /a%20b/c%2Fd/e+f?x=1+2&y=%41 HTTP/1.1\r\nHost: LOCALHOST:9\r\n"
              "Connection: close\r\n\r\n");
    /* host matcher (127.0.0.1) fails: Caddy's empty 200 */
    T_OK(strncmp(resp, "HTTP/1.1 200", 12) == 0, "unmatched: 200");
    T_HAS(resp, "Content-Length: 0\r\n");
    xfers(P1, "GET /echo/a%20b/c%2Fd/e+f?x=1+2&y=%41 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n"
              "Connection: close\r\n\r\n");
    T_HAS(resp, "GET|127.0.0.1|9|/echo/a b/c/d/e+f|x=1+2&y=%41|/echo/a%20b/c%2Fd/e+f?x=1+2&y=%41|");

    /* absolute-form: the authority is the host */
    xfers(P1,
          "GET http://127.0.0.1:77/echo?abs HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n");
    T_HAS(resp, "GET|127.0.0.1|77|/echo|abs|");

    /* HTTP/1.0 without Host, keep-alive by request */
    xfers(P1, "GET /hello HTTP/1.0\r\n\r\n");
    T_OK(strncmp(resp, "HTTP/1.", 7) == 0 && strstr(resp, " 200 "), "1.0: %.30s", resp);
    T_OK(closed, "1.0 closes");

    /* Server removed by `header -Server` */
    xfers(P1, "GET /noserver HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    T_HAS(resp, "\r\n\r\nns");
    T_OK(!strstr(resp, "Server:"), "Server header removed: %s", resp);

    /* respond ... { close } */
    xfers(P1, "GET /close HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
              "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    T_HAS(resp, "Connection: close");
    T_HAS(resp, "bye");
    T_INT(count(resp, "HTTP/1.1"), 1);
    T_OK(closed, "close: connection closed");

    /* abort: no response at all */
    size_t n = xfers(P1, "GET /abort HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    T_INT(n, 0);
    T_OK(closed, "abort: closed");
}

static void test_bodies(void)
{
    /* Content-Length body, then a pipelined request whose body looks like a fold */
    xfers(
        P1,
        "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 13\r\n\r\n\r\n x: y\r\n\r\n\r\n"
        "GET /echo?second HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    T_HAS(resp, "POST|127.0.0.1|");
    T_HAS(resp, "|\r\n x: y\r\n\r\n\r\n");
    T_HAS(resp, "second");
    T_INT(count(resp, "HTTP/1.1 200"), 2);

    /* chunked upload, keep-alive after it */
    xfers(P1, "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
              "3\r\nabc\r\n4;ext=x\r\ndefg\r\n0\r\n\r\n"
              "GET /echo?after-chunked HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    T_HAS(resp, "|abcdefg");
    T_HAS(resp, "after-chunked");

    /* trailing whitespace in values is not part of them (MHD keeps it) */
    xfers(P1,
          "POST /echo HTTP/1.1\r\nHost: 127.0.0.1 \r\nContent-Length: 2 \r\n\r\nokPOST /echo "
          "HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked \r\nConnection: close\r\n\r\n"
          "2\r\nOK\r\n0\r\n\r\n");
    T_HAS(resp, "|ok");
    T_HAS(resp, "|OK");
    T_INT(count(resp, "HTTP/1.1 200"), 2);

    /* Expect: 100-continue */
    xfers(P1,
          "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n"
          "Connection: close\r\n\r\nok");
    T_HAS(resp, "|ok");

    /* a huge body streams (no engine cap): the handler answers at once without it, and
     * the connection closes rather than receive 100 GB (engine/reqbody.c) */
    xfers(P1, "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 99999999999\r\n\r\n");
    T_OK(strncmp(resp, "HTTP/1.1 200", 12) == 0, "huge body answered: %.30s", resp);
    T_HAS(resp, "Connection: close\r\n");
    T_OK(closed, "huge unread body closes");

    /* a big file through sendfile */
    const size_t big = 5u << 20;
    char *buf = malloc(big + 65536);
    int fd = t_dial(P1);
    t_send_all(
        fd, "GET /files/big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        strlen("GET /files/big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
    bool cl;
    size_t got = read_all(fd, buf, big + 65536, &cl);
    close(fd);
    const char *body = strstr(buf, "\r\n\r\n");
    T_OK(strncmp(buf, "HTTP/1.1 200", 12) == 0, "big file status");
    T_HAS(buf, "Content-Length: 5242880\r\n");
    T_OK(body && got - (size_t)(body + 4 - buf) == big, "big file size %zu", got);
    int ok = body != NULL;
    for (size_t i = 0; ok && i < big; i += 4099)
        ok = (unsigned char)body[4 + i] == (unsigned char)(i * 7 + 3);
    T_OK(ok, "big file content");
    free(buf);
}

struct bad {
    const char *name, *req;
    size_t len;
    int status;
};

static void test_refused(void)
{
    static const char nul[] = "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nX: a\0b\r\n\r\n";
#define B(name, req, status)                                                                       \
    {                                                                                              \
        name, req, sizeof(req) - 1, status                                                         \
    }
    static const struct bad cases[] = {
        B("dup CL",
          "POST /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\nContent-Length: "
          "1\r\n\r\nx",
          400),
        B("conflicting CL",
          "POST /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\nContent-Length: "
          "2\r\n\r\nxx",
          400),
        B("CL+TE",
          "POST /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\nTransfer-Encoding: "
          "chunked\r\n\r\n0\r\n\r\n",
          400),
        B("TE gzip", "POST /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip\r\n\r\n",
          501),
        B("TE gzip, chunked",
          "POST /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip, "
          "chunked\r\n\r\n0\r\n\r\n",
          501),
        B("TE chunked twice",
          "POST /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked, "
          "chunked\r\n\r\n0\r\n\r\n",
          400),
        B("two TE",
          "POST /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: "
          "chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
          400),
        B("TE on 1.0", "POST /hello HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        B("CR in value", "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nX: a\rb\r\n\r\n", 400),
        B("space in name", "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Name: x\r\n\r\n", 400),
        B("space before colon", "GET /hello HTTP/1.1\r\nHost : 127.0.0.1\r\n\r\n", 400),
        B("bad name char", "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nX(y): z\r\n\r\n", 400),
        B("obs-fold", "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Fold: a\r\n  b\r\n\r\n", 400),
        B("obs-fold tab", "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Fold: a\r\n\tb\r\n\r\n",
          400),
        B("no Host", "GET /hello HTTP/1.1\r\nX: y\r\n\r\n", 400),
        B("two Host", "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: 127.0.0.1\r\n\r\n", 400),
        B("bad Host", "GET /hello HTTP/1.1\r\nHost: 127.0.0.1/x\r\n\r\n", 400),
        B("space in target", "GET /hel lo HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 400),
        B("bad escape", "GET /hello%zz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 400),
        B("HTTP/2.0", "GET /hello HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n", 505),
        B("CONNECT", "CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n", 501),
        B("Expect other", "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: foo\r\n\r\n", 417),
        B("CL +5", "POST /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: +5\r\n\r\nhello",
          400),
        B("CL 5,5", "POST /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5, 5\r\n\r\nhello",
          400),
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]) + 1; i++) {
        struct bad bc = i < sizeof(cases) / sizeof(cases[0])
                            ? cases[i]
                            : (struct bad){"NUL in value", nul, sizeof(nul) - 1, 400};
        /* the refused request, then a good pipelined one that must never be answered */
        char req[1024];
        memcpy(req, bc.req, bc.len);
        memcpy(req + bc.len, HELLO, strlen(HELLO));
        xfer(P1, req, bc.len + strlen(HELLO));
        char want[16];
        snprintf(want, sizeof(want), "HTTP/1.1 %d", bc.status);
        T_OK(strncmp(resp, want, 12) == 0, "%s: want %d, got %.40s", bc.name, bc.status, resp);
        T_OK(!strstr(resp, "hello, world"), "%s: handler reached", bc.name);
        T_OK(count(resp, "HTTP/1.1 ") == 1, "%s: %d responses", bc.name, count(resp, "HTTP/1.1 "));
        T_OK(closed, "%s: connection left open", bc.name);
    }
    /* a good request followed by a folded one on the same connection */
    xfers(P1, "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
              "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nX: a\r\n b\r\n\r\n");
    T_OK(strncmp(resp, "HTTP/1.1 200", 12) == 0, "first of pair served");
    T_HAS(resp, "HTTP/1.1 400");
    T_OK(closed, "fold after good: closed");
    /* the error body is Go's wording */
    xfers(P1, "GET /hello HTTP/1.1\r\n\r\n");
    T_HAS(resp, "400 Bad Request: missing required Host header");
}

static void test_limits(void)
{
    size_t n = 100000;
    char *req = malloc(n + 200);
    /* 431: one header larger than the 64 KiB pool */
    int len = snprintf(req, 200, "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ");
    memset(req + len, 'a', n);
    memcpy(req + len + n, "\r\n\r\n", 5);
    xfer(P1, req, (size_t)len + n + 4);
    T_OK(strncmp(resp, "HTTP/1.1 431", 12) == 0, "431: %.30s", resp);
    T_OK(closed, "431 closes");
    /* 414: a long target */
    len = snprintf(req, 200, "GET /");
    memset(req + len, 'u', n);
    len += (int)n;
    len += snprintf(req + len, 200, " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    xfer(P1, req, (size_t)len);
    T_OK(strncmp(resp, "HTTP/1.1 414", 12) == 0, "414: %.30s", resp);
    /* max_header_size 2KB on the second server: 3 KB of headers is refused exactly */
    len = snprintf(req, 200, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ");
    memset(req + len, 'b', 3000);
    memcpy(req + len + 3000, "\r\n\r\n", 5);
    xfer(P2, req, (size_t)len + 3004);
    T_OK(strncmp(resp, "HTTP/1.1 431", 12) == 0, "max_header_size 431: %.30s", resp);
    len = snprintf(req, 200, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ");
    memset(req + len, 'b', 1000);
    memcpy(req + len + 1000, "\r\nConnection: close\r\n\r\n", 24);
    xfer(P2, req, strlen(req));
    T_HAS(resp, "small");
    free(req);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_slowloris(void)
{
    /* read_header 1s: a head trickled byte by byte is cut off, silently */
    int fd = t_dial(P1);
    double t0 = now_s();
    t_send_all(fd, "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n", 38);
    bool cut = false;
    char c;
    for (int i = 0; i < 40 && !cut; i++) {
        t_send_all(fd, "X", 1);
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, 150) > 0) {
            ssize_t r = recv(fd, &c, 1, 0);
            cut = r <= 0;
            if (r > 0)
                break;
        }
    }
    double dt = now_s() - t0;
    T_OK(cut, "slowloris connection closed without a response");
    T_OK(dt > 0.8 && dt < 2.5, "closed after %.2fs", dt);
    close(fd);
    /* the deadline also covers the next head on a kept-alive connection */
    fd = t_dial(P1);
    t_send_all(fd, HELLO, strlen(HELLO));
    char buf[4096];
    ssize_t r = recv(fd, buf, sizeof(buf), 0);
    T_OK(r > 0, "first response");
    t0 = now_s();
    t_send_all(fd, "GET /hello HTTP/1.1\r\n", 21);
    bool cl;
    read_all(fd, buf, sizeof(buf), &cl);
    dt = now_s() - t0;
    T_OK(cl && dt > 0.8 && dt < 2.5, "second head deadline: closed=%d after %.2fs", cl, dt);
    close(fd);
}

static const char *conf(int p1, int p2, const char *extra)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf),
             "{\n\tadmin off\n\tservers 127.0.0.1:%d {\n\t\ttimeouts {\n\t\t\tread_header 1s\n"
             "\t\t}\n\t}\n\tservers 127.0.0.1:%d {\n\t\tmax_header_size 2KB\n\t}\n}\n"
             "http://127.0.0.1:%d {\n\tbind 127.0.0.1\n\troot * %s\n"
             "\theader /noserver -Server\n\trespond /hello \"hello, world\"\n"
             "\trespond /close \"bye\" {\n\t\tclose\n\t}\n\tabort /abort\n"
             "\trespond /noserver \"ns\"\n"
             "\trespond /echo* \"{method}|{host}|{http.request.port}|{path}|{query}|{uri}|"
             "{http.request.body}\"\n\tfile_server /files/*\n}\n"
             "http://127.0.0.1:%d {\n\tbind 127.0.0.1\n\trespond \"small\"\n}\n%s",
             p1, p2, p1, dir, p2, extra ? extra : "");
    return buf;
}

static int P4;

static void test_swap(cc_engine *e)
{
    cc_err err = {0};
    /* same ports, new handlers: an open keep-alive connection moves over too */
    int fd = t_dial(P1);
    t_send_all(fd, HELLO, strlen(HELLO));
    char buf[4096];
    ssize_t r = recv(fd, buf, sizeof(buf) - 1, 0);
    T_OK(r > 0, "before swap");
    char src[4096];
    snprintf(src, sizeof(src),
             "{\n\tadmin off\n}\nhttp://127.0.0.1:%d {\n\tbind 127.0.0.1\n\trespond \"two\"\n}\n",
             P1);
    cc_runtime *rt = t_load(src, &err);
    T_OK(rt != NULL, "load two: %s", err.msg);
    if (!rt)
        return;
    T_INT(cc_engine_swap(e, rt, &err), CC_OK);
    cc_runtime_unref(rt);
    t_send_all(fd, HELLO, strlen(HELLO));
    r = recv(fd, buf, sizeof(buf) - 1, 0);
    buf[r > 0 ? r : 0] = 0;
    T_HAS(buf, "two");
    close(fd);
    xfers(P1, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    T_HAS(resp, "two");
    /* P2 was dropped: it stops accepting */
    usleep(200000);
    T_OK(t_dial(P2) < 0, "removed listener closed");

    /* a listener that cannot be bound: nothing changes */
    int blocker = socket(AF_INET, SOCK_STREAM, 0);
    int P3 = t_free_port();
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)P3),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    T_OK(bind(blocker, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(blocker, 1) == 0,
         "blocker");
    snprintf(src, sizeof(src),
             "{\n\tadmin off\n}\nhttp://127.0.0.1:%d {\n\tbind 127.0.0.1\n\trespond \"three\"\n}\n"
             "http://127.0.0.1:%d {\n\tbind 127.0.0.1\n\trespond \"three\"\n}\n",
             P1, P3);
    rt = t_load(src, &err);
    T_OK(rt != NULL, "load three: %s", err.msg);
    if (rt) {
        cc_err_clear(&err);
        T_INT(cc_engine_swap(e, rt, &err), CC_ERR);
        T_HAS(err.msg, "bind: address already in use");
        cc_runtime_unref(rt);
    }
    close(blocker);
    xfers(P1, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    T_HAS(resp, "two");

    /* an HTTPS site gets the TLS front on its port: plain HTTP there is not answered
     * (tests/integration/tls.sh covers the front itself) */
    snprintf(src, sizeof(src), "{\n\tadmin off\n}\nexample.com:%d {\n\trespond \"tls\"\n}\n", P1);
    rt = t_load(src, &err);
    T_OK(rt != NULL, "load tls: %s", err.msg);
    if (rt) {
        cc_err_clear(&err);
        T_INT(cc_engine_swap(e, rt, &err), CC_OK);
        cc_runtime_unref(rt);
        xfers(P1, "GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");
        T_OK(strstr(resp, "HTTP/1.1") == NULL, "plain HTTP on a TLS port: %s", resp);
    }

    /* move to a new port */
    P4 = t_free_port();
    snprintf(src, sizeof(src),
             "{\n\tadmin off\n}\nhttp://127.0.0.1:%d {\n\tbind 127.0.0.1\n\trespond \"four\"\n}\n",
             P4);
    rt = t_load(src, &err);
    if (rt) {
        T_INT(cc_engine_swap(e, rt, &err), CC_OK);
        cc_runtime_unref(rt);
        xfers(P4, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        T_HAS(resp, "four");
        usleep(200000);
        T_OK(t_dial(P1) < 0, "old port closed");
    }
}

static void make_files(void)
{
    snprintf(dir, sizeof(dir), "/tmp/cc_engine_XXXXXX");
    if (!mkdtemp(dir))
        return;
    char p[128];
    snprintf(p, sizeof(p), "%s/files", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/files/big.bin", dir);
    FILE *f = fopen(p, "wb");
    for (size_t i = 0; i < (5u << 20); i++)
        fputc((int)(unsigned char)(i * 7 + 3), f);
    fclose(f);
}

static void remove_files(void)
{
    char p[128];
    snprintf(p, sizeof(p), "%s/files/big.bin", dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/files", dir);
    rmdir(p);
    rmdir(dir);
}

int main(void)
{
    cc_log_set_level(CC_LOG_WARN);
    make_files();
    P1 = t_free_port();
    P2 = t_free_port();
    cc_engine *e = t_serve(conf(P1, P2, NULL), 2);
    if (!e)
        return t_done();
    test_basics();
    test_bodies();
    test_refused();
    test_limits();
    test_slowloris();
    test_swap(e);
    /* graceful stop: an idle keep-alive connection is closed at once, a request still
     * receiving its head holds the stop until the grace period ends */
    int idle = t_dial(P4), busy = t_dial(P4);
    t_send_all(idle, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 35);
    char buf[512];
    T_OK(recv(idle, buf, sizeof(buf), 0) > 0, "idle connection served");
    t_send_all(busy, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n", 33);
    usleep(100000);
    uint64_t t0 = cc_now_mono_ns();
    cc_engine_stop(e, 1000000000);
    uint64_t dt = cc_now_mono_ns() - t0;
    T_OK(dt > 900000000u && dt < 2000000000u, "stop waited for the grace period: %.2fs",
         (double)dt / 1e9);
    T_OK(recv(idle, buf, sizeof(buf), 0) == 0, "idle connection closed");
    T_OK(recv(busy, buf, sizeof(buf), 0) <= 0, "busy connection closed");
    close(idle);
    close(busy);
    remove_files();
    return t_done();
}
