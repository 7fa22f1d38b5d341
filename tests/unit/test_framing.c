/* SPDX-License-Identifier: Apache-2.0
 * Unit tests for the engine's request framing checks, the request-target helpers and the
 * raw request-stream scanner (obs-fold / NUL detection and pipelined framing), all
 * without sockets. */
#include <string.h>

#include "../../core/err.h"
#include "../../engine/framing.h"
#include "../../engine/rawscan.h"
#include "../t.h"

#define MAXH 16

/* Parses "Name: value" lines (one per array element) into headers and checks. */
static int check_v(const char *method, const char *target, const char *version, unsigned raw,
                   const char *const *lines, cc_frame_res *res)
{
    cc_frame_hdr h[MAXH];
    size_t n = 0;
    for (; lines && lines[n] && n < MAXH; n++) {
        const char *l = lines[n];
        const char *colon = strchr(l, ':');
        h[n].name = l;
        h[n].name_len = (size_t)(colon - l);
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        h[n].value = v;
        h[n].value_len = strlen(v);
    }
    cc_frame_in in = {method, target, strlen(target), version, h, n, raw};
    return cc_framing_check(&in, res);
}

static int chk(const char *method, const char *target, const char *version,
               const char *const *lines)
{
    cc_frame_res r;
    return check_v(method, target, version, 0, lines, &r);
}

#define H(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_ok(void)
{
    cc_frame_res r;
    T_INT(check_v("GET", "/", "HTTP/1.1", 0, H("Host: a"), &r), 0);
    T_INT(r.content_length, -1);
    T_OK(!r.chunked, "no chunked");
    T_INT(r.minor, 1);
    T_INT(chk("GET", "/", "HTTP/1.0", NULL), 0);         /* 1.0 needs no Host */
    T_INT(chk("get", "/", "HTTP/1.1", H("Host: a")), 0); /* methods are case-sensitive tokens */
    T_INT(check_v("POST", "/u", "HTTP/1.1", 0, H("Host: a", "Content-Length: 42"), &r), 0);
    T_INT(r.content_length, 42);
    T_INT(check_v("POST", "/u", "HTTP/1.1", 0, H("Host: a", "Transfer-Encoding: Chunked"), &r), 0);
    T_OK(r.chunked, "chunked");
    T_INT(chk("GET", "/a?b=c%20d&e", "HTTP/1.1", H("Host: [::1]:8080")), 0);
    T_INT(chk("GET", "http://example.com/x", "HTTP/1.1", H("Host: example.com")), 0);
    T_INT(chk("OPTIONS", "*", "HTTP/1.1", H("Host: a")), 0);
    T_INT(check_v("GET", "/", "HTTP/1.2", 0, H("Host: a"), &r), 0);
    T_INT(r.minor, 1);
    T_INT(chk("GET", "/", "HTTP/1.1", H("Host: a", "Expect: 100-continue")), 0);
    T_INT(chk("GET", "/", "HTTP/1.1", H("Host: a", "X-Tab: a\tb", "X-Obs: caf\xc3\xa9")), 0);
    T_INT(chk("GET", "/", "HTTP/1.1", H("Host:")), 0); /* empty Host is valid (Go) */
}

