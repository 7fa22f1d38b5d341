/* SPDX-License-Identifier: Apache-2.0
 * reverse_proxy's libcurl multi handles, driven by the worker's event loop (engine-notes
 * 3.4): curl's sockets become loop watches and its timer a one-shot loop timer, so an
 * upstream exchange never blocks and never leaves its worker thread. Each handler gets
 * its own multi per worker (its own connection pool and limits, as each Caddy handler has
 * its own http.Transport); easy handles and response rings are pooled per worker so a
 * proxied request costs no setup malloc of ours. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "rp_proxy.h"

typedef struct px_sock {
    cc_loop_io *io;
    px_multi *pm;
    struct px_sock *prev, *next;
} px_sock;

static int slot_key = -1;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void make_key(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    slot_key = cc_loop_slot_key();
}

void px_key_unref(px_key *k)
{
    if (k && atomic_fetch_sub(&k->refs, 1) == 1)
        free(k);
}

/* ---- curl's sockets and timer on the loop ---- */

static void multi_after(px_multi *pm)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(pm->m, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        px_x *x = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        if (!x || !x->p)
            continue;
        px_req *p = x->p;
        p->res = msg->data.result;
        p->xfer_done = true;
        p->a_done = true;
        px_attn(p);
    }
    px_attn_flush(pm->pl);
}

static void on_io(cc_loop_io *io, int fd, unsigned events, void *ctx)
{
    (void)io;
    px_multi *pm = ctx;
    int flags = 0, running = 0;
    if (events & CC_LOOP_IN)
        flags |= CURL_CSELECT_IN;
    if (events & CC_LOOP_OUT)
        flags |= CURL_CSELECT_OUT;
    if (events & CC_LOOP_ERR)
        flags |= CURL_CSELECT_ERR;
    curl_multi_socket_action(pm->m, fd, flags, &running);
    multi_after(pm);
}

static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)e;
    px_multi *pm = userp;
    px_sock *sk = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (sk) {
            cc_loop_io_del(sk->io);
            if (sk->prev)
                sk->prev->next = sk->next;
            else
                pm->socks = sk->next;
            if (sk->next)
                sk->next->prev = sk->prev;
            free(sk);
            curl_multi_assign(pm->m, s, NULL);
        }
        return 0;
    }
    unsigned ev = 0;
    if (what & CURL_POLL_IN)
        ev |= CC_LOOP_IN;
    if (what & CURL_POLL_OUT)
        ev |= CC_LOOP_OUT;
    if (sk) {
        cc_loop_io_mod(sk->io, ev);
        return 0;
    }
    sk = calloc(1, sizeof(*sk));
    if (!sk)
        return -1;
    sk->pm = pm;
    sk->io = cc_loop_io_add(pm->pl->loop, s, ev, on_io, pm);
    if (!sk->io) {
        free(sk);
        return -1;
    }
    sk->next = pm->socks;
    if (sk->next)
        sk->next->prev = sk;
    pm->socks = sk;
    curl_multi_assign(pm->m, s, sk);
    return 0;
}

static void on_timer(cc_loop_timer *t, void *ctx)
{
    (void)t;
    px_multi *pm = ctx;
    int running = 0;
    /* the loop timer is one-shot: it is disarmed now, so a new timeout curl asks for
     * inside socket_action arms it afresh (engine-notes 3.4) */
    curl_multi_socket_action(pm->m, CURL_SOCKET_TIMEOUT, 0, &running);
    multi_after(pm);
}

static int on_curl_timer(CURLM *m, long timeout_ms, void *userp)
{
    (void)m;
    px_multi *pm = userp;
    if (timeout_ms < 0)
        cc_loop_timer_stop(pm->timer);
    else
        cc_loop_timer_start(pm->timer, (uint64_t)timeout_ms * 1000000u);
    return 0;
}

/* ---- multis: one per handler per worker, swept when the handler is gone ---- */

static void multi_free(px_multi *pm)
{
    curl_multi_cleanup(pm->m);
    /* curl reports closed sockets as it goes; anything left is dropped here */
    while (pm->socks) {
        px_sock *sk = pm->socks;
        pm->socks = sk->next;
        cc_loop_io_del(sk->io);
        free(sk);
    }
    cc_loop_timer_free(pm->timer);
    px_key_unref(pm->key);
    free(pm);
}

static void sweep(px_loop *pl)
{
    for (px_multi **pp = &pl->multis; *pp;) {
        px_multi *pm = *pp;
        if (pm->active == 0 && atomic_load(&pm->key->dead)) {
            *pp = pm->next;
            multi_free(pm);
            continue;
        }
        pp = &pm->next;
    }
}

#define SWEEP_NS (5ull * 1000000000ull)

static void on_sweep(cc_loop_timer *t, void *ctx)
{
    px_loop *pl = ctx;
    sweep(pl);
    if (pl->multis)
        cc_loop_timer_start(t, SWEEP_NS);
}

