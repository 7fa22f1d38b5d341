/* SPDX-License-Identifier: Apache-2.0
 * libmicrohttpd glue: the daemon of one worker listener and its callbacks. A connection
 * gets an eng_conn (raw scanner, deadlines, peer/local addresses) when MHD accepts it; a
 * request gets an arena and an eng_req in the URI log callback (the only place the raw
 * request-target is visible); the access handler runs the state machine of
 * engine-notes.md 3.3 (head: validate only, P1; body: buffer; final call: handle and
 * respond); completion writes the access log and frees the request. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../core/log.h"
#include "internal.h"
#include "tls_hooks.h"

static int64_t pick_timeout(int64_t v, int64_t dflt)
{
    if (v == 0)
        return dflt;
    return v < 0 ? 0 : v;
}

void eng_wl_set_server(eng_wl *wl, cc_runtime *rt, const cc_server *s)
{
    if (rt)
        cc_runtime_ref(rt);
    if (wl->rt)
        cc_runtime_unref(wl->rt);
    wl->rt = rt;
    wl->srv = s;
    eng_tls_wl_set_server(wl, s); /* worker thread: TLS config, accept watch */
    if (!s)
        return;
    wl->hdr_to = pick_timeout(s->read_header_timeout, ENG_HDR_TIMEOUT_DEFAULT);
    wl->body_to = s->read_body_timeout > 0 ? s->read_body_timeout : 0;
    wl->write_to = s->write_timeout > 0 ? s->write_timeout : 0;
    wl->idle_to = pick_timeout(s->idle_timeout, ENG_IDLE_TIMEOUT_DEFAULT);
}

/* ---- connections ---- */

static void scan_event(cc_rawscan *s, int ev)
{
    eng_conn *c = (eng_conn *)s;
    eng_wl *wl = c->wl;
    eng_worker *w = wl->w;
    switch (ev) {
    case CC_RS_EV_HEAD_START:
        /* the first head's deadline runs from accept, as Go's does */
        if (wl->hdr_to && !c->rd.armed)
            eng_timer_arm(w, &c->rd, w->now + (uint64_t)wl->hdr_to);
        break;
    case CC_RS_EV_BODY_START:
        if (wl->body_to)
            eng_timer_arm(w, &c->rd, w->now + (uint64_t)wl->body_to);
        else
            eng_timer_disarm(w, &c->rd);
        break;
    case CC_RS_EV_LOST:
        c->closing = true;
        eng_timer_disarm(w, &c->rd);
        break;
    default: /* head or body complete */
        eng_timer_disarm(w, &c->rd);
        break;
    }
}

static void sockaddr_text(const struct sockaddr *sa, char *buf, size_t n, int *port)
{
    buf[0] = 0;
    *port = 0;
    if (!sa)
        return;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, buf, (socklen_t)n);
        *port = ntohs(s4->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        /* a v4 client on a dual-stack socket is reported as v4, as Go does */
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
            inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], buf, (socklen_t)n);
        else
            inet_ntop(AF_INET6, &s6->sin6_addr, buf, (socklen_t)n);
        *port = ntohs(s6->sin6_port);
    }
}

static void conn_started(eng_wl *wl, struct MHD_Connection *mc, void **socket_context)
{
    eng_conn *c = cc_xcalloc(1, sizeof(*c));
    eng_worker *w = wl->w;
    c->wl = wl;
    c->mc = mc;
    c->wr.kind = ENG_T_WR;
    c->fw.kind = ENG_T_FILE;
    c->fw_fd = -1;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
    c->fd = ci ? ci->connect_fd : -1;
    cc_rawscan_init(&c->scan, scan_event);
    ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    sockaddr_text(ci ? ci->client_addr : NULL, c->rip, sizeof(c->rip), &c->info.remote_port);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (c->fd >= 0 && getsockname(c->fd, (struct sockaddr *)&ss, &sl) == 0)
        sockaddr_text((struct sockaddr *)&ss, c->lip, sizeof(c->lip), &c->info.local_port);
    c->info.remote_ip = c->rip;
    c->info.remote_addr_ok = cc_ip_parse(c->rip, &c->info.remote_addr);
    c->info.local_ip = c->lip;
    eng_tls_conn_started(wl, c); /* behind the TLS front: SNI, version, TCP local address */
    if (wl->idle_to) {
        uint64_t secs = ((uint64_t)wl->idle_to + 999999999u) / 1000000000u;
        MHD_set_connection_option(mc, MHD_CONNECTION_OPTION_TIMEOUT,
                                  (unsigned int)(secs > 86400u * 365 ? 86400u * 365 : secs));
    }
    if (wl->hdr_to)
        eng_timer_arm(w, &c->rd, w->now + (uint64_t)wl->hdr_to);
    c->closing = wl->draining;
    c->next = wl->conns;
    if (wl->conns)
        wl->conns->prev = c;
    wl->conns = c;
    wl->nconns++;
    if (cc_rawscan_interposed() && c->fd >= 0) {
        c->scan_on = true;
        cc_rawscan_attach(c->fd, &c->scan);
    }
    *socket_context = c;
}

