/* SPDX-License-Identifier: Apache-2.0
 * The engine's asynchronous paths in-process, with test-only handler types running on
 * the worker loop (core/loop.h): loop timers, watches, defers and slots; async response
 * bodies (known and unknown length, HEAD, slow consumer, client abort); streaming
 * uploads with backpressure (Content-Length and chunked, slow reader, unread bodies,
 * request_body max_size, client abort); disconnects while pending; upgrades; and engine
 * stops with upgraded and suspended requests. Driven with raw sockets. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../caddyfile/adapter.h"
#include "../../core/async.h"
#include "../../core/handler.h"
#include "../../core/log.h"
#include "../../core/loop.h"
#include "../../core/module.h"
#include "../../core/sha256.h"
#include "../../engine/engine.h"
#include "../../engine/internal.h"
#include "../../handlers/handlers.h"
#include "../t.h"
#include "engine_rt.h"
#include "net.h"

static int PORT;

/* what the test handlers saw, read by the main thread */
static atomic_int g_sb_closed, g_sink_err, g_pend_closed, g_pend_gone, g_pend_resumed, g_upgrades,
    g_up_closed, g_up_aborts, g_slot_sets, g_slot_dtors;
static atomic_llong g_produced;

/* ---- small helpers for handlers ---- */

static long long qint(cc_req *r, const char *name, long long dflt)
{
    size_t nl = strlen(name);
    for (const char *p = r->query; p && *p;) {
        if (strncmp(p, name, nl) == 0 && p[nl] == '=')
            return atoll(p + nl + 1);
        p = strchr(p, '&');
        if (p)
            p++;
    }
    return dflt;
}

static int th_prov(cc_handler *h, const cc_cfg *cfg, cc_prov *ctx)
{
    (void)h;
    (void)cfg;
    (void)ctx;
    return CC_OK;
}

static unsigned char pat(int64_t i)
{
    return (unsigned char)((i * 31 + 7) ^ (i >> 11));
}

/* ---- t_loop: timers, defers, watches, slots ---- */

typedef struct tl {
    cc_req *r;
    char log[256];
    size_t nlog;
    cc_loop_timer *t[4];
    int fired;
    int pa[2], pb[2];
    cc_loop_io *ia, *ib, *ic;
    int io_calls, dup_calls;
} tl;

static int slot_key = -1;
static pthread_once_t slot_once = PTHREAD_ONCE_INIT;
static void make_key(void)
{
    slot_key = cc_loop_slot_key();
}
static void slot_dtor(void *v)
{
    free(v);
    atomic_fetch_add(&g_slot_dtors, 1);
}

static void tl_note(tl *x, const char *s)
{
    size_t n = strlen(s);
    if (x->nlog + n + 1 < sizeof(x->log)) {
        memcpy(x->log + x->nlog, s, n);
        x->nlog += n;
        x->log[x->nlog] = 0;
    }
}

static void tl_finish(tl *x)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%s|io=%d|dup=%d", x->log, x->io_calls, x->dup_calls);
    for (int i = 0; i < 4; i++)
        cc_loop_timer_free(x->t[i]);
    cc_loop_io_del(x->ic);
    close(x->pa[0]);
    close(x->pa[1]);
    close(x->pb[0]);
    close(x->pb[1]);
    cc_resp_set_text(x->r, 200, "text/plain", buf, strlen(buf));
    cc_req_resume(x->r, CC_OK);
}

static void tl_timer(cc_loop_timer *t, void *ctx)
{
    tl *x = ctx;
    for (int i = 0; i < 4; i++)
        if (x->t[i] == t) {
            char s[3] = {'T', (char)('0' + i), 0};
            tl_note(x, s);
        }
    if (++x->fired == 4)
        tl_finish(x);
}

static void tl_defer2(void *ctx)
{
    tl_note(ctx, "D2");
}

static void tl_defer(void *ctx)
{
    tl_note(ctx, "D1");
    cc_loop_defer(cc_loop_current(), tl_defer2, ctx);
}

/* both pipes are readable in the same batch: whichever callback runs first deletes the
 * other watch, which must then never run */
static void tl_io(cc_loop_io *io, int fd, unsigned ev, void *ctx)
{
    tl *x = ctx;
    char b[8];
    (void)ev;
    (void)read(fd, b, sizeof(b));
    x->io_calls++;
    cc_loop_io_del(x->ia);
    cc_loop_io_del(x->ib);
    x->ia = x->ib = NULL;
    (void)io;
}

static void tl_dup(cc_loop_io *io, int fd, unsigned ev, void *ctx)
{
    tl *x = ctx;
    (void)fd;
    if (ev & CC_LOOP_OUT)
        x->dup_calls++;
    cc_loop_io_mod(io, 0); /* quiet from now on */
}

static int tl_handle(cc_handler *h, cc_req *r, cc_next *next)
{
    (void)h;
    (void)next;
    cc_loop *l = cc_loop_current();
    if (!l)
        return cc_req_fail(r, 500, "no loop");
    pthread_once(&slot_once, make_key);
    if (!cc_loop_slot(l, slot_key)) {
        cc_loop_slot_set(l, slot_key, malloc(8), slot_dtor);
        atomic_fetch_add(&g_slot_sets, 1);
    }
    tl *x = cc_arena_alloc(r->arena, sizeof(*x));
    x->r = r;
    static const uint64_t delays[4] = {30000000, 10000000, 20000000, 0};
    for (int i = 0; i < 4; i++) {
        x->t[i] = cc_loop_timer_new(l, tl_timer, x);
        cc_loop_timer_start(x->t[i], delays[i]);
    }
    /* re-arming moves a timer: T1 now fires last */
    cc_loop_timer_start(x->t[1], 40000000);
    cc_loop_defer(l, tl_defer, x);
    if (pipe(x->pa) != 0 || pipe(x->pb) != 0)
        return cc_req_fail(r, 500, "pipe");
    (void)write(x->pa[1], "a", 1);
    (void)write(x->pb[1], "b", 1);
    x->ia = cc_loop_io_add(l, x->pa[0], CC_LOOP_IN, tl_io, x);
    x->ib = cc_loop_io_add(l, x->pb[0], CC_LOOP_IN, tl_io, x);
    /* a second watch on an fd already watched (pb[1] is not; pa[0] is) */
    x->ic = cc_loop_io_add(l, x->pa[1], CC_LOOP_OUT, tl_dup, x);
    cc_loop_io *again = cc_loop_io_add(l, x->pa[0], CC_LOOP_IN, tl_io, x);
    tl_note(x, again ? "dupok|" : "dupfail|");
    cc_loop_io_del(again);
    return CC_ASYNC;
}

