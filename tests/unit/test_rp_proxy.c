/* SPDX-License-Identifier: Apache-2.0
 * Unit tests of reverse_proxy's run-time pieces that need no network: the response head
 * parser fed line by line as curl delivers it, upstream address parsing, Go's duration
 * format for the placeholders, the response ring and the bodies made from it (in memory
 * when complete, streaming with CC_EAGAIN otherwise), the request body pull, the
 * transport options with their defaults and errors, and handler provisioning. */
#include <string.h>

#include "core_rt.h"
#include "../../handlers/handlers.h"
#include "../../handlers/rp_proxy.h"
#include "../t.h"

static px_handler H;
static px_loop PL;

static px_req *mkreq(cc_arena *a)
{
    px_req *p = cc_arena_alloc(a, sizeof(*p));
    p->h = &H;
    p->r = R(a, "GET", "/", "example.com");
    p->pl = &PL;
    p->method = "GET";
    p->resp_cl = -1;
    p->in_attn = true; /* no loop here: keep px_attn from queueing */
    return p;
}

static void line(px_req *p, const char *s)
{
    px_head_line(p, s, strlen(s));
}

static void test_head(void)
{
    cc_arena *a = cc_arena_new(0);
    px_req *p = mkreq(a);
    line(p, "HTTP/1.1 100 Continue\r\n");
    line(p, "X-Early: 1\r\n");
    line(p, "\r\n");
    T_OK(!p->head_done, "an interim response does not end the head");
    T_INT(p->rh.n, 0);
    line(p, "HTTP/1.1 404 Not Found\r\n");
    line(p, "Content-Type: text/plain\r\n");
    line(p, "x-dup:  a \r\n");
    line(p, "X-Dup: b\r\n");
    line(p, "X-Fold: one\r\n");
    line(p, "  two\r\n");
    line(p, "no colon here\r\n");
    line(p, "Empty:\r\n");
    T_OK(!p->head_done, "head not done before the blank line");
    line(p, "\r\n");
    T_OK(p->head_done, "blank line ends the head");
    T_INT(p->status, 404);
    T_STR(p->status_line, "404 Not Found");
    T_INT(p->ver_major, 1);
    T_INT(p->ver_minor, 1);
    T_STR(cc_headers_get(&p->rh, "content-type"), "text/plain");
    T_STR(cc_headers_get_joined(a, &p->rh, "X-Dup"), "a,b");
    T_STR(cc_headers_get(&p->rh, "X-Fold"), "one two");
    T_STR(cc_headers_get(&p->rh, "Empty"), "");
    T_INT(p->rh.n, 5);
    line(p, "X-Trailer: later\r\n");
    T_OK(!cc_headers_get(&p->rh, "X-Trailer"), "trailers are not response fields");

    px_req *q = mkreq(a);
    line(q, "HTTP/2 200 \r\n");
    line(q, "\r\n");
    T_INT(q->status, 200);
    T_INT(q->ver_major, 2);
    T_INT(q->ver_minor, 0);
    T_STR(q->status_line, "200 OK");

    px_req *s = mkreq(a);
    line(s, "HTTP/1.0 503\r\n");
    T_INT(s->status, 503);
    T_INT(s->ver_minor, 0);
    T_STR(s->status_line, "503 Service Unavailable");

    /* max_response_header_size */
    H.tr.max_header = 40;
    px_req *m = mkreq(a);
    T_OK(px_head_line(m, "HTTP/1.1 200 OK\r\n", 17), "under the limit");
    const char *big = "X-Big: 0123456789012345678901234567890\r\n";
    T_OK(!px_head_line(m, big, strlen(big)), "over the limit fails the exchange");
    T_HAS(m->fail_msg_xfer, "exceeded");
    H.tr.max_header = 0;
    cc_arena_free(a);
}