px_multi *px_multi_get(px_loop *pl, px_key *key)
{
    px_multi *found = NULL;
    for (px_multi **pp = &pl->multis; *pp;) {
        px_multi *pm = *pp;
        if (pm->key == key) {
            found = pm;
        } else if (pm->active == 0 && atomic_load(&pm->key->dead)) {
            *pp = pm->next;
            multi_free(pm);
            continue;
        }
        pp = &pm->next;
    }
    if (found)
        return found;
    px_multi *pm = calloc(1, sizeof(*pm));
    if (!pm)
        return NULL;
    pm->pl = pl;
    pm->m = curl_multi_init();
    pm->timer = cc_loop_timer_new(pl->loop, on_timer, pm);
    if (!pm->m || !pm->timer) {
        if (pm->m)
            curl_multi_cleanup(pm->m);
        cc_loop_timer_free(pm->timer);
        free(pm);
        return NULL;
    }
    atomic_fetch_add(&key->refs, 1);
    pm->key = key;
    curl_multi_setopt(pm->m, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(pm->m, CURLMOPT_SOCKETDATA, pm);
    curl_multi_setopt(pm->m, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(pm->m, CURLMOPT_TIMERDATA, pm);
    curl_multi_setopt(pm->m, CURLMOPT_MAXCONNECTS, key->max_idle);
    if (key->max_host_conns > 0)
        curl_multi_setopt(pm->m, CURLMOPT_MAX_HOST_CONNECTIONS, key->max_host_conns);
    /* HTTP/2 upstreams (versions 2 / h2c) share a connection between requests */
    curl_multi_setopt(pm->m, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    pm->next = pl->multis;
    pl->multis = pm;
    if (!pl->sweep)
        pl->sweep = cc_loop_timer_new(pl->loop, on_sweep, pl);
    if (pl->sweep)
        cc_loop_timer_start(pl->sweep, SWEEP_NS);
    return pm;
}

/* ---- the per-worker state ---- */

static void loop_free(void *v)
{
    px_loop *pl = v;
    while (pl->multis) {
        px_multi *pm = pl->multis;
        pl->multis = pm->next;
        multi_free(pm);
    }
    while (pl->free_x) {
        px_x *x = pl->free_x;
        pl->free_x = x->next_free;
        curl_easy_cleanup(x->easy);
        cc_loop_timer_free(x->deadline);
        free(x);
    }
    for (int i = 0; i < pl->nfree_rings; i++)
        free(pl->free_rings[i]);
    for (int i = 0; i < pl->nfree_big; i++)
        free(pl->free_big[i]);
    cc_loop_timer_free(pl->sweep);
    free(pl);
}

px_loop *px_loop_get(void)
{
    cc_loop *l = cc_loop_current();
    if (!l)
        return NULL;
    pthread_once(&key_once, make_key);
    if (slot_key < 0)
        return NULL;
    px_loop *pl = cc_loop_slot(l, slot_key);
    if (pl)
        return pl;
    pl = calloc(1, sizeof(*pl));
    if (!pl)
        return NULL;
    pl->loop = l;
    cc_loop_slot_set(l, slot_key, pl, loop_free);
    return pl;
}

/* ---- pooled easy handles ---- */

static void on_deadline(cc_loop_timer *t, void *ctx);

px_x *px_x_get(px_loop *pl)
{
    px_x *x = pl->free_x;
    if (x) {
        pl->free_x = x->next_free;
        pl->nfree_x--;
        x->next_free = NULL;
        curl_easy_reset(x->easy);
        return x;
    }
    x = calloc(1, sizeof(*x));
    if (!x)
        return NULL;
    x->easy = curl_easy_init();
    x->deadline = cc_loop_timer_new(pl->loop, on_deadline, x);
    if (!x->easy || !x->deadline) {
        if (x->easy)
            curl_easy_cleanup(x->easy);
        cc_loop_timer_free(x->deadline);
        free(x);
        return NULL;
    }
    return x;
}

void px_x_put(px_loop *pl, px_x *x)
{
    if (!x)
        return;
    cc_loop_timer_stop(x->deadline);
    x->p = NULL;
    if (pl->nfree_x >= PX_SPARE_XFERS) {
        curl_easy_cleanup(x->easy);
        cc_loop_timer_free(x->deadline);
        free(x);
        return;
    }
    x->next_free = pl->free_x;
    pl->free_x = x;
    pl->nfree_x++;
}

int px_x_start(px_multi *pm, px_x *x)
{
    if (curl_multi_add_handle(pm->m, x->easy) != CURLM_OK)
        return CC_ERR;
    x->pm = pm;
    pm->active++;
    return CC_OK;
}

void px_x_stop(px_x *x)
{
    if (!x || !x->pm)
        return;
    curl_multi_remove_handle(x->pm->m, x->easy);
    x->pm->active--;
    x->pm = NULL;
    cc_loop_timer_stop(x->deadline);
}

/* The deadline timer belongs to the pooled handle, so it can never outlive it; it
 * only fires while the handle serves an exchange. */
static void on_deadline(cc_loop_timer *t, void *ctx)
{
    (void)t;
    px_x *x = ctx;
    if (!x->p)
        return;
    px_req *p = x->p;
    const px_tr *tr = &p->h->tr;
    uint64_t now = cc_loop_now(p->pl->loop);
    uint64_t next = UINT64_MAX;
    bool expired = false;
#define CHECK(cond, since, limit)                                                                  \
    do {                                                                                           \
        if ((cond) && (limit) > 0) {                                                               \
            uint64_t at_ = (since) + (uint64_t)(limit);                                            \
            if (at_ <= now)                                                                        \
                expired = true;                                                                    \
            else if (at_ < next)                                                                   \
                next = at_;                                                                        \
        }                                                                                          \
    } while (0)
    /* response_header_timeout counts from the end of the request */
    CHECK(!p->head_done && p->sent_at, p->sent_at, tr->hdr_ns);
    /* read_timeout: the upstream owes us bytes (not while we hold it back) */
    CHECK((p->sent_at || p->head_done) && !p->write_paused,
          p->last_rx > p->sent_at ? p->last_rx : p->sent_at, tr->read_ns);
    /* write_timeout: we owe the upstream bytes (not while the client holds us back) */
    CHECK(p->has_body && !p->req_eof && !p->read_paused, p->last_tx, tr->write_ns);
#undef CHECK
    if (expired) {
        p->timed_out = true;
        p->res = CURLE_OPERATION_TIMEDOUT;
        p->xfer_done = true;
        px_x_stop(x);
        p->a_done = true;
        px_attn(p);
        return;
    }
    /* nothing to wait for right now (paused, or the head not sent yet): look again
     * within the shortest limit */
    uint64_t poll = UINT64_MAX;
    if (tr->hdr_ns > 0)
        poll = (uint64_t)tr->hdr_ns;
    if (tr->read_ns > 0 && (uint64_t)tr->read_ns < poll)
        poll = (uint64_t)tr->read_ns;
    if (tr->write_ns > 0 && (uint64_t)tr->write_ns < poll)
        poll = (uint64_t)tr->write_ns;
    if (next != UINT64_MAX)
        cc_loop_timer_start(t, next - now);
    else if (poll != UINT64_MAX)
        cc_loop_timer_start(t, poll);
}

/* ---- work outside curl's callbacks ---- */

static void flush_deferred(void *ctx)
{
    px_loop *pl = ctx;
    pl->flush_queued = false;
    px_attn_flush(pl);
}

void px_attn(px_req *p)
{
    px_loop *pl = p->pl;
    if (p->in_attn || p->gone)
        return;
    p->in_attn = true;
    p->attn_next = NULL;
    if (pl->attn_tail)
        pl->attn_tail->attn_next = p;
    else
        pl->attn_head = p;
    pl->attn_tail = p;
    if (!pl->flush_queued) {
        pl->flush_queued = true;
        cc_loop_defer(pl->loop, flush_deferred, pl);
    }
}

void px_attn_drop(px_req *p)
{
    if (!p->in_attn)
        return;
    px_loop *pl = p->pl;
    px_req *prev = NULL;
    for (px_req *q = pl->attn_head; q; prev = q, q = q->attn_next) {
        if (q != p)
            continue;
        if (prev)
            prev->attn_next = q->attn_next;
        else
            pl->attn_head = q->attn_next;
        if (pl->attn_tail == q)
            pl->attn_tail = prev;
        break;
    }
    p->in_attn = false;
    p->attn_next = NULL;
}

void px_attn_flush(px_loop *pl)
{
    while (pl->attn_head) {
        px_req *p = pl->attn_head;
        pl->attn_head = p->attn_next;
        if (!pl->attn_head)
            pl->attn_tail = NULL;
        p->in_attn = false;
        p->attn_next = NULL;
        px_attend(p);
    }
}

/* ---- response rings ---- */

bool px_ring_alloc(px_loop *pl, px_ring *g, size_t cap)
{
    *g = (px_ring){0};
    if (cap <= PX_RING_SIZE) {
        cap = PX_RING_SIZE;
        g->pooled = true;
        g->p = pl->nfree_rings ? pl->free_rings[--pl->nfree_rings] : malloc(cap);
    } else if (cap <= PX_RING_BIG) {
        cap = PX_RING_BIG;
        g->pooled = true;
        g->p = pl->nfree_big ? pl->free_big[--pl->nfree_big] : malloc(cap);
    } else {
        g->p = malloc(cap);
    }
    if (!g->p)
        return false;
    g->cap = cap;
    return true;
}

void px_ring_release(px_loop *pl, px_ring *g)
{
    if (!g->p)
        return;
    if (g->pooled && g->cap == PX_RING_SIZE && pl->nfree_rings < PX_SPARE_RINGS)
        pl->free_rings[pl->nfree_rings++] = g->p;
    else if (g->pooled && g->cap == PX_RING_BIG && pl->nfree_big < PX_SPARE_RINGS)
        pl->free_big[pl->nfree_big++] = g->p;
    else
        free(g->p);
    *g = (px_ring){0};
}

bool px_ring_roomy(const px_ring *g)
{
    return g->cap - g->n >= g->cap / 2;
}