/* ---- t_slow_body: an async response body produced by loop timers ---- */

#define SB_CAP 16384
typedef struct sb {
    cc_body body;
    cc_req *r;
    cc_loop_timer *t;
    unsigned char buf[SB_CAP];
    size_t n, off, chunk;
    int64_t total, produced;
    uint64_t every;
    bool armed, closed;
} sb;

static void sb_tick(cc_loop_timer *t, void *ctx)
{
    sb *s = ctx;
    (void)t;
    s->armed = false;
    if (s->off == s->n)
        s->n = s->off = 0;
    size_t want = s->chunk;
    if ((int64_t)want > s->total - s->produced)
        want = (size_t)(s->total - s->produced);
    if (want > SB_CAP - s->n)
        want = SB_CAP - s->n;
    for (size_t i = 0; i < want; i++)
        s->buf[s->n + i] = pat(s->produced + (int64_t)i);
    s->n += want;
    s->produced += (int64_t)want;
    atomic_fetch_add(&g_produced, (long long)want);
    cc_resp_body_ready(s->r);
}

static ssize_t sb_read(cc_body *b, char *buf, size_t cap)
{
    sb *s = b->ctx;
    if (s->off < s->n) {
        size_t k = s->n - s->off < cap ? s->n - s->off : cap;
        memcpy(buf, s->buf + s->off, k);
        s->off += k;
        return (ssize_t)k;
    }
    if (s->produced >= s->total)
        return 0;
    if (!s->armed) {
        s->armed = true;
        cc_loop_timer_start(s->t, s->every);
    }
    return CC_EAGAIN;
}

static void sb_close(cc_body *b)
{
    sb *s = b->ctx;
    cc_loop_timer_free(s->t);
    s->t = NULL;
    s->closed = true;
    atomic_fetch_add(&g_sb_closed, 1);
}

static int sb_handle(cc_handler *h, cc_req *r, cc_next *next)
{
    (void)h;
    (void)next;
    cc_loop *l = cc_loop_current();
    if (!l)
        return cc_req_fail(r, 500, "no loop");
    sb *s = cc_arena_alloc(r->arena, sizeof(*s));
    s->r = r;
    s->total = qint(r, "total", 5000);
    s->chunk = (size_t)qint(r, "chunk", 1000);
    s->every = (uint64_t)qint(r, "ms", 20) * 1000000u;
    s->t = cc_loop_timer_new(l, sb_tick, s);
    s->body = (cc_body){.fd = -1,
                        .len = qint(r, "cl", 0) ? s->total : -1,
                        .read = sb_read,
                        .async = true,
                        .close = sb_close,
                        .ctx = s};
    r->resp.status = 200;
    cc_headers_set(r->arena, &r->resp.headers, "Content-Type", "application/octet-stream");
    r->resp.body = &s->body;
    return CC_OK;
}

/* ---- t_sink: reads a (streaming) request body slowly, answers its length and hash ---- */

typedef struct sk {
    cc_req *r;
    cc_loop_timer *t;
    cc_sha256_ctx h;
    int64_t n;
    size_t per_tick;
    uint64_t tick;
    bool waiting, done;
} sk;

static void sk_finish(sk *k, int rc)
{
    k->done = true;
    cc_req_body_wait(k->r, NULL, NULL);
    if (rc == CC_OK) {
        unsigned char d[CC_SHA256_LEN];
        char hex[2 * CC_SHA256_LEN + 1];
        cc_sha256_final(&k->h, d);
        cc_hex_encode(d, sizeof(d), hex);
        char *msg = cc_arena_printf(k->r->arena, "len=%lld sha=%s", (long long)k->n, hex);
        cc_resp_set_text(k->r, 200, "text/plain", msg, strlen(msg));
    } else {
        atomic_fetch_add(&g_sink_err, 1);
        rc = cc_req_fail(k->r, 413, "body read failed");
    }
    cc_req_resume(k->r, rc);
}

static void sk_tick(cc_loop_timer *t, void *ctx)
{
    sk *k = ctx;
    (void)t;
    char buf[8192];
    size_t got = 0;
    while (got < k->per_tick) {
        ssize_t n = k->r->body->read(k->r->body, buf, sizeof(buf));
        if (n > 0) {
            cc_sha256_update(&k->h, buf, (size_t)n);
            k->n += n;
            got += (size_t)n;
            continue;
        }
        if (n == CC_EAGAIN) {
            k->waiting = true; /* sk_ready restarts the timer */
            return;
        }
        sk_finish(k, n == 0 ? CC_OK : CC_ERR);
        return;
    }
    cc_loop_timer_start(k->t, k->tick);
}

static void sk_ready(cc_req *r, void *ctx)
{
    sk *k = ctx;
    (void)r;
    if (k->waiting && !k->done) {
        k->waiting = false;
        cc_loop_timer_start(k->t, k->tick);
    }
}

static void sk_cleanup(void *ctx)
{
    sk *k = ctx;
    cc_loop_timer_free(k->t);
}

