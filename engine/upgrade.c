/* SPDX-License-Identifier: Apache-2.0
 * Protocol upgrades (cc_resp.upgrade) and lingering closes. A 101 answer with an upgrade
 * hook goes out through MHD_create_response_for_upgrade (which adds "Connection: Upgrade"
 * itself, P13); once the head is sent MHD hands the socket over and the hook runs on the
 * worker thread. The request (and its arena) lives until the handler ends the stream
 * with cc_req_upgrade_close(), which closes it through MHD_upgrade_action. Draining or
 * stopping a listener asks the handlers to end their streams (upgrade_abort) and closes
 * the rest, so a stop never waits on a WebSocket. The lingering close keeps reading (and
 * dropping) what a client still uploads after an early answer, for a short while, so it
 * reads the answer instead of a connection reset. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../core/log.h"
#include "internal.h"
#include "tls_hooks.h"

static void upg_unlink(eng_req *q)
{
    if (!q->upgraded)
        return;
    if (q->upg_prev)
        q->upg_prev->upg_next = q->upg_next;
    else if (q->wl->upgraded == q)
        q->wl->upgraded = q->upg_next;
    if (q->upg_next)
        q->upg_next->upg_prev = q->upg_prev;
    q->upg_prev = q->upg_next = NULL;
}

static void closer(cc_req *r);

static void on_upgrade(void *cls, struct MHD_Connection *mc, void *con_cls, const char *extra_in,
                       size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
    eng_req *q = cls;
    (void)mc;
    (void)con_cls;
    q->urh = urh;
    q->upgraded = true;
    q->upg_prev = NULL;
    q->upg_next = q->wl->upgraded;
    if (q->upg_next)
        q->upg_next->upg_prev = q;
    q->wl->upgraded = q;
    /* the connection is the handler's now: no deadline applies any more, and the
     * request-head scanner must not see (or cut) the upgraded protocol's bytes */
    if (q->c) {
        eng_timer_disarm(q->w, &q->c->rd);
        eng_timer_disarm(q->w, &q->c->wr);
        if (q->c->scan_on) {
            cc_rawscan_attach(q->c->fd, NULL);
            q->c->scan_on = false;
        }
    }
    cc_resp *rs = &q->req.resp;
    /* behind the TLS front the handler gets a socketpair end the front pumps */
    int fd = eng_tls_upgrade_fd(q->wl, sock);
    if (fd < 0) {
        cc_log(CC_LOG_ERROR, "http.engine", NULL, "cannot hand over an upgraded TLS stream: %s",
               strerror(errno));
        (void)shutdown(sock, SHUT_RDWR);
        if (rs->upgrade_abort && !q->upgrade_aborted) {
            q->upgrade_aborted = true;
            rs->upgrade_abort(&q->req, rs->upgrade_ctx);
        }
        closer(&q->req);
        return;
    }
    if (fd != sock)
        q->up_fd = fd;
    rs->upgrade(&q->req, fd, extra_in, extra_in_size, rs->upgrade_ctx);
}

static void close_up_fd(eng_req *q)
{
    if (q->up_fd > 0) {
        close(q->up_fd); /* the front sees EOF and closes the TLS stream in order */
        q->up_fd = 0;
    }
}

static void closer(cc_req *r)
{
    eng_req *q = r->engine;
    if (!q || !q->upgraded || q->upgrade_closed)
        return;
    q->upgrade_closed = true;
    upg_unlink(q);
    close_up_fd(q);
    /* MHD closes the socket and completes the request on its next run */
    (void)MHD_upgrade_action(q->urh, MHD_UPGRADE_ACTION_CLOSE);
    q->wl->ready = true;
}

void eng_upgrade_install(void)
{
    cc_upgrade_set_closer(closer);
}

struct MHD_Response *eng_upgrade_response(eng_req *q)
{
    return MHD_create_response_for_upgrade(on_upgrade, q);
}

