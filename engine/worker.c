/* SPDX-License-Identifier: Apache-2.0
 * A worker thread: one epoll loop that nests the MHD epoll fd of each of its listeners,
 * runs MHD after every wait (engine-notes.md 3.1 "ext"), enforces the read-header /
 * read-body / write deadlines MHD lacks (P10), adopts new plans (runtime swaps, new and
 * removed listeners) at the top of each turn, and drains removed listeners. The same loop
 * carries the handlers' watches, timers and deferred calls (loop.c, core/loop.h). */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../core/log.h"
#include "internal.h"
#include "tls_hooks.h"

/* How often a draining worker re-checks its connections. */
#define DRAIN_POLL_MS 50

/* ---- deadlines: an ascending list; inserts walk from the tail, where new ones go ---- */

void eng_timer_disarm(eng_worker *w, eng_timer *t)
{
    if (!t->armed)
        return;
    if (t->prev)
        t->prev->next = t->next;
    else
        w->t_head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else
        w->t_tail = t->prev;
    t->prev = t->next = NULL;
    t->armed = false;
}

void eng_timer_arm(eng_worker *w, eng_timer *t, uint64_t at)
{
    eng_timer_disarm(w, t);
    t->at = at;
    t->armed = true;
    eng_timer *p = w->t_tail;
    while (p && p->at > at)
        p = p->prev;
    t->prev = p;
    t->next = p ? p->next : w->t_head;
    if (t->next)
        t->next->prev = t;
    else
        w->t_tail = t;
    if (p)
        p->next = t;
    else
        w->t_head = t;
}

static void shut_conn(eng_worker *w, eng_conn *c)
{
    eng_timer_disarm(w, &c->rd);
    eng_timer_disarm(w, &c->wr);
    eng_timer_disarm(w, &c->fw);
    if (!c->shut) {
        c->shut = true;
        /* MHD sees EOF on its next read and closes the connection itself, running the
         * completion callbacks on this thread */
        (void)shutdown(c->fd, SHUT_RDWR);
    }
}

static void run_timers(eng_worker *w)
{
    while (w->t_head && w->t_head->at <= w->now) {
        eng_timer *t = w->t_head;
        size_t at = t->kind == ENG_T_WR     ? offsetof(eng_conn, wr)
                    : t->kind == ENG_T_FILE ? offsetof(eng_conn, fw)
                                            : offsetof(eng_conn, rd);
        eng_conn *c = (eng_conn *)((char *)t - at);
        eng_timer_disarm(w, t);
        if (t->kind == ENG_T_FILE) {
            if (eng_file_watch_due(w, c))
                shut_conn(w, c);
            continue;
        }
        /* Go closes silently on a read or write deadline (no 408) */
        cc_log(CC_LOG_DEBUG, "http.engine", NULL, "closing %s:%d: %s deadline passed",
               c->info.remote_ip ? c->info.remote_ip : "", c->info.remote_port,
               t->kind == ENG_T_WR ? "write" : "read");
        shut_conn(w, c);
    }
}

/* ---- listeners on this worker ---- */

void eng_worker_wake(eng_worker *w)
{
    uint64_t one = 1;
    ssize_t r = write(w->evfd, &one, sizeof(one));
    (void)r;
}

void eng_wl_free(eng_wl *wl)
{
    eng_tls_wl_free(wl); /* TLS connections and the TLS listening socket */
    eng_upgrade_drain(wl, true);
    eng_async_release_all(wl);
    if (wl->d) {
        /* closes every connection (completion callbacks run here) and, unless the
         * daemon was quiesced, the listening socket */
        MHD_stop_daemon(wl->d);
        wl->d = NULL;
        wl->lfd = -1;
    }
    if (wl->lfd >= 0)
        close(wl->lfd);
    if (wl->rt)
        cc_runtime_unref(wl->rt);
    free(wl->host);
    free(wl);
}

static void wl_remove(eng_worker *w, eng_wl *wl)
{
    for (eng_wl **pp = &w->wls; *pp; pp = &(*pp)->next)
        if (*pp == wl) {
            *pp = wl->next;
            break;
        }
    if (wl->in_epoll)
        (void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, wl->mhd_fd, NULL);
    wl->in_epoll = false;
    eng_wl_free(wl);
}

static void start_drain(eng_wl *wl)
{
    if (wl->draining)
        return;
    wl->draining = true;
    eng_tls_wl_drain(wl); /* the TLS front stops accepting */
    if (wl->d && wl->lfd >= 0) {
        MHD_socket s = MHD_quiesce_daemon(wl->d);
        if (s != MHD_INVALID_SOCKET)
            close(s);
        wl->lfd = -1;
    }
    for (eng_conn *c = wl->conns; c; c = c->next)
        c->closing = true;
    /* upgraded streams would hold the listener forever: end them */
    eng_upgrade_drain(wl, false);
}

static void adopt(eng_worker *w, eng_wl *wl)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = wl};
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, wl->mhd_fd, &ev) == 0)
        wl->in_epoll = true;
    else
        cc_log(CC_LOG_ERROR, "http.engine", NULL, "epoll_ctl: %s", strerror(errno));
    wl->next = w->wls;
    w->wls = wl;
}