static void test_refused(void)
{
    cc_frame_res r;
    /* Content-Length */
    T_INT(chk("POST", "/", "HTTP/1.1", H("Host: a", "Content-Length: 5", "Content-Length: 5")),
          400);
    T_INT(chk("POST", "/", "HTTP/1.1", H("Host: a", "Content-Length: 5", "Content-Length: 10")),
          400);
    T_INT(chk("POST", "/", "HTTP/1.1", H("Host: a", "Content-Length: 5, 5")), 400);
    T_INT(chk("POST", "/", "HTTP/1.1", H("Host: a", "Content-Length: +5")), 400);
    T_INT(chk("POST", "/", "HTTP/1.1", H("Host: a", "Content-Length: -1")), 400);
    T_INT(chk("POST", "/", "HTTP/1.1", H("Host: a", "Content-Length:")), 400);
    T_INT(chk("POST", "/", "HTTP/1.1", H("Host: a", "Content-Length: 99999999999999999999")), 400);
    /* Transfer-Encoding */
    T_INT(chk("POST", "/", "HTTP/1.1",
              H("Host: a", "Content-Length: 5", "Transfer-Encoding: chunked")),
          400);
    T_INT(check_v("POST", "/", "HTTP/1.1", 0, H("Host: a", "Transfer-Encoding: gzip"), &r), 501);
    T_STR(r.reason, "Unsupported transfer encoding");
    T_INT(chk("POST", "/", "HTTP/1.1", H("Host: a", "Transfer-Encoding: gzip, chunked")), 501);
    T_INT(chk("POST", "/", "HTTP/1.1", H("Host: a", "Transfer-Encoding: chunked, gzip")), 501);
    T_INT(chk("POST", "/", "HTTP/1.1", H("Host: a", "Transfer-Encoding: chunked, chunked")), 400);
    T_INT(chk("POST", "/", "HTTP/1.1", H("Host: a", "Transfer-Encoding: chunked,")), 400);
    T_INT(chk("POST", "/", "HTTP/1.1", H("Host: a", "Transfer-Encoding: ,chunked")), 400);
    T_INT(chk("POST", "/", "HTTP/1.1", H("Host: a", "Transfer-Encoding: chu nked")), 400);
    T_INT(chk("POST", "/", "HTTP/1.1", H("Host: a", "Transfer-Encoding:")), 400);
    T_INT(chk("POST", "/", "HTTP/1.1",
              H("Host: a", "Transfer-Encoding: chunked", "Transfer-Encoding: chunked")),
          400);
    T_INT(chk("POST", "/", "HTTP/1.0", H("Transfer-Encoding: chunked")), 400);
    /* header names and values */
    T_INT(chk("GET", "/", "HTTP/1.1", H("Host: a", "X-A: a\rb")), 400);
    T_INT(chk("GET", "/", "HTTP/1.1", H("Host: a", "X-A: a\nb")), 400);
    T_INT(chk("GET", "/", "HTTP/1.1",
              H("Host: a", "X-A: a\x01"
                           "b")),
          400);
    T_INT(chk("GET", "/", "HTTP/1.1", H("Host: a", "X-A: a\x7f")), 400);
    {
        cc_frame_hdr h[2] = {{"Host", 4, "a", 1}, {"X-A", 3, "a\0b", 3}};
        cc_frame_in in = {"GET", "/", 1, "HTTP/1.1", h, 2, 0};
        T_INT(cc_framing_check(&in, &r), 400); /* NUL seen through the value length */
    }
    T_INT(chk("GET", "/", "HTTP/1.1", H("Host: a", "Bad Name: x")), 400);
    T_INT(chk("GET", "/", "HTTP/1.1", H("Host : a")), 400);
    T_INT(chk("GET", "/", "HTTP/1.1", H("Host: a", "X(y): z")), 400);
    T_INT(chk("GET", "/", "HTTP/1.1", H("Host: a", ": z")), 400);
    T_INT(chk("GET", "/", "HTTP/1.1", H("Host: a", "X\tA: z")), 400);
    /* Host */
    T_INT(check_v("GET", "/", "HTTP/1.1", 0, H("X: y"), &r), 400);
    T_STR(r.reason, "missing required Host header");
    T_INT(chk("GET", "/", "HTTP/1.1", H("Host: a", "Host: b")), 400);
    T_INT(chk("GET", "/", "HTTP/1.0", H("Host: a", "Host: a")), 400);
    T_INT(chk("GET", "/", "HTTP/1.1", H("Host: a b")), 400);
    T_INT(chk("GET", "/", "HTTP/1.1", H("Host: a/b")), 400);
    /* request line */
    T_INT(chk("GET", "/a b", "HTTP/1.1", H("Host: a")), 400);
    T_INT(chk("GET", "/a\tb", "HTTP/1.1", H("Host: a")), 400);
    T_INT(chk("GET", "", "HTTP/1.1", H("Host: a")), 400);
    T_INT(chk("GET", "a/b", "HTTP/1.1", H("Host: a")), 400);
    T_INT(chk("GET", "*", "HTTP/1.1", H("Host: a")), 400);
    T_INT(chk("GET", "/%zz", "HTTP/1.1", H("Host: a")), 400);
    T_INT(chk("GET", "/%4", "HTTP/1.1", H("Host: a")), 400);
    T_INT(chk("GET", "/a%00b", "HTTP/1.1", H("Host: a")), 400);
    T_INT(chk("GET", "http://u@h/", "HTTP/1.1", H("Host: h")), 400);
    T_INT(chk("GET", "/", "HTTP/2.0", H("Host: a")), 505);
    T_INT(chk("GET", "/", "HTTP/3.0", H("Host: a")), 505);
    T_INT(chk("GET", "/", "HTTP/1", H("Host: a")), 400);
    T_INT(chk("GET", "/", "FOO/1.1", H("Host: a")), 400);
    T_INT(chk("GET", "/", "HTTP/1.10", H("Host: a")), 400);
    T_INT(chk("GE(T", "/", "HTTP/1.1", H("Host: a")), 400);
    T_INT(chk("CONNECT", "example.com:443", "HTTP/1.1", H("Host: example.com:443")), 501);
    T_INT(chk("GET", "/", "HTTP/1.1", H("Host: a", "Expect: something")), 417);
    /* raw defects */
    T_INT(check_v("GET", "/", "HTTP/1.1", CC_RAW_FOLD, H("Host: a"), &r), 400);
    T_HAS(r.reason, "folding");
    T_INT(check_v("GET", "/", "HTTP/1.1", CC_RAW_NUL, H("Host: a"), &r), 400);
}

