/* SPDX-License-Identifier: Apache-2.0
 * Compressed response bodies. A small complete body is compressed in one go into the
 * request arena (the engine then sends head and body at once); anything else is wrapped
 * in a streaming body that pulls the inner body (memory, a file range by pread, or
 * another stream) through one fixed-size buffer, so a response of any size needs the
 * same memory. Streaming inner bodies are flushed after every chunk: their next chunk
 * may be slow to come (a proxied event stream) and the client must not wait for it; an
 * async inner body's CC_EAGAIN is passed on once what it gave so far is handed over. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "encode_priv.h"

#define IN_BUF (32u << 10)
#define MEM_CHUNK (64u << 10)

typedef enum { SRC_MEM, SRC_FD, SRC_STREAM } src_kind;

typedef struct zbody {
    cc_body body;
    cc_body *inner;
    cc_enc_stream *st;
    src_kind src;
    const char *prefix;
    size_t prefix_n;
    int64_t pos, remaining; /* mem and fd sources */
    unsigned char *buf;     /* fd and stream sources */
    const unsigned char *in;
    size_t in_n;
    bool eof, finished, closed;
    /* the last step stopped with output still to come (the caller's buffer was full):
     * the same operation must be repeated on the same input before new input is pulled
     * (brotli fails a flush whose input changes mid-way) */
    bool pending;
} zbody;

void cc_enc_body_release(cc_body *b)
{
    if (!b)
        return;
    if (b->close)
        b->close(b);
    else if (b->fd >= 0)
        close(b->fd);
    b->close = NULL;
    b->fd = -1;
}

/* Next input chunk into z->in; 0 at the end, CC_ERR on failure. */
static ssize_t pull(zbody *z)
{
    if (z->prefix_n) {
        z->in = (const unsigned char *)z->prefix;
        z->in_n = z->prefix_n;
        z->prefix_n = 0;
        return (ssize_t)z->in_n;
    }
    cc_body *b = z->inner;
    ssize_t n;
    switch (z->src) {
    case SRC_MEM:
        n = z->remaining > MEM_CHUNK ? (ssize_t)MEM_CHUNK : (ssize_t)z->remaining;
        z->in = (const unsigned char *)b->mem + z->pos;
        break;
    case SRC_FD: {
        size_t want = z->remaining > IN_BUF ? IN_BUF : (size_t)z->remaining;
        if (want == 0)
            return 0;
        do
            n = pread(b->fd, z->buf, want, (off_t)(b->off + z->pos));
        while (n < 0 && errno == EINTR);
        if (n < 0)
            return CC_ERR;
        z->in = z->buf;
        break;
    }
    default:
        n = b->read ? b->read(b, (char *)z->buf, IN_BUF) : 0;
        if (n == CC_EAGAIN)
            return CC_EAGAIN; /* an async source (a proxied stream) has nothing yet */
        if (n < 0)
            return CC_ERR;
        z->in = z->buf;
        break;
    }
    z->pos += n;
    z->remaining -= n;
    z->in_n = (size_t)n;
    return n;
}

static ssize_t zbody_read(cc_body *b, char *buf, size_t cap)
{
    zbody *z = b->ctx;
    if (z->finished || cap == 0)
        return 0;
    if (!z->st)
        return CC_ERR;
    unsigned char *out = (unsigned char *)buf;
    size_t out_n = cap;
    for (;;) {
        if (z->in_n == 0 && !z->eof && !z->pending) {
            ssize_t n = pull(z);
            if (n == CC_EAGAIN) {
                /* everything pulled so far was flushed: hand it over, or wait */
                if (out_n < cap)
                    break;
                return CC_EAGAIN;
            }
            if (n < 0)
                return CC_ERR;
            z->eof = n == 0;
        }
        cc_enc_op op = z->eof                 ? CC_ENC_OP_FINISH
                       : z->src == SRC_STREAM ? CC_ENC_OP_FLUSH
                                              : CC_ENC_OP_PROCESS;
        int rc = cc_enc_stream_step(z->st, op, &z->in, &z->in_n, &out, &out_n);
        if (rc < 0)
            return CC_ERR;
        z->pending = rc == 0;
        if (rc == 0)
            break; /* the caller's buffer is full */
        if (op == CC_ENC_OP_FINISH) {
            z->finished = true;
            cc_enc_stream_free(z->st); /* the trailer is out: no need to wait for close */
            z->st = NULL;
            break;
        }
        if (op == CC_ENC_OP_FLUSH && out_n < cap)
            break; /* hand over what this chunk gave before waiting for the next */
    }
    size_t got = cap - out_n;
    if (got == 0 && !z->finished)
        return CC_ERR; /* no progress: never let it look like the end of the body */
    return (ssize_t)got;
}

