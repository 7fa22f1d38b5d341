/* SPDX-License-Identifier: Apache-2.0
 * The worker event loop handlers see (core/loop.h): fd watches registered on the
 * worker's own epoll set, one-shot timers in a min-heap whose earliest deadline bounds
 * the worker's epoll_wait, deferred calls run between callbacks, and per-loop slots
 * whose destructors run when the worker exits. The worker (worker.c) drives it: it
 * dispatches the epoll events tagged ENG_EP_IO here, then runs defers and timers. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "internal.h"

#define MAX_SLOTS 16

struct cc_loop_io {
    eng_ep ep; /* first: epoll data.ptr points here */
    cc_loop *l;
    int fd;         /* the caller's fd, passed to the callback */
    int efd;        /* the fd registered in epoll: fd, or a dup when fd was already there */
    uint32_t want;  /* epoll events asked for (0 = not registered) */
    uint32_t extra; /* engine-only events (EPOLLRDHUP) */
    bool in_epoll;
    bool dead;
    cc_loop_io_fn fn;
    void *ctx;
    struct cc_loop_io *prev, *next; /* live list, or the dead list once deleted */
};

struct cc_loop_timer {
    cc_loop *l;
    cc_loop_timer_fn fn;
    void *ctx;
    uint64_t at, seq;
    size_t idx; /* position in the heap, SIZE_MAX when not armed */
    struct cc_loop_timer *prev, *next;
};

typedef struct dcall {
    void (*fn)(void *ctx);
    void *ctx;
} dcall;

struct cc_loop {
    int epfd;
    uint64_t now;
    int batch; /* > 0 while epoll events are being dispatched */
    cc_loop_io *ios, *dead;
    cc_loop_timer *timers;
    cc_loop_timer **heap;
    size_t nheap, capheap;
    uint64_t seq, turn_seq;
    dcall *dq;
    size_t ndq, capdq;
    void *slot[MAX_SLOTS];
    void (*dtor[MAX_SLOTS])(void *);
    bool closing;
};

static _Thread_local cc_loop *cur;
static atomic_int nkeys;

cc_loop *cc_loop_current(void)
{
    return cur;
}

uint64_t cc_loop_now(cc_loop *l)
{
    return l->now;
}

/* ---- lifecycle (worker.c) ---- */

cc_loop *eng_loop_new(int epfd)
{
    cc_loop *l = cc_xcalloc(1, sizeof(*l));
    l->epfd = epfd;
    l->now = cc_now_mono_ns();
    return l;
}

void eng_loop_enter(cc_loop *l)
{
    cur = l;
}

void eng_loop_set_now(cc_loop *l, uint64_t now)
{
    l->now = now;
    /* timers armed from here on (even with delay 0) belong to the next turn */
    l->turn_seq = l->seq;
}

static void free_dead(cc_loop *l)
{
    while (l->dead) {
        cc_loop_io *io = l->dead;
        l->dead = io->next;
        free(io);
    }
}

void eng_loop_free_slots(cc_loop *l)
{
    if (!l)
        return;
    cc_loop *saved = cur;
    cur = l;
    /* what the slots hold (a curl multi handle, pools) may still own watches, timers
     * and defers: run their destructors first, newest key first, on a live loop */
    for (int k = MAX_SLOTS - 1; k >= 0; k--) {
        void *v = l->slot[k];
        void (*d)(void *) = l->dtor[k];
        l->slot[k] = NULL;
        l->dtor[k] = NULL;
        if (v && d)
            d(v);
    }
    for (int i = 0; i < 64 && eng_loop_run_defers(l); i++)
        ;
    cur = saved;
}

void eng_loop_free(cc_loop *l)
{
    if (!l)
        return;
    eng_loop_free_slots(l);
    cc_loop *saved = cur;
    cur = l;
    eng_loop_run_defers(l);
    l->closing = true;
    /* handles their owners never released: nobody can use them any more */
    while (l->ios) {
        cc_loop_io *io = l->ios;
        l->ios = io->next;
        if (io->in_epoll)
            (void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->efd, NULL);
        if (io->efd != io->fd)
            close(io->efd);
        free(io);
    }
    free_dead(l);
    while (l->timers) {
        cc_loop_timer *t = l->timers;
        l->timers = t->next;
        free(t);
    }
    free(l->heap);
    free(l->dq);
    free(l);
    cur = saved == l ? NULL : saved;
}

/* ---- fd watches ---- */

static uint32_t to_epoll(unsigned ev)
{
    return ((ev & CC_LOOP_IN) ? EPOLLIN : 0u) | ((ev & CC_LOOP_OUT) ? EPOLLOUT : 0u);
}

/* Brings the epoll registration in line with io->want | io->extra. A watch asking for
 * nothing is kept out of epoll, so EPOLLHUP/EPOLLERR (always reported) cannot spin a
 * level-triggered loop on a quiet watch. */