static void test_dial(void)
{
    cc_arena *a = cc_arena_new(0);
    px_dial d;
    T_OK(!px_parse_dial(a, "127.0.0.1:8080", &d), "host:port");
    T_STR(d.host, "127.0.0.1");
    T_STR(d.port, "8080");
    T_STR(d.hostport, "127.0.0.1:8080");
    T_STR(d.address, "tcp/127.0.0.1:8080");
    T_OK(!d.unix_path, "not unix");
    T_OK(!px_parse_dial(a, "[::1]:9000", &d), "IPv6");
    T_STR(d.host, "::1");
    T_STR(d.hostport, "[::1]:9000");
    T_STR(d.address, "tcp/[::1]:9000");
    T_OK(!px_parse_dial(a, "unix//run/app.sock", &d), "unix");
    T_STR(d.unix_path, "/run/app.sock");
    T_STR(d.hostport, "/run/app.sock");
    T_STR(d.address, "unix//run/app.sock");
    T_OK(!px_parse_dial(a, "tcp4/localhost:80", &d), "network prefix");
    T_STR(d.network, "tcp4");
    T_STR(d.host, "localhost");
    T_HAS(px_parse_dial(a, "localhost", &d), "missing port");
    T_HAS(px_parse_dial(a, "h:8000-8002", &d), "precisely one socket");
    T_HAS(px_parse_dial(a, "h:99999", &d), "invalid port");
    T_HAS(px_parse_dial(a, "h:", &d), "precisely one socket");
    T_HAS(px_parse_dial(a, "udp/h:53", &d), "unsupported network");
    T_HAS(px_parse_dial(a, "a:b:c", &d), "too many colons");
    T_HAS(px_parse_dial(a, "unix/", &d), "missing path");
    cc_arena_free(a);
}

static void test_duration(void)
{
    cc_arena *a = cc_arena_new(0);
    T_STR(px_fmt_duration(a, 0), "0s");
    T_STR(px_fmt_duration(a, 999), "999ns");
    T_STR(px_fmt_duration(a, 1500), "1.5\xc2\xb5s");
    T_STR(px_fmt_duration(a, 2000000), "2ms");
    T_STR(px_fmt_duration(a, 1234567), "1.234567ms");
    T_STR(px_fmt_duration(a, 1500000000), "1.5s");
    T_STR(px_fmt_duration(a, 90LL * 1000000000), "1m30s");
    T_STR(px_fmt_duration(a, 3600LL * 1000000000 + 1), "1h0m0.000000001s");
    T_STR(px_fmt_duration(a, -2000), "-2\xc2\xb5s");
    cc_arena_free(a);
}