static int sk_handle(cc_handler *h, cc_req *r, cc_next *next)
{
    (void)h;
    (void)next;
    if (!r->body || r->body->mem) {
        char *msg = cc_arena_printf(r->arena, "mem len=%zu", r->body ? r->body->mem_len : 0);
        cc_resp_set_text(r, 200, "text/plain", msg, strlen(msg));
        return CC_OK;
    }
    cc_loop *l = cc_loop_current();
    if (!l)
        return cc_req_fail(r, 500, "no loop");
    sk *k = cc_arena_alloc(r->arena, sizeof(*k));
    k->r = r;
    cc_sha256_init(&k->h);
    k->per_tick = (size_t)qint(r, "per", 32768);
    k->tick = (uint64_t)qint(r, "us", 1000) * 1000u;
    k->t = cc_loop_timer_new(l, sk_tick, k);
    cc_arena_defer(r->arena, sk_cleanup, k);
    cc_req_body_wait(r, sk_ready, k);
    cc_loop_timer_start(k->t, 0);
    return CC_ASYNC;
}

/* ---- t_pending: answers after a timer; its early response body shows cancellation ---- */

typedef struct pd {
    cc_body body;
    cc_req *r;
    cc_loop_timer *t;
    bool resumed, sent, never, mem;
} pd;

static ssize_t pd_read(cc_body *b, char *buf, size_t cap)
{
    pd *p = b->ctx;
    if (p->sent || cap < 12)
        return 0;
    p->sent = true;
    memcpy(buf, "pending done", 12);
    return 12;
}

static void pd_close(cc_body *b)
{
    (void)b;
    atomic_fetch_add(&g_pend_closed, 1);
}

/* cc_req_on_gone: cancelled while pending; stop the work, then report (unless told not
 * to: the engine frees such an orphan when it stops) */
static void pd_gone(cc_req *r, void *ctx)
{
    pd *p = ctx;
    atomic_fetch_add(&g_pend_gone, 1);
    cc_loop_timer_stop(p->t);
    if (!p->never) {
        p->resumed = true;
        cc_req_resume(r, cc_req_fail(r, 499, "client went away"));
    }
}

static void pd_fire(cc_loop_timer *t, void *ctx)
{
    pd *p = ctx;
    (void)t;
    p->resumed = true;
    atomic_fetch_add(&g_pend_resumed, 1);
    p->r->resp.status = 200;
    if (p->mem) /* a complete memory answer, which the engine may reuse (respcache.c) */
        cc_resp_set_text(p->r, 200, "text/plain", "late answer\n", 12);
    cc_req_resume(p->r, CC_OK);
}

static void pd_cleanup(void *ctx)
{
    pd *p = ctx;
    cc_loop_timer_free(p->t);
}

static int pd_handle(cc_handler *h, cc_req *r, cc_next *next)
{
    (void)h;
    (void)next;
    cc_loop *l = cc_loop_current();
    if (!l)
        return cc_req_fail(r, 500, "no loop");
    pd *p = cc_arena_alloc(r->arena, sizeof(*p));
    p->r = r;
    p->never = qint(r, "never", 0) != 0;
    p->t = cc_loop_timer_new(l, pd_fire, p);
    cc_arena_defer(r->arena, pd_cleanup, p);
    cc_req_on_gone(r, pd_gone, p);
    p->mem = qint(r, "mem", 0) != 0;
    p->body = (cc_body){.fd = -1, .len = 12, .read = pd_read, .close = pd_close, .ctx = p};
    if (!p->mem)
        r->resp.body = &p->body;
    cc_loop_timer_start(p->t, (uint64_t)qint(r, "ms", 50) * 1000000u);
    return CC_ASYNC;
}

/* ---- t_upgrade_echo ---- */

typedef struct ue {
    cc_req *r;
    int fd;
    cc_loop_io *io;
} ue;

static void ue_end(ue *u)
{
    cc_loop_io_del(u->io);
    u->io = NULL;
    atomic_fetch_add(&g_up_closed, 1);
    cc_req_upgrade_close(u->r);
}

static void ue_io(cc_loop_io *io, int fd, unsigned ev, void *ctx)
{
    ue *u = ctx;
    (void)io;
    (void)ev;
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) {
        (void)send(fd, buf, (size_t)n, MSG_NOSIGNAL);
        return;
    }
    if (n < 0 && errno == EAGAIN)
        return;
    ue_end(u);
}

static void ue_up(cc_req *r, int fd, const char *extra, size_t n, void *ctx)
{
    ue *u = ctx;
    (void)r;
    atomic_fetch_add(&g_upgrades, 1);
    u->fd = fd;
    if (n)
        (void)send(fd, extra, n, MSG_NOSIGNAL);
    u->io = cc_loop_io_add(cc_loop_current(), fd, CC_LOOP_IN, ue_io, u);
    if (!u->io)
        ue_end(u);
}

static void ue_abort(cc_req *r, void *ctx)
{
    ue *u = ctx;
    (void)r;
    atomic_fetch_add(&g_up_aborts, 1);
    if (u->io)
        ue_end(u);
}

static void ue_cleanup(void *ctx)
{
    ue *u = ctx;
    cc_loop_io_del(u->io);
}

static int ue_handle(cc_handler *h, cc_req *r, cc_next *next)
{
    (void)h;
    (void)next;
    if (!cc_headers_get(&r->headers, "Upgrade"))
        return cc_req_fail(r, 400, "no upgrade");
    ue *u = cc_arena_alloc(r->arena, sizeof(*u));
    u->r = r;
    cc_arena_defer(r->arena, ue_cleanup, u);
    r->resp.status = 101;
    cc_headers_set(r->arena, &r->resp.headers, "Upgrade", "test-echo");
    cc_headers_set(r->arena, &r->resp.headers, "Connection", "Upgrade");
    r->resp.upgrade = ue_up;
    r->resp.upgrade_abort = ue_abort;
    r->resp.upgrade_ctx = u;
    return CC_OK;
}

static const cc_handler_type ht_loop = {CC_HANDLER_ABI, "t_loop",  sizeof(cc_handler),
                                        th_prov,        tl_handle, NULL};
static const cc_handler_type ht_slow = {CC_HANDLER_ABI, "t_slow_body", sizeof(cc_handler),
                                        th_prov,        sb_handle,     NULL};
static const cc_handler_type ht_sink = {CC_HANDLER_ABI, "t_sink",  sizeof(cc_handler),
                                        th_prov,        sk_handle, NULL};
