/* SPDX-License-Identifier: Apache-2.0
 * The engine side of asynchronous handlers (core/async.h). A request whose chain
 * returned CC_ASYNC is suspended in libmicrohttpd; work finished on the offload pool is
 * posted back to the request's worker (a locked list plus the worker's eventfd), runs
 * there, and when the core reports the request done the connection is resumed and the
 * response written on the next MHD_run. A connection that closes while its request is
 * pending leaves the request "orphaned": its arena lives until the outstanding post
 * arrives, so the pool never touches freed memory. One offload at a time per request. */
#include <stdlib.h>

#include "../core/async.h"
#include "internal.h"

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
}

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
}

/* Called by the core (on the worker thread) when a pending request is complete. */
static void on_async_done(cc_req *r)
{
    eng_req *q = req_of(r);
    if (q->orphaned)
        return;
    q->async_ready = true;
    if (q->suspended) {
        susp_unlink(q);
        MHD_resume_connection(q->mc);
        q->wl->ready = true; /* make the loop run MHD_run, which calls on_access again */
    }
}

void eng_async_suspend(eng_req *q)
{
    q->req.engine_done = on_async_done;
    if (!q->req.pending || q->suspended)
        return;
    q->suspended = true;
    q->susp_prev = NULL;
    q->susp_next = q->wl->suspended;
    if (q->susp_next)
        q->susp_next->susp_prev = q;
    q->wl->suspended = q;
    MHD_suspend_connection(q->mc);
}

void eng_async_release_all(eng_wl *wl)
{
    /* MHD must not be stopped with suspended connections: resume them, and let the
     * daemon close them (their requests become orphans) */
    while (wl->suspended) {
        eng_req *q = wl->suspended;
        susp_unlink(q);
        MHD_resume_connection(q->mc);
    }
}

void eng_worker_run_posts(eng_worker *w)
{
    pthread_mutex_lock(&w->post_mu);
    eng_post *p = w->posts;
    w->posts = w->posts_tail = NULL;
    pthread_mutex_unlock(&w->post_mu);
    while (p) {
        eng_post *next = p->next;
        if (p->q->orphaned)
            eng_req_free(p->q);
        else
            p->fn(&p->q->req, p->arg);
        free(p);
        p = next;
    }
}
