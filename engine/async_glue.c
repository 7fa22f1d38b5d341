/* SPDX-License-Identifier: Apache-2.0
 * The engine side of asynchronous handlers (core/async.h) and of every suspension. A
 * request whose chain returned CC_ASYNC, whose upload is parked (its body ring is full),
 * or whose async response body has nothing yet, has its connection suspended in
 * libmicrohttpd; while suspended the client socket is watched on the worker loop, so a
 * peer that leaves is noticed (P9) and the request completes with an error. Offloaded
 * work is posted back to the request's worker (a locked list plus the eventfd). A
 * connection that closes while its chain is pending leaves an "orphan": its arena lives
 * until the chain reports back (cc_req_resume) or the offload's post arrives, so nothing
 * touches freed memory. Such a handler hears of it through cc_req_on_gone (run from the
 * worker loop, outside MHD's callbacks); orphans that never report are freed when the
 * engine stops. */
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "../core/async.h"
#include "../core/log.h"
#include "internal.h"
#include "tls_hooks.h"

static eng_req *req_of(cc_req *r)
{
    return (eng_req *)r->engine;
}

static void post(cc_req *r, cc_offload_done_fn fn, void *arg)
{
    eng_req *q = req_of(r);
    eng_worker *w = q->w;
    eng_post *p = cc_xcalloc(1, sizeof(*p));
    p->q = q;
    p->fn = fn;
    p->arg = arg;
    pthread_mutex_lock(&w->post_mu);
    if (w->posts_tail)
        w->posts_tail->next = p;
    else
        w->posts = p;
    w->posts_tail = p;
    pthread_mutex_unlock(&w->post_mu);
    eng_worker_wake(w);
}

void eng_async_install(void)
{
    cc_async_set_poster(post);
    cc_async_pool_start(0);
    eng_upgrade_install();
}

/* ---- suspension ---- */

static void susp_unlink(eng_req *q)
{
    if (!q->suspended)
        return;
    if (q->susp_prev)
        q->susp_prev->susp_next = q->susp_next;
    else
        q->wl->suspended = q->susp_next;
    if (q->susp_next)
        q->susp_next->susp_prev = q->susp_prev;
    q->susp_prev = q->susp_next = NULL;
    q->suspended = false;
    q->susp_why = 0;
    cc_loop_io_del(q->gone_watch);
    q->gone_watch = NULL;
}

/* The client socket of a suspended connection reported a hang-up. */
static void on_gone(cc_loop_io *io, int fd, unsigned events, void *ctx)
{
    eng_req *q = ctx;
    (void)events;
    char b;
    int tls = eng_tls_direct_peek(fd);
    ssize_t n = tls >= 0 ? tls : recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) {
        /* a half-close after more bytes (pipelined requests): the client still waits
         * for answers, as Go's background read sees it; stop watching */
        cc_loop_io_del(io);
        q->gone_watch = NULL;
        return;
    }
    cc_log(CC_LOG_DEBUG, "http.engine", NULL, "client %s:%d went away during a suspended request",
           q->c ? q->c->info.remote_ip : "", q->c ? q->c->info.remote_port : 0);
    q->client_gone = true;
    if (q->streaming && !q->up_done) {
        q->up_err = true;
        eng_notify(q);
    }
    /* MHD then fails the connection on its next look at it (its callbacks see
     * client_gone, or its read sees EOF), and completes the request with an error */
    (void)shutdown(fd, SHUT_RDWR);
    if (q->c)
        q->c->shut = true;
    eng_resume(q);
}

void eng_suspend(eng_req *q, int why)
{
    if (q->suspended)
        return;
    q->suspended = true;
    q->susp_why = (unsigned char)why;
    q->susp_prev = NULL;
    q->susp_next = q->wl->suspended;
    if (q->susp_next)
        q->susp_next->susp_prev = q;
    q->wl->suspended = q;
    MHD_suspend_connection(q->mc);
    if (q->c && q->c->fd >= 0 && q->w->loop)
        q->gone_watch = eng_loop_io_add_ev(q->w->loop, q->c->fd, 0, EPOLLRDHUP, on_gone, q);
}

