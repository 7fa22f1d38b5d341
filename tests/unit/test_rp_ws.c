/* SPDX-License-Identifier: Apache-2.0
 * reverse_proxy's raw upgrade path (handlers/rp_ws*.c) through the real engine,
 * in-process: a test-only handler type runs cc_rp_hdr_up + cc_rp_ws_start the way the
 * transport does; an upstream thread plays the backend (101 + raw echo, refusals with
 * every body framing, early bytes, a wrong protocol, half-close, silence), over plain TCP
 * and over TLS (wolfSSL server, certificates made by the openssl command: trust, names,
 * SNI/ALPN/versions, handshake failures and timeouts); clients are raw sockets. Also the
 * response-head parser and chunked decoder on their own. */
#include <wolfssl/options.h>

#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/ecc.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../../core/async.h"
#include "../../core/handler.h"
#include "../../core/log.h"
#include "../../engine/engine.h"
#include "../../handlers/handlers.h"
#include "../../handlers/rp_hdr.h"
#include "../../handlers/rp_ws.h"
#include "../../handlers/rp_ws_priv.h"
#include "../t.h"
#include "net.h"
#include "core_rt.h"

/* ---- the test handler: what rp_proxy does for an upgrade request ---- */

typedef struct wstest {
    cc_handler super;
    cc_rp_ws_opts o;
    cc_rp_hdr *hdr;
    cc_rp_hdr_target t;
} wstest;

static int wt_provision(cc_handler *hh, const cc_cfg *cfg, cc_prov *ctx)
{
    wstest *h = (wstest *)hh;
    h->o.dial = cc_cfg_get_str(cfg, "dial");
    const cc_cfg *v = cc_cfg_get(cfg, "stream_timeout");
    h->o.stream_timeout = v ? v->i : 0;
    v = cc_cfg_get(cfg, "buffer_size");
    h->o.buffer_size = v ? (size_t)v->i : 0;
    v = cc_cfg_get(cfg, "dial_timeout");
    h->o.dial_timeout = v ? v->i : 0;
    v = cc_cfg_get(cfg, "close_delay");
    h->o.stream_close_delay = v ? v->i : 0;
    v = cc_cfg_get(cfg, "tls");
    h->o.tls = v && v->type == CC_CFG_BOOL && v->b;
    v = cc_cfg_get(cfg, "tls_insecure");
    h->o.tls_insecure = v && v->type == CC_CFG_BOOL && v->b;
    h->o.tls_server_name = cc_cfg_get_str(cfg, "tls_server_name");
    h->o.tls_ca_file = cc_cfg_get_str(cfg, "tls_ca_file");
    /* a bundle in memory, as the transport builds from several files or inline certs */
    const char *pf = cc_cfg_get_str(cfg, "tls_ca_pem_file");
    if (pf) {
        FILE *f = fopen(pf, "rb");
        char *buf = cc_arena_alloc(ctx->a, 1 << 16);
        size_t n = f ? fread(buf, 1, (1 << 16) - 1, f) : 0;
        if (f)
            fclose(f);
        h->o.tls_ca_pem = buf;
        h->o.tls_ca_pem_len = n;
    }
    h->hdr = cc_rp_hdr_provision(ctx->a, cfg, ctx->err);
    h->t = (cc_rp_hdr_target){h->o.dial, "127.0.0.1", "0", false, NULL};
    return h->hdr ? CC_OK : CC_ERR;
}

static void wt_done(cc_req *r, cc_rp_ws_result res, int status, void *ctx)
{
    wstest *h = ctx;
    if (res != CC_RP_WS_OK) {
        cc_req_resume(r, cc_req_fail(r, status, "upgrade attempt failed (%d)", (int)res));
        return;
    }
    cc_headers up = r->resp.headers;
    cc_rp_hdr_down(h->hdr, r, status, &up);
    r->resp.headers = up;
    cc_req_resume(r, CC_OK);
}

static int wt_handle(cc_handler *hh, cc_req *r, cc_next *next)
{
    (void)next;
    wstest *h = (wstest *)hh;
    cc_headers hdrs;
    if (cc_rp_hdr_up(h->hdr, r, &h->t, &hdrs) != CC_OK)
        return CC_ERR;
    if (cc_rp_ws_start(r, &h->o, r->target, &hdrs, wt_done, h) != CC_OK)
        return cc_req_fail(r, 500, "no loop");
    return CC_ASYNC;
}

static const cc_handler_type ht_wstest = {CC_HANDLER_ABI, "rp_ws_test", sizeof(wstest),
                                          wt_provision,   wt_handle,    NULL};

/* ---- the upstream ---- */

static int up_port;
static int up_lfd;
static char unix_path[108];
static int unix_lfd;
static atomic_int up_conns;
static atomic_int tls_accept_failed; /* handshakes the TLS upstreams saw fail */

/* An upstream connection: plain, or TLS (blocking wolfSSL server). */
typedef struct uconn {
    int fd;
    WOLFSSL *ssl;
} uconn;

/* What the TLS upstream learnt from the ClientHello (per connection thread). */
static __thread char seen_sni[256];
static __thread char seen_alpn[256];

static ssize_t uc_recv(uconn *c, void *p, size_t n)
{
    if (!c->ssl)
        return recv(c->fd, p, n, 0);
    int r = wolfSSL_read(c->ssl, p, (int)n);
    return r > 0 ? r : (wolfSSL_get_error(c->ssl, r) == WOLFSSL_ERROR_ZERO_RETURN ? 0 : -1);
}

static void uc_send(uconn *c, const void *p, size_t n)
{
    if (!c->ssl) {
        t_send_all(c->fd, p, n);
        return;
    }
    const char *b = p;
    while (n > 0) {
        size_t k = n > 65536 ? 65536 : n;
        int w = wolfSSL_write(c->ssl, b, (int)k);
        if (w <= 0)
            return;
        b += w;
        n -= (size_t)w;
    }
}

static const char *sw101 = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Accept: abc=\r\n"
                           "Server: up\r\n\r\n";

typedef struct ulisten {
    int fd;
    WOLFSSL_CTX *ctx; /* NULL: plain */
    const char *raw;  /* an answer written at once to whatever connects (then close) */
} ulisten;

typedef struct uarg {
    int fd;
    const ulisten *l;
} uarg;