static int sync_epoll(cc_loop_io *io)
{
    uint32_t evs = io->want | io->extra;
    if (!evs) {
        if (io->in_epoll)
            (void)epoll_ctl(io->l->epfd, EPOLL_CTL_DEL, io->efd, NULL);
        io->in_epoll = false;
        return 0;
    }
    struct epoll_event e = {.events = evs, .data.ptr = io};
    if (io->in_epoll)
        return epoll_ctl(io->l->epfd, EPOLL_CTL_MOD, io->efd, &e);
    if (epoll_ctl(io->l->epfd, EPOLL_CTL_ADD, io->efd, &e) != 0) {
        if (errno != EEXIST || io->efd != io->fd)
            return -1;
        /* the fd is already in this epoll set (another watch on the same socket): a
         * duplicate descriptor is a distinct registration for the same file */
        int d = fcntl(io->fd, F_DUPFD_CLOEXEC, 0);
        if (d < 0)
            return -1;
        if (epoll_ctl(io->l->epfd, EPOLL_CTL_ADD, d, &e) != 0) {
            int e2 = errno;
            close(d);
            errno = e2;
            return -1;
        }
        io->efd = d;
    }
    io->in_epoll = true;
    return 0;
}

cc_loop_io *eng_loop_io_add_ev(cc_loop *l, int fd, unsigned events, uint32_t extra,
                               cc_loop_io_fn fn, void *ctx)
{
    if (!l || fd < 0 || !fn || l->closing) {
        errno = EINVAL;
        return NULL;
    }
    cc_loop_io *io = cc_xcalloc(1, sizeof(*io));
    io->ep.kind = ENG_EP_IO;
    io->l = l;
    io->fd = fd;
    io->efd = fd;
    io->want = to_epoll(events);
    io->extra = extra;
    io->fn = fn;
    io->ctx = ctx;
    if (sync_epoll(io) != 0) {
        int e = errno;
        free(io);
        errno = e;
        return NULL;
    }
    io->next = l->ios;
    if (l->ios)
        l->ios->prev = io;
    l->ios = io;
    return io;
}

cc_loop_io *cc_loop_io_add(cc_loop *l, int fd, unsigned events, cc_loop_io_fn fn, void *ctx)
{
    return eng_loop_io_add_ev(l, fd, events, 0, fn, ctx);
}

int cc_loop_io_mod(cc_loop_io *io, unsigned events)
{
    if (!io || io->dead) {
        errno = EINVAL;
        return -1;
    }
    uint32_t want = to_epoll(events);
    if (want == io->want)
        return 0;
    uint32_t old = io->want;
    io->want = want;
    if (sync_epoll(io) != 0) {
        io->want = old;
        return -1;
    }
    return 0;
}

void cc_loop_io_del(cc_loop_io *io)
{
    if (!io || io->dead)
        return;
    cc_loop *l = io->l;
    if (io->in_epoll)
        (void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->efd, NULL);
    io->in_epoll = false;
    if (io->efd != io->fd)
        close(io->efd);
    io->efd = -1;
    io->dead = true;
    if (io->prev)
        io->prev->next = io->next;
    else
        l->ios = io->next;
    if (io->next)
        io->next->prev = io->prev;
    io->prev = NULL;
    if (l->batch > 0) {
        /* later events of this batch may still point at io: free it after the batch */
        io->next = l->dead;
        l->dead = io;
    } else {
        free(io);
    }
}

void eng_loop_batch(cc_loop *l, bool begin)
{
    if (begin) {
        l->batch++;
        return;
    }
    if (--l->batch == 0)
        free_dead(l);
}

void eng_loop_dispatch(cc_loop *l, void *ptr, uint32_t events)
{
    (void)l;
    cc_loop_io *io = ptr;
    if (io->dead)
        return;
    unsigned ev = 0;
    if (events & EPOLLIN)
        ev |= CC_LOOP_IN;
    if (events & EPOLLOUT)
        ev |= CC_LOOP_OUT;
    if (events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP))
        ev |= CC_LOOP_ERR;
    /* only what was asked for, plus errors */
    ev &= ((io->want & EPOLLIN) ? CC_LOOP_IN : 0u) | ((io->want & EPOLLOUT) ? CC_LOOP_OUT : 0u) |
          CC_LOOP_ERR;
    if (ev)
        io->fn(io, io->fd, ev, io->ctx);
}

/* ---- timers: a binary min-heap ordered by (at, seq) ---- */

static bool before(const cc_loop_timer *a, const cc_loop_timer *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void heap_set(cc_loop *l, size_t i, cc_loop_timer *t)
{
    l->heap[i] = t;
    t->idx = i;
}

static void heap_up(cc_loop *l, size_t i)
{
    cc_loop_timer *t = l->heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(t, l->heap[p]))
            break;
        heap_set(l, i, l->heap[p]);
        i = p;
    }
    heap_set(l, i, t);
}