void eng_resume(eng_req *q)
{
    if (!q->suspended)
        return;
    susp_unlink(q);
    MHD_resume_connection(q->mc);
    q->wl->ready = true; /* make the loop run MHD_run, which calls back into the request */
}

/* Called by the core (on the worker thread) when a pending request is complete. */
static void on_async_done(cc_req *r)
{
    eng_req *q = req_of(r);
    if (q->orphaned) {
        /* the chain ended after the connection closed: free once this call stack has
         * unwound (the handler may still be using r) */
        if (!q->freeing) {
            q->freeing = true;
            if (q->orph_prev)
                q->orph_prev->orph_next = q->orph_next;
            else
                q->w->orphans = q->orph_next;
            if (q->orph_next)
                q->orph_next->orph_prev = q->orph_prev;
            q->orph_prev = NULL;
            q->orph_next = q->w->tofree;
            q->w->tofree = q;
        }
        return;
    }
    q->async_ready = true;
    if (q->streaming && !q->up_done)
        eng_body_abandon(q); /* answer once the rest of the upload is drained */
    if (q->suspended && q->susp_why == ENG_SUSP_ASYNC)
        eng_resume(q);
}

void eng_async_suspend(eng_req *q)
{
    q->req.engine_done = on_async_done;
    if (!q->req.pending || q->suspended)
        return;
    /* an upload still streaming keeps being received: the handler may be reading it */
    if (q->streaming && !q->up_done)
        return;
    eng_suspend(q, ENG_SUSP_ASYNC);
}

void eng_async_release_all(eng_wl *wl)
{
    /* MHD must not be stopped with suspended connections (it panics): resume them,
     * failing their requests, and let the daemon close them */
    while (wl->suspended) {
        eng_req *q = wl->suspended;
        q->client_gone = true;
        if (q->streaming && !q->up_done) {
            q->up_err = true;
            eng_notify(q);
        }
        susp_unlink(q);
        MHD_resume_connection(q->mc);
    }
}

/* ---- body-consumer notifications, outside MHD's callbacks ---- */

static void ntf_unlink(eng_req *q)
{
    if (!q->ntf_queued)
        return;
    if (q->ntf_prev)
        q->ntf_prev->ntf_next = q->ntf_next;
    else
        q->w->notify = q->ntf_next;
    if (q->ntf_next)
        q->ntf_next->ntf_prev = q->ntf_prev;
    q->ntf_prev = q->ntf_next = NULL;
    q->ntf_queued = false;
}

void eng_notify(eng_req *q)
{
    if (!q->rs_waiting || q->ntf_queued)
        return;
    q->ntf_queued = true;
    q->ntf_prev = NULL;
    q->ntf_next = q->w->notify;
    if (q->ntf_next)
        q->ntf_next->ntf_prev = q;
    q->w->notify = q;
}

static void gone_unlink(eng_req *q)
{
    if (!q->gone_queued)
        return;
    if (q->gone_prev)
        q->gone_prev->gone_next = q->gone_next;
    else
        q->w->gone = q->gone_next;
    if (q->gone_next)
        q->gone_next->gone_prev = q->gone_prev;
    q->gone_prev = q->gone_next = NULL;
    q->gone_queued = false;
}

bool eng_worker_has_work(eng_worker *w)
{
    return w->notify || w->tofree || w->gone;
}

static void free_orphan(eng_req *q)
{
    ntf_unlink(q);
    gone_unlink(q);
    eng_resp_release(q); /* what the chain produced after the client left */
    eng_req_free(q);
}

void eng_worker_run_work(eng_worker *w)
{
    /* the client of a pending request left: its handler cancels and reports back */
    while (w->gone) {
        eng_req *q = w->gone;
        gone_unlink(q);
        if (!q->freeing)
            cc_req_gone(&q->req);
    }
    while (w->notify) {
        eng_req *q = w->notify;
        ntf_unlink(q);
        q->rs_waiting = false;
        cc_req_body_ready(&q->req);
    }
    while (w->tofree) {
        eng_req *q = w->tofree;
        w->tofree = q->orph_next;
        free_orphan(q);
    }
}

