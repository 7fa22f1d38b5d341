/* SPDX-License-Identifier: Apache-2.0
 * reverse_proxy's raw upgrade path, second half: after the engine has sent the 101, the
 * client and upstream sockets are spliced on the worker loop with one bounded buffer per
 * direction (a side is not read while its peer's buffer is full, so a slow reader slows
 * the writer down through TCP), half-closes passed on, stream_timeout,
 * stream_close_delay when the engine asks a stream to end, and the per-loop registry
 * that closes what is left when the worker exits. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../core/rand.h"
#include "rp_ws_priv.h"

static atomic_int active;

int cc_rp_ws_active(void)
{
    return atomic_load(&active);
}

/* ---- per-loop registry ---- */

static int slot_key = -1;
static pthread_once_t slot_once = PTHREAD_ONCE_INIT;

static void make_key(void)
{
    slot_key = cc_loop_slot_key();
}

static void graceful_close(ws_stream *s);

/* Worker exit: whatever is still open is closed (streams get their Close frames). */
static void slot_dtor(void *v)
{
    ws_slot *sl = v;
    while (sl->head) {
        ws_stream *s = sl->head;
        if (s->state == WS_SPLICE)
            graceful_close(s);
        else
            cc_rp_ws_free(s);
    }
    cc_rp_ws_tls_cache_free(sl->tls);
    free(sl);
}

void cc_rp_ws_register(ws_stream *s)
{
    pthread_once(&slot_once, make_key);
    ws_slot *sl = cc_loop_slot(s->loop, slot_key);
    if (!sl) {
        sl = cc_xcalloc(1, sizeof(*sl));
        sl->loop = s->loop;
        cc_loop_slot_set(s->loop, slot_key, sl, slot_dtor);
    }
    s->slot = sl;
    s->prev = NULL;
    s->next = sl->head;
    if (sl->head)
        sl->head->prev = s;
    sl->head = s;
}

void cc_rp_ws_cancel(cc_req *r)
{
    cc_loop *l = cc_loop_current();
    ws_slot *sl = l && slot_key >= 0 ? cc_loop_slot(l, slot_key) : NULL;
    for (ws_stream *s = sl ? sl->head : NULL; s; s = s->next) {
        if (s->r != r || s->state == WS_WAIT_UP || s->state == WS_SPLICE)
            continue;
        s->done = NULL;
        cc_rp_ws_free(s);
        return;
    }
}

void cc_rp_ws_unregister(ws_stream *s)
{
    ws_slot *sl = s->slot;
    if (!sl)
        return;
    if (s->prev)
        s->prev->next = s->next;
    else
        sl->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->slot = NULL;
    s->prev = s->next = NULL;
}

/* ---- the splice ---- */

static size_t pending(const ws_buf *b)
{
    return b->end - b->start;
}

static size_t room(ws_buf *b)
{
    if (b->start == b->end)
        b->start = b->end = 0;
    if (b->end == b->cap && b->start) {
        memmove(b->p, b->p + b->start, b->end - b->start);
        b->end -= b->start;
        b->start = 0;
    }
    return b->cap - b->end;
}

void cc_rp_ws_splice_end(ws_stream *s)
{
    cc_req *r = s->r;
    if (s->counted) {
        atomic_fetch_sub(&active, 1);
        s->counted = false;
    }
    /* the request's arena goes away inside cc_req_upgrade_close: unhook first */
    if (s->link)
        s->link->s = NULL;
    s->link = NULL;
    s->r = NULL;
    cc_rp_ws_free(s);
    if (r)
        cc_req_upgrade_close(r);
}

/* RFC 6455 Close frame, status 1001 (going away); masked when we are the client
 * (towards the upstream). Best effort, only between whole messages as far as we can
 * tell (nothing of ours pending towards that side), as Caddy's writeCloseControl. */
static void send_close_frame(ws_stream *s, bool masked)
{
    unsigned char f[8] = {0x88, 0x02, 0x03, 0xe9};
    size_t n = 4;
    if (masked) {
        unsigned char key[4];
        cc_rand_bytes(key, sizeof(key));
        f[1] = 0x82;
        memcpy(f + 2, key, 4);
        f[6] = (unsigned char)(0x03 ^ key[0]);
        f[7] = (unsigned char)(0xe9 ^ key[1]);
        n = 8;
    }
    ssize_t w = masked ? cc_rp_ws_up_send(s, (const char *)f, n)
                       : send(s->cfd, f, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)w;
}