static void heap_down(cc_loop *l, size_t i)
{
    cc_loop_timer *t = l->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= l->nheap)
            break;
        if (c + 1 < l->nheap && before(l->heap[c + 1], l->heap[c]))
            c++;
        if (!before(l->heap[c], t))
            break;
        heap_set(l, i, l->heap[c]);
        i = c;
    }
    heap_set(l, i, t);
}

static void heap_remove(cc_loop *l, cc_loop_timer *t)
{
    size_t i = t->idx;
    t->idx = SIZE_MAX;
    cc_loop_timer *last = l->heap[--l->nheap];
    if (i == l->nheap)
        return;
    heap_set(l, i, last);
    heap_up(l, i);
    heap_down(l, last->idx);
}

cc_loop_timer *cc_loop_timer_new(cc_loop *l, cc_loop_timer_fn fn, void *ctx)
{
    if (!l || !fn)
        return NULL;
    cc_loop_timer *t = cc_xcalloc(1, sizeof(*t));
    t->l = l;
    t->fn = fn;
    t->ctx = ctx;
    t->idx = SIZE_MAX;
    t->next = l->timers;
    if (l->timers)
        l->timers->prev = t;
    l->timers = t;
    return t;
}

void cc_loop_timer_start(cc_loop_timer *t, uint64_t delay_ns)
{
    if (!t)
        return;
    cc_loop *l = t->l;
    if (t->idx != SIZE_MAX)
        heap_remove(l, t);
    t->at = delay_ns > UINT64_MAX - l->now ? UINT64_MAX : l->now + delay_ns;
    t->seq = l->seq++;
    if (l->nheap == l->capheap) {
        l->capheap = l->capheap ? l->capheap * 2 : 16;
        l->heap = cc_xrealloc(l->heap, l->capheap * sizeof(*l->heap));
    }
    heap_set(l, l->nheap++, t);
    heap_up(l, t->idx);
}

void cc_loop_timer_stop(cc_loop_timer *t)
{
    if (t && t->idx != SIZE_MAX)
        heap_remove(t->l, t);
}

void cc_loop_timer_free(cc_loop_timer *t)
{
    if (!t)
        return;
    cc_loop *l = t->l;
    cc_loop_timer_stop(t);
    if (t->prev)
        t->prev->next = t->next;
    else
        l->timers = t->next;
    if (t->next)
        t->next->prev = t->prev;
    free(t);
}

uint64_t eng_loop_next_at(cc_loop *l)
{
    return l->nheap ? l->heap[0]->at : UINT64_MAX;
}

void eng_loop_run_timers(cc_loop *l)
{
    uint64_t limit = l->turn_seq;
    while (l->nheap && l->heap[0]->at <= l->now && l->heap[0]->seq < limit) {
        cc_loop_timer *t = l->heap[0];
        heap_remove(l, t);
        t->fn(t, t->ctx); /* may free t */
    }
}

/* ---- deferred calls ---- */

void cc_loop_defer(cc_loop *l, void (*fn)(void *ctx), void *ctx)
{
    if (!l || !fn)
        return;
    if (l->ndq == l->capdq) {
        l->capdq = l->capdq ? l->capdq * 2 : 16;
        l->dq = cc_xrealloc(l->dq, l->capdq * sizeof(*l->dq));
    }
    l->dq[l->ndq++] = (dcall){fn, ctx};
}

bool eng_loop_run_defers(cc_loop *l)
{
    /* run the calls queued so far; those they queue wait for the next round, so a call
     * that re-defers itself cannot starve the loop */
    size_t n = l->ndq;
    for (size_t i = 0; i < n; i++) {
        dcall c = l->dq[i];
        c.fn(c.ctx);
    }
    if (n) {
        memmove(l->dq, l->dq + n, (l->ndq - n) * sizeof(*l->dq));
        l->ndq -= n;
    }
    return l->ndq > 0;
}

bool eng_loop_pending(cc_loop *l)
{
    return l->ndq > 0;
}

/* ---- slots ---- */

int cc_loop_slot_key(void)
{
    int k = atomic_fetch_add(&nkeys, 1);
    if (k >= MAX_SLOTS) {
        atomic_fetch_sub(&nkeys, 1);
        return -1;
    }
    return k;
}

void *cc_loop_slot(cc_loop *l, int key)
{
    if (!l || key < 0 || key >= MAX_SLOTS)
        return NULL;
    return l->slot[key];
}

void cc_loop_slot_set(cc_loop *l, int key, void *value, void (*dtor)(void *value))
{
    if (!l || key < 0 || key >= MAX_SLOTS)
        return;
    l->slot[key] = value;
    l->dtor[key] = dtor;
}
