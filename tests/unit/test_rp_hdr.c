/* SPDX-License-Identifier: Apache-2.0
 * reverse_proxy's header rules (handlers/rp_hdr.c) against Caddy's: what goes upstream
 * (hop-by-hop and Connection-listed fields, X-Forwarded-* with trusted and untrusted
 * peers, Via, Te, upgrades, the Host rule, header_up ops with placeholders, control
 * bytes never forwarded) and what comes back (header_down, require, Via, Server, 101). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../../core/replacer.h"
#include "../../handlers/rp_hdr.h"
#include "../t.h"
#include "core_rt.h"

static cc_arena *A;

static cc_rp_hdr *prov(const char *json)
{
    cc_err err = {0};
    cc_rp_hdr *h = cc_rp_hdr_provision(A, J(A, json), &err);
    T_OK(h != NULL, "provision %s: %s", json, err.msg);
    return h;
}

static cc_req *req(const char *target, const char *const *hdrs)
{
    cc_req *r = R(A, "GET", target, "example.com");
    for (size_t i = 0; hdrs && hdrs[i]; i += 2) {
        cc_headers_add(A, &r->headers, hdrs[i], hdrs[i + 1]);
        if (strcasecmp(hdrs[i], "Host") == 0) {
            r->hostport = hdrs[i + 1];
        }
    }
    if (!cc_headers_get(&r->headers, "Host"))
        cc_headers_add(A, &r->headers, "Host", r->hostport);
    return r;
}

static const cc_rp_hdr_target T_PLAIN = {"10.0.0.9:8080", "10.0.0.9", "8080", false, NULL};
static const cc_rp_hdr_target T_TLS = {"backend.internal:8443", "backend.internal", "8443", true,
                                       NULL};

/* The headers as "Name: value\n" lines, for compact assertions. */
static const char *dump(const cc_headers *h)
{
    const char *s = "";
    for (size_t i = 0; i < h->n; i++)
        s = cc_arena_printf(A, "%s%s: %s\n", s, h->v[i].name, h->v[i].value);
    return s;
}

static cc_headers up(const cc_rp_hdr *h, cc_req *r, const cc_rp_hdr_target *t)
{
    cc_headers out = {0};
    int rc = cc_rp_hdr_up(h, r, t, &out);
    T_INT(rc, CC_OK);
    return out;
}

static size_t count(const cc_headers *h, const char *name)
{
    return cc_headers_count(h, name);
}