static void conn_closed(eng_wl *wl, void **socket_context)
{
    eng_conn *c = *socket_context;
    if (!c)
        return;
    *socket_context = NULL;
    if (c->scan_on)
        cc_rawscan_attach(c->fd, NULL);
    if (c->info.tls)
        eng_tls_conn_closed(wl, c);
    eng_timer_disarm(wl->w, &c->rd);
    eng_timer_disarm(wl->w, &c->wr);
    eng_timer_disarm(wl->w, &c->fw);
    if (c->prev)
        c->prev->next = c->next;
    else
        wl->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    wl->nconns--;
    free(c);
}

static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        conn_started(cls, mc, socket_context);
    else
        conn_closed(cls, socket_context);
}

/* ---- requests ---- */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *mc)
{
    eng_wl *wl = cls;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    eng_worker *w = wl->w;
    cc_arena *a = w->nspare ? w->spare[--w->nspare] : cc_arena_new(0);
    eng_req *q = cc_arena_alloc(a, sizeof(*q));
    q->arena = a;
    q->wl = wl;
    q->w = wl->w;
    q->mc = mc;
    q->req.engine = q;
    q->c = ci ? ci->socket_context : NULL;
    q->rt = wl->rt;
    q->srv = wl->srv;
    cc_runtime_ref(q->rt);
    /* MHD unescapes the target in place right after this call: keep the raw bytes */
    q->target_len = uri ? strlen(uri) : 0;
    q->target = uri ? cc_arena_strndup(a, uri, q->target_len) : "";
    /* the loop turn's clock, as nginx times a request from the event that brought it:
     * two clock reads per request were 0.6% of the respond bench's CPU */
    q->req.start = w->now_real;
    q->req.start_mono_ns = w->now;
    if (q->c) {
        q->reqno = ++q->c->nreq;
        q->c->in_request = true;
    }
    return q;
}

/* Commits the response the chain produced and queues it. */
static enum MHD_Result respond_now(eng_req *q, struct MHD_Connection *mc)
{
    q->async_ready = false;
    cc_resp_commit(&q->req);
    q->handled = true;
    return eng_respond(q, mc);
}

