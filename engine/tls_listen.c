/* SPDX-License-Identifier: Apache-2.0
 * The TLS listeners of the workers and their hooks into the engine. The main thread
 * compiles each TLS server's policies when a config is loaded (so mistakes fail the
 * load) and registers them by server; a worker adopting a listener looks its server up,
 * watches the SO_REUSEPORT socket on its own loop, and hands accepted sockets to the
 * pump (tls_conn.c). Draining closes the socket at once so the kernel sends new
 * connections to the listeners that replace it. */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/ecc.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../core/log.h"
#include "internal.h"
#include "tls_conn.h"

/* Accepts per readiness event, so one busy listener does not starve the loop. */
#define ACCEPT_BATCH 32
/* Pause after running out of descriptors, instead of spinning on a readable socket. */
#define EMFILE_PAUSE_NS ((uint64_t)100 * 1000000)

/* ---- the registry: server -> compiled policies ---- */

typedef struct reg {
    const cc_server *s;
    eng_tls_cfg *cfg;
} reg;

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static reg *regs;
static size_t nregs;

void eng_tls_register(const cc_server *s, eng_tls_cfg *cfg)
{
    pthread_mutex_lock(&reg_mu);
    for (size_t i = 0; i < nregs; i++)
        if (regs[i].s == s) {
            eng_tls_cfg_unref(regs[i].cfg);
            regs[i].cfg = cfg;
            pthread_mutex_unlock(&reg_mu);
            return;
        }
    regs = cc_xrealloc(regs, (nregs + 1) * sizeof(*regs));
    regs[nregs++] = (reg){s, cfg};
    pthread_mutex_unlock(&reg_mu);
}

static eng_tls_cfg *lookup(const cc_server *s)
{
    eng_tls_cfg *c = NULL;
    pthread_mutex_lock(&reg_mu);
    for (size_t i = 0; i < nregs && !c; i++)
        if (regs[i].s == s)
            c = regs[i].cfg;
    eng_tls_cfg_ref(c);
    pthread_mutex_unlock(&reg_mu);
    return c;
}

void eng_tls_registry_keep(const cc_runtime *rt)
{
    pthread_mutex_lock(&reg_mu);
    size_t j = 0;
    for (size_t i = 0; i < nregs; i++) {
        bool keep = false;
        for (size_t k = 0; rt && k < rt->nservers && !keep; k++)
            keep = &rt->servers[k] == regs[i].s;
        if (keep)
            regs[j++] = regs[i];
        else
            eng_tls_cfg_unref(regs[i].cfg);
    }
    nregs = j;
    if (!nregs) {
        free(regs);
        regs = NULL;
    }
    pthread_mutex_unlock(&reg_mu);
}

/* ---- listeners ---- */

struct eng_tls_wl *eng_tls_wl_new(int lfd)
{
    eng_tls_wl *tl = cc_xcalloc(1, sizeof(*tl));
    tl->lfd = lfd;
    return tl;
}

static void stop_listening(eng_tls_wl *tl)
{
    cc_loop_io_del(tl->lio);
    tl->lio = NULL;
    cc_loop_timer_free(tl->pause);
    tl->pause = NULL;
    if (tl->lfd >= 0) {
        close(tl->lfd);
        tl->lfd = -1;
    }
}

static void resume_accept(cc_loop_timer *t, void *ctx)
{
    (void)t;
    eng_tls_wl *tl = ctx;
    if (tl->lio)
        (void)cc_loop_io_mod(tl->lio, CC_LOOP_IN);
}

static void on_accept(cc_loop_io *io, int fd, unsigned ev, void *ctx)
{
    (void)ev;
    eng_tls_wl *tl = ctx;
    for (int i = 0; i < ACCEPT_BATCH && tl->lio == io; i++) {
        int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c >= 0) {
            if (!tl->cfg || tl->draining) {
                close(c);
                continue;
            }
            eng_tls_accepted(tl, c);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            cc_log(CC_LOG_ERROR, "http.engine", NULL, "accept: %s; pausing for 100ms",
                   strerror(errno));
            (void)cc_loop_io_mod(io, 0);
            if (!tl->pause)
                tl->pause = cc_loop_timer_new(tl->loop, resume_accept, tl);
            if (tl->pause)
                cc_loop_timer_start(tl->pause, EMFILE_PAUSE_NS);
        }
        break;
    }
}

/* wolfSSL keeps per-thread fixed-point ECC tables (FP_ECC): a worker that did
 * handshakes frees its own when it exits, through a loop slot's destructor. */
static pthread_once_t slot_once = PTHREAD_ONCE_INIT;
static int slot_key = -1;
static int slot_mark;

static void slot_init(void)
{
    slot_key = cc_loop_slot_key();
}

static void free_thread_ecc(void *v)
{
    (void)v;
    wc_ecc_fp_free();
}

void eng_tls_wl_set_server(struct eng_wl *wl, const cc_server *s)
{
    eng_tls_wl *tl = wl->tls;
    if (!tl)
        return;
    eng_tls_cfg *cfg = s ? lookup(s) : NULL;
    if (s && !cfg)
        cc_log(CC_LOG_ERROR, "http.engine", NULL,
               "server %s: no TLS configuration registered; refusing connections", s->name);
    eng_tls_cfg_unref(tl->cfg);
    tl->cfg = cfg; /* live connections keep the config they started with */
    if (tl->lio || tl->lfd < 0 || tl->draining)
        return;
    tl->wl = wl;
    tl->loop = wl->w->loop;
    pthread_once(&slot_once, slot_init);
    if (slot_key >= 0 && !cc_loop_slot(tl->loop, slot_key))
        cc_loop_slot_set(tl->loop, slot_key, &slot_mark, free_thread_ecc);
    tl->lio = cc_loop_io_add(tl->loop, tl->lfd, CC_LOOP_IN, on_accept, tl);
    if (!tl->lio)
        cc_log(CC_LOG_ERROR, "http.engine", NULL, "cannot watch the TLS listener: %s",
               strerror(errno));
}

void eng_tls_wl_drain(struct eng_wl *wl)
{
    eng_tls_wl *tl = wl->tls;
    if (!tl)
        return;
    tl->draining = true;
    stop_listening(tl);
    /* handshakes in progress are dropped; established connections drain through MHD */
    eng_tls_conn *tc = tl->conns, *next;
    for (; tc; tc = next) {
        next = eng_tls_conn_next(tc);
        if (tc->state == TC_HS)
            eng_tls_conn_destroy(tc);
    }
}

void eng_tls_wl_free(struct eng_wl *wl)
{
    eng_tls_wl *tl = wl->tls;
    if (!tl)
        return;
    wl->tls = NULL;
    stop_listening(tl);
    eng_tls_conn_close_all(tl);
    eng_tls_cfg_unref(tl->cfg);
    free(tl);
}

void eng_tls_conn_started(struct eng_wl *wl, struct eng_conn *c)
{
    eng_tls_wl *tl = wl->tls;
    if (!tl)
        return;
    eng_tls_conn *tc = tl->adding;
    if (!tc || tc->mfd != c->fd) {
        /* not announced synchronously: find the pair by MHD's end */
        for (tc = tl->conns; tc && tc->mfd != c->fd; tc = eng_tls_conn_next(tc))
            ;
    }
    if (tc)
        eng_tls_conn_info(tc, c);
}