static void graceful_close(ws_stream *s)
{
    if (s->websocket) {
        if (s->cfd >= 0 && !s->c_shut && !pending(&s->u2c))
            send_close_frame(s, false);
        if (s->ufd >= 0 && !s->u_shut && !pending(&s->c2u))
            send_close_frame(s, true);
    }
    cc_rp_ws_splice_end(s);
}

/* Reads into b from the client (up false) or the upstream: bytes read (an EOF counts
 * as progress), -1 on a hard error. */
static ssize_t fill(ws_stream *s, bool up, ws_buf *b, bool *eof)
{
    size_t n0 = room(b);
    if (!n0 || *eof)
        return 0;
    ssize_t n = up ? cc_rp_ws_up_recv(s, b->p + b->end, n0) : recv(s->cfd, b->p + b->end, n0, 0);
    if (n > 0) {
        b->end += (size_t)n;
        return n;
    }
    if (n == 0) {
        *eof = true;
        return 1;
    }
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
}

/* Writes what b holds: bytes written, -1 on a hard error. */
static ssize_t drain(ws_stream *s, bool up, ws_buf *b)
{
    ssize_t moved = 0;
    while (pending(b)) {
        ssize_t n = up ? cc_rp_ws_up_send(s, b->p + b->start, pending(b))
                       : send(s->cfd, b->p + b->start, pending(b), MSG_NOSIGNAL);
        if (n > 0) {
            b->start += (size_t)n;
            moved += n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? moved : -1;
    }
    b->start = b->end = 0;
    return moved;
}

static void on_kick(cc_loop_timer *t, void *ctx);

/* Moves bytes both ways. False when the stream ended (s is gone). A plain stream makes
 * one pass per wake-up (the sockets signal whatever is left); over TLS, wolfSSL may
 * hold records the socket no longer signals, so passes repeat while bytes move, and a
 * bounded number of them leaves the rest to the next loop turn. */
static bool pump(ws_stream *s, bool client_err, bool upstream_err)
{
    for (int pass = 0;; pass++) {
        ssize_t a = fill(s, false, &s->c2u, &s->c_eof), b = 0, c = 0, d = 0;
        if (a >= 0)
            b = fill(s, true, &s->u2c, &s->u_eof);
        if (a >= 0 && b >= 0)
            c = drain(s, true, &s->c2u);
        if (a >= 0 && b >= 0 && c >= 0)
            d = drain(s, false, &s->u2c);
        if (a < 0 || b < 0 || c < 0 || d < 0 || (s->tls && cc_rp_ws_up_flush(s) < 0)) {
            cc_rp_ws_splice_end(s);
            return false;
        }
        if (!s->tls || a + b + c + d == 0)
            break;
        if (pass == 8) {
            /* the sockets signal everything else */
            if (cc_rp_ws_up_buffered(s) && room(&s->u2c)) {
                if (!s->kick)
                    s->kick = cc_loop_timer_new(s->loop, on_kick, s);
                if (s->kick)
                    cc_loop_timer_start(s->kick, 0);
            }
            break;
        }
    }
    /* a finished direction passes its half-close on */
    if (s->c_eof && !pending(&s->c2u) && !s->u_shut) {
        if (cc_rp_ws_up_shutdown(s) < 0 && s->tls) {
            cc_rp_ws_splice_end(s);
            return false;
        }
        s->u_shut = true;
    }
    if (s->u_eof && !pending(&s->u2c) && !s->c_shut) {
        shutdown(s->cfd, SHUT_WR);
        s->c_shut = true;
    }
    if (s->u_shut && s->c_shut) {
        cc_rp_ws_splice_end(s);
        return false;
    }
    /* a hang-up while we can still write to that side: the peer is gone both ways
     * (a half-close alone never hangs up), so nothing more can be delivered */
    if ((client_err && !s->c_shut && s->c_eof) || (upstream_err && !s->u_shut && s->u_eof)) {
        cc_rp_ws_splice_end(s);
        return false;
    }
    unsigned ce = 0, ue = 0;
    if (!s->c_eof && room(&s->c2u))
        ce |= CC_LOOP_IN;
    if (pending(&s->u2c))
        ce |= CC_LOOP_OUT;
    ue = cc_rp_ws_up_events(s, !s->u_eof && room(&s->u2c), pending(&s->c2u) > 0);
    /* a side we neither read nor write any more is unwatched, so that its hang-up
     * cannot spin the loop */
    if (s->c_eof && s->c_shut && s->cio) {
        cc_loop_io_del(s->cio);
        s->cio = NULL;
    }
    if (s->u_eof && s->u_shut && s->uio && !(ue & CC_LOOP_OUT)) {
        cc_loop_io_del(s->uio);
        s->uio = NULL;
    }
    if (s->cio)
        cc_loop_io_mod(s->cio, ce);
    if (s->uio)
        cc_loop_io_mod(s->uio, ue);
    return true;
}

static void on_client(cc_loop_io *io, int fd, unsigned events, void *ctx)
{
    (void)io;
    (void)fd;
    pump(ctx, (events & CC_LOOP_ERR) != 0, false);
}

static void on_upstream_splice(cc_loop_io *io, int fd, unsigned events, void *ctx)
{
    (void)io;
    (void)fd;
    pump(ctx, false, (events & CC_LOOP_ERR) != 0);
}

static void on_kick(cc_loop_timer *t, void *ctx)
{
    (void)t;
    ws_stream *s = ctx;
    if (s->state == WS_SPLICE)
        pump(s, false, false);
}

static void on_stream_timer(cc_loop_timer *t, void *ctx)
{
    (void)t;
    ws_stream *s = ctx;
    if (s->state != WS_SPLICE)
        return;
    if (s->closing)
        graceful_close(s); /* stream_close_delay after the engine asked us to end */
    else
        cc_rp_ws_splice_end(s); /* stream_timeout: Caddy just closes both connections */
}

void cc_rp_ws_on_upgrade(cc_req *r, int fd, const char *extra, size_t n, void *ctx)
{
    ws_stream *s = ctx;
    if (!s || s->state != WS_WAIT_UP || s->r != r) {
        cc_req_upgrade_close(r);
        return;
    }
    s->cfd = fd;
    s->state = WS_SPLICE;
    atomic_fetch_add(&active, 1);
    s->counted = true;
    size_t cap = s->bufsize > n ? s->bufsize : n;
    s->c2u.p = cc_xmalloc(cap);
    s->c2u.cap = cap;
    if (n) {
        memcpy(s->c2u.p, extra, n);
        s->c2u.end = n;
    }
    if (s->u2c.cap < s->bufsize) {
        s->u2c.p = cc_xrealloc(s->u2c.p, s->bufsize);
        s->u2c.cap = s->bufsize;
    }
    /* the timer's callback changes from the dial timeout to the stream lifetime */
    cc_loop_timer_free(s->timer);
    s->timer = NULL;
    if (s->stream_timeout) {
        s->timer = cc_loop_timer_new(s->loop, on_stream_timer, s);
        if (s->timer)
            cc_loop_timer_start(s->timer, s->stream_timeout);
    }
    cc_loop_io_del(s->uio);
    s->uio = cc_loop_io_add(s->loop, s->ufd, 0, on_upstream_splice, s);
    s->cio = cc_loop_io_add(s->loop, fd, 0, on_client, s);
    if (!s->uio || !s->cio) {
        cc_rp_ws_splice_end(s);
        return;
    }
    pump(s, false, false);
}

void cc_rp_ws_on_upgrade_abort(cc_req *r, void *ctx)
{
    (void)r;
    ws_stream *s = ctx;
    if (!s)
        return;
    if (s->state == WS_SPLICE) {
        /* the engine is stopping or dropping the listener: end the stream as a config
         * unload would, after stream_close_delay */
        if (s->close_delay && !s->closing) {
            s->closing = true;
            if (!s->timer)
                s->timer = cc_loop_timer_new(s->loop, on_stream_timer, s);
            if (s->timer) {
                cc_loop_timer_start(s->timer, s->close_delay);
                return;
            }
        }
        graceful_close(s);
        return;
    }
    if (s->state != WS_WAIT_UP)
        return;
    if (s->link)
        s->link->s = NULL;
    s->link = NULL;
    s->r = NULL;
    cc_rp_ws_free(s);
}