static void test_ring(void)
{
    cc_arena *a = cc_arena_new(0);
    char chunk[16384];
    for (size_t i = 0; i < sizeof(chunk); i++)
        chunk[i] = (char)(i * 7);

    /* complete with the head: one in-memory body, in a small ring (known length) */
    px_req *p = mkreq(a);
    cc_headers_add(a, &p->rh, "Content-Length", "11");
    T_OK(px_ring_put(p, "hello ", 6) && px_ring_put(p, "world", 5), "fits");
    T_INT(p->ring.cap, PX_RING_SIZE);
    p->xfer_done = p->xfer_ok = true;
    cc_body *b = px_resp_body(p);
    T_OK(b->mem && b->mem_len == 11 && memcmp(b->mem, "hello world", 11) == 0, "mem body");
    T_INT(b->len, 11);
    b->close(b);
    T_OK(!p->ring.p, "ring released on close");
    T_INT(PL.nfree_rings, 1);

    /* streaming (length unknown or large): the big ring; fill until full, drain,
     * refill across the wrap point */
    px_req *q = mkreq(a);
    q->resp_cl = 2000000;
    int puts = 0;
    while (px_ring_put(q, chunk, sizeof(chunk)))
        puts++;
    T_INT(q->ring.cap, PX_RING_BIG);
    T_INT(puts, (int)(PX_RING_BIG / sizeof(chunk)));
    q->x = (px_x *)1; /* an exchange is running */
    q->write_paused = true;
    b = px_resp_body(q);
    T_OK(!b->mem && b->read && b->async, "streaming body");
    T_INT(b->len, 2000000);
    char out[20000];
    ssize_t n = b->read(b, out, 10000);
    T_INT(n, 10000);
    T_OK(memcmp(out, chunk, 10000) == 0, "first bytes in order");
    T_OK(!q->a_unpause, "10000 free bytes: curl stays paused");
    T_OK(px_ring_put(q, chunk, sizeof(chunk)) == false,
         "10000 free bytes do not take a 16 KiB chunk");
    n = b->read(b, out, 10000);
    T_INT(n, 10000);
    T_OK(memcmp(out, chunk + 10000, 6384) == 0 && memcmp(out + 6384, chunk, 3616) == 0,
         "order across chunk boundary");
    T_OK(!q->a_unpause, "a chunk's room is not enough: no ping-pong");
    size_t taken = 20000;
    while (taken < PX_RING_BIG / 2) {
        n = b->read(b, out, sizeof(out));
        T_OK(n > 0, "draining");
        taken += (size_t)n;
    }
    T_OK(q->a_unpause, "half the ring free: curl is told to go on");
    T_OK(px_ring_put(q, chunk, sizeof(chunk)), "a chunk fits again (wrapping)");
    size_t total = taken;
    while ((n = b->read(b, out, sizeof(out))) > 0)
        total += (size_t)n;
    T_INT(n, CC_EAGAIN);
    T_OK(q->want_notify, "an empty ring asks to be told");
    T_INT(total, PX_RING_BIG + sizeof(chunk));
    q->xfer_done = true;
    q->xfer_ok = true;
    q->x = NULL;
    T_INT(b->read(b, out, sizeof(out)), 0);
    q->xfer_ok = false;
    T_INT(b->read(b, out, sizeof(out)), CC_ERR);
    b->close(b);
    T_INT(PL.nfree_big, 1);

    /* response_buffers unlimited: the ring grows until the head goes out */
    H.response_buffers = -1;
    px_req *g = mkreq(a);
    for (int i = 0; i < 10; i++)
        T_OK(px_ring_put(g, chunk, sizeof(chunk)), "grows %d", i);
    T_INT(g->ring.n, 10 * sizeof(chunk));
    g->xfer_done = g->xfer_ok = true;
    b = px_resp_body(g);
    T_OK(b->mem && b->mem_len == 10 * sizeof(chunk) &&
             memcmp(b->mem + 9 * sizeof(chunk), chunk, sizeof(chunk)) == 0,
         "collected body in one piece");
    b->close(b);
    H.response_buffers = 0;

    /* a chunk larger than the ring (big read_buffer) still fits */
    px_req *k = mkreq(a);
    char *huge = calloc(1, PX_RING_BIG * 2);
    T_OK(px_ring_put(k, huge, PX_RING_BIG * 2) && k->ring.cap >= PX_RING_BIG * 2,
         "oversized chunk grows the ring");
    free(huge);
    px_ring_release(&PL, &k->ring);
    cc_arena_free(a);
}

static void test_pull(void)
{
    cc_arena *a = cc_arena_new(0);
    px_req *p = mkreq(a);
    p->pre = "abcdef";
    p->pre_len = 6;
    char buf[4];
    T_INT(px_body_pull(p, buf, 4), 4);
    T_INT(px_body_pull(p, buf, 4), 2);
    T_OK(memcmp(buf, "ef", 2) == 0, "prefix in order");
    T_INT(px_body_pull(p, buf, 4), 0);
    p->pre_off = 0; /* a retry replays it */
    T_INT(px_body_pull(p, buf, 4), 4);
    T_OK(memcmp(buf, "abcd", 4) == 0, "replayed");
    cc_arena_free(a);
}

static const char *tr_err(const char *json)
{
    static char msg[1100];
    cc_arena *a = cc_arena_new(0);
    cc_err err = {0};
    px_tr tr;
    px_key key;
    int rc = px_tr_provision(a, J(a, json), &tr, &key, &err);
    snprintf(msg, sizeof(msg), "%s", rc == CC_OK ? "" : err.msg);
    cc_arena_free(a);
    return msg;
}