static void apply_plan(eng_worker *w)
{
    cc_engine *e = w->e;
    pthread_mutex_lock(&e->mu);
    unsigned gen = atomic_load(&e->gen);
    eng_plan *p = e->plans[w->idx];
    e->plans[w->idx] = NULL;
    pthread_mutex_unlock(&e->mu);
    if (p) {
        for (eng_wl *wl = w->wls; wl; wl = wl->next) {
            if (wl->draining)
                continue;
            const eng_assign *keep = NULL;
            for (size_t i = 0; i < p->n && !keep; i++)
                if (!p->v[i].fresh && p->v[i].port == wl->port && p->v[i].pool == wl->pool &&
                    strcmp(p->v[i].host, wl->host) == 0)
                    keep = &p->v[i];
            if (keep) {
                eng_wl_set_server(wl, p->rt, keep->srv);
                eng_upgrade_retire(wl, p->rt);
            } else
                start_drain(wl);
        }
        for (size_t i = 0; i < p->n; i++) {
            if (!p->v[i].fresh)
                continue;
            eng_wl_set_server(p->v[i].fresh, p->rt, p->v[i].srv);
            adopt(w, p->v[i].fresh);
        }
        if (!p->rt) {
            w->stopping = true;
            w->force_at = p->force_at;
        }
        free(p->v);
        free(p);
    }
    w->gen_seen = gen;
    pthread_mutex_lock(&e->mu);
    atomic_store(&w->gen_ack, gen);
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

/* Removed listeners: close idle connections now, the busy ones after their response
 * (they carry Connection: close), and free the listener once it has none. */
static void drain_step(eng_worker *w)
{
    bool force = w->stopping && w->force_at && w->now >= w->force_at;
    eng_wl *next;
    for (eng_wl *wl = w->wls; wl; wl = next) {
        next = wl->next;
        if (!wl->draining)
            continue;
        if (!force) {
            for (eng_conn *c = wl->conns; c; c = c->next)
                if (!c->in_request)
                    shut_conn(w, c);
        }
        if (force || wl->nconns == 0)
            wl_remove(w, wl);
    }
}

static uint64_t ms_until(uint64_t now, uint64_t at)
{
    return at > now ? (at - now + 999999) / 1000000 : 0;
}

static int wait_ms(eng_worker *w)
{
    uint64_t best = UINT64_MAX;
    bool draining = false;
    for (eng_wl *wl = w->wls; wl; wl = wl->next) {
        MHD_UNSIGNED_LONG_LONG ms;
        wl->due_at = UINT64_MAX;
        if (wl->ready)
            best = 0;
        if (MHD_get_timeout(wl->d, &ms) == MHD_YES) {
            uint64_t d = (uint64_t)ms;
            wl->due_at = w->now + d * 1000000u;
            if (d < best)
                best = d;
        }
        draining |= wl->draining;
    }
    if (eng_worker_has_work(w) || eng_loop_pending(w->loop))
        best = 0;
    if (w->t_head) {
        uint64_t d = ms_until(w->now, w->t_head->at);
        if (d < best)
            best = d;
    }
    uint64_t lt = eng_loop_next_at(w->loop);
    if (lt != UINT64_MAX) {
        uint64_t d = ms_until(w->now, lt);
        if (d < best)
            best = d;
    }
    if (draining && best > DRAIN_POLL_MS)
        best = DRAIN_POLL_MS;
    if (w->stopping && w->force_at) {
        uint64_t d = ms_until(w->now, w->force_at);
        if (d < best)
            best = d;
    }
    if (best == UINT64_MAX)
        return -1;
    return best > INT_MAX ? INT_MAX : (int)best;
}

static void set_now(eng_worker *w)
{
    w->now = cc_now_mono_ns();
    clock_gettime(CLOCK_REALTIME, &w->now_real);
    eng_loop_set_now(w->loop, w->now);
}

void *eng_worker_main(void *arg)
{
    eng_worker *w = arg;
    cc_engine *e = w->e;
    struct epoll_event evs[64];
    w->loop = eng_loop_new(w->epfd);
    eng_loop_enter(w->loop);
    for (;;) {
        set_now(w);
        if (atomic_load(&e->gen) != w->gen_seen)
            apply_plan(w);
        drain_step(w);
        if (w->stopping && !w->wls)
            break;
        int n = epoll_wait(w->epfd, evs, 64, wait_ms(w));
        if (n < 0) {
            if (errno != EINTR)
                cc_log(CC_LOG_ERROR, "http.engine", NULL, "epoll_wait: %s", strerror(errno));
            n = 0;
        }
        set_now(w);
        eng_loop_batch(w->loop, true);
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == w) {
                uint64_t v;
                ssize_t r = read(w->evfd, &v, sizeof(v));
                (void)r;
            } else if (((eng_ep *)p)->kind == ENG_EP_IO) {
                eng_loop_dispatch(w->loop, p, evs[i].events);
            } else {
                ((eng_wl *)p)->ready = true;
            }
        }
        eng_loop_batch(w->loop, false);
        eng_loop_run_defers(w->loop);
        /* offloaded work that finished: continue those requests here (this may resume
         * connections, which marks their listener ready for the MHD_run below) */
        eng_worker_run_posts(w);
        eng_worker_run_work(w);
        for (eng_wl *wl = w->wls; wl; wl = wl->next) {
            if (wl->ready || w->now >= wl->due_at) {
                wl->ready = false;
                MHD_run(wl->d);
            }
        }
        eng_loop_run_defers(w->loop);
        eng_worker_run_work(w);
        run_timers(w);
        eng_loop_run_timers(w->loop);
        eng_loop_run_defers(w->loop);
        eng_worker_run_work(w);
    }
    eng_worker_exit(w);
    return NULL;
}