static void test_target(void)
{
    cc_target_parts tp;
    const char *t = "/a%2Fb/c?x=1+2&y";
    T_INT(cc_target_split(t, strlen(t), &tp), CC_OK);
    T_INT(tp.path_len, 8);
    T_OK(tp.query && tp.query_len == 7 && memcmp(tp.query, "x=1+2&y", 7) == 0, "query");
    t = "http://Example.com:8080/p/q?z";
    T_INT(cc_target_split(t, strlen(t), &tp), CC_OK);
    T_OK(tp.authority_len == 16 && memcmp(tp.authority, "Example.com:8080", 16) == 0, "authority");
    T_OK(tp.path_len == 4 && memcmp(tp.path, "/p/q", 4) == 0, "abs path");
    t = "http://h";
    T_INT(cc_target_split(t, strlen(t), &tp), CC_OK);
    T_INT(tp.path_len, 0);
    T_OK(tp.query == NULL, "no query");
    T_INT(cc_target_split("/", 1, &tp), CC_OK);
    T_OK(tp.query == NULL, "no query on /");
    T_INT(cc_target_split("/?", 2, &tp), CC_OK);
    T_OK(tp.query && tp.query_len == 0, "empty query");
    T_INT(cc_target_split("x", 1, &tp), CC_ERR);
    char buf[64];
    T_INT(cc_target_unescape("/a%2Fb+c%20d", 12, buf), 8);
    T_STR(buf, "/a/b+c d");
    T_INT(cc_target_unescape("%C3%A9", 6, buf), 2);
    T_INT(cc_target_unescape("%", 1, buf), -1);
    T_INT(cc_target_unescape("%g0", 3, buf), -1);
    T_INT(cc_target_unescape("%00", 3, buf), -1);
}

/* ---- raw scanner ---- */

static int events[64], nevents;
static void on_ev(cc_rawscan *s, int ev)
{
    (void)s;
    if (nevents < 64)
        events[nevents++] = ev;
}

static void feed_bytewise(cc_rawscan *s, const char *p)
{
    for (; *p; p++) {
        char c = *p;
        cc_rawscan_feed(s, &c, 1);
    }
}

/* Feeds a copy of n bytes of src in one chunk; returns the (possibly edited) bytes. */
static char fbuf[1024];
static const char *feed(cc_rawscan *s, const char *src, size_t n)
{
    memcpy(fbuf, src, n);
    size_t m = cc_rawscan_feed(s, fbuf, n);
    fbuf[m] = 0;
    return fbuf;
}
#define FEED(s, str) feed((s), (str), strlen(str))