static void test_defaults(void)
{
    cc_rp_hdr *h = prov("{}");
    const char *in[] = {"Host",
                        "example.com",
                        "User-Agent",
                        "curl/8",
                        "Accept",
                        "*/*",
                        "x-foo",
                        "bar",
                        "Content-Length",
                        "5",
                        "X-A",
                        "1",
                        "x-a",
                        "2",
                        "Cookie",
                        "a=b",
                        "Cookie",
                        "c=d",
                        "Expect",
                        "100-continue",
                        NULL};
    cc_req *r = req("/p?q=1", in);
    cc_headers o = up(h, r, &T_PLAIN);
    T_STR(o.v[0].name, "Host");
    T_STR(o.v[0].value, "example.com");
    T_STR(cc_headers_get(&o, "User-Agent"), "curl/8");
    T_STR(cc_headers_get(&o, "X-Foo"), "bar");
    T_OK(count(&o, "Content-Length") == 0, "Content-Length is the transport's: %s", dump(&o));
    T_INT(count(&o, "X-A"), 2);
    T_INT(count(&o, "Cookie"), 2);
    T_INT(count(&o, "Host"), 1);
    T_STR(cc_headers_get(&o, "Expect"), "100-continue");
    T_STR(cc_headers_get(&o, "X-Forwarded-For"), "10.1.2.3");
    T_STR(cc_headers_get(&o, "X-Forwarded-Proto"), "http");
    T_STR(cc_headers_get(&o, "X-Forwarded-Host"), "example.com");
    T_STR(cc_headers_get(&o, "Via"), "1.1 Caddy");
    /* wire order kept, canonical names */
    T_HAS(dump(&o), "Host: example.com\nUser-Agent: curl/8\nAccept: */*\nX-Foo: bar\nX-A: 1\nX-A: "
                    "2\nCookie: a=b\nCookie: c=d\n");
    /* the request itself is untouched */
    T_STR(cc_headers_get(&r->headers, "x-foo"), "bar");
    T_STR(cc_headers_get(&r->headers, "Content-Length"), "5");
    /* upstream placeholders */
    T_STR(cc_vars_get(&r->vars, "http.reverse_proxy.upstream.hostport"), "10.0.0.9:8080");
    T_STR(cc_vars_get(&r->vars, "http.reverse_proxy.upstream.host"), "10.0.0.9");
    T_STR(cc_vars_get(&r->vars, "http.reverse_proxy.upstream.port"), "8080");
    T_STR(cc_vars_get(&r->vars, "http.reverse_proxy.upstream.address"), "tcp/10.0.0.9:8080");
    T_STR(cc_repl_expand(r, "{http.reverse_proxy.upstream.hostport}", false), "10.0.0.9:8080");

    /* no User-Agent stays none */
    const char *in2[] = {"Accept", "*/*", NULL};
    o = up(h, req("/", in2), &T_PLAIN);
    T_INT(count(&o, "User-Agent"), 0);
}