/* ---- completion and freeing ---- */

static const char *keep(cc_arena *a, const char *s)
{
    return s ? cc_arena_strdup(a, s) : NULL;
}

/* The request outlives its connection: what points into MHD's connection memory (the
 * method, the header fields) or into the freed eng_conn is copied into the request's
 * own arena, so the chain can still log and finish safely when it reports back. */
static void detach(eng_req *q)
{
    cc_req *r = &q->req;
    cc_arena *a = q->arena;
    bool same = r->orig_method == r->method;
    r->method = keep(a, r->method);
    r->orig_method = same ? r->method : keep(a, r->orig_method);
    for (size_t i = 0; i < r->headers.n; i++) {
        r->headers.v[i].name = keep(a, r->headers.v[i].name);
        r->headers.v[i].value = keep(a, r->headers.v[i].value);
    }
    if (r->conn) {
        cc_conn *c = cc_arena_alloc(a, sizeof(*c));
        *c = *r->conn;
        c->remote_ip = keep(a, c->remote_ip);
        c->local_ip = keep(a, c->local_ip);
        c->tls_server_name = keep(a, c->tls_server_name);
        c->tls_version = keep(a, c->tls_version);
        c->tls_cipher = keep(a, c->tls_cipher);
        c->tls_proto = keep(a, c->tls_proto);
        r->conn = c;
    }
}

void eng_req_done(eng_req *q)
{
    susp_unlink(q);
    if (q->req.pending) {
        /* the chain still runs (an offload, an upstream): it reports back later */
        detach(q);
        q->orphaned = true;
        q->orph_prev = NULL;
        q->orph_next = q->w->orphans;
        if (q->orph_next)
            q->orph_next->orph_prev = q;
        q->w->orphans = q;
        /* tell it (cc_req_on_gone) once out of MHD's callbacks */
        q->gone_queued = true;
        q->gone_prev = NULL;
        q->gone_next = q->w->gone;
        if (q->gone_next)
            q->gone_next->gone_prev = q;
        q->w->gone = q;
        return;
    }
    ntf_unlink(q);
    eng_req_free(q);
}

void eng_worker_run_posts(eng_worker *w)
{
    pthread_mutex_lock(&w->post_mu);
    eng_post *p = w->posts;
    w->posts = w->posts_tail = NULL;
    pthread_mutex_unlock(&w->post_mu);
    while (p) {
        eng_post *next = p->next;
        eng_req *q = p->q;
        if (q->orphaned) {
            if (!q->freeing) {
                if (q->orph_prev)
                    q->orph_prev->orph_next = q->orph_next;
                else
                    w->orphans = q->orph_next;
                if (q->orph_next)
                    q->orph_next->orph_prev = q->orph_prev;
                free_orphan(q);
            }
        } else {
            p->fn(&q->req, p->arg);
        }
        free(p);
        p = next;
    }
    /* called once more by cc_engine_stop after the workers and the offload pool are
     * gone: no chain can report any more, so the orphans left are freed here, then the
     * loop their cleanups may still use */
    if (w->loop && cc_loop_current() == w->loop)
        return;
    if (!w->loop && !w->orphans && !w->tofree)
        return;
    while (w->orphans) {
        eng_req *q = w->orphans;
        w->orphans = q->orph_next;
        free_orphan(q);
    }
    while (w->tofree) {
        eng_req *q = w->tofree;
        w->tofree = q->orph_next;
        free_orphan(q);
    }
    eng_loop_free(w->loop);
    w->loop = NULL;
}

void eng_worker_exit(eng_worker *w)
{
    eng_linger_free_all(w);
    /* the handlers of requests orphaned by the last closes cancel while their loop
     * state (slots) still exists; then the slot destructors (per-worker libcurl multi
     * ...) may end the chains still pending */
    eng_worker_run_work(w);
    eng_loop_free_slots(w->loop);
    eng_worker_run_work(w);
    if (!w->orphans) {
        eng_loop_free(w->loop);
        w->loop = NULL;
    }
    /* else the loop stays for the orphans' cleanups: cc_engine_stop frees both */
    eng_loop_enter(NULL);
}
