/* SPDX-License-Identifier: Apache-2.0
 * Streaming request bodies. A body that fits ENG_STREAM_BUF is buffered whole before the
 * handlers run; a longer one (Content-Length beyond it, or chunked data that outgrows it)
 * runs the handlers at once with r->body reading from a ring of that size. When the ring
 * is full the connection is suspended ("parked"), so MHD stops reading and TCP pushes
 * back on the client; a read that frees space resumes it. While parked, MHD may call the
 * access handler again for chunked uploads (P2): nothing is consumed then. Once the chain
 * is done with the body (it answered, or closed the body), the rest is read and dropped,
 * because MHD only lets a response out after the whole request is in (engine-notes 3.3). */
#include <string.h>

#include "internal.h"
#include "tls_hooks.h"

_Atomic size_t eng_stat_ring_max;
atomic_ulong eng_stat_parks, eng_stat_body_waits;

/* Resume a parked upload once this much of the ring is free, not on every small read. */
#define RESUME_FREE (ENG_STREAM_BUF / 4)

static bool parked(const eng_req *q)
{
    return q->suspended && q->susp_why == ENG_SUSP_PARK;
}

static ssize_t rs_read(cc_body *b, char *buf, size_t cap)
{
    eng_req *q = b->ctx;
    if (q->rs_closed)
        return CC_ERR;
    if (q->rlen > 0) {
        size_t n = q->rlen < cap ? q->rlen : cap;
        size_t first = ENG_STREAM_BUF - q->rhead;
        if (first > n)
            first = n;
        memcpy(buf, q->ring + q->rhead, first);
        if (n > first)
            memcpy(buf + first, q->ring, n - first);
        q->rhead = (q->rhead + n) % ENG_STREAM_BUF;
        q->rlen -= n;
        if (q->rlen == 0)
            q->rhead = 0;
        if (parked(q) && ENG_STREAM_BUF - q->rlen >= RESUME_FREE)
            eng_resume(q);
        return (ssize_t)n;
    }
    if (q->up_err || q->client_gone)
        return CC_ERR;
    if (q->up_done)
        return 0;
    q->rs_waiting = true;
    return CC_EAGAIN;
}

static void rs_close(cc_body *b)
{
    eng_req *q = b->ctx;
    if (!q->rs_closed)
        eng_body_abandon(q);
}

void eng_body_abandon(eng_req *q)
{
    q->rs_closed = true;
    q->rs_waiting = false;
    q->rlen = 0;
    q->rhead = 0;
    if (parked(q))
        eng_resume(q); /* the rest is read and dropped */
}

bool eng_body_stream_at_head(eng_req *q)
{
    return !q->fr.chunked && q->fr.content_length > (int64_t)ENG_STREAM_BUF;
}

static void start_stream(eng_req *q)
{
    q->streaming = true;
    if (!q->ring) {
        q->ring = cc_arena_alloc(q->arena, ENG_STREAM_BUF);
        q->rhead = 0;
        q->rlen = 0;
    }
    q->rs_body = (cc_body){.fd = -1,
                           .len = q->fr.chunked ? -1 : q->fr.content_length,
                           .read = rs_read,
                           .async = true,
                           .close = rs_close,
                           .ctx = q};
    q->req.body = &q->rs_body;
}

void eng_run_chain(eng_req *q, struct MHD_Connection *mc)
{
    (void)mc;
    start_stream(q);
    q->req.engine_done = NULL;
    if (!eng_answer_early(q)) /* ACME http-01, strict SNI (tls_early.c) */
        cc_server_handle(q->srv, &q->req);
    if (q->req.pending) {
        eng_async_suspend(q); /* installs the completion hook; no suspension yet */
        return;
    }
    /* answered without (all of) the body: the response waits for the end of it */
    q->async_ready = true;
    if (!q->up_done)
        eng_body_abandon(q);
}

/* Buffers bytes of a body that may still fit; false when it outgrew the buffer. */
static bool buffer_small(eng_req *q, const char *data, size_t n)
{
    if (q->body_n + (int64_t)n > (int64_t)ENG_STREAM_BUF)
        return false;
    if (q->body_n + (int64_t)n > q->body_cap) {
        int64_t cap = q->body_cap ? q->body_cap * 2 : 16384;
        while (cap < q->body_n + (int64_t)n)
            cap *= 2;
        if (cap > (int64_t)ENG_STREAM_BUF)
            cap = (int64_t)ENG_STREAM_BUF;
        char *nb = cc_arena_alloc(q->arena, (size_t)cap);
        if (q->body_n)
            memcpy(nb, q->body, (size_t)q->body_n);
        q->body = nb;
        q->body_cap = cap;
    }
    memcpy(q->body + q->body_n, data, n);
    q->body_n += (int64_t)n;
    return true;
}

enum MHD_Result eng_body_data(eng_req *q, struct MHD_Connection *mc, const char *method,
                              const char *data, size_t *size)
{
    size_t n = *size;
    if (!q->streaming) {
        if (buffer_small(q, data, n)) {
            *size = 0;
            q->body_seen += (int64_t)n;
            return MHD_YES;
        }
        /* a chunked body outgrew the buffer: what it holds starts the ring */
        q->ring = cc_arena_alloc(q->arena, ENG_STREAM_BUF);
        if (q->body_n)
            memcpy(q->ring, q->body, (size_t)q->body_n);
        q->rhead = 0;
        q->rlen = (size_t)q->body_n;
        eng_req_build(q, mc, method);
        eng_run_chain(q, mc);
    }
    if (parked(q))
        return MHD_YES; /* re-entered while suspended (P2): take nothing */
    if (q->rs_closed) {
        *size = 0;
        q->body_seen += (int64_t)n;
        return MHD_YES;
    }
    size_t room = ENG_STREAM_BUF - q->rlen, take = n < room ? n : room;
    if (take) {
        size_t tail = (q->rhead + q->rlen) % ENG_STREAM_BUF;
        size_t first = ENG_STREAM_BUF - tail;
        if (first > take)
            first = take;
        memcpy(q->ring + tail, data, first);
        if (take > first)
            memcpy(q->ring, data + first, take - first);
        q->rlen += take;
        q->body_seen += (int64_t)take;
        size_t mx = atomic_load(&eng_stat_ring_max);
        while (q->rlen > mx && !atomic_compare_exchange_weak(&eng_stat_ring_max, &mx, q->rlen))
            ;
        eng_notify(q);
    }
    *size = n - take;
    if (*size > 0) {
        /* full: stop reading from the client until the consumer makes room (P3: a
         * partial take without suspending would stall) */
        atomic_fetch_add(&eng_stat_parks, 1);
        eng_suspend(q, ENG_SUSP_PARK);
    }
    return MHD_YES;
}

void eng_body_end(eng_req *q)
{
    if (q->up_done)
        return;
    q->up_done = true;
    eng_notify(q);
}