void eng_upgrade_done(eng_req *q, enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    cc_resp *rs = &q->req.resp;
    if (q->upgraded) {
        /* closed by its handler, or by MHD when the daemon stopped */
        upg_unlink(q);
        q->upgrade_closed = true;
        close_up_fd(q);
        return;
    }
    if (rs->upgrade && rs->upgrade_abort && !q->upgrade_aborted && q->upgrading) {
        /* the 101 never got through: the client went away first */
        q->upgrade_aborted = true;
        rs->upgrade_abort(&q->req, rs->upgrade_ctx);
    }
}

void eng_upgrade_drain(eng_wl *wl, bool force)
{
    /* first ask the handlers that can end their streams themselves (reverse_proxy
     * honours stream_close_delay); a callback may close any stream, so restart */
    for (eng_req *q = wl->upgraded; q;) {
        cc_resp *rs = &q->req.resp;
        if (rs->upgrade_abort && !q->upgrade_aborted) {
            q->upgrade_aborted = true;
            rs->upgrade_abort(&q->req, rs->upgrade_ctx);
            q = wl->upgraded;
            continue;
        }
        q = q->upg_next;
    }
    /* then close the others (no way to ask them) or, when forced, all of them */
    for (eng_req *q = wl->upgraded, *next; q; q = next) {
        next = q->upg_next;
        if (force || !q->req.resp.upgrade_abort) {
            cc_log(CC_LOG_DEBUG, "http.engine", NULL, "closing an upgraded connection on %s:%d",
                   wl->host, wl->port);
            closer(&q->req);
        }
    }
}

void eng_upgrade_retire(eng_wl *wl, const cc_runtime *rt)
{
    /* a reload unloads the config these streams were proxied under: Caddy ends them
     * then (after stream_close_delay, which the handler's upgrade_abort honours) */
    for (eng_req *q = wl->upgraded, *next; q; q = next) {
        next = q->upg_next;
        if (q->rt == rt || q->upgrade_aborted)
            continue;
        cc_resp *rs = &q->req.resp;
        q->upgrade_aborted = true;
        if (rs->upgrade_abort) {
            rs->upgrade_abort(&q->req, rs->upgrade_ctx);
            next = wl->upgraded; /* the callback may have closed any stream: restart */
        } else {
            closer(&q->req);
        }
    }
}

/* ---- lingering close ---- */

struct eng_linger {
    eng_worker *w;
    int fd;
    cc_loop_io *io;
    cc_loop_timer *t;
    struct eng_linger *prev, *next;
};

static void linger_end(eng_linger *g)
{
    cc_loop_io_del(g->io);
    cc_loop_timer_free(g->t);
    close(g->fd);
    if (g->prev)
        g->prev->next = g->next;
    else
        g->w->lingers = g->next;
    if (g->next)
        g->next->prev = g->prev;
    free(g);
}

static void linger_read(cc_loop_io *io, int fd, unsigned events, void *ctx)
{
    (void)io;
    (void)events;
    char buf[16384];
    for (int i = 0; i < 64; i++) {
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        linger_end(ctx); /* EOF or error: the client is done */
        return;
    }
}

static void linger_timeout(cc_loop_timer *t, void *ctx)
{
    (void)t;
    linger_end(ctx);
}

void eng_linger_start(eng_worker *w, int fd)
{
    if (!w->loop)
        return;
    int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (d < 0)
        return;
    /* the answer is fully sent: FIN after it, then drop what still arrives */
    (void)shutdown(d, SHUT_WR);
    eng_linger *g = cc_xcalloc(1, sizeof(*g));
    g->w = w;
    g->fd = d;
    g->io = cc_loop_io_add(w->loop, d, CC_LOOP_IN, linger_read, g);
    g->t = cc_loop_timer_new(w->loop, linger_timeout, g);
    if (!g->io || !g->t) {
        cc_loop_io_del(g->io);
        cc_loop_timer_free(g->t);
        close(d);
        free(g);
        return;
    }
    cc_loop_timer_start(g->t, ENG_LINGER_NS);
    g->next = w->lingers;
    if (g->next)
        g->next->prev = g;
    w->lingers = g;
}

void eng_linger_free_all(eng_worker *w)
{
    while (w->lingers)
        linger_end(w->lingers);
}