static void test_forwarded(void)
{
    cc_rp_hdr *h = prov("{}");
    const char *spoof[] = {"X-Forwarded-For",  "1.1.1.1",           "X-Forwarded-For",
                           "2.2.2.2",          "X-Forwarded-Proto", "https",
                           "X-Forwarded-Host", "evil.example",      NULL};
    /* untrusted peer: everything the client claims is replaced */
    cc_headers o = up(h, req("/", spoof), &T_PLAIN);
    T_INT(count(&o, "X-Forwarded-For"), 1);
    T_STR(cc_headers_get(&o, "X-Forwarded-For"), "10.1.2.3");
    T_STR(cc_headers_get(&o, "X-Forwarded-Proto"), "http");
    T_STR(cc_headers_get(&o, "X-Forwarded-Host"), "example.com");

    /* trusted by the server (the var core/server.c sets): prior values kept, XFF folded */
    cc_req *r = req("/", spoof);
    cc_vars_set(A, &r->vars, "trusted_proxy", "true");
    o = up(h, r, &T_PLAIN);
    T_INT(count(&o, "X-Forwarded-For"), 1);
    T_STR(cc_headers_get(&o, "X-Forwarded-For"), "1.1.1.1, 2.2.2.2, 10.1.2.3");
    T_STR(cc_headers_get(&o, "X-Forwarded-Proto"), "https");
    T_STR(cc_headers_get(&o, "X-Forwarded-Host"), "evil.example");

    /* trusted by the handler's own list */
    cc_rp_hdr *ht = prov("{\"trusted_proxies\": [\"192.168.0.0/16\", \"10.0.0.0/8\"]}");
    o = up(ht, req("/", spoof), &T_PLAIN);
    T_STR(cc_headers_get(&o, "X-Forwarded-For"), "1.1.1.1, 2.2.2.2, 10.1.2.3");
    T_STR(cc_headers_get(&o, "X-Forwarded-Proto"), "https");
    /* a single address is a full-length prefix */
    ht = prov("{\"trusted_proxies\": [\"10.1.2.3\"]}");
    o = up(ht, req("/", spoof), &T_PLAIN);
    T_STR(cc_headers_get(&o, "X-Forwarded-Host"), "evil.example");
    /* a list that does not hold the peer */
    ht = prov("{\"trusted_proxies\": [\"192.168.0.0/16\", \"10.1.2.4\"]}");
    o = up(ht, req("/", spoof), &T_PLAIN);
    T_STR(cc_headers_get(&o, "X-Forwarded-For"), "10.1.2.3");
    T_STR(cc_headers_get(&o, "X-Forwarded-Host"), "example.com");

    /* trusted, but empty prior values are not kept */
    const char *empty[] = {"X-Forwarded-For", "", "X-Forwarded-Proto", "", NULL};
    r = req("/", empty);
    cc_vars_set(A, &r->vars, "trusted_proxy", "true");
    o = up(h, r, &T_PLAIN);
    T_STR(cc_headers_get(&o, "X-Forwarded-For"), "10.1.2.3");
    T_STR(cc_headers_get(&o, "X-Forwarded-Proto"), "http");

    /* https client connection */
    r = req("/", NULL);
    r->scheme = "https";
    o = up(h, r, &T_PLAIN);
    T_STR(cc_headers_get(&o, "X-Forwarded-Proto"), "https");

    /* IPv6 peers, with a zone that is cut */
    cc_conn c6 = rt_conn;
    c6.remote_ip = "fe80::1%eth0";
    c6.remote_addr_ok = false;
    r = req("/", NULL);
    r->conn = &c6;
    o = up(h, r, &T_PLAIN);
    T_STR(cc_headers_get(&o, "X-Forwarded-For"), "fe80::1");
    c6.remote_ip = "::1";
    ht = prov("{\"trusted_proxies\": [\"::1\"]}");
    r = req("/", spoof);
    r->conn = &c6;
    o = up(ht, r, &T_PLAIN);
    T_STR(cc_headers_get(&o, "X-Forwarded-For"), "1.1.1.1, 2.2.2.2, ::1");

    /* no usable peer address: nothing forwarded, whatever the client said */
    cc_conn c0 = rt_conn;
    c0.remote_ip = "";
    r = req("/", spoof);
    r->conn = &c0;
    o = up(h, r, &T_PLAIN);
    T_INT(count(&o, "X-Forwarded-For") + count(&o, "X-Forwarded-Proto") +
              count(&o, "X-Forwarded-Host"),
          0);
    T_STR(cc_headers_get(&o, "Via"), "1.1 Caddy");
    /* a unix-socket peer: stripped unless trusted, then kept without an address */
    c0.remote_ip = "@";
    r = req("/", spoof);
    r->conn = &c0;
    o = up(h, r, &T_PLAIN);
    T_INT(count(&o, "X-Forwarded-For"), 0);
    r = req("/", spoof);
    r->conn = &c0;
    cc_vars_set(A, &r->vars, "trusted_proxy", "true");
    o = up(h, r, &T_PLAIN);
    T_STR(cc_headers_get(&o, "X-Forwarded-For"), "1.1.1.1, 2.2.2.2");
    T_STR(cc_headers_get(&o, "X-Forwarded-Proto"), "https");
}