static void zbody_close(cc_body *b)
{
    zbody *z = b->ctx;
    if (z->closed)
        return;
    z->closed = true;
    cc_enc_stream_free(z->st);
    z->st = NULL;
    cc_enc_body_release(z->inner);
}

cc_body *cc_enc_body_wrap(cc_arena *a, const cc_enc_cfg *c, cc_body *inner, const char *prefix,
                          size_t prefix_n)
{
    cc_enc_stream *st = cc_enc_stream_new(c);
    if (!st)
        return NULL;
    zbody *z = cc_arena_alloc(a, sizeof(*z));
    z->inner = inner;
    z->st = st;
    z->prefix = prefix;
    z->prefix_n = prefix_n;
    if (inner->mem) {
        z->src = SRC_MEM;
        z->remaining = (int64_t)inner->mem_len;
    } else if (inner->fd >= 0) {
        z->src = SRC_FD;
        z->remaining = inner->len;
    } else {
        z->src = SRC_STREAM;
    }
    if (z->src != SRC_MEM)
        z->buf = cc_arena_alloc(a, IN_BUF);
    z->body.fd = -1;
    z->body.len = -1;
    z->body.async = inner->async;
    z->body.read = zbody_read;
    z->body.close = zbody_close;
    z->body.ctx = z;
    return &z->body;
}

cc_body *cc_enc_body_oneshot(cc_arena *a, const cc_enc_cfg *c, const char *p, size_t n)
{
    cc_enc_stream *st = cc_enc_stream_new(c);
    if (!st)
        return NULL;
    /* generous for every codec's worst case (stored blocks plus framing) */
    size_t bound = n + n / 16 + 1024;
    unsigned char *out = cc_arena_alloc(a, bound), *o = out;
    const unsigned char *in = (const unsigned char *)p;
    size_t in_n = n, out_n = bound;
    int rc = cc_enc_stream_step(st, CC_ENC_OP_FINISH, &in, &in_n, &o, &out_n);
    cc_enc_stream_free(st);
    if (rc != 1)
        return NULL;
    return cc_body_mem(a, (const char *)out, bound - out_n);
}

typedef struct replay {
    cc_body body;
    cc_body *inner;
    const char *p;
    size_t n;
    bool closed;
} replay;

static ssize_t replay_read(cc_body *b, char *buf, size_t cap)
{
    replay *rp = b->ctx;
    if (rp->n) {
        size_t k = rp->n < cap ? rp->n : cap;
        memcpy(buf, rp->p, k);
        rp->p += k;
        rp->n -= k;
        return (ssize_t)k;
    }
    return rp->inner->read ? rp->inner->read(rp->inner, buf, cap) : 0;
}

static void replay_close(cc_body *b)
{
    replay *rp = b->ctx;
    if (rp->closed)
        return;
    rp->closed = true;
    cc_enc_body_release(rp->inner);
}

cc_body *cc_enc_body_replay(cc_arena *a, cc_body *inner, const char *prefix, size_t prefix_n)
{
    replay *rp = cc_arena_alloc(a, sizeof(*rp));
    rp->inner = inner;
    rp->p = prefix;
    rp->n = prefix_n;
    rp->body.fd = -1;
    rp->body.len = -1;
    rp->body.async = inner->async; /* the inner source's CC_EAGAIN passes through */
    rp->body.read = replay_read;
    rp->body.close = replay_close;
    rp->body.ctx = rp;
    return &rp->body;
}