static const cc_handler_type ht_pend = {CC_HANDLER_ABI, "t_pending", sizeof(cc_handler),
                                        th_prov,        pd_handle,   NULL};
static const cc_handler_type ht_upg = {CC_HANDLER_ABI, "t_upgrade_echo", sizeof(cc_handler),
                                       th_prov,        ue_handle,        NULL};
static const cc_handler_type *types[128];

/* ---- config: a Caddyfile whose `respond "=t_x"` routes become test handlers ---- */

static void retype(cc_arena *a, cc_cfg *v, int depth)
{
    if (!v || depth > 40)
        return;
    if (v->type == CC_CFG_ARR) {
        for (size_t i = 0; i < v->arr.n; i++)
            retype(a, v->arr.v[i], depth + 1);
        return;
    }
    if (v->type != CC_CFG_OBJ)
        return;
    const char *hn = cc_cfg_get_str(v, "handler"), *body = cc_cfg_get_str(v, "body");
    if (hn && body && strcmp(hn, "static_response") == 0 && body[0] == '=') {
        cc_cfg_set_str(a, v, "handler", body + 1);
        cc_cfg_del(v, "body");
    }
    for (size_t i = 0; i < v->obj.n; i++)
        retype(a, v->obj.v[i], depth + 1);
}

static void retype_all(cc_arena *a, cc_cfg *cfg)
{
    retype(a, cfg, 0);
}

static cc_runtime *load(const char *src, cc_err *err)
{
    return t_load_fix(src, err, retype_all);
}

/* ---- client side ---- */

static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)PORT),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    return fd;
}

static bool send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        c += w;
        n -= (size_t)w;
    }
    return true;
}

static bool sends(int fd, const char *s)
{
    return send_all(fd, s, strlen(s));
}

typedef struct buf {
    char *p;
    size_t n, cap;
    bool eof;
    int err; /* errno of the failed recv, 0 after a clean EOF */
} buf;

static void buf_free(buf *b)
{
    free(b->p);
    *b = (buf){0};
}

/* Reads until EOF, timeout or max bytes. */
static void read_to_eof(int fd, buf *b, size_t max)
{
    for (;;) {
        if (b->n + 65536 + 1 > b->cap) {
            b->cap = b->cap ? b->cap * 2 : 1 << 17;
            b->p = realloc(b->p, b->cap);
        }
        if (max && b->n >= max)
            break;
        ssize_t r = recv(fd, b->p + b->n, b->cap - b->n - 1, 0);
        if (r == 0) {
            b->eof = true;
            break;
        }
        if (r < 0) {
            b->err = errno;
            if (errno == ECONNRESET)
                b->eof = true;
            break;
        }
        b->n += (size_t)r;
    }
    if (b->p)
        b->p[b->n] = 0;
}

static size_t count(const char *hay, size_t n, const char *needle)
{
    size_t c = 0, nl = strlen(needle);
    for (size_t i = 0; i + nl <= n; i++)
        if (memcmp(hay + i, needle, nl) == 0)
            c++;
    return c;
}

/* One response parsed out of p[0..n): status, where its body is, decoded into out. */
typedef struct hresp {
    int status;
    const char *head; /* headers text (not NUL-terminated) */
    size_t head_len;
    buf body;
    size_t used; /* bytes of p it took */
    bool chunked, ok;
} hresp;

static bool has_hdr(const hresp *h, const char *line)
{
    size_t n = strlen(line);
    for (size_t i = 0; i + n <= h->head_len; i++)
        if (strncasecmp(h->head + i, line, n) == 0)
            return true;
    return false;
}

static hresp parse(const char *p, size_t n, bool head_req)
{
    hresp h = {0};
    const char *e = memmem(p, n, "\r\n\r\n", 4);
    if (!e || n < 12)
        return h;
    h.status = atoi(p + 9);
    h.head = p;
    h.head_len = (size_t)(e - p) + 2;
    size_t off = (size_t)(e - p) + 4;
    h.chunked = has_hdr(&h, "\r\nTransfer-Encoding: chunked\r\n");
    const char *cl = memmem(p, h.head_len, "\r\nContent-Length: ", 18);
    if (head_req || h.status == 101 || h.status == 204 || h.status == 304) {
        h.used = off;
        h.ok = true;
        return h;
    }
    if (h.chunked) {
        for (;;) {
            const char *le = memmem(p + off, n - off, "\r\n", 2);
            if (!le)
                return h;
            long sz = strtol(p + off, NULL, 16);
            off = (size_t)(le - p) + 2;
            if (sz == 0) {
                if (n - off < 2)
                    return h;
                off += 2;
                break;
            }
            if (n - off < (size_t)sz + 2)
                return h;
            if (h.body.n + (size_t)sz + 1 > h.body.cap) {
                h.body.cap = (h.body.n + (size_t)sz + 1) * 2;
                h.body.p = realloc(h.body.p, h.body.cap);
            }
            memcpy(h.body.p + h.body.n, p + off, (size_t)sz);
            h.body.n += (size_t)sz;
            off += (size_t)sz + 2;
        }
    } else if (cl) {
        size_t len = (size_t)atoll(cl + 18);
        if (n - off < len)
            return h;
        h.body.p = malloc(len + 1);
        memcpy(h.body.p, p + off, len);
        h.body.n = len;
        off += len;
    } else {
        /* close-delimited */
        h.body.p = malloc(n - off + 1);
        memcpy(h.body.p, p + off, n - off);
        h.body.n = n - off;
        off = n;
    }
    if (h.body.p)
        h.body.p[h.body.n] = 0;
    h.used = off;
    h.ok = true;
    return h;
}

static bool body_is_pattern(const buf *b, int64_t total)
{
    if ((int64_t)b->n != total)
        return false;
    for (int64_t i = 0; i < total; i++)
        if ((unsigned char)b->p[i] != pat(i))
            return false;
    return true;
}

static bool wait_for(atomic_int *v, int want, int ms)
{
    for (int i = 0; i < ms / 5; i++) {
        if (atomic_load(v) >= want)
            return true;
        usleep(5000);
    }
    return atomic_load(v) >= want;
}