static void test_hop(void)
{
    cc_rp_hdr *h = prov("{}");
    const char *in[] = {"Connection",
                        "keep-alive, X-Secret ,x-other",
                        "Keep-Alive",
                        "timeout=5",
                        "X-Secret",
                        "s",
                        "X-Other",
                        "o",
                        "X-Kept",
                        "k",
                        "Proxy-Authorization",
                        "Basic eA==",
                        "Proxy-Authenticate",
                        "x",
                        "Proxy-Connection",
                        "keep-alive",
                        "Alt-Svc",
                        "h3=\":443\"",
                        "Trailer",
                        "X-T",
                        "Transfer-Encoding",
                        "chunked",
                        "Upgrade",
                        "websocket",
                        "TE",
                        "gzip",
                        NULL};
    cc_headers o = up(h, req("/", in), &T_PLAIN);
    const char *d = dump(&o);
    static const char *gone[] = {"Connection",
                                 "Keep-Alive",
                                 "X-Secret",
                                 "X-Other",
                                 "Proxy-Authorization",
                                 "Proxy-Authenticate",
                                 "Proxy-Connection",
                                 "Alt-Svc",
                                 "Trailer",
                                 "Transfer-Encoding",
                                 "Upgrade",
                                 "Te"};
    for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
        T_OK(count(&o, gone[i]) == 0, "%s forwarded: %s", gone[i], d);
    T_STR(cc_headers_get(&o, "X-Kept"), "k");

    /* Te: trailers survives as exactly that */
    const char *te[] = {"Te", "deflate, Trailers;q=1", "Te", "trailers", NULL};
    const char *te2[] = {"TE", "gzip, trailers", NULL};
    o = up(h, req("/", te2), &T_PLAIN);
    T_INT(count(&o, "Te"), 1);
    T_STR(cc_headers_get(&o, "Te"), "trailers");
    o = up(h, req("/", te), &T_PLAIN);
    T_STR(cc_headers_get(&o, "Te"), "trailers");
    T_INT(count(&o, "Te"), 1);
    /* ... unless Connection names it */
    const char *te3[] = {"Connection", "TE", "TE", "trailers", NULL};
    o = up(h, req("/", te3), &T_PLAIN);
    T_INT(count(&o, "Te"), 0);
    /* Connection cannot take Host away */
    const char *ch[] = {"Connection", "Host, Via", "Via", "1.0 fred", NULL};
    o = up(h, req("/", ch), &T_PLAIN);
    T_STR(o.v[0].value, "example.com");
    T_STR(cc_headers_get_joined(A, &o, "Via"), "1.1 Caddy");
}

