/* SPDX-License-Identifier: Apache-2.0
 * The engine's public face: start, swap and stop. The main thread does everything that
 * can fail (binding sockets, creating MHD daemons) before it publishes a plan; workers
 * only adopt plans (engine-notes.md 3.1), so a failed swap leaves the running config
 * untouched. A swap returns once every worker has switched, which is what makes it safe
 * to drop the old runtime's reference afterwards. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/async.h"
#include "internal.h"
#include "tls_hooks.h"

typedef struct want {
    const char *host;
    int port;
    size_t pool;
    const cc_server *srv;
    const char *text;
    bool tls;
} want;

/* Compiles every TLS server's connection policies (any mistake fails the load, before
 * anything changes) and registers them for the workers. */
static int build_tls(cc_runtime *rt, cc_err *err)
{
    size_t n = rt->nservers;
    struct eng_tls_cfg **cfgs = cc_xcalloc(n ? n : 1, sizeof(*cfgs));
    for (size_t i = 0; i < n; i++) {
        if (!rt->servers[i].tls)
            continue;
        cfgs[i] = eng_tls_cfg_build(&rt->servers[i], err);
        if (!cfgs[i]) {
            for (size_t k = 0; k < i; k++)
                eng_tls_cfg_unref(cfgs[k]);
            free(cfgs);
            return CC_ERR;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (cfgs[i])
            eng_tls_register(&rt->servers[i], cfgs[i]);
    free(cfgs);
    return CC_OK;
}

static int collect(cc_runtime *rt, want **out, size_t *nout, cc_err *err)
{
    size_t n = 0, cap = 0;
    want *v = NULL;
    for (size_t i = 0; i < rt->nservers; i++) {
        const cc_server *s = &rt->servers[i];
        for (size_t k = 0; k < s->nlisten; k++) {
            const cc_listen_addr *la = &s->listen[k];
            for (size_t j = 0; j < n; j++) {
                if (v[j].port == la->port && strcmp(v[j].host, la->host) == 0) {
                    if (v[j].srv == s)
                        goto next; /* listed twice by one server: one listener */
                    cc_err_set(err,
                               "server %s: listener address repeated: tcp/%s (already claimed "
                               "by server '%s')",
                               s->name, la->text, v[j].srv->name);
                    free(v);
                    return CC_ERR;
                }
            }
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                v = cc_xrealloc(v, cap * sizeof(*v));
            }
            v[n++] = (want){la->host, la->port, eng_pool_for(s), s, la->text, s->tls};
        next:;
        }
    }
    *out = v;
    *nout = n;
    return CC_OK;
}

static bool have_addr(const cc_engine *e, const want *w)
{
    for (size_t i = 0; i < e->naddrs; i++)
        if (e->addrs[i].port == w->port && e->addrs[i].pool == w->pool &&
            strcmp(e->addrs[i].host, w->host) == 0)
            return true;
    return false;
}

static eng_wl *fresh_wl(cc_engine *e, int wi, const want *wt, cc_err *err)
{
    eng_wl *wl = cc_xcalloc(1, sizeof(*wl));
    wl->w = &e->w[wi];
    wl->host = cc_xstrdup(wt->host);
    wl->port = wt->port;
    wl->pool = wt->pool;
    wl->mhd_fd = -1;
    wl->lfd = eng_listen_open(wt->host, wt->port, err);
    if (wl->lfd < 0) {
        free(wl->host);
        free(wl);
        return NULL;
    }
    if (wt->tls) {
        /* the TLS front accepts; MHD gets each connection's socketpair end */
        wl->tls = eng_tls_wl_new(wl->lfd);
        wl->lfd = -1;
    }
    wl->d = eng_daemon_start(wl, e->conn_limit);
    if (!wl->d) {
        cc_err_set(err, "listening on %s: cannot start libmicrohttpd on the socket", wt->text);
        if (wl->lfd >= 0)
            close(wl->lfd);
        eng_tls_wl_free(wl);
        free(wl->host);
        free(wl);
        return NULL;
    }
    return wl;
}

static void free_fresh(cc_engine *e, eng_wl ***fresh, size_t n)
{
    if (!fresh)
        return;
    for (size_t j = 0; j < n; j++) {
        if (!fresh[j])
            continue;
        for (int i = 0; i < e->nworkers; i++)
            if (fresh[j][i])
                eng_wl_free(fresh[j][i]);
        free(fresh[j]);
    }
    free(fresh);
}

/* Hands every worker its plan and waits until all of them have adopted it. */
static void publish(cc_engine *e, cc_runtime *rt, const want *wants, size_t n, eng_wl ***fresh,
                    uint64_t force_at)
{
    pthread_mutex_lock(&e->mu);
    for (int i = 0; i < e->nworkers; i++) {
        eng_plan *p = cc_xcalloc(1, sizeof(*p));
        p->rt = rt;
        p->n = n;
        p->force_at = force_at;
        p->v = cc_xcalloc(n ? n : 1, sizeof(*p->v));
        for (size_t j = 0; j < n; j++)
            p->v[j] = (eng_assign){wants[j].host, wants[j].port, wants[j].pool, wants[j].srv,
                                   fresh && fresh[j] ? fresh[j][i] : NULL};
        if (e->plans[i]) {
            free(e->plans[i]->v);
            free(e->plans[i]);
        }
        e->plans[i] = p;
    }
    unsigned gen = atomic_fetch_add(&e->gen, 1) + 1;
    pthread_mutex_unlock(&e->mu);
    for (int i = 0; i < e->nworkers; i++)
        eng_worker_wake(&e->w[i]);
    pthread_mutex_lock(&e->mu);
    for (;;) {
        bool all = true;
        for (int i = 0; i < e->nworkers; i++)
            if (atomic_load(&e->w[i].gen_ack) != gen)
                all = false;
        if (all)
            break;
        pthread_cond_wait(&e->cv, &e->mu);
    }
    pthread_mutex_unlock(&e->mu);
}

static void set_addrs(cc_engine *e, const want *wants, size_t n)
{
    for (size_t i = 0; i < e->naddrs; i++)
        free(e->addrs[i].host);
    free(e->addrs);
    e->addrs = cc_xcalloc(n ? n : 1, sizeof(*e->addrs));
    for (size_t i = 0; i < n; i++)
        e->addrs[i] = (eng_addr){cc_xstrdup(wants[i].host), wants[i].port, wants[i].pool};
    e->naddrs = n;
}

int cc_engine_swap(cc_engine *e, cc_runtime *rt, cc_err *err)
{
    want *wants = NULL;
    size_t n = 0;
    if (collect(rt, &wants, &n, err) != CC_OK)
        return CC_ERR;
    if (build_tls(rt, err) != CC_OK) {
        eng_tls_registry_keep(e->rt);
        free(wants);
        return CC_ERR;
    }
    eng_wl ***fresh = cc_xcalloc(n ? n : 1, sizeof(*fresh));
    for (size_t j = 0; j < n; j++) {
        if (have_addr(e, &wants[j]))
            continue;
        fresh[j] = cc_xcalloc((size_t)e->nworkers, sizeof(**fresh));
        for (int i = 0; i < e->nworkers; i++) {
            fresh[j][i] = fresh_wl(e, i, &wants[j], err);
            if (!fresh[j][i]) {
                free_fresh(e, fresh, n);
                free(wants);
                eng_tls_registry_keep(e->rt);
                return CC_ERR;
            }
        }
    }
    cc_runtime_ref(rt);
    publish(e, rt, wants, n, fresh, 0);
    /* every worker has adopted rt: the old servers' TLS configs are no longer looked up
     * (live connections hold their own references) */
    eng_tls_registry_keep(rt);
    set_addrs(e, wants, n);
    for (size_t j = 0; j < n; j++)
        free(fresh[j]); /* the listeners themselves now belong to the workers */
    free(fresh);
    free(wants);
    cc_runtime *old = e->rt;
    e->rt = rt;
    if (old)
        cc_runtime_unref(old);
    return CC_OK;
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t want_n = rl.rlim_max == RLIM_INFINITY ? (rlim_t)1 << 20 : rl.rlim_max;
    if (want_n > ((rlim_t)1 << 20))
        want_n = (rlim_t)1 << 20;
    if (rl.rlim_cur < want_n) {
        rl.rlim_cur = want_n;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void free_engine(cc_engine *e)
{
    for (int i = 0; i < e->nworkers; i++) {
        if (e->w[i].epfd >= 0)
            close(e->w[i].epfd);
        if (e->w[i].evfd >= 0)
            close(e->w[i].evfd);
        pthread_mutex_destroy(&e->w[i].post_mu);
        while (e->w[i].nspare > 0)
            cc_arena_free(e->w[i].spare[--e->w[i].nspare]);
        eng_rcache_free(&e->w[i]);
        if (e->plans[i]) {
            free(e->plans[i]->v);
            free(e->plans[i]);
        }
    }
    for (size_t i = 0; i < e->naddrs; i++)
        free(e->addrs[i].host);
    free(e->addrs);
    free(e->plans);
    free(e->w);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
    if (e->rt)
        cc_runtime_unref(e->rt);
    free(e);
}

static void join_workers(cc_engine *e)
{
    for (int i = 0; i < e->nworkers; i++)
        if (e->w[i].th_started) {
            pthread_join(e->w[i].th, NULL);
            e->w[i].th_started = false;
        }
}

cc_engine *cc_engine_start(cc_runtime *rt, const cc_engine_opts *opts, cc_err *err)
{
    /* writes to closed peers must fail with EPIPE, not kill the process (MHD is told
     * with MHD_OPTION_SIGPIPE_HANDLED_BY_APP, which also lets it use sendfile) */
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    if (cc_rawscan_registry_init() != CC_OK || eng_tls_direct_init() != CC_OK) {
        cc_err_set(err, "engine: out of memory");
        return NULL;
    }
    if (!cc_rawscan_interposed())
        cc_log(CC_LOG_WARN, "http.engine", NULL,
               "recv() is not interposed: obs-fold and NUL bytes in request heads go "
               "undetected, and the read-header deadline covers first requests only");
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int nw = opts && opts->workers > 0 ? opts->workers : (int)(ncpu > 0 ? ncpu : 1);
    if (nw > 256)
        nw = 256;
    eng_async_install();
    cc_engine *e = cc_xcalloc(1, sizeof(*e));
    e->nworkers = nw;
    e->w = cc_xcalloc((size_t)nw, sizeof(*e->w));
    e->plans = cc_xcalloc((size_t)nw, sizeof(*e->plans));
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    atomic_init(&e->gen, 0);
    struct rlimit rl;
    rlim_t fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
    if (fds == RLIM_INFINITY || fds > ((rlim_t)1 << 20))
        fds = (rlim_t)1 << 20;
    e->conn_limit = fds > 256 ? (unsigned)((fds - 128) / (rlim_t)nw) : 64;
    if (e->conn_limit < 16)
        e->conn_limit = 16;
    for (int i = 0; i < nw; i++) {
        eng_worker *w = &e->w[i];
        w->e = e;
        w->idx = i;
        atomic_init(&w->gen_ack, 0);
        w->epfd = epoll_create1(EPOLL_CLOEXEC);
        w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        pthread_mutex_init(&w->post_mu, NULL);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = w};
        if (w->epfd < 0 || w->evfd < 0 || epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->evfd, &ev) != 0) {
            cc_err_set(err, "engine: epoll/eventfd: %s", strerror(errno));
            free_engine(e);
            return NULL;
        }
    }
    /* workers leave signals to the main thread (the app's SIGINT/SIGTERM handling) */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (int i = 0; i < nw; i++) {
        if (pthread_create(&e->w[i].th, NULL, eng_worker_main, &e->w[i]) != 0) {
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            cc_err_set(err, "engine: cannot start worker threads");
            /* the started ones are idle: stop them with an empty plan */
            e->nworkers = i;
            publish(e, NULL, NULL, 0, NULL, 0);
            join_workers(e);
            e->nworkers = nw;
            free_engine(e);
            return NULL;
        }
        e->w[i].th_started = true;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (cc_engine_swap(e, rt, err) != CC_OK) {
        publish(e, NULL, NULL, 0, NULL, 0);
        join_workers(e);
        free_engine(e);
        return NULL;
    }
    return e;
}

void cc_engine_stop(cc_engine *e, int64_t grace_ns)
{
    if (!e)
        return;
    uint64_t force_at = grace_ns > 0 ? cc_now_mono_ns() + (uint64_t)grace_ns : 0;
    publish(e, NULL, NULL, 0, NULL, force_at);
    join_workers(e);
    eng_tls_registry_keep(NULL);
    /* offloaded jobs still running report to queues no worker reads any more: let
     * them finish, then free their (orphaned) requests here */
    cc_async_pool_stop();
    for (int i = 0; i < e->nworkers; i++)
        eng_worker_run_posts(&e->w[i]);
    free_engine(e);
}