/* ---- uploads from a second thread, while the main thread reads the answer ---- */

typedef struct upl {
    int fd;
    const char *head;
    int64_t total;
    bool chunked;
    int64_t stop_after; /* close the socket after this many body bytes (-1 = never) */
    size_t piece;
    int64_t sent;
    char sha[2 * CC_SHA256_LEN + 1];
} upl;

static void *upload_main(void *arg)
{
    upl *u = arg;
    cc_sha256_ctx h;
    cc_sha256_init(&h);
    if (!sends(u->fd, u->head))
        return NULL;
    size_t piece = u->piece ? u->piece : 65536;
    char *b = malloc(piece + 32);
    while (u->sent < u->total) {
        size_t k = piece;
        if ((int64_t)k > u->total - u->sent)
            k = (size_t)(u->total - u->sent);
        for (size_t i = 0; i < k; i++)
            b[i] = (char)pat(u->sent + (int64_t)i);
        cc_sha256_update(&h, b, k);
        if (u->chunked) {
            char ln[32];
            snprintf(ln, sizeof(ln), "%zx\r\n", k);
            if (!sends(u->fd, ln))
                break;
        }
        if (!send_all(u->fd, b, k))
            break;
        if (u->chunked && !sends(u->fd, "\r\n"))
            break;
        u->sent += (int64_t)k;
        if (u->stop_after >= 0 && u->sent >= u->stop_after) {
            shutdown(u->fd, SHUT_RDWR);
            break;
        }
    }
    if (u->chunked && u->sent == u->total)
        sends(u->fd, "0\r\n\r\n");
    unsigned char d[CC_SHA256_LEN];
    cc_sha256_final(&h, d);
    cc_hex_encode(d, sizeof(d), u->sha);
    free(b);
    return NULL;
}

/* Uploads on a new connection; returns the bytes answered (to EOF) in out. */
static void upload(const char *path, int64_t total, bool chunked, const char *extra_req, buf *out,
                   upl *u)
{
    char head[512];
    /* without a request after it, the connection closes after the answer */
    const char *conn = extra_req ? "" : "Connection: close\r\n";
    if (chunked)
        snprintf(head, sizeof(head),
                 "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sTransfer-Encoding: chunked\r\n\r\n",
                 path, conn);
    else
        snprintf(head, sizeof(head),
                 "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sContent-Length: %lld\r\n\r\n", path,
                 conn, (long long)total);
    *u = (upl){.fd = dial(), .head = head, .total = total, .chunked = chunked, .stop_after = -1};
    pthread_t th;
    pthread_create(&th, NULL, upload_main, u);
    pthread_join(th, NULL);
    if (extra_req)
        sends(u->fd, extra_req);
    read_to_eof(u->fd, out, 0);
    close(u->fd);
}

/* ---- tests ---- */