static void test_upgrade(void)
{
    cc_rp_hdr *h = prov("{}");
    const char *in[] = {"Connection",
                        "keep-alive, Upgrade",
                        "Upgrade",
                        "WebSocket",
                        "sec-websocket-key",
                        "dGhlIHNhbXBsZSBub25jZQ==",
                        "Sec-Websocket-Version",
                        "13",
                        "SEC-WEBSOCKET-PROTOCOL",
                        "chat",
                        NULL};
    cc_headers o = up(h, req("/ws", in), &T_PLAIN);
    const char *d = dump(&o);
    T_INT(count(&o, "Connection"), 1);
    T_STR(cc_headers_get(&o, "Connection"), "Upgrade");
    T_STR(cc_headers_get(&o, "Upgrade"), "websocket");
    T_HAS(d, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n");
    T_HAS(d, "Sec-WebSocket-Version: 13\n");
    T_HAS(d, "Sec-WebSocket-Protocol: chat\n");
    T_OK(!strstr(d, "keep-alive"), "keep-alive forwarded: %s", d);

    /* Upgrade without Connection: upgrade is just a hop-by-hop field */
    const char *in2[] = {"Upgrade", "websocket", "Connection", "keep-alive", NULL};
    o = up(h, req("/ws", in2), &T_PLAIN);
    T_INT(count(&o, "Upgrade") + count(&o, "Connection"), 0);
    /* h2c and other protocols too */
    const char *in3[] = {"Connection",     "Upgrade, HTTP2-Settings",  "Upgrade", "h2c",
                         "HTTP2-Settings", "AAMAAABkAAQCAAAAAAIAAAAA", NULL};
    o = up(h, req("/", in3), &T_PLAIN);
    T_STR(cc_headers_get(&o, "Upgrade"), "h2c");
    T_INT(count(&o, "Http2-Settings"), 0);
}

static void test_host(void)
{
    cc_rp_hdr *h = prov("{}");
    cc_headers o = up(h, req("/", NULL), &T_TLS);
    T_STR(o.v[0].value, "backend.internal:8443");
    T_STR(cc_headers_get(&o, "X-Forwarded-Host"), "example.com");
    /* header_up Host {hostport} opts out of the TLS default */
    cc_rp_hdr *hh =
        prov("{\"headers\": {\"request\": {\"set\": {\"Host\": [\"{http.request.hostport}\"]}}}}");
    o = up(hh, req("/", NULL), &T_TLS);
    T_STR(o.v[0].value, "example.com");
    T_INT(count(&o, "Host"), 1);
    /* header_up Host {upstream_hostport} on plain HTTP */
    hh = prov("{\"headers\": {\"request\": {\"set\": {\"Host\": "
              "[\"{http.reverse_proxy.upstream.hostport}\"]}}}}");
    o = up(hh, req("/", NULL), &T_PLAIN);
    T_STR(o.v[0].value, "10.0.0.9:8080");
    T_INT(count(&o, "Host"), 1);
    /* deleting Host: Go falls back to the URL's host (default ports dropped) */
    hh = prov("{\"headers\": {\"request\": {\"delete\": [\"Host\"]}}}");
    o = up(hh, req("/", NULL), &T_PLAIN);
    T_STR(o.v[0].value, "10.0.0.9:8080");
    cc_rp_hdr_target t80 = {"10.0.0.9:80", "10.0.0.9", "80", false, NULL};
    o = up(hh, req("/", NULL), &t80);
    T_STR(o.v[0].value, "10.0.0.9");
    cc_rp_hdr_target t443 = {"b.example:443", "b.example", "443", true, NULL};
    o = up(h, req("/", NULL), &t443);
    T_STR(o.v[0].value, "b.example:443");
    o = up(hh, req("/", NULL), &t443);
    T_STR(o.v[0].value, "b.example");
    /* an added Host is the last one, so it wins */
    hh = prov("{\"headers\": {\"request\": {\"add\": {\"Host\": [\"other.example\"]}}}}");
    o = up(hh, req("/", NULL), &T_PLAIN);
    T_STR(o.v[0].value, "other.example");
    T_INT(count(&o, "Host"), 1);
    /* HTTP/1.0 without Host */
    cc_req *r = R(A, "GET", "/", "");
    r->proto_minor = 0;
    o = up(h, r, &t80);
    T_STR(o.v[0].value, "10.0.0.9");
    T_STR(cc_headers_get(&o, "Via"), "1.0 Caddy");
    T_STR(cc_headers_get(&o, "X-Forwarded-Host"), "");
    /* a client Via is kept, ours added */
    const char *via[] = {"Via", "1.1 squid", NULL};
    o = up(h, req("/", via), &T_PLAIN);
    T_STR(cc_headers_get_joined(A, &o, "Via"), "1.1 squid,1.1 Caddy");
}

static void test_ops(void)
{
    cc_rp_hdr *h = prov("{\"headers\": {\"request\": {"
                        "\"add\": {\"X-Trace\": [\"one\", \"two\"]},"
                        "\"set\": {\"X-Real-Ip\": [\"{http.request.remote.host}\"],"
                        "          \"X-Up\": [\"{http.reverse_proxy.upstream.hostport}\"],"
                        "          \"x-custom\": [\"\"]},"
                        "\"delete\": [\"Cookie\", \"X-Forwarded-For\", \"X-Drop-*\"],"
                        "\"replace\": {\"Referer\": [{\"search_regexp\": \"^https?://(.*)$\","
                        "                              \"replace\": \"https://$1\"}]}}}}");
    const char *in[] = {"Cookie",    "a=b",  "Referer",    "http://example.com/x",
                        "X-Drop-Me", "1",    "X-Drop-You", "2",
                        "X-Trace",   "zero", NULL};
    cc_req *r = req("/", in);
    cc_headers o = up(h, r, &T_PLAIN);
    const char *d = dump(&o);
    T_STR(cc_headers_get_joined(A, &o, "X-Trace"), "zero,one,two");
    T_STR(cc_headers_get(&o, "X-Real-Ip"), "10.1.2.3");
    T_STR(cc_headers_get(&o, "X-Up"), "10.0.0.9:8080");
    T_OK(count(&o, "X-Custom") == 1 && !*cc_headers_get(&o, "X-Custom"), "%s", d);
    T_INT(count(&o, "Cookie"), 0);
    T_INT(count(&o, "X-Forwarded-For"), 0);
    T_INT(count(&o, "X-Drop-Me") + count(&o, "X-Drop-You"), 0);
    T_STR(cc_headers_get(&o, "Referer"), "https://example.com/x");
    T_STR(cc_headers_get(&o, "X-Forwarded-Proto"), "http");
    T_STR(o.v[0].name, "Host");
    T_STR(o.v[0].value, "example.com");
    /* a retry on another upstream starts from the request again */
    cc_rp_hdr_target t2 = {"10.0.0.10:9000", "10.0.0.10", "9000", false, NULL};
    o = up(h, r, &t2);
    T_STR(cc_headers_get(&o, "X-Up"), "10.0.0.10:9000");
    T_STR(cc_headers_get_joined(A, &o, "X-Trace"), "zero,one,two");
    /* ops can change and delete the forwarded fields and Via */
    cc_rp_hdr *h2 = prov("{\"headers\": {\"request\": {\"set\": {\"X-Forwarded-Proto\": "
                         "[\"https\"]}, \"delete\": [\"Via\"]}}}");
    o = up(h2, req("/", NULL), &T_PLAIN);
    T_STR(cc_headers_get(&o, "X-Forwarded-Proto"), "https");
    T_INT(count(&o, "Via"), 0);
    /* delete everything: only Host remains (Go's URL host) */
    cc_rp_hdr *h3 = prov("{\"headers\": {\"request\": {\"delete\": [\"*\"]}}}");
    o = up(h3, req("/", in), &T_PLAIN);
    T_INT(o.n, 1);
    T_STR(o.v[0].value, "10.0.0.9:8080");
}

static void test_ctl(void)
{
    /* a decoded path with CR LF put into a header by an op: never forwarded */
    cc_rp_hdr *h = prov(
        "{\"headers\": {\"request\": {\"set\": {\"X-Path\": [\"{http.request.uri.path}\"]}}}}");
    cc_req *r = req("/a%0d%0aX-Evil:%201", NULL);
    cc_headers o = {0};
    T_INT(cc_rp_hdr_up(h, r, &T_PLAIN, &o), CC_ERR);
    T_INT(r->err.status, 502);
    T_HAS(r->err.message, "invalid header field value for \"X-Path\"");
    r = req("/a%7fb", NULL); /* DEL */
    T_INT(cc_rp_hdr_up(h, r, &T_PLAIN, &o), CC_ERR);
    r = req("/a%09b", NULL); /* tab is fine */
    T_INT(cc_rp_hdr_up(h, r, &T_PLAIN, &o), CC_OK);
    T_STR(cc_headers_get(&o, "X-Path"), "/a\tb");
    /* a header name from a placeholder that is not a token */
    h = prov("{\"headers\": {\"request\": {\"set\": {\"{http.request.uri.path}\": [\"v\"]}}}}");
    r = req("/bad%20name", NULL);
    T_INT(cc_rp_hdr_up(h, r, &T_PLAIN, &o), CC_ERR);
    T_HAS(r->err.message, "invalid header field name");
    /* a Host with a line break */
    h = prov("{\"headers\": {\"request\": {\"set\": {\"Host\": [\"{http.request.uri.path}\"]}}}}");
    r = req("/x%0d%0ay", NULL);
    T_INT(cc_rp_hdr_up(h, r, &T_PLAIN, &o), CC_ERR);
    T_HAS(r->err.message, "invalid Host header");
}

static void test_provision_errors(void)
{
    cc_err err = {0};
    T_OK(!cc_rp_hdr_provision(A, J(A, "{\"trusted_proxies\": [\"10.0.0.0/40\"]}"), &err), "cidr");
    T_HAS(err.msg, "parsing CIDR expression: '10.0.0.0/40'");
    cc_err_clear(&err);
    T_OK(!cc_rp_hdr_provision(A, J(A, "{\"trusted_proxies\": [\"nope\"]}"), &err), "ip");
    T_HAS(err.msg, "invalid IP address: 'nope'");
    cc_err_clear(&err);
    T_OK(!cc_rp_hdr_provision(A,
                              J(A, "{\"headers\": {\"request\": {\"replace\": {\"X\": "
                                   "[{\"search_regexp\": \"(\", \"replace\": \"\"}]}}}}"),
                              &err),
         "bad regexp");
    T_OK(err.msg[0] != 0, "regexp error message");
    cc_err_clear(&err);
    T_OK(!cc_rp_hdr_provision(A, J(A, "{\"headers\": [1]}"), &err), "headers not an object");
    cc_err_clear(&err);
    T_OK(cc_rp_hdr_provision(A, J(A, "{\"headers\": {\"response\": {\"deferred\": true}}}"),
                             &err) != NULL,
         "response ops with deferred only: %s", err.msg);
}

static cc_headers resp_hdrs(const char *const *kv)
{
    cc_headers h = {0};
    for (size_t i = 0; kv[i]; i += 2)
        cc_headers_add(A, &h, kv[i], kv[i + 1]);
    return h;
}

static void test_down(void)
{
    cc_rp_hdr *h = prov("{}");
    const char *kv[] = {
        "Content-Type", "text/plain", "content-length", "12",      "Transfer-Encoding",
        "chunked",      "Connection", "close, X-Hop",   "X-Hop",   "1",
        "Keep-Alive",   "timeout=5",  "Server",         "nginx",   "Alt-Svc",
        "h3=\":443\"",  "Trailer",    "X-Sum",          "Upgrade", "h2c",
        "set-cookie",   "a=1",        "Set-Cookie",     "b=2",     NULL};
    cc_req *r = req("/", NULL);
    cc_headers_set(A, &r->resp.headers, "Server", "caddy-c");
    cc_headers_set(A, &r->resp.headers, "X-Earlier", "e");
    cc_headers hd = resp_hdrs(kv);
    cc_rp_hdr_down(h, r, 200, &hd);
    const char *d = dump(&hd);
    T_STR(hd.v[0].name, "Via");
    T_STR(hd.v[0].value, "1.1 Caddy");
    static const char *gone[] = {"Content-Length", "Transfer-Encoding", "Connection", "X-Hop",
                                 "Keep-Alive",     "Alt-Svc",           "Trailer",    "Upgrade"};
    for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
        T_OK(count(&hd, gone[i]) == 0, "%s passed down: %s", gone[i], d);
    T_STR(cc_headers_get(&hd, "Server"), "nginx");
    T_INT(count(&hd, "Set-Cookie"), 2);
    T_HAS(d, "Set-Cookie: a=1\nSet-Cookie: b=2\n");
    T_INT(count(&r->resp.headers, "Server"), 0);
    T_STR(cc_headers_get(&r->resp.headers, "X-Earlier"), "e");

    cc_headers_set(A, &r->resp.headers, "Server", "caddy-c");
    hd = resp_hdrs(kv);
    cc_rp_hdr_down_proto(NULL, r, 404, 1, 0, &hd);
    T_STR(hd.v[0].value, "1.0 Caddy");
    T_INT(count(&r->resp.headers, "Server"), 0);

    /* header_down ops, with a placeholder the transport fills */
    h = prov("{\"headers\": {\"response\": {"
             "\"delete\": [\"Server\", \"Via\"],"
             "\"set\": {\"Strict-Transport-Security\": [\"max-age=31536000\"],"
             "          \"X-Up-Status\": [\"{http.reverse_proxy.status_code}\"],"
             "          \"X-Up-Type\": [\"{http.reverse_proxy.header.Content-Type}\"]},"
             "\"add\": {\"Set-Cookie\": [\"c=3\"]},"
             "\"replace\": {\"Location\": [{\"search_regexp\": \"^http://backend\","
             "                               \"replace\": \"https://public\"}]}}}}");
    const char *kv2[] = {"Location",     "http://backend/next", "Server", "nginx",
                         "Content-Type", "text/html",           NULL};
    r = req("/", NULL);
    cc_vars_set(A, &r->vars, "http.reverse_proxy.status_code", "302");
    cc_vars_set(A, &r->vars, "http.reverse_proxy.header.Content-Type", "text/html");
    hd = resp_hdrs(kv2);
    cc_rp_hdr_down(h, r, 302, &hd);
    d = dump(&hd);
    T_STR(cc_headers_get(&hd, "Location"), "https://public/next");
    T_INT(count(&hd, "Server"), 0);
    T_STR(cc_headers_get(&hd, "Strict-Transport-Security"), "max-age=31536000");
    T_STR(cc_headers_get(&hd, "Set-Cookie"), "c=3");
    T_STR(cc_headers_get(&hd, "X-Up-Status"), "302");
    T_STR(cc_headers_get(&hd, "X-Up-Type"), "text/html");
    /* Via is out of header_down's reach, as in Caddy */
    T_STR(cc_headers_get(&hd, "Via"), "1.1 Caddy");

    /* require: ops only for matching responses */
    h = prov("{\"headers\": {\"response\": {\"set\": {\"X-Ok\": [\"yes\"]},"
             "\"require\": {\"status_code\": [2], \"headers\": {\"Content-Type\": "
             "[\"text/*\"]}}}}}");
    const char *kv3[] = {"Content-Type", "text/html", NULL};
    hd = resp_hdrs(kv3);
    cc_rp_hdr_down(h, req("/", NULL), 200, &hd);
    T_STR(cc_headers_get(&hd, "X-Ok"), "yes");
    hd = resp_hdrs(kv3);
    cc_rp_hdr_down(h, req("/", NULL), 404, &hd);
    T_INT(count(&hd, "X-Ok"), 0);
    const char *kv4[] = {"Content-Type", "image/png", NULL};
    hd = resp_hdrs(kv4);
    cc_rp_hdr_down(h, req("/", NULL), 200, &hd);
    T_INT(count(&hd, "X-Ok"), 0);
}

static void test_down_101(void)
{
    cc_rp_hdr *h = prov("{\"headers\": {\"response\": {\"set\": {\"X-Down\": [\"1\"]}}}}");
    const char *kv[] = {"upgrade",
                        "websocket",
                        "connection",
                        "upgrade, X-Hop",
                        "X-Hop",
                        "1",
                        "sec-websocket-accept",
                        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
                        "Sec-Websocket-Protocol",
                        "chat",
                        NULL};
    cc_req *r = req("/", NULL);
    cc_headers_set(A, &r->resp.headers, "Server", "caddy-c");
    cc_headers hd = resp_hdrs(kv);
    cc_rp_hdr_down(h, r, 101, &hd);
    const char *d = dump(&hd);
    T_STR(cc_headers_get(&hd, "Upgrade"), "websocket");
    T_STR(cc_headers_get(&hd, "Connection"), "Upgrade");
    T_INT(count(&hd, "X-Hop"), 0);
    T_HAS(d, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\n");
    T_HAS(d, "Sec-WebSocket-Protocol: chat\n");
    T_INT(count(&hd, "Via"), 0);
    T_INT(count(&hd, "X-Down"), 0);
    T_STR(cc_headers_get(&r->resp.headers, "Server"), "caddy-c");
}

int main(void)
{
    A = cc_arena_new(0);
    test_defaults();
    test_forwarded();
    test_hop();
    test_upgrade();
    test_host();
    test_ops();
    test_ctl();
    test_provision_errors();
    test_down();
    test_down_101();
    cc_arena_free(A);
    return t_done();
}
