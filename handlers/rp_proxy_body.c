/* SPDX-License-Identifier: Apache-2.0
 * reverse_proxy's bodies. Upstream: the client's body is pulled by curl's read callback,
 * first from a replayable prefix (a small body the engine already holds, or what
 * request_buffers collected), then from the engine's stream, pausing curl while the
 * client has sent nothing new. Downstream: the upstream's body goes into a bounded ring
 * that the engine drains through an async cc_body, pausing curl while it is full; a body
 * already complete when the response is handed over goes out from memory in one send. */
#include <stdlib.h>
#include <string.h>

#include "rp_proxy.h"

/* ---- the response ring ---- */

/* Makes the ring hold at least need bytes, keeping its contents in order. */
static void ring_grow(px_req *p, size_t need)
{
    px_ring *g = &p->ring;
    size_t cap = g->cap ? g->cap : PX_RING_SIZE;
    while (cap < need)
        cap *= 2;
    char *np = cc_xmalloc(cap);
    size_t first = g->n < g->cap - g->rd ? g->n : g->cap - g->rd;
    if (g->n) {
        memcpy(np, g->p + g->rd, first);
        memcpy(np + first, g->p, g->n - first);
    }
    px_ring old = *g;
    old.n = 0;
    px_ring_release(p->pl, &old);
    g->p = np;
    g->cap = cap;
    g->rd = 0;
    g->pooled = false;
}

bool px_ring_put(px_req *p, const char *d, size_t n)
{
    px_ring *g = &p->ring;
    if (!g->p) {
        /* a body known to be small gets a small ring (it leaves from memory) */
        const char *cl = cc_headers_get(&p->rh, "Content-Length");
        char *end = NULL;
        long long v = cl ? strtoll(cl, &end, 10) : -1;
        bool small = cl && end && !*end && v >= 0 && (size_t)v <= PX_RING_SIZE;
        size_t cap = small ? PX_RING_SIZE : PX_RING_BIG;
        int64_t rb = p->h->response_buffers;
        if (rb > 0 && (uint64_t)rb + (uint64_t)PX_CHUNK > cap)
            cap = (size_t)rb + (size_t)PX_CHUNK;
        if (!px_ring_alloc(p->pl, g, cap))
            return false;
    }
    if (g->cap - g->n < n) {
        /* response_buffers unlimited collects the whole body before the head goes out;
         * a single chunk larger than the ring (a big read_buffer) must fit as well */
        bool collect = !p->body_given && p->h->response_buffers < 0;
        if (collect || n > g->cap)
            ring_grow(p, g->n + n);
        else
            return false;
    }
    size_t w = (g->rd + g->n) % g->cap;
    size_t first = n < g->cap - w ? n : g->cap - w;
    memcpy(g->p + w, d, first);
    memcpy(g->p, d + first, n - first);
    g->n += n;
    return true;
}

static size_t ring_take(px_ring *g, char *buf, size_t cap)
{
    size_t k = cap < g->n ? cap : g->n;
    if (!k)
        return 0;
    size_t first = k < g->cap - g->rd ? k : g->cap - g->rd;
    memcpy(buf, g->p + g->rd, first);
    memcpy(buf + first, g->p, k - first);
    g->rd = (g->rd + k) % g->cap;
    g->n -= k;
    if (g->n == 0)
        g->rd = 0;
    return k;
}

/* ---- the response body the engine reads ---- */

static ssize_t body_read(cc_body *b, char *buf, size_t cap)
{
    px_req *p = b->ctx;
    size_t k = ring_take(&p->ring, buf, cap);
    if (p->write_paused && px_ring_roomy(&p->ring)) {
        p->a_unpause = true;
        px_attn(p);
    }
    if (k)
        return (ssize_t)k;
    if (p->xfer_done)
        return p->xfer_ok ? 0 : CC_ERR;
    if (!p->x)
        return CC_ERR;
    p->want_notify = true;
    return CC_EAGAIN;
}

static void body_close(cc_body *b)
{
    px_req *p = b->ctx;
    b->ctx = NULL;
    if (!p)
        return;
    p->body_given = false;
    px_ring_release(p->pl, &p->ring);
    if (!p->xfer_done && p->x) {
        /* the client is gone before the end: cancel the upstream exchange */
        px_xfer_release(p);
        p->xfer_done = true;
        p->xfer_ok = false;
    }
    px_vars_end(p);
    p->st = PX_DONE;
}

cc_body *px_resp_body(px_req *p)
{
    cc_body *b = cc_arena_alloc(p->r->arena, sizeof(*b));
    b->fd = -1;
    b->ctx = p;
    b->close = body_close;
    p->body_given = true;
    px_ring *g = &p->ring;
    if (p->xfer_done && p->xfer_ok && g->rd + g->n <= g->cap) {
        /* complete: header and body leave in one send (P6) */
        b->mem = g->p ? g->p + g->rd : "";
        b->mem_len = g->n;
        b->len = (int64_t)g->n;
        return b;
    }
    b->read = body_read;
    b->async = true;
    b->len = p->resp_cl;
    return b;
}

/* ---- the request body sent upstream ---- */

static void on_body_more(cc_req *r, void *ctx)
{
    px_req *p = ctx;
    cc_req_body_wait(r, NULL, NULL);
    if (p->gone)
        return;
    if (p->st == PX_BUFFERING)
        p->a_buffer = true;
    else
        p->a_unpause = true;
    px_attn(p);
}

ssize_t px_body_pull(px_req *p, char *buf, size_t cap)
{
    if (p->pre_off < p->pre_len) {
        size_t k = p->pre_len - p->pre_off < cap ? p->pre_len - p->pre_off : cap;
        memcpy(buf, p->pre + p->pre_off, k);
        p->pre_off += k;
        return (ssize_t)k;
    }
    if (!p->stream)
        return 0;
    cc_body *b = p->r->body;
    ssize_t k = b && b->read ? b->read(b, buf, cap) : 0;
    if (k > 0) {
        p->streamed += k;
        return k;
    }
    if (k == CC_EAGAIN) {
        cc_req_body_wait(p->r, on_body_more, p);
        return CC_EAGAIN;
    }
    return k < 0 ? CC_ERR : 0;
}

int px_buffer_request(px_req *p)
{
    int64_t lim = p->h->request_buffers;
    cc_body *b = p->r->body;
    for (;;) {
        if (lim >= 0 && (int64_t)p->pre_len >= lim) {
            /* the rest streams after the prefix: not replayable, length as received */
            p->stream = true;
            return CC_OK;
        }
        size_t want = 65536;
        if (lim >= 0 && (int64_t)(p->pre_len + want) > lim)
            want = (size_t)(lim - (int64_t)p->pre_len);
        if (p->pre_cap - p->pre_len < want) {
            size_t nc = p->pre_cap ? p->pre_cap * 2 : 65536;
            while (nc - p->pre_len < want)
                nc *= 2;
            p->pre_heap = cc_xrealloc(p->pre_heap, nc);
            p->pre_cap = nc;
        }
        ssize_t k = b->read(b, p->pre_heap + p->pre_len, want);
        p->pre = p->pre_heap;
        if (k > 0) {
            p->pre_len += (size_t)k;
            continue;
        }
        if (k == 0) {
            /* all of it: replayable, and sent with its length (as Caddy sets it) */
            p->stream = false;
            p->body_len = (int64_t)p->pre_len;
            return CC_OK;
        }
        if (k == CC_EAGAIN) {
            cc_req_body_wait(p->r, on_body_more, p);
            return CC_ASYNC;
        }
        return CC_ERR;
    }
}