static void test_loop(void)
{
    int fd = dial();
    sends(fd, "GET /t/loop HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    buf b = {0};
    read_to_eof(fd, &b, 0);
    close(fd);
    hresp h = parse(b.p ? b.p : "", b.n, false);
    T_INT(h.status, 200);
    /* defers run before timers; a defer queued by a defer runs too; T3 (delay 0) first,
     * then by deadline T2 (20 ms) T0 (30 ms) T1 (re-armed to 40 ms) */
    T_STR(h.body.p, "dupok|D1D2T3T2T0T1|io=1|dup=1");
    buf_free(&h.body);
    buf_free(&b);
}

static void test_resp_bodies(void)
{
    buf b = {0};
    /* unknown length: chunked; pipelined request after it on the same connection */
    int fd = dial();
    sends(fd, "GET /t/slow?total=5000&chunk=1000&ms=10 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
              "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    int closed0 = atomic_load(&g_sb_closed);
    unsigned long waits0 = atomic_load(&eng_stat_body_waits);
    read_to_eof(fd, &b, 0);
    close(fd);
    hresp h = parse(b.p ? b.p : "", b.n, false);
    T_INT(h.status, 200);
    T_OK(h.chunked, "unknown length is chunked");
    T_OK(body_is_pattern(&h.body, 5000), "chunked body intact (%zu bytes)", h.body.n);
    hresp h2 = parse(b.p + h.used, b.n - h.used, false);
    T_INT(h2.status, 200);
    T_STR(h2.body.p, "hello");
    T_OK(atomic_load(&eng_stat_body_waits) > waits0, "the reader waited on the async body");
    T_OK(wait_for(&g_sb_closed, closed0 + 1, 1000), "body closed after the response");
    buf_free(&h.body);
    buf_free(&h2.body);
    buf_free(&b);

    /* known length */
    fd = dial();
    sends(fd, "GET /t/slow?total=70000&chunk=7000&ms=2&cl=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              "Connection: close\r\n\r\n");
    read_to_eof(fd, &b, 0);
    close(fd);
    h = parse(b.p ? b.p : "", b.n, false);
    T_INT(h.status, 200);
    T_OK(has_hdr(&h, "\r\nContent-Length: 70000\r\n"), "length stated");
    T_OK(!h.chunked, "not chunked");
    T_OK(body_is_pattern(&h.body, 70000), "fixed-length body intact");
    buf_free(&h.body);
    buf_free(&b);

    /* HEAD: known length states it, unknown gives no chunked framing; the next request
     * on the connection is intact */
    fd = dial();
    sends(fd, "HEAD /t/slow?total=5000&cl=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
              "HEAD /t/slow?total=5000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
              "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    read_to_eof(fd, &b, 0);
    close(fd);
    h = parse(b.p ? b.p : "", b.n, true);
    T_INT(h.status, 200);
    T_OK(has_hdr(&h, "\r\nContent-Length: 5000\r\n"), "HEAD length");
    h2 = parse(b.p + h.used, b.n - h.used, true);
    T_INT(h2.status, 200);
    T_OK(!h2.chunked, "HEAD of unknown length is not chunked (P5)");
    hresp h3 = parse(b.p + h.used + h2.used, b.n - h.used - h2.used, false);
    T_INT(h3.status, 200);
    T_STR(h3.body.p, "hello");
    T_INT(count(b.p, b.n, "HTTP/1.1 200"), 3);
    buf_free(&h3.body);
    buf_free(&b);

    /* the client leaves while the reader waits on the async body (suspended, P9): seen
     * by the engine's watch, the body is closed long before the next chunk is due */
    closed0 = atomic_load(&g_sb_closed);
    fd = dial();
    sends(fd, "GET /t/slow?total=3000&chunk=1000&ms=3000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    usleep(200000);
    uint64_t t0 = cc_now_mono_ns();
    close(fd);
    T_OK(wait_for(&g_sb_closed, closed0 + 1, 2000), "disconnect during a body wait closes it");
    T_OK(cc_now_mono_ns() - t0 < 1000000000u, "noticed before the next chunk");

    /* slow consumer: 64 MB produced on demand; a client that stops reading stops the
     * producer (the engine reads only what the socket takes) */
    long long p0 = atomic_load(&g_produced);
    closed0 = atomic_load(&g_sb_closed);
    fd = dial();
    int rcv = 65536;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
    sends(fd, "GET /t/slow?total=67108864&chunk=16384&ms=0&cl=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              "Connection: close\r\n\r\n");
    read_to_eof(fd, &b, 1 << 20);
    usleep(300000);
    long long made = atomic_load(&g_produced) - p0;
    T_OK(made < (16 << 20), "producer throttled by the slow client: %lld bytes made", made);
    /* client aborts mid-stream: the body is closed */
    close(fd);
    T_OK(wait_for(&g_sb_closed, closed0 + 1, 2000), "abort closes the async body");
    buf_free(&b);
}

static void test_uploads(void)
{
    buf b = {0};
    upl u;
    /* 10 MB with Content-Length to a slow reader: intact, ring bounded, parked */
    unsigned long parks0 = atomic_load(&eng_stat_parks);
    atomic_store(&eng_stat_ring_max, 0);
    upload("/t/sink?per=65536&us=1000", 10 << 20, false, NULL, &b, &u);
    hresp h = parse(b.p ? b.p : "", b.n, false);
    T_INT(h.status, 200);
    char want[128];
    snprintf(want, sizeof(want), "len=%d sha=%s", 10 << 20, u.sha);
    T_STR(h.body.p, want);
    T_OK(atomic_load(&eng_stat_parks) > parks0, "upload parked (backpressure)");
    T_OK(atomic_load(&eng_stat_ring_max) <= ENG_STREAM_BUF && atomic_load(&eng_stat_ring_max) > 0,
         "ring stays within its size: %zu", (size_t)atomic_load(&eng_stat_ring_max));
    buf_free(&h.body);
    buf_free(&b);

    /* 12 MB chunked, odd piece size; keep-alive after it */
    parks0 = atomic_load(&eng_stat_parks);
    u = (upl){0};
    {
        const char *head =
            "POST /t/sink?per=40000&us=500 HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: "
            "chunked\r\n\r\n";
        u = (upl){.fd = dial(),
                  .head = head,
                  .total = 12 << 20,
                  .chunked = true,
                  .stop_after = -1,
                  .piece = 10007};
        pthread_t th;
        pthread_create(&th, NULL, upload_main, &u);
        pthread_join(th, NULL);
        sends(u.fd, "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        read_to_eof(u.fd, &b, 0);
        close(u.fd);
    }
    h = parse(b.p ? b.p : "", b.n, false);
    T_INT(h.status, 200);
    snprintf(want, sizeof(want), "len=%d sha=%s", 12 << 20, u.sha);
    T_STR(h.body.p, want);
    hresp h2 = parse(b.p + h.used, b.n - h.used, false);
    T_STR(h2.body.p, "hello");
    T_OK(atomic_load(&eng_stat_parks) > parks0, "chunked upload parked");
    buf_free(&h.body);
    buf_free(&h2.body);
    buf_free(&b);

    /* small bodies are still buffered whole */
    int fd = dial();
    sends(fd, "POST /t/sink HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n"
              "Connection: close\r\n\r\n");
    char small[1000];
    memset(small, 'x', sizeof(small));
    send_all(fd, small, sizeof(small));
    read_to_eof(fd, &b, 0);
    close(fd);
    T_OK(b.p && strstr(b.p, "mem len=1000"), "small body buffered: %s", b.p ? b.p : "");
    buf_free(&b);
    /* exactly the buffer size: buffered; one byte more: streamed */
    upload("/t/sink", 65536, false, NULL, &b, &u);
    T_OK(b.p && strstr(b.p, "mem len=65536"), "64 KiB buffered");
    buf_free(&b);
    upload("/t/sink", 65537, true, NULL, &b, &u);
    T_OK(b.p && strstr(b.p, "len=65537 sha="), "64 KiB + 1 chunked streamed: %.80s",
         b.p ? b.p : "");
    buf_free(&b);

    /* not consumed by respond: a short rest is drained, keep-alive holds */
    upload("/ok", 200000, false,
           "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", &b, &u);
    h = parse(b.p ? b.p : "", b.n, false);
    T_INT(h.status, 200);
    T_STR(h.body.p, "ok");
    T_OK(!has_hdr(&h, "\r\nConnection: close"), "drained: keep-alive");
    h2 = parse(b.p + h.used, b.n - h.used, false);
    T_STR(h2.body.p, "hello");
    buf_free(&h.body);
    buf_free(&h2.body);
    buf_free(&b);
    upload("/ok", 1 << 20, true,
           "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", &b, &u);
    T_INT(count(b.p ? b.p : "", b.n, "HTTP/1.1 200"), 2);
    T_OK(b.p && strstr(b.p, "\r\n\r\nok") && strstr(b.p, "hello"), "chunked unread body drained");
    buf_free(&b);
    /* a long unread body: answered at once, Connection: close, and the client still
     * reads the answer (lingering close) */
    upload("/ok", 20 << 20, false,
           "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", &b, &u);
    h = parse(b.p ? b.p : "", b.n, false);
    T_INT(h.status, 200);
    T_STR(h.body.p, "ok");
    T_INT(count(b.p ? b.p : "", b.n, "HTTP/1.1"), 1); /* nothing served after it */
    T_OK(has_hdr(&h, "\r\nConnection: close\r\n"), "long unread body: close");
    T_OK(b.eof && b.err == 0, "closed with a FIN, not a reset (errno %d)", b.err);
    T_OK(u.sent == 20 << 20, "the client could send its whole body: %lld", (long long)u.sent);
    buf_free(&h.body);
    buf_free(&b);

    /* request_body max_size on streaming bodies: by length at once, chunked while read */
    upload("/limited", 2 << 20, false, NULL, &b, &u);
    T_OK(b.p && strncmp(b.p, "HTTP/1.1 413", 12) == 0, "CL over max_size: %.20s", b.p ? b.p : "");
    buf_free(&b);
    int errs0 = atomic_load(&g_sink_err);
    upload("/limited?per=65536&us=200", 2 << 20, true, NULL, &b, &u);
    T_OK(b.p && strncmp(b.p, "HTTP/1.1 413", 12) == 0, "chunked over max_size: %.20s",
         b.p ? b.p : "");
    T_INT(atomic_load(&g_sink_err), errs0 + 1);
    buf_free(&b);
    upload("/limited?per=65536&us=200", 1000000, true, NULL, &b, &u);
    snprintf(want, sizeof(want), "len=1000000 sha=%s", u.sha);
    T_OK(b.p && strstr(b.p, want), "chunked under max_size passes");
    buf_free(&b);

    /* client gone mid-upload: the reader sees CC_ERR, the request completes */
    errs0 = atomic_load(&g_sink_err);
    {
        const char *head = "POST /t/sink?per=16384&us=20000 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "Content-Length: 10485760\r\n\r\n";
        u = (upl){.fd = dial(), .head = head, .total = 10 << 20, .stop_after = 1 << 20};
        pthread_t th;
        pthread_create(&th, NULL, upload_main, &u);
        pthread_join(th, NULL);
        close(u.fd);
    }
    T_OK(wait_for(&g_sink_err, errs0 + 1, 5000), "reader saw the abort");
}

static void test_pending(void)
{
    /* keep-alive and pipelining after an async chain */
    int fd = dial();
    buf b = {0};
    sends(fd, "GET /t/pending?ms=30 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
              "GET /t/pending?ms=10 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
              "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    read_to_eof(fd, &b, 0);
    close(fd);
    T_INT(count(b.p ? b.p : "", b.n, "pending done"), 2);
    T_OK(b.p && strstr(b.p, "hello"), "pipelined after pending");
    buf_free(&b);

    /* answers that wait take the Date of when they leave, also when the engine reuses
     * one response for them: four at once, 1.3 s each, so at least one reuses */
    time_t t_start = time(NULL);
    int late[4];
    for (int i = 0; i < 4; i++) {
        late[i] = dial();
        sends(late[i], "GET /t/pending?ms=1300&mem=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       "Connection: close\r\n\r\n");
    }
    int dated = 0;
    for (int i = 0; i < 4; i++) {
        buf lb = {0};
        read_to_eof(late[i], &lb, 0);
        close(late[i]);
        const char *d = lb.p ? strstr(lb.p, "\r\nDate: ") : NULL;
        char v[64];
        time_t t;
        dated += d && sscanf(d + 8, "%63[^\r]", v) == 1 && cc_http_parse_date(v, &t) &&
                 t >= t_start + 1 && strstr(lb.p, "\r\n\r\nlate answer\n");
        buf_free(&lb);
    }
    T_INT(dated, 4);

    /* the client leaves while pending: cancelled (its body closed) at once */
    int closed0 = atomic_load(&g_pend_closed), res0 = atomic_load(&g_pend_resumed),
        gone0 = atomic_load(&g_pend_gone);
    fd = dial();
    sends(fd, "GET /t/pending?ms=3000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    usleep(100000);
    uint64_t t0 = cc_now_mono_ns();
    close(fd);
    T_OK(wait_for(&g_pend_gone, gone0 + 1, 1500), "disconnect while pending: cc_req_on_gone");
    T_OK(wait_for(&g_pend_closed, closed0 + 1, 1500), "disconnect while pending closes the body");
    T_OK(cc_now_mono_ns() - t0 < 1000000000u, "cancelled promptly");
    /* a half-close counts as leaving, as Go's background read sees EOF */
    fd = dial();
    sends(fd, "GET /t/pending?ms=2000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    usleep(50000);
    shutdown(fd, SHUT_WR);
    t0 = cc_now_mono_ns();
    read_to_eof(fd, &b, 0);
    close(fd);
    T_OK(b.eof && b.n == 0, "half-closed client: closed without an answer");
    T_OK(cc_now_mono_ns() - t0 < 1000000000u, "half-close noticed promptly");
    T_OK(wait_for(&g_pend_gone, gone0 + 2, 1500), "half-close cancels");
    buf_free(&b);
    /* one that never reports after cancel is freed at stop (ASan checks) */
    fd = dial();
    sends(fd, "GET /t/pending?ms=3000&never=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    usleep(100000);
    close(fd);
    T_OK(wait_for(&g_pend_gone, gone0 + 3, 1500), "never-reporting handler cancelled");
    usleep(50000);
    T_INT(atomic_load(&g_pend_resumed), res0); /* none of the three ran to its end */
}

static void test_upgrade(void)
{
    int fd = dial();
    sends(fd, "GET /t/upgrade HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n"
              "Upgrade: test-echo\r\n\r\nearly");
    char buf2[4096];
    size_t n = 0;
    while (n < sizeof(buf2) - 1) {
        ssize_t r = recv(fd, buf2 + n, sizeof(buf2) - 1 - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
        buf2[n] = 0;
        if (strstr(buf2, "\r\n\r\nearly"))
            break;
    }
    buf2[n] = 0;
    T_OK(strncmp(buf2, "HTTP/1.1 101", 12) == 0, "101: %.40s", buf2);
    T_INT(count(buf2, n, "Upgrade"), 2); /* Connection: Upgrade once, Upgrade: test-echo */
    T_OK(strstr(buf2, "\r\nConnection: Upgrade\r\n") != NULL, "one Connection: Upgrade");
    T_OK(strstr(buf2, "\r\nUpgrade: test-echo\r\n") != NULL, "Upgrade header");
    T_OK(strstr(buf2, "\r\n\r\nearly") != NULL, "early bytes echoed first");
    sends(fd, "ping-pong");
    n = (size_t)recv(fd, buf2, sizeof(buf2) - 1, 0);
    buf2[n < sizeof(buf2) ? n : 0] = 0;
    T_STR(buf2, "ping-pong");
    /* after the upgrade the head scanner and its read-header deadline (1 s here) are off:
     * bytes that look like a request head, then silence, do not end the stream */
    sends(fd, "GET /x HTTP/1.1\r\n\r\nGET /y");
    n = (size_t)recv(fd, buf2, sizeof(buf2) - 1, 0);
    buf2[n < sizeof(buf2) ? n : 0] = 0;
    T_STR(buf2, "GET /x HTTP/1.1\r\n\r\nGET /y");
    usleep(1500000);
    sends(fd, "still");
    n = (size_t)recv(fd, buf2, sizeof(buf2) - 1, 0);
    buf2[n < sizeof(buf2) ? n : 0] = 0;
    T_STR(buf2, "still");
    int closed0 = atomic_load(&g_up_closed);
    shutdown(fd, SHUT_WR);
    T_OK(wait_for(&g_up_closed, closed0 + 1, 2000), "client EOF ends the stream");
    T_OK(recv(fd, buf2, sizeof(buf2), 0) == 0, "stream closed by the server");
    close(fd);
    /* the connection's request completed: a new one works */
    fd = dial();
    sends(fd, "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    buf b = {0};
    read_to_eof(fd, &b, 0);
    close(fd);
    T_OK(b.p && strstr(b.p, "hello"), "served after an upgrade");
    buf_free(&b);
}

/* Runs one group of tests, noting its duration (CCTEST_TIMES=1 prints them). */
static void t_step(const char *name, void (*fn)(void))
{
    uint64_t t0 = cc_now_mono_ns();
    fn();
    if (getenv("CCTEST_TIMES"))
        fprintf(stderr, "%s: %.2f s\n", name, (double)(cc_now_mono_ns() - t0) / 1e9);
}

static const char *CONF = "{\n\tadmin off\n\tservers {\n\t\ttimeouts {\n\t\t\tread_header 1s\n"
                          "\t\t}\n\t}\n}\nhttp://127.0.0.1:%d {\n\tbind 127.0.0.1\n"
                          "\trespond /hello \"hello\"\n\trespond /ok \"ok\"\n"
                          "\trespond /t/loop \"=t_loop\"\n\trespond /t/slow \"=t_slow_body\"\n"
                          "\trespond /t/sink \"=t_sink\"\n\trespond /t/pending \"=t_pending\"\n"
                          "\trespond /t/upgrade \"=t_upgrade_echo\"\n"
                          "\troute /limited {\n\t\trequest_body {\n\t\t\tmax_size 1MB\n\t\t}\n"
                          "\t\trespond \"=t_sink\"\n\t}\n}\n";

int main(void)
{
    size_t nt = 0;
    while (cc_handler_types[nt] && nt < 120) {
        types[nt] = cc_handler_types[nt];
        nt++;
    }
    types[nt++] = &ht_loop;
    types[nt++] = &ht_slow;
    types[nt++] = &ht_sink;
    types[nt++] = &ht_pend;
    types[nt++] = &ht_upg;
    types[nt] = NULL;
    cc_modules_set(cc_handler_modules);
    cc_handler_types_set(types);
    cc_log_set_level(CC_LOG_WARN);
    PORT = t_free_port();
    char src[2048];
    snprintf(src, sizeof(src), CONF, PORT);
    cc_err err = {0};
    cc_runtime *rt = load(src, &err);
    T_OK(rt != NULL, "load: %s", err.msg);
    if (!rt)
        return t_done();
    cc_engine *e = cc_engine_start(rt, &(cc_engine_opts){.workers = 2}, &err);
    cc_runtime_unref(rt);
    T_OK(e != NULL, "start: %s", err.msg);
    if (!e)
        return t_done();
    t_step("test_loop", test_loop);
    t_step("test_resp_bodies", test_resp_bodies);
    t_step("test_uploads", test_uploads);
    t_step("test_pending", test_pending);
    t_step("test_upgrade", test_upgrade);

    /* stop with an upgraded stream and a suspended request in flight: no hang */
    int up = dial();
    sends(up, "GET /t/upgrade HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n"
              "Upgrade: test-echo\r\n\r\n");
    char tmp[1024];
    T_OK(recv(up, tmp, sizeof(tmp), 0) > 0, "upgraded before stop");
    int pend = dial();
    sends(pend, "GET /t/pending?ms=20000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    int sink = dial();
    sends(sink, "POST /t/sink HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10000000\r\n\r\n");
    usleep(150000);
    int aborts0 = atomic_load(&g_up_aborts), pgone0 = atomic_load(&g_pend_gone);
    uint64_t t0 = cc_now_mono_ns();
    cc_engine_stop(e, 300000000);
    uint64_t dt = cc_now_mono_ns() - t0;
    T_OK(dt < 2000000000u, "stop ended with its grace period: %.2fs", (double)dt / 1e9);
    T_INT(atomic_load(&g_up_aborts), aborts0 + 1);
    T_INT(atomic_load(&g_pend_gone), pgone0 + 1); /* the pending request was told */
    T_OK(recv(up, tmp, sizeof(tmp), 0) <= 0, "upgraded stream closed");
    T_OK(recv(pend, tmp, sizeof(tmp), 0) <= 0, "pending connection closed");
    close(up);
    close(pend);
    close(sink);
    T_OK(atomic_load(&g_slot_sets) >= 1, "slot set");
    T_INT(atomic_load(&g_slot_dtors), atomic_load(&g_slot_sets));
    return t_done();
}