static void *up_conn(void *arg)
{
    uarg *ua = arg;
    uconn conn = {ua->fd, NULL}, *uc = &conn;
    int fd = ua->fd;
    WOLFSSL_CTX *tctx = ua->l->ctx;
    const char *raw = ua->l->raw;
    free(ua);
    char head[8192];
    size_t n = 0;
    atomic_fetch_add(&up_conns, 1);
    if (raw) {
        t_send_all(fd, raw, strlen(raw));
        shutdown(fd, SHUT_WR);
        char sink[4096];
        while (recv(fd, sink, sizeof(sink), 0) > 0)
            ;
        goto out;
    }
    seen_sni[0] = seen_alpn[0] = 0;
    if (tctx) {
        conn.ssl = wolfSSL_new(tctx);
        wolfSSL_set_fd(conn.ssl, fd);
        if (wolfSSL_accept(conn.ssl) != WOLFSSL_SUCCESS) {
            atomic_fetch_add(&tls_accept_failed, 1);
            goto out;
        }
    }
    while (n < sizeof(head) - 1) {
        ssize_t r = uc_recv(uc, head + n, sizeof(head) - 1 - n);
        if (r <= 0)
            goto out;
        n += (size_t)r;
        head[n] = 0;
        if (strstr(head, "\r\n\r\n"))
            break;
    }
    char *end = strstr(head, "\r\n\r\n");
    if (!end)
        goto out;
    size_t extra = n - (size_t)(end + 4 - head);
    char path[256] = "";
    sscanf(head, "%*s %255s", path);
    if (strcmp(path, "/ws") == 0 || strcmp(path, "/early") == 0) {
        /* 101, then a raw echo of the new protocol; the request head is echoed first
         * behind "HEAD<len>:" so tests can check what was forwarded */
        uc_send(uc, sw101, strlen(sw101));
        if (strcmp(path, "/early") == 0) {
            char hb[16];
            int hl = snprintf(hb, sizeof(hb), "HEAD%04zu:", (size_t)(end + 4 - head));
            uc_send(uc, hb, (size_t)hl);
            uc_send(uc, head, (size_t)(end + 4 - head));
        }
        if (extra)
            uc_send(uc, end + 4, extra);
        char buf[65536];
        for (;;) {
            ssize_t r = uc_recv(uc, buf, sizeof(buf));
            if (r <= 0)
                break;
            uc_send(uc, buf, (size_t)r);
        }
        goto out;
    }
    if (strcmp(path, "/half") == 0) {
        /* reads until the client's half-close, then answers with what it counted */
        uc_send(uc, sw101, strlen(sw101));
        size_t total = extra;
        char buf[65536];
        ssize_t r;
        while ((r = uc_recv(uc, buf, sizeof(buf))) > 0)
            total += (size_t)r;
        char msg[64];
        int ml = snprintf(msg, sizeof(msg), "GOT %zu BYE", total);
        uc_send(uc, msg, (size_t)ml);
        goto out;
    }
    if (strcmp(path, "/silent") == 0) {
        uc_send(uc, sw101, strlen(sw101));
        char buf[256];
        while (uc_recv(uc, buf, sizeof(buf)) > 0)
            ;
        goto out;
    }
    if (strcmp(path, "/h2c") == 0) {
        const char *r = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n"
                        "Connection: Upgrade\r\n\r\n";
        uc_send(uc, r, strlen(r));
        goto out;
    }
    if (strcmp(path, "/deny") == 0) {
        const char *r = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 400 Bad Request\r\n"
                        "Content-Type: text/plain\r\nContent-Length: 7\r\nConnection: close, "
                        "X-Hop\r\nX-Hop: 1\r\nX-Up: yes\r\n\r\nnope!\r\nGARBAGE";
        uc_send(uc, r, strlen(r));
        goto out;
    }
    if (strcmp(path, "/chunked") == 0) {
        const char *r = "HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n";
        uc_send(uc, r, strlen(r));
        goto out;
    }
    if (strcmp(path, "/close") == 0) {
        const char *r = "HTTP/1.0 426 Upgrade Required\r\nUpgrade: websocket\r\n\r\nuntil close";
        uc_send(uc, r, strlen(r));
        goto out;
    }
    if (strcmp(path, "/big") == 0) {
        /* a 2 MiB body in one Content-Length */
        const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 2097152\r\n\r\n";
        uc_send(uc, r, strlen(r));
        char *b = malloc(2097152);
        for (size_t i = 0; i < 2097152; i++)
            b[i] = (char)('a' + i % 26);
        uc_send(uc, b, 2097152);
        free(b);
        goto out;
    }
    if (strcmp(path, "/badhead") == 0) {
        const char *r = "HTTP/1.1 200 OK\r\nX-Fold: a\r\n  b\r\nContent-Length: 0\r\n\r\n";
        uc_send(uc, r, strlen(r));
        goto out;
    }
    if (strcmp(path, "/eof") == 0)
        goto out;
    if (strcmp(path, "/tlsinfo") == 0) {
        char b[700], h[128];
        int bl = snprintf(b, sizeof(b), "sni=%s alpn=%s ver=%s", seen_sni, seen_alpn,
                          conn.ssl ? wolfSSL_get_version(conn.ssl) : "none");
        int hl = snprintf(h, sizeof(h), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", bl);
        uc_send(uc, h, (size_t)hl);
        uc_send(uc, b, (size_t)bl);
        goto out;
    }
    if (strcmp(path, "/truncated") == 0) {
        const char *r = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 100\r\n\r\nshort";
        uc_send(uc, r, strlen(r));
        goto out;
    }
    if (strcmp(path, "/post") == 0) {
        /* echoes the request body it received (Content-Length framed) */
        const char *cl = strcasestr(head, "\r\nContent-Length:");
        size_t want = cl ? (size_t)strtoul(cl + 17, NULL, 10) : 0;
        char *b = malloc(want + 1);
        memcpy(b, end + 4, extra);
        size_t got = extra;
        while (got < want) {
            ssize_t r = uc_recv(uc, b + got, want - got);
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        char h[128];
        int hl = snprintf(h, sizeof(h), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", got);
        uc_send(uc, h, (size_t)hl);
        uc_send(uc, b, got);
        free(b);
        goto out;
    }
    const char *r = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    uc_send(uc, r, strlen(r));
out:
    if (conn.ssl) {
        wolfSSL_shutdown(conn.ssl);
        wolfSSL_free(conn.ssl);
    }
    close(fd);
    wc_ecc_fp_free(); /* this thread's fixed-point ECC cache */
    return NULL;
}

static void *up_main(void *arg)
{
    const ulisten *l = arg;
    for (;;) {
        int fd = accept(l->fd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return NULL;
        }
        uarg *ua = malloc(sizeof(*ua));
        ua->fd = fd;
        ua->l = l;
        pthread_t t;
        pthread_create(&t, NULL, up_conn, ua);
        pthread_detach(t);
    }
}

static int free_port(void)
{
    int p = 0;
    int fd = t_listen(&p);
    close(fd);
    return p;
}

/* ---- clients ---- */

static int P; /* the engine's port */

/* Reads a response head (and whatever follows in the same reads) into buf. Returns
 * the head length, 0 on failure; *n = bytes in buf. */
static size_t read_head(int fd, char *buf, size_t cap, size_t *n)
{
    *n = 0;
    while (*n < cap - 1) {
        ssize_t r = recv(fd, buf + *n, cap - 1 - *n, 0);
        if (r <= 0)
            return 0;
        *n += (size_t)r;
        buf[*n] = 0;
        char *e = strstr(buf, "\r\n\r\n");
        if (e)
            return (size_t)(e + 4 - buf);
    }
    return 0;
}

static size_t read_n(int fd, char *buf, size_t want)
{
    size_t n = 0;
    while (n < want) {
        ssize_t r = recv(fd, buf + n, want - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    return n;
}

/* Everything until EOF (or the 5 s receive timeout). */
static size_t read_eof(int fd, char *buf, size_t cap, bool *eof)
{
    size_t n = 0;
    *eof = false;
    while (n < cap - 1) {
        ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
        if (r == 0) {
            *eof = true;
            break;
        }
        if (r < 0) {
            *eof = errno == ECONNRESET;
            break;
        }
        n += (size_t)r;
    }
    buf[n] = 0;
    return n;
}

static const char *ws_req(const char *path, const char *host, char *buf, size_t cap)
{
    snprintf(buf, cap,
             "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: keep-alive, Upgrade\r\n"
             "Upgrade: websocket\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             "Sec-WebSocket-Version: 13\r\n\r\n",
             path, host);
    return buf;
}

/* Opens an upgraded stream through the proxy; returns the fd (head consumed). */
static int open_ws(int port, const char *path, char *head_out, size_t cap)
{
    int fd = t_dial(port);
    if (fd < 0)
        return -1;
    char rq[512];
    ws_req(path, "proxy.test", rq, sizeof(rq));
    t_send_all(fd, rq, strlen(rq));
    size_t n, hl = read_head(fd, head_out, cap, &n);
    if (!hl || strncmp(head_out, "HTTP/1.1 101", 12) != 0) {
        close(fd);
        return -1;
    }
    /* the upstream sends nothing unasked on /ws, so nothing follows the head */
    return fd;
}

typedef struct sender {
    int fd;
    const char *p;
    size_t n;
    bool shut; /* half-close after sending */
} sender;

static void *send_thread(void *arg)
{
    sender *sd = arg;
    t_send_all(sd->fd, sd->p, sd->n);
    if (sd->shut)
        shutdown(sd->fd, SHUT_WR);
    return NULL;
}

static void wait_active(int want)
{
    for (int i = 0; i < 200 && cc_rp_ws_active() != want; i++)
        usleep(10000);
}

static void test_echo(void)
{
    char head[4096];
    int fd = open_ws(P, "/ws", head, sizeof(head));
    T_OK(fd >= 0, "101 through the proxy: %s", head);
    if (fd < 0)
        return;
    T_HAS(head, "Upgrade: websocket\r\n");
    T_HAS(head, "Sec-WebSocket-Accept: abc=\r\n");
    T_OK(!strstr(head, "Via:"), "no Via on a 101: %s", head);
    wait_active(1);
    T_INT(cc_rp_ws_active(), 1);
    t_send_all(fd, "hello", 5);
    char buf[64];
    T_INT(read_n(fd, buf, 5), 5);
    T_OK(memcmp(buf, "hello", 5) == 0, "echo");
    /* 4 MiB through 32 KiB buffers, both directions at once: no loss, no reordering */
    size_t big = 4u << 20;
    char *out = malloc(big), *in = malloc(big);
    for (size_t i = 0; i < big; i++)
        out[i] = (char)(i * 131 + 7 + (i >> 13));
    sender sd = {fd, out, big, false};
    pthread_t t;
    pthread_create(&t, NULL, send_thread, &sd);
    size_t got = read_n(fd, in, big);
    pthread_join(t, NULL);
    T_INT(got, big);
    T_OK(memcmp(in, out, big) == 0, "4 MiB echoed intact");
    free(out);
    free(in);
    close(fd);
    wait_active(0);
    T_INT(cc_rp_ws_active(), 0);
}

static void test_early_and_headers(void)
{
    /* the upstream writes data in the same packet as its 101, and the client sends
     * data right behind its request: both must arrive */
    int fd = t_dial(P);
    char rq[1024];
    ws_req("/early", "proxy.test", rq, sizeof(rq));
    strcat(rq, "EARLYBYTES");
    t_send_all(fd, rq, strlen(rq));
    char buf[8192];
    size_t n, hl = read_head(fd, buf, sizeof(buf), &n);
    T_OK(hl > 0 && strncmp(buf, "HTTP/1.1 101", 12) == 0, "101: %s", buf);
    /* HEADnnnn:<the request head as the upstream saw it>EARLYBYTES */
    while (n < hl + 8 + 1)
        n += read_n(fd, buf + n, 1);
    size_t uh = (size_t)atoi(buf + hl + 4);
    size_t want = hl + 9 + uh + 10;
    if (want < sizeof(buf) && n < want)
        n += read_n(fd, buf + n, want - n);
    buf[n < sizeof(buf) ? n : sizeof(buf) - 1] = 0;
    T_INT(n, want);
    const char *up = buf + hl + 9;
    T_OK(strncmp(up, "GET /early HTTP/1.1\r\nHost: proxy.test\r\n", 39) == 0, "head: %.200s", up);
    T_HAS(up, "Connection: Upgrade\r\n");
    T_HAS(up, "Upgrade: websocket\r\n");
    T_HAS(up, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n");
    T_HAS(up, "X-Forwarded-For: 127.0.0.1\r\n");
    T_HAS(up, "X-Forwarded-Proto: http\r\n");
    T_HAS(up, "X-Forwarded-Host: proxy.test\r\n");
    T_HAS(up, "Via: 1.1 Caddy\r\n");
    T_OK(!strstr(up, "keep-alive"), "keep-alive not forwarded");
    T_OK(memcmp(up + uh, "EARLYBYTES", 10) == 0, "early client bytes: %.10s", up + uh);
    close(fd);
    wait_active(0);
}

static void test_half_close(void)
{
    char head[4096];
    int fd = open_ws(P, "/half", head, sizeof(head));
    T_OK(fd >= 0, "101 /half");
    if (fd < 0)
        return;
    t_send_all(fd, "0123456789", 10);
    shutdown(fd, SHUT_WR);
    char buf[128];
    bool eof;
    size_t n = read_eof(fd, buf, sizeof(buf), &eof);
    T_OK(n > 0 && strcmp(buf, "GOT 10 BYE") == 0, "half-close passed on, answer after it: %s", buf);
    T_OK(eof, "closed after the upstream closed");
    close(fd);
    wait_active(0);
    T_INT(cc_rp_ws_active(), 0);
}

/* A plain request for path; returns the whole response (connection closed by us). */
static size_t plain(int port, const char *path, bool upgrade, char *buf, size_t cap)
{
    int fd = t_dial(port);
    char rq[512];
    if (upgrade)
        ws_req(path, "proxy.test", rq, sizeof(rq));
    else
        snprintf(rq, sizeof(rq), "GET %s HTTP/1.1\r\nHost: proxy.test\r\nConnection: close\r\n\r\n",
                 path);
    t_send_all(fd, rq, strlen(rq));
    bool eof;
    size_t n = read_eof(fd, buf, cap, &eof);
    close(fd);
    return n;
}

static void test_refusals(void)
{
    static char buf[1 << 22];
    plain(P, "/deny", true, buf, sizeof(buf));
    T_OK(strncmp(buf, "HTTP/1.1 400 ", 13) == 0, "400 relayed: %.80s", buf);
    T_HAS(buf, "Content-Length: 7\r\n");
    T_HAS(buf, "X-Up: yes\r\n");
    T_HAS(buf, "Via: 1.1 Caddy\r\n");
    T_OK(!strstr(buf, "X-Hop"), "Connection-listed field dropped");
    T_OK(strstr(buf, "\r\n\r\nnope!\r\n") && !strstr(buf, "GARBAGE"), "body by length: %s", buf);

    plain(P, "/chunked", true, buf, sizeof(buf));
    T_OK(strncmp(buf, "HTTP/1.1 403 ", 13) == 0, "403 relayed: %.80s", buf);
    T_HAS(buf, "Content-Length: 11\r\n");
    T_HAS(buf, "\r\n\r\nhello world");

    plain(P, "/close", true, buf, sizeof(buf));
    T_OK(strncmp(buf, "HTTP/1.1 426 ", 13) == 0, "426 relayed: %.80s", buf);
    T_HAS(buf, "\r\n\r\nuntil close");
    T_HAS(buf, "Via: 1.0 Caddy\r\n");

    size_t n = plain(P, "/big", true, buf, sizeof(buf));
    T_OK(strncmp(buf, "HTTP/1.1 200 ", 13) == 0, "200 relayed: %.80s", buf);
    const char *b = strstr(buf, "\r\n\r\n");
    T_OK(b && n - (size_t)(b + 4 - buf) == 2097152, "2 MiB body relayed");
    T_OK(b && b[4] == 'a' && b[4 + 2097151] == (char)('a' + 2097151 % 26), "body bytes");

    /* the upstream answers 101 to a protocol nobody asked for */
    plain(P, "/h2c", true, buf, sizeof(buf));
    T_OK(strncmp(buf, "HTTP/1.1 502 ", 13) == 0, "wrong protocol: 502: %.80s", buf);
    plain(P, "/badhead", true, buf, sizeof(buf));
    T_OK(strncmp(buf, "HTTP/1.1 502 ", 13) == 0, "obs-fold: 502: %.80s", buf);
    plain(P, "/eof", true, buf, sizeof(buf));
    T_OK(strncmp(buf, "HTTP/1.1 502 ", 13) == 0, "EOF: 502: %.80s", buf);
    plain(P, "/truncated", true, buf, sizeof(buf));
    T_OK(strncmp(buf, "HTTP/1.1 502 ", 13) == 0, "truncated body: 502: %.80s", buf);
    /* a non-upgrade request on the same path works too */
    plain(P, "/nothing", false, buf, sizeof(buf));
    T_OK(strncmp(buf, "HTTP/1.1 404 ", 13) == 0, "404 relayed: %.80s", buf);
}

static void test_post_body(void)
{
    /* a request body (in memory) is framed and forwarded */
    int fd = t_dial(P);
    const char *rq = "POST /post HTTP/1.1\r\nHost: proxy.test\r\nContent-Length: 11\r\n"
                     "Connection: close\r\n\r\nhello=world";
    t_send_all(fd, rq, strlen(rq));
    char buf[4096];
    bool eof;
    read_eof(fd, buf, sizeof(buf), &eof);
    close(fd);
    T_OK(strncmp(buf, "HTTP/1.1 200 ", 13) == 0, "POST relayed: %.80s", buf);
    T_HAS(buf, "\r\n\r\nhello=world");
    /* a large (streamed) body */
    size_t big = 300000;
    char *body = malloc(big);
    for (size_t i = 0; i < big; i++)
        body[i] = (char)('A' + i % 23);
    fd = t_dial(P);
    char h[256];
    snprintf(h, sizeof(h),
             "POST /post HTTP/1.1\r\nHost: proxy.test\r\nContent-Length: %zu\r\n"
             "Connection: close\r\n\r\n",
             big);
    t_send_all(fd, h, strlen(h));
    sender sd = {fd, body, big, false};
    pthread_t t;
    pthread_create(&t, NULL, send_thread, &sd);
    static char rb[1 << 20];
    size_t n = read_eof(fd, rb, sizeof(rb), &eof);
    pthread_join(t, NULL);
    close(fd);
    const char *b = strstr(rb, "\r\n\r\n");
    T_OK(strncmp(rb, "HTTP/1.1 200 ", 13) == 0, "big POST relayed: %.80s", rb);
    T_OK(b && n - (size_t)(b + 4 - rb) == big && memcmp(b + 4, body, big) == 0,
         "streamed body forwarded intact (%zu bytes back)", b ? n - (size_t)(b + 4 - rb) : 0);
    free(body);
}

static void test_many(void)
{
    enum { N = 50 };
    int fds[N];
    int ok = 0;
    for (int i = 0; i < N; i++) {
        char head[2048];
        fds[i] = open_ws(P, "/ws", head, sizeof(head));
        ok += fds[i] >= 0;
    }
    T_INT(ok, N);
    wait_active(N);
    T_INT(cc_rp_ws_active(), N);
    int good = 0;
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < N; i++) {
            if (fds[i] < 0)
                continue;
            char msg[32], back[32];
            int ml = snprintf(msg, sizeof(msg), "m%d-%d", i, round);
            t_send_all(fds[i], msg, (size_t)ml);
            good += read_n(fds[i], back, (size_t)ml) == (size_t)ml && !memcmp(msg, back, ml);
        }
    T_INT(good, 3 * N);
    for (int i = 0; i < N; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    wait_active(0);
    T_INT(cc_rp_ws_active(), 0);
}

static void test_dead_upstream(int dead_port)
{
    char buf[4096];
    plain(dead_port, "/ws", true, buf, sizeof(buf));
    T_OK(strncmp(buf, "HTTP/1.1 502 ", 13) == 0, "upstream down: 502: %.80s", buf);
}

static void test_dial_timeout(int port)
{
    char buf[4096], rq[512];
    uint64_t t0 = cc_now_mono_ns();
    int fd = t_dial(port);
    ws_req("/ws", "proxy.test", rq, sizeof(rq));
    t_send_all(fd, rq, strlen(rq));
    size_t n;
    read_head(fd, buf, sizeof(buf), &n);
    uint64_t dt = cc_now_mono_ns() - t0;
    close(fd);
    T_OK(strncmp(buf, "HTTP/1.1 504 ", 13) == 0, "dial timeout: 504: %.80s", buf);
    T_OK(dt > 250000000u && dt < 2000000000u, "after the 300 ms dial timeout: %.2fs",
         (double)dt / 1e9);
}

static void test_by_name(int port)
{
    char head[2048];
    int fd = open_ws(port, "/ws", head, sizeof(head));
    T_OK(fd >= 0, "101 from an upstream dialled by name (resolved off the worker)");
    if (fd < 0)
        return;
    t_send_all(fd, "named", 5);
    char buf[8];
    T_INT(read_n(fd, buf, 5), 5);
    close(fd);
    wait_active(0);
}

static void test_stream_timeout(int port)
{
    char head[2048];
    uint64_t t0 = cc_now_mono_ns();
    int fd = open_ws(port, "/silent", head, sizeof(head));
    T_OK(fd >= 0, "101 /silent");
    if (fd < 0)
        return;
    char buf[64];
    bool eof;
    read_eof(fd, buf, sizeof(buf), &eof);
    uint64_t dt = cc_now_mono_ns() - t0;
    T_OK(eof, "stream closed by stream_timeout");
    T_OK(dt > 250000000u && dt < 2000000000u, "after about 300 ms: %.2fs", (double)dt / 1e9);
    close(fd);
    wait_active(0);
}

static void test_unix(int port)
{
    char head[2048];
    int fd = open_ws(port, "/ws", head, sizeof(head));
    T_OK(fd >= 0, "101 over a unix-socket upstream");
    if (fd < 0)
        return;
    t_send_all(fd, "unix!", 5);
    char buf[8];
    T_INT(read_n(fd, buf, 5), 5);
    T_OK(memcmp(buf, "unix!", 5) == 0, "unix echo");
    close(fd);
    wait_active(0);
}

/* A reload that drops the listener: the engine asks the stream to end (upgrade_abort);
 * it gets a Close frame (1001) after stream_close_delay (300 ms), then EOF. */
static void test_unload(cc_engine *e, const char *newconf)
{
    char head[2048];
    int fd = open_ws(P, "/ws", head, sizeof(head));
    T_OK(fd >= 0, "101 before the reload");
    if (fd < 0)
        return;
    cc_arena *a = cc_arena_new(0);
    cc_err err = {0};
    cc_runtime *rt = cc_runtime_load(a, J(a, newconf), &err);
    T_OK(rt != NULL, "load: %s", err.msg);
    if (!rt)
        return;
    uint64_t t0 = cc_now_mono_ns();
    T_INT(cc_engine_swap(e, rt, &err), CC_OK);
    cc_runtime_unref(rt);
    unsigned char buf[64];
    bool eof;
    size_t n = read_eof(fd, (char *)buf, sizeof(buf), &eof);
    uint64_t dt = cc_now_mono_ns() - t0;
    T_OK(n == 4 && buf[0] == 0x88 && buf[1] == 0x02 && buf[2] == 0x03 && buf[3] == 0xe9,
         "Close frame 1001 to the client (%zu bytes)", n);
    T_OK(eof, "closed on unload");
    T_OK(dt >= 200000000u && dt < 3000000000u, "after the close delay: %.2fs", (double)dt / 1e9);
    close(fd);
    wait_active(0);
    T_INT(cc_rp_ws_active(), 0);
}

/* ---- https upstreams ---- */

static char certdir[64];

/* CA "ca" signs leaf (ws.test + IP 127.0.0.1) and leaf_noip (ws.test only); "ca2" is an
 * unrelated CA; both.pem holds ca2 then ca. */
static bool make_certs(void)
{
    snprintf(certdir, sizeof(certdir), "/tmp/cc_rp_ws_tls_XXXXXX");
    if (!mkdtemp(certdir))
        return false;
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "set -e; cd %s; exec >/dev/null 2>&1\n"
             "printf 'subjectAltName=DNS:ws.test,IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' > "
             "ext.cnf\n"
             "printf 'subjectAltName=DNS:ws.test\\nextendedKeyUsage=serverAuth\\n' > noip.cnf\n"
             "for c in ca ca2; do openssl ecparam -name prime256v1 -genkey -noout -out $c.key; "
             "openssl req -x509 -new -key $c.key -subj \"/CN=rp_ws test $c\" -days 3 -out $c.pem; "
             "done\n"
             "for l in leaf:ext leaf_noip:noip; do n=${l%%:*}; e=${l#*:}; "
             "openssl ecparam -name prime256v1 -genkey -noout -out $n.key; "
             "openssl req -new -key $n.key -subj /CN=ws.test -out $n.csr; "
             "openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
             "-extfile $e.cnf -out $n.pem; done\n"
             "cat ca2.pem ca.pem > both.pem\n",
             certdir);
    return system(cmd) == 0;
}

static WOLFSSL_CTX *server_ctx(const char *leaf, bool tls12_only)
{
    char cert[128], key[128];
    snprintf(cert, sizeof(cert), "%s/%s.pem", certdir, leaf);
    snprintf(key, sizeof(key), "%s/%s.key", certdir, leaf);
    WOLFSSL_CTX *c =
        wolfSSL_CTX_new(tls12_only ? wolfTLSv1_2_server_method() : wolfSSLv23_server_method());
    if (!c)
        return NULL;
    if (wolfSSL_CTX_use_certificate_chain_file(c, cert) != WOLFSSL_SUCCESS ||
        wolfSSL_CTX_use_PrivateKey_file(c, key, WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS) {
        wolfSSL_CTX_free(c);
        return NULL;
    }
    return c;
}

/* Records the SNI the client sent (per connection thread). */
static int sni_cb(WOLFSSL *ssl, int *ret, void *arg)
{
    (void)ret;
    (void)arg;
    char *name = NULL;
    unsigned short n = wolfSSL_SNI_GetRequest(ssl, WOLFSSL_SNI_HOST_NAME, (void **)&name);
    if (name && n < sizeof(seen_sni)) {
        memcpy(seen_sni, name, n);
        seen_sni[n] = 0;
    }
    return 0;
}

/* Records the protocols the client offered and picks http/1.1. */
static int alpn_cb(WOLFSSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    size_t o = 0;
    int found = -1;
    for (unsigned int i = 0; i < inlen && o + in[i] + 2 < sizeof(seen_alpn);) {
        unsigned int l = in[i];
        if (i + 1 + l > inlen)
            break;
        if (o)
            seen_alpn[o++] = ',';
        memcpy(seen_alpn + o, in + i + 1, l);
        o += l;
        if (l == 8 && memcmp(in + i + 1, "http/1.1", 8) == 0)
            found = (int)i;
        i += 1 + l;
    }
    seen_alpn[o] = 0;
    if (found < 0)
        return SSL_TLSEXT_ERR_NOACK;
    *out = in + found + 1;
    *outlen = 8;
    return SSL_TLSEXT_ERR_OK;
}

/* One request on a fresh connection: the head and a Content-Length body; 0 on failure. */
static size_t fetch(int port, const char *path, char *buf, size_t cap)
{
    int fd = t_dial(port);
    if (fd < 0)
        return 0;
    char rq[512];
    ws_req(path, "proxy.test", rq, sizeof(rq));
    t_send_all(fd, rq, strlen(rq));
    size_t n, hl = read_head(fd, buf, cap, &n);
    if (hl) {
        const char *cl = strcasestr(buf, "\r\nContent-Length:");
        size_t want = cl && cl < buf + hl ? hl + strtoul(cl + 17, NULL, 10) : hl;
        if (want < cap && n < want)
            n += read_n(fd, buf + n, want - n);
        buf[n < cap ? n : cap - 1] = 0;
    }
    close(fd);
    return hl ? n : 0;
}

static bool starts(const char *buf, const char *prefix)
{
    return strncmp(buf, prefix, strlen(prefix)) == 0;
}

/* Everything the plain upstream path does, through the TLS upstream. */
static void test_tls_full(int port)
{
    static char buf[1 << 22];
    fetch(port, "/tlsinfo", buf, sizeof(buf));
    T_OK(starts(buf, "HTTP/1.1 200 "), "https upstream answers: %.80s", buf);
    T_HAS(buf, "\r\n\r\nsni=ws.test alpn=http/1.1 ver=TLSv1.3");
    int saved = P;
    P = port;
    test_echo(); /* 4 MiB both ways at once through wolfSSL */
    test_early_and_headers();
    test_half_close(); /* the client's half-close becomes a close_notify */
    test_post_body();
    P = saved;
    fetch(port, "/deny", buf, sizeof(buf));
    T_OK(starts(buf, "HTTP/1.1 400 "), "refusal relayed over TLS: %.80s", buf);
    T_HAS(buf, "X-Up: yes\r\n");
    T_HAS(buf, "\r\n\r\nnope!\r\n");
    size_t n = fetch(port, "/big", buf, sizeof(buf));
    const char *b = strstr(buf, "\r\n\r\n");
    T_OK(starts(buf, "HTTP/1.1 200 ") && b && n - (size_t)(b + 4 - buf) == 2097152 &&
             b[4 + 2097151] == (char)('a' + 2097151 % 26),
         "2 MiB body over TLS (%zu bytes)", b ? n - (size_t)(b + 4 - buf) : 0);
    fetch(port, "/chunked", buf, sizeof(buf));
    T_OK(starts(buf, "HTTP/1.1 403 "), "chunked refusal over TLS: %.80s", buf);
    T_HAS(buf, "\r\n\r\nhello world");
    fetch(port, "/h2c", buf, sizeof(buf));
    T_OK(starts(buf, "HTTP/1.1 502 "), "wrong protocol over TLS: 502: %.80s", buf);
}

/* A stream works: 101 and an echo. */
static bool tls_echo_ok(int port)
{
    char head[2048];
    int fd = open_ws(port, "/ws", head, sizeof(head));
    if (fd < 0)
        return false;
    t_send_all(fd, "over tls", 8);
    char b[8];
    bool ok = read_n(fd, b, 8) == 8 && memcmp(b, "over tls", 8) == 0;
    close(fd);
    wait_active(0);
    return ok;
}

/* The handshake is refused on our side: 502, and the upstream saw its handshake fail
 * (so the request never reached it). */
static void tls_refused(int port, const char *what)
{
    char buf[4096];
    int before = atomic_load(&tls_accept_failed);
    fetch(port, "/ws", buf, sizeof(buf));
    T_OK(starts(buf, "HTTP/1.1 502 "), "%s: 502: %.60s", what, buf);
    for (int i = 0; i < 100 && atomic_load(&tls_accept_failed) == before; i++)
        usleep(10000);
    T_OK(atomic_load(&tls_accept_failed) > before, "%s: the upstream's handshake failed", what);
}

typedef struct tls_ports {
    int ok, wrong_ca, wrong_name, insecure, by_ip, pem_bundle, file_bundle, system, v12, ip_nosan,
        not_tls, hs_timeout;
} tls_ports;

static void test_tls(const tls_ports *tp)
{
    char buf[4096];
    test_tls_full(tp->ok);
    tls_refused(tp->wrong_ca, "CA that did not sign the certificate");
    tls_refused(tp->wrong_name, "tls_server_name not in the certificate");
    tls_refused(tp->system, "system roots only (test CA not among them)");
    tls_refused(tp->ip_nosan, "dialled by IP, certificate without that IP");
    T_OK(tls_echo_ok(tp->insecure), "tls_insecure_skip_verify with an unrelated CA: stream works");
    fetch(tp->insecure, "/tlsinfo", buf, sizeof(buf));
    T_HAS(buf, "sni=ws.test alpn=http/1.1");
    T_OK(tls_echo_ok(tp->by_ip), "no tls_server_name: verified against the IP SAN");
    fetch(tp->by_ip, "/tlsinfo", buf, sizeof(buf));
    T_HAS(buf, "\r\n\r\nsni= alpn=http/1.1"); /* no SNI for an address */
    T_OK(tls_echo_ok(tp->pem_bundle), "trust from an in-memory bundle of two CAs");
    T_OK(tls_echo_ok(tp->file_bundle), "trust from a file of two CAs");
    fetch(tp->v12, "/tlsinfo", buf, sizeof(buf));
    T_OK(starts(buf, "HTTP/1.1 200 "), "TLS 1.2 upstream: %.60s", buf);
    T_HAS(buf, "ver=TLSv1.2");
    T_OK(tls_echo_ok(tp->v12), "stream over TLS 1.2");
    /* a plain HTTP server behind an https upstream address */
    uint64_t t0 = cc_now_mono_ns();
    fetch(tp->not_tls, "/ws", buf, sizeof(buf));
    T_OK(starts(buf, "HTTP/1.1 502 "), "plain server spoken to over TLS: 502: %.60s", buf);
    T_OK(cc_now_mono_ns() - t0 < 1000000000u, "at once");
    /* an upstream that never answers the ClientHello: the dial timeout covers it */
    t0 = cc_now_mono_ns();
    fetch(tp->hs_timeout, "/ws", buf, sizeof(buf));
    uint64_t dt = cc_now_mono_ns() - t0;
    T_OK(starts(buf, "HTTP/1.1 504 "), "handshake timeout: 504: %.60s", buf);
    T_OK(dt > 250000000u && dt < 2000000000u, "after the 300 ms dial timeout: %.2fs",
         (double)dt / 1e9);
    T_INT(cc_rp_ws_active(), 0);
}

/* ---- parser units ---- */

static int emit_cat(void *ctx, const char *d, size_t n)
{
    char *out = ctx;
    strncat(out, d, n);
    return CC_OK;
}

static void test_parsers(void)
{
    cc_arena *a = cc_arena_new(0);
    const char *h = "HTTP/1.1 200 OK\r\nA: 1\r\nB:2 \r\n\r\nrest";
    T_INT(cc_rp_ws_head_end(h, strlen(h), 0), strlen(h) - 4);
    T_INT(cc_rp_ws_head_end(h, 10, 0), 0);
    T_INT(cc_rp_ws_head_end("HTTP/1.1 200 OK\nA: 1\n\nx", 23, 0), 22);
    ws_head wh;
    const char *why = NULL;
    T_INT(cc_rp_ws_head_parse(a, h, strlen(h) - 4, &wh, &why), CC_OK);
    T_INT(wh.status, 200);
    T_INT(wh.hdrs.n, 2);
    T_STR(cc_headers_get(&wh.hdrs, "B"), "2");
    const char *bad[] = {"HTTP/1.1 20 OK\r\n\r\n",
                         "HTTP/2.0 200 OK\r\n\r\n",
                         "ICY 200 OK\r\n\r\n",
                         "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
                         "HTTP/1.1 200 OK\r\nA: x\r\n y\r\n\r\n",
                         "HTTP/1.1 200 OK\r\nA: x\ry\r\n\r\n",
                         "HTTP/1.1 200 OK\r\nnocolon\r\n\r\n",
                         "HTTP/1.1 200OK\r\n\r\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        T_INT(cc_rp_ws_head_parse(a, bad[i], strlen(bad[i]), &wh, &why), CC_ERR);

    /* chunked, fed one byte at a time and whole */
    const char *ch =
        "4\r\nWiki\r\n5;x=y\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nT: v\r\n\r\nNEXT";
    char out[128] = "";
    ws_chunk c = {0};
    size_t used = 0;
    int rc = WS_CHUNK_MORE;
    size_t pos = 0;
    while (rc == WS_CHUNK_MORE && pos < strlen(ch)) {
        rc = cc_rp_ws_chunk_feed(&c, ch + pos, 1, &used, emit_cat, out);
        pos += used;
    }
    T_INT(rc, WS_CHUNK_DONE);
    T_STR(out, "Wikipedia in\r\n\r\nchunks.");
    T_STR(ch + pos, "NEXT");
    out[0] = 0;
    c = (ws_chunk){0};
    T_INT(cc_rp_ws_chunk_feed(&c, ch, strlen(ch), &used, emit_cat, out), WS_CHUNK_DONE);
    T_INT(used, strlen(ch) - 4);
    const char *badc[] = {"g\r\n", "\r\n", "4\r\nabcdX", "ffffffffffffffff\r\n"};
    for (size_t i = 0; i < sizeof(badc) / sizeof(badc[0]); i++) {
        c = (ws_chunk){0};
        out[0] = 0;
        T_INT(cc_rp_ws_chunk_feed(&c, badc[i], strlen(badc[i]), &used, emit_cat, out),
              WS_CHUNK_ERR);
    }
    cc_arena_free(a);
}

static const char *conf(char *buf, size_t cap, int port, const char *dial, const char *extra)
{
    snprintf(buf, cap,
             "{\"apps\": {\"http\": {\"servers\": {\"s\": {\"listen\": [\"127.0.0.1:%d\"], "
             "\"routes\": [{\"handle\": [{\"handler\": \"rp_ws_test\", \"dial\": \"%s\"%s}]}]}}}}}",
             port, dial, extra ? extra : "");
    return buf;
}

int main(void)
{
    cc_log_set_level(CC_LOG_WARN);
    cc_async_pool_start(2);
    test_parsers();

    /* handler types: the built-in ones plus the test's */
    size_t nt = 0;
    while (cc_handler_types[nt])
        nt++;
    const cc_handler_type **types = calloc(nt + 2, sizeof(*types));
    memcpy(types, cc_handler_types, nt * sizeof(*types));
    types[nt] = &ht_wstest;
    cc_handler_types_set(types);

    up_lfd = t_listen(&up_port);
    static ulisten l_plain, l_unix, l_tls, l_tls12, l_noip, l_raw;
    l_plain.fd = up_lfd;
    pthread_t ut;
    pthread_create(&ut, NULL, up_main, &l_plain);

    /* the TLS upstreams */
    wolfSSL_Init();
    bool certs = make_certs();
    T_OK(certs, "openssl made the test certificates in %s", certdir);
    WOLFSSL_CTX *sctx = certs ? server_ctx("leaf", false) : NULL;
    WOLFSSL_CTX *sctx12 = certs ? server_ctx("leaf", true) : NULL;
    WOLFSSL_CTX *sctx_noip = certs ? server_ctx("leaf_noip", false) : NULL;
    T_OK(sctx && sctx12 && sctx_noip, "TLS server contexts");
    WOLFSSL_CTX *sctxs[] = {sctx, sctx12, sctx_noip};
    for (size_t i = 0; i < 3; i++)
        if (sctxs[i]) {
            wolfSSL_CTX_set_servername_callback(sctxs[i], sni_cb);
            wolfSSL_CTX_set_alpn_select_cb(sctxs[i], alpn_cb, NULL);
        }
    int tls_port = 0, tls12_port = 0, noip_port = 0, raw_port = 0;
    ulisten *ls[] = {&l_tls, &l_tls12, &l_noip, &l_raw};
    int *lp[] = {&tls_port, &tls12_port, &noip_port, &raw_port};
    l_tls.ctx = sctx;
    l_tls12.ctx = sctx12;
    l_noip.ctx = sctx_noip;
    l_raw.raw = "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";
    for (size_t i = 0; i < 4; i++) {
        ls[i]->fd = t_listen(lp[i]);
        pthread_t tt;
        pthread_create(&tt, NULL, up_main, ls[i]);
    }
    snprintf(unix_path, sizeof(unix_path), "/tmp/cc_rp_ws_%d.sock", (int)getpid());
    unlink(unix_path);
    unix_lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un su = {.sun_family = AF_UNIX};
    strcpy(su.sun_path, unix_path);
    if (bind(unix_lfd, (struct sockaddr *)&su, sizeof(su)) == 0 && listen(unix_lfd, 16) == 0) {
        l_unix.fd = unix_lfd;
        pthread_t u2;
        pthread_create(&u2, NULL, up_main, &l_unix);
    }

    P = free_port();
    int P2 = free_port(), P3 = free_port(), P4 = free_port();
    int dead = free_port();
    int P6 = free_port(), P7 = free_port();
    /* a name for 127.0.0.1 other than "localhost" (which is dialled directly): this
     * host's own name when /etc/hosts maps it there */
    char dial_name[320] = "", hn[256] = "";
    gethostname(hn, sizeof(hn) - 1);
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    bool name_ok = hn[0] && getaddrinfo(hn, NULL, &hints, &ai) == 0 && ai &&
                   ((struct sockaddr_in *)ai->ai_addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
    if (ai)
        freeaddrinfo(ai);
    snprintf(dial_name, sizeof(dial_name), "%s:%d", name_ok ? hn : "localhost", up_port);
    /* a listener whose accept queue is full: SYNs are dropped, the dial times out */
    int full_port = 0, full_lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in fsa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t fsl = sizeof(fsa);
    bind(full_lfd, (struct sockaddr *)&fsa, sizeof(fsa));
    listen(full_lfd, 0);
    getsockname(full_lfd, (struct sockaddr *)&fsa, &fsl);
    full_port = ntohs(fsa.sin_port);
    int fillers[4];
    for (int i = 0; i < 4; i++) {
        fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(fillers[i], (struct sockaddr *)&fsa, sizeof(fsa));
    }
    usleep(100000);
    char dial_full[64];
    snprintf(dial_full, sizeof(dial_full), "127.0.0.1:%d", full_port);
    char dial[64], dial_dead[64], dial_unix[160];
    snprintf(dial, sizeof(dial), "127.0.0.1:%d", up_port);
    snprintf(dial_dead, sizeof(dial_dead), "127.0.0.1:%d", dead);
    snprintf(dial_unix, sizeof(dial_unix), "unix/%s", unix_path);
    char c1[512], c2[512], c3[512], c4[512];
    char all[16384];
    /* one runtime with four servers: the main one (closing delay 300 ms on unload), a
     * dead upstream, a 300 ms stream_timeout, a unix upstream */
    conf(c1, sizeof(c1), P, dial, ", \"close_delay\": 300000000");
    conf(c2, sizeof(c2), P2, dial_dead, NULL);
    conf(c3, sizeof(c3), P3, dial, ", \"stream_timeout\": 300000000");
    conf(c4, sizeof(c4), P4, dial_unix, NULL);
    (void)c2;
    (void)c3;
    (void)c4;
    snprintf(all, sizeof(all),
             "{\"apps\": {\"http\": {\"servers\": {"
             "\"a\": {\"listen\": [\"127.0.0.1:%d\"], \"routes\": [{\"handle\": [{\"handler\": "
             "\"rp_ws_test\", \"dial\": \"%s\", \"close_delay\": 300000000}]}]},"
             "\"b\": {\"listen\": [\"127.0.0.1:%d\"], \"routes\": [{\"handle\": [{\"handler\": "
             "\"rp_ws_test\", \"dial\": \"%s\"}]}]},"
             "\"c\": {\"listen\": [\"127.0.0.1:%d\"], \"routes\": [{\"handle\": [{\"handler\": "
             "\"rp_ws_test\", \"dial\": \"%s\", \"stream_timeout\": 300000000}]}]},"
             "\"d\": {\"listen\": [\"127.0.0.1:%d\"], \"routes\": [{\"handle\": [{\"handler\": "
             "\"rp_ws_test\", \"dial\": \"%s\"}]}]},"
             "\"e\": {\"listen\": [\"127.0.0.1:%d\"], \"routes\": [{\"handle\": [{\"handler\": "
             "\"rp_ws_test\", \"dial\": \"%s\"}]}]},"
             "\"f\": {\"listen\": [\"127.0.0.1:%d\"], \"routes\": [{\"handle\": [{\"handler\": "
             "\"rp_ws_test\", \"dial\": \"%s\", \"dial_timeout\": 300000000}]}]}",
             P, dial, P2, dial_dead, P3, dial, P4, dial_unix, P6, dial_name, P7, dial_full);
    /* the https servers: one per trust setting */
    tls_ports tp;
    char ca[128], ca2[128], both[128];
    snprintf(ca, sizeof(ca), "%s/ca.pem", certdir);
    snprintf(ca2, sizeof(ca2), "%s/ca2.pem", certdir);
    snprintf(both, sizeof(both), "%s/both.pem", certdir);
    struct {
        int *port;
        int up;
        const char *extra;
    } tsrv[] = {
        {&tp.ok, tls_port, "\"tls_ca_file\": \"%s\", \"tls_server_name\": \"ws.test\""},
        {&tp.wrong_ca, tls_port, "\"tls_ca_file\": \"%s\", \"tls_server_name\": \"ws.test\""},
        {&tp.wrong_name, tls_port, "\"tls_ca_file\": \"%s\", \"tls_server_name\": \"wrong.test\""},
        {&tp.insecure, tls_port,
         "\"tls_ca_file\": \"%s\", \"tls_server_name\": \"ws.test\", \"tls_insecure\": true"},
        {&tp.by_ip, tls_port, "\"tls_ca_file\": \"%s\""},
        {&tp.pem_bundle, tls_port, "\"tls_ca_pem_file\": \"%s\", \"tls_server_name\": \"ws.test\""},
        {&tp.file_bundle, tls_port, "\"tls_ca_file\": \"%s\", \"tls_server_name\": \"ws.test\""},
        {&tp.system, tls_port, "\"tls_server_name\": \"ws.test\"%s"},
        {&tp.v12, tls12_port, "\"tls_ca_file\": \"%s\", \"tls_server_name\": \"ws.test\""},
        {&tp.ip_nosan, noip_port, "\"tls_ca_file\": \"%s\""},
        {&tp.not_tls, raw_port, "\"tls_ca_file\": \"%s\", \"tls_server_name\": \"ws.test\""},
        {&tp.hs_timeout, up_port,
         "\"tls_ca_file\": \"%s\", \"tls_server_name\": \"ws.test\", \"dial_timeout\": 300000000"},
    };
    const char *tfile[] = {ca, ca2, ca, ca2, ca, both, both, "", ca, ca, ca, ca};
    for (size_t i = 0; i < sizeof(tsrv) / sizeof(tsrv[0]); i++) {
        *tsrv[i].port = free_port();
        char extra[512], one[1024];
        snprintf(extra, sizeof(extra), tsrv[i].extra, tfile[i]);
        snprintf(
            one, sizeof(one),
            ",\"t%zu\": {\"listen\": [\"127.0.0.1:%d\"], \"routes\": [{\"handle\": "
            "[{\"handler\": \"rp_ws_test\", \"dial\": \"127.0.0.1:%d\", \"tls\": true, %s}]}]}",
            i, *tsrv[i].port, tsrv[i].up, extra);
        strncat(all, one, sizeof(all) - strlen(all) - 8);
    }
    strcat(all, "}}}}");
    cc_arena *a = cc_arena_new(0);
    cc_err err = {0};
    cc_runtime *rt = cc_runtime_load(a, J(a, all), &err);
    T_OK(rt != NULL, "load: %s", err.msg);
    if (!rt)
        return t_done();
    cc_engine *e = cc_engine_start(rt, &(cc_engine_opts){.workers = 2}, &err);
    cc_runtime_unref(rt);
    T_OK(e != NULL, "start: %s", err.msg);
    if (!e)
        return t_done();
    test_echo();
    test_early_and_headers();
    test_half_close();
    test_refusals();
    test_post_body();
    test_many();
    test_dead_upstream(P2);
    test_stream_timeout(P3);
    test_unix(P4);
    if (name_ok)
        test_by_name(P6);
    else
        printf("# skipped: this host's name does not resolve to 127.0.0.1\n");
    test_dial_timeout(P7);
    if (sctx && sctx12 && sctx_noip)
        test_tls(&tp);
    for (int i = 0; i < 4; i++)
        close(fillers[i]);
    close(full_lfd);
    /* the new config moves to another port: the old listener drains */
    int P5 = free_port(), P8 = free_port();
    char c5[2048];
    snprintf(c5, sizeof(c5),
             "{\"apps\": {\"http\": {\"servers\": {"
             "\"a\": {\"listen\": [\"127.0.0.1:%d\"], \"routes\": [{\"handle\": [{\"handler\": "
             "\"rp_ws_test\", \"dial\": \"%s\"}]}]},"
             "\"t\": {\"listen\": [\"127.0.0.1:%d\"], \"routes\": [{\"handle\": [{\"handler\": "
             "\"rp_ws_test\", \"dial\": \"127.0.0.1:%d\", \"tls\": true, \"tls_ca_file\": \"%s\", "
             "\"tls_server_name\": \"ws.test\", \"close_delay\": 100000000}]}]}}}}}",
             P5, dial, P8, tls_port, ca);
    test_unload(e, c5);
    /* graceful stop with a stream open: the engine asks us to end it */
    char head[2048];
    int fd = open_ws(P5, "/ws", head, sizeof(head));
    T_OK(fd >= 0, "101 before the stop");
    int tfd = certs ? open_ws(P8, "/ws", head, sizeof(head)) : -1;
    T_OK(!certs || tfd >= 0, "101 from the https upstream before the stop");
    cc_engine_stop(e, 1000000000);
    bool eof;
    char buf[64];
    read_eof(fd, buf, sizeof(buf), &eof);
    T_OK(eof, "stream closed by the stop");
    close(fd);
    if (tfd >= 0) {
        size_t n = read_eof(tfd, buf, sizeof(buf), &eof);
        T_OK(n == 4 && (unsigned char)buf[0] == 0x88 && eof,
             "https stream: Close frame then EOF on the stop (%zu bytes)", n);
        close(tfd);
    }
    T_INT(cc_rp_ws_active(), 0);
    close(up_lfd);
    close(unix_lfd);
    unlink(unix_path);
    for (size_t i = 0; i < 4; i++)
        close(ls[i]->fd);
    if (certdir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", certdir);
        T_INT(system(cmd), 0);
    }
    free(types);
    cc_async_pool_stop();
    return t_done();
}