static void test_transport(void)
{
    cc_arena *a = cc_arena_new(0);
    cc_err err = {0};
    px_tr tr;
    px_key key = {0};
    T_INT(px_tr_provision(a, NULL, &tr, &key, &err), CC_OK);
    T_INT(tr.connect_ms, 3000);
    T_INT(tr.happy_ms, 300);
    T_INT(tr.idle_s, 120);
    T_INT(tr.probe_s, 30);
    T_INT(tr.httpver, CURL_HTTP_VERSION_1_1);
    T_OK(!tr.tls && !tr.keepalive_off && !tr.h2c, "defaults off");
    T_STR(tr.proxy, "");
    T_INT(key.max_host_conns, 0);

    const char *full = "{\"protocol\":\"http\",\"dial_timeout\":2000000000,"
                       "\"response_header_timeout\":\"5s\",\"read_timeout\":60000000000,"
                       "\"keep_alive\":{\"enabled\":false,\"idle_timeout\":90000000000,"
                       "\"max_idle_conns\":64},\"max_conns_per_host\":10,"
                       "\"versions\":[\"1.1\",\"2\"],\"local_address\":\"192.0.2.1\","
                       "\"proxy_protocol\":\"v1\",\"network_proxy\":{\"from\":\"url\","
                       "\"url\":\"http://proxy:3128\"},\"tls\":{\"server_name\":\"x.example\","
                       "\"insecure_skip_verify\":true,\"handshake_timeout\":1000000000,"
                       "\"curves\":[\"x25519\",\"secp256r1\"],\"except_ports\":[\"8080\"],"
                       "\"ca\":{\"provider\":\"inline\",\"trusted_ca_certs\":[\"QUJD\"]}}}";
    T_INT(px_tr_provision(a, J(a, full), &tr, &key, &err), CC_OK);
    T_INT(tr.connect_ms, 3000); /* dial 2s + TLS handshake 1s */
    T_INT(tr.hdr_ns, 5000000000LL);
    T_INT(tr.read_ns, 60000000000LL);
    T_OK(tr.keepalive_off, "keepalive off");
    T_INT(tr.idle_s, 90);
    T_INT(key.max_idle, 64);
    T_INT(key.max_host_conns, 10);
    T_INT(tr.httpver, CURL_HTTP_VERSION_2TLS);
    T_STR(tr.iface, "host!192.0.2.1");
    T_OK(tr.haproxy, "PROXY v1");
    T_STR(tr.proxy, "http://proxy:3128");
    T_OK(tr.tls && tr.tls_insecure, "tls");
    T_STR(tr.curves, "X25519:P-256");
    T_OK(px_tr_uses_tls(&tr, "443") && !px_tr_uses_tls(&tr, "8080"), "except_ports");
    T_OK(tr.ca_blob && strstr(tr.ca_blob, "-----BEGIN CERTIFICATE-----\nQUJD\n-----END"),
         "inline CA as PEM");
    T_OK(!px_tr_uses_tls(&(px_tr){0}, "443"), "no tls without tls");

    T_INT(px_tr_provision(a, J(a, "{\"versions\":[\"h2c\",\"2\"]}"), &tr, &key, &err), CC_OK);
    T_OK(tr.h2c, "h2c");
    T_HAS(tr_err("{\"protocol\":\"fastcgi\"}"), "transport fastcgi is not supported");
    T_HAS(tr_err("{\"versions\":[\"3\"]}"), "HTTP/3");
    T_HAS(tr_err("{\"versions\":[\"9\"]}"), "unsupported HTTP version: 9");
    T_HAS(tr_err("{\"proxy_protocol\":\"v2\"}"), "v1 only");
    T_HAS(tr_err("{\"tls\":{\"curves\":[\"nope\"]}}"), "invalid curve name: nope");
    T_HAS(tr_err("{\"tls\":{\"renegotiation\":\"sometimes\"}}"), "renegotiation");
    T_HAS(tr_err("{\"tls\":{\"root_ca_pem_files\":[\"/nonexistent/ca.pem\"]}}"),
          "/nonexistent/ca.pem");
    T_HAS(tr_err("{\"tls\":{\"ca\":{\"provider\":\"pki_root\"}}}"), "pki_root");
    T_HAS(tr_err("{\"dial_timeout\":\"soon\"}"), "soon");
    T_HAS(tr_err("{\"keep_alive\":{\"enabled\":1}}"), "bool");
    cc_arena_free(a);
}