static void test_scan(void)
{
    cc_rawscan s;
    /* two pipelined GETs */
    nevents = 0;
    cc_rawscan_init(&s, on_ev);
    const char *two = "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n";
    FEED(&s, two);
    T_INT(s.nreq, 2);
    T_INT(nevents, 4);
    T_INT(events[0], CC_RS_EV_HEAD_START);
    T_INT(events[1], CC_RS_EV_HEAD_END);
    T_INT(s.bad_req, 0);
    T_OK(!s.lost, "not lost");

    /* obs-fold in the second request only, fed one byte at a time */
    cc_rawscan_init(&s, on_ev);
    feed_bytewise(&s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
                      "GET / HTTP/1.1\r\nHost: a\r\nX-Fold: a\r\n  b\r\n\r\n");
    T_INT(cc_rawscan_flags(&s, 1), 0);
    T_INT(cc_rawscan_flags(&s, 2), CC_RAW_FOLD);

    /* a body that looks like a folded header is not one */
    cc_rawscan_init(&s, on_ev);
    const char *body =
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n\r\n x: y\r\n\r\n\r\n"
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    FEED(&s, body);
    T_INT(s.nreq, 2);
    T_INT(s.bad_req, 0);

    /* chunked body with extensions and trailers, then a pipelined request */
    nevents = 0;
    cc_rawscan_init(&s, on_ev);
    feed_bytewise(&s, "POST / HTTP/1.1\r\nHost: a\r\ntransfer-encoding: chunked\r\n\r\n"
                      "5;ext=1\r\n\n x: \r\n10\r\n0123456789abcdef\r\n0\r\nTrailer: t\r\n\r\n"
                      "GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
    T_INT(s.nreq, 2);
    T_OK(!s.lost, "chunked followed");
    T_INT(s.bad_req, 0);
    T_INT(events[1], CC_RS_EV_BODY_START);
    T_INT(events[2], CC_RS_EV_BODY_END);

    /* NUL in a header value */
    cc_rawscan_init(&s, NULL);
    const char nul[] = "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n";
    feed(&s, nul, sizeof(nul) - 1);
    T_INT(cc_rawscan_flags(&s, 1), CC_RAW_NUL);

    /* framing the scanner does not follow: it stops */
    cc_rawscan_init(&s, NULL);
    const char *dup = "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab";
    FEED(&s, dup);
    T_OK(s.lost, "duplicate CL: lost");
    cc_rawscan_init(&s, NULL);
    const char *te = "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n";
    FEED(&s, te);
    T_OK(s.lost, "TE gzip: lost");
    cc_rawscan_init(&s, NULL);
    const char *badchunk = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
    FEED(&s, badchunk);
    T_OK(s.lost, "bad chunk size: lost");

    /* empty lines between requests are skipped, as MHD does */
    cc_rawscan_init(&s, NULL);
    const char *crlf = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    FEED(&s, crlf);
    T_INT(s.nreq, 2);

    /* bare LF line ends */
    cc_rawscan_init(&s, NULL);
    const char *lf = "GET / HTTP/1.1\nHost: a\n\tfold\n\n";
    FEED(&s, lf);
    T_INT(cc_rawscan_flags(&s, 1), CC_RAW_FOLD);

    /* trailing whitespace MHD would misread is cut from the stream */
    cc_rawscan_init(&s, NULL);
    T_STR(FEED(&s,
               "POST / HTTP/1.1\r\nContent-Length: 2 \t\r\nX: y \r\n\r\nabGET / HTTP/1.1\r\n\r\n"),
          "POST / HTTP/1.1\r\nContent-Length: 2\r\nX: y \r\n\r\nabGET / HTTP/1.1\r\n\r\n");
    T_INT(s.nreq, 2);
    T_INT(s.bad_req, 0);
    cc_rawscan_init(&s, NULL);
    T_STR(FEED(&s, "POST / HTTP/1.1\r\nTransfer-Encoding:  chunked  \r\n\r\n0\r\n\r\n"),
          "POST / HTTP/1.1\r\nTransfer-Encoding:  chunked\r\n\r\n0\r\n\r\n");
    T_OK(!s.lost && s.state == 0, "chunked after the fix");
    /* a malformed Content-Length is hidden from MHD and flagged */
    cc_rawscan_init(&s, NULL);
    T_STR(FEED(&s, "POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\nhello"),
          "POST / HTTP/1.1\r\nXontent-Length: +5\r\n\r\nhello");
    T_INT(cc_rawscan_flags(&s, 1), CC_RAW_BADCL);
    /* split across reads: flagged instead of edited */
    cc_rawscan_init(&s, NULL);
    FEED(&s, "POST / HTTP/1.1\r\nContent-Le");
    T_STR(FEED(&s, "ngth: 5 \r\n\r\nhello"), "ngth: 5 \r\n\r\nhello");
    T_INT(cc_rawscan_flags(&s, 1), CC_RAW_BADCL);
    cc_rawscan_init(&s, NULL);
    FEED(&s, "POST / HTTP/1.1\r\nTransfer-Encoding: chun");
    FEED(&s, "ked \r\n\r\n0\r\n\r\n");
    T_INT(cc_rawscan_flags(&s, 1), CC_RAW_BADTE);
    cc_frame_res r;
    T_INT(check_v("POST", "/", "HTTP/1.1", CC_RAW_BADCL, H("Host: a"), &r), 400);
    T_INT(check_v("POST", "/", "HTTP/1.1", CC_RAW_BADTE, H("Host: a"), &r), 400);
}

int main(void)
{
    test_ok();
    test_refused();
    test_target();
    test_scan();
    return t_done();
}