/* The final call: the whole request (head and body) is in. */
static enum MHD_Result final_call(eng_req *q, struct MHD_Connection *mc, const char *method)
{
    if (q->streaming) {
        eng_body_end(q);
        if (q->async_ready)
            return respond_now(q, mc);
        /* the chain is pending and the upload complete: wait without MHD polling us */
        eng_suspend(q, ENG_SUSP_ASYNC);
        return MHD_YES;
    }
    if (q->async_ready)
        return respond_now(q, mc); /* resumed: the asynchronous chain finished */
    if (q->req.pending)
        return MHD_YES;
    eng_req_build(q, mc, method);
    q->req.engine_done = NULL;
    if (!eng_answer_early(q)) /* ACME http-01, strict SNI (tls_early.c) */
        cc_server_handle(q->srv, &q->req);
    if (q->req.pending) {
        eng_async_suspend(q);
        return MHD_YES;
    }
    cc_resp_commit(&q->req);
    q->handled = true;
    return eng_respond(q, mc);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *mc, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)url; /* decoded by MHD ('+' too): the raw target from on_uri is used instead */
    eng_req *q = *con_cls;
    if (!q)
        return MHD_NO;
    if (q->client_gone)
        return MHD_NO; /* resumed after the peer left: MHD closes with an error */
    switch (q->phase) {
    case PH_HEAD: {
        enum MHD_Result ret = eng_req_head(q, mc, method, version);
        if (ret != MHD_YES || q->phase != PH_BODY || !eng_body_stream_at_head(q))
            return ret;
        /* a long body: the handlers run now, while it streams */
        eng_req_build(q, mc, method);
        eng_run_chain(q, mc);
        if (q->async_ready && q->fr.content_length > ENG_DRAIN_MAX) {
            /* answered without reading: send it now and close rather than receive it
             * all (queueing in this first call makes MHD skip the body, P1) */
            q->early = true;
            if (q->c)
                q->c->closing = true;
            return respond_now(q, mc);
        }
        return MHD_YES;
    }
    case PH_BODY:
        if (*upload_data_size > 0)
            return eng_body_data(q, mc, method, upload_data, upload_data_size);
        return final_call(q, mc, method);
    default:
        return MHD_YES;
    }
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    eng_wl *wl = cls;
    (void)mc;
    eng_req *q = *con_cls;
    if (!q)
        return;
    *con_cls = NULL;
    if (q->handled) {
        int64_t written = q->counted_body ? q->written : 0;
        if (!q->counted_body && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
            written = q->resp_size;
        if (q->srv && q->srv->logs && q->rt->logs)
            cc_logsys_access(q->rt->logs, q->srv, &q->req, q->body_seen, written);
    }
    if (q->streaming && !q->up_done) {
        q->up_err = true; /* a consumer still reading sees the failure */
        eng_notify(q);
    }
    eng_upgrade_done(q, toe);
    eng_resp_release(q);
    if (q->c) {
        /* a TLS connection lingers in the front, after its close_notify */
        if (q->early && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && q->c->fd >= 0 &&
            !q->c->info.tls)
            eng_linger_start(wl->w, q->c->fd);
        eng_timer_disarm(wl->w, &q->c->wr);
        eng_timer_disarm(wl->w, &q->c->fw);
        q->c->fw_fd = -1;
        q->c->in_request = false;
        q->c = NULL;
    }
    eng_req_done(q);
}

/* Runs on the request's worker thread, or on the main thread once the workers are
 * joined (cc_engine_stop), which then frees the spares. */
void eng_req_free(eng_req *q)
{
    eng_worker *w = q->w;
    cc_arena *a = q->arena;
    cc_runtime_unref(q->rt);
    if (w && w->nspare < ENG_SPARE_ARENAS) {
        cc_arena_reset(a); /* runs the request's deferred cleanups, as free would */
        w->spare[w->nspare++] = a;
    } else {
        cc_arena_free(a);
    }
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char buf[512];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    size_t n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = 0;
    cc_log(CC_LOG_DEBUG, "http.engine.mhd", NULL, "%s", buf);
}

struct MHD_Daemon *eng_daemon_start(eng_wl *wl, unsigned conn_limit)
{
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_ALLOW_UPGRADE | MHD_USE_TURBO |
                     MHD_USE_ERROR_LOG;
    /* behind the TLS front MHD has no listening socket: the front accepts and adds
     * socketpair ends (tls_conn.c) */
    if (wl->tls)
        flags |= MHD_USE_NO_LISTEN_SOCKET;
    struct MHD_OptionItem lsock[] = {
        {wl->tls ? MHD_OPTION_END : MHD_OPTION_LISTEN_SOCKET, (intptr_t)wl->lfd, NULL},
        {MHD_OPTION_END, 0, NULL}};
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_access, wl, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, wl,
        MHD_OPTION_ARRAY, lsock, MHD_OPTION_CONNECTION_LIMIT, conn_limit,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, wl->pool & ~ENG_POOL_TLS_BIT,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)0, MHD_OPTION_STRICT_FOR_CLIENT, (int)0,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, wl, MHD_OPTION_NOTIFY_COMPLETED, on_completed, wl,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, wl, MHD_OPTION_SIGPIPE_HANDLED_BY_APP, (int)1,
        MHD_OPTION_END);
    if (!d)
        return NULL;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_EPOLL_FD);
    if (!di) {
        MHD_stop_daemon(d);
        return NULL;
    }
    wl->mhd_fd = di->epoll_fd;
    return d;
}