static const char *prov_err(const char *json)
{
    static char msg[1100];
    cc_arena *a = cc_arena_new(0);
    cc_err err = {0};
    cc_prov ctx = {.a = a, .err = &err};
    cc_handler *h = cc_handler_provision(J(a, json), &ctx);
    snprintf(msg, sizeof(msg), "%s", h ? "" : err.msg);
    cc_prov_cleanup(&ctx);
    cc_arena_free(a);
    return msg;
}

static void test_handler(void)
{
    cc_handler_types_set(cc_handler_types);
    T_STR(prov_err("{\"handler\":\"reverse_proxy\",\"upstreams\":[{\"dial\":\"127.0.0.1:1\"}]}"),
          "");
    T_STR(
        prov_err(
            "{\"handler\":\"copy_response\",\"status_code\":\"{http.reverse_proxy.status_code}\"}"),
        "");
    T_HAS(prov_err("{\"handler\":\"reverse_proxy\",\"dynamic_upstreams\":{\"source\":\"srv\"}}"),
          "dynamic upstreams (srv) are not supported");
    T_HAS(
        prov_err("{\"handler\":\"copy_response_headers\",\"include\":[\"A\"],\"exclude\":[\"B\"]}"),
        "cannot define both 'exclude' and 'include' lists at the same time");
    T_HAS(prov_err("{\"handler\":\"reverse_proxy\",\"transport\":{\"protocol\":\"http\","
                   "\"versions\":[\"3\"]}}"),
          "HTTP/3");
    T_HAS(prov_err("{\"handler\":\"reverse_proxy\",\"handle_response\":[{\"routes\":[{\"handle\":[{"
                   "\"handler\":\"nope\"}]}]}]}"),
          "unknown module: http.handlers.nope");
    T_STR(prov_err("{\"handler\":\"reverse_proxy\",\"upstreams\":[{\"dial\":\"h:1\"}],"
                   "\"rewrite\":{\"method\":\"GET\",\"uri\":\"/x{uri}\"},"
                   "\"handle_response\":[{\"match\":{\"status_code\":[5]},\"status_code\":200},"
                   "{\"routes\":[{\"handle\":[{\"handler\":\"copy_response\"}]}]}],"
                   "\"load_balancing\":{\"retries\":2},\"request_buffers\":-1,"
                   "\"flush_interval\":-1}"),
          "");

    /* outside an engine worker there is no loop: a clean 500, not a crash */
    cc_arena *a = cc_arena_new(0);
    cc_err err = {0};
    cc_prov ctx = {.a = a, .err = &err};
    cc_handler *h = cc_handler_provision(
        J(a, "{\"handler\":\"reverse_proxy\",\"upstreams\":[{\"dial\":\"127.0.0.1:1\"}]}"), &ctx);
    T_OK(h != NULL, "provisioned");
    cc_arena *ra = cc_arena_new(0);
    cc_req *r = R(ra, "GET", "/", "example.com");
    T_INT(h->type->handle(h, r, NULL), CC_ERR);
    T_INT(r->err.status, 500);
    /* copy_response outside handle_response routes */
    cc_handler *cr = cc_handler_provision(J(a, "{\"handler\":\"copy_response\"}"), &ctx);
    cc_req *r2 = R(ra, "GET", "/", "example.com");
    T_INT(cr->type->handle(cr, r2, NULL), CC_ERR);
    T_INT(r2->err.status, 500);
    T_HAS(r2->err.message, "outside of reverse_proxy's handle_response routes");
    cc_arena_free(ra);
    cc_prov_cleanup(&ctx);
    cc_arena_free(a);
}

int main(void)
{
    test_head();
    test_dial();
    test_duration();
    test_ring();
    test_pull();
    test_transport();
    test_handler();
    for (int i = 0; i < PL.nfree_rings; i++)
        free(PL.free_rings[i]);
    for (int i = 0; i < PL.nfree_big; i++)
        free(PL.free_big[i]);
    return t_done();
}
