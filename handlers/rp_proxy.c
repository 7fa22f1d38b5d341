/* SPDX-License-Identifier: Apache-2.0
 * The reverse_proxy handler at run time (Caddy's reverseproxy.Handler): provisioning
 * from its JSON, and per request the proxy loop -- select an upstream, run one exchange
 * on the worker's libcurl multi, and on failure retry as lb_try_duration / lb_retries /
 * lb_retry_match allow, waiting lb_try_interval on a loop timer (a worker never
 * sleeps). Failures count toward passive health; errors map to Caddy's statuses: 503 no
 * upstream, 502 dial or round trip, 504 timeout, 499 client gone.
 *
 * Flushing: the engine writes response bytes as soon as the ring has them, so every
 * response behaves as Caddy's flush_interval -1 (text/event-stream and unknown-length
 * bodies included) once its head is out. The only buffering is before the head: a body
 * of known length up to 64 KiB is awaited so that head and body leave in one send
 * (Caddy's own writer buffers such a body too), unless flush_interval is set (any
 * value) or the response is an event stream; response_buffers holds the head until
 * that many bytes (or all, "unlimited") are in. A client that goes away cancels the
 * upstream exchange whatever flush_interval says, as Caddy 2.11 does. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../caddyfile/units.h"
#include "../core/async.h"
#include "../core/log.h"
#include "rp_proxy.h"

/* ---- upstream addresses (Caddy's ParseNetworkAddress after placeholders) ---- */

const char *px_parse_dial(cc_arena *a, const char *s, px_dial *d)
{
    *d = (px_dial){0};
    const char *slash = strchr(s, '/');
    const char *net = "tcp";
    if (slash) {
        net = cc_arena_strndup(a, s, (size_t)(slash - s));
        s = slash + 1;
    }
    d->network = net;
    if (strcmp(net, "unix") == 0) {
        if (!*s)
            return "missing path in unix address";
        d->host = d->unix_path = d->hostport = s;
        d->port = "0";
        d->address = cc_arena_printf(a, "unix/%s", s);
        return NULL;
    }
    if (strcmp(net, "tcp") && strcmp(net, "tcp4") && strcmp(net, "tcp6"))
        return cc_arena_printf(a, "unsupported network for reverse_proxy: %s", net);
    const char *host, *port;
    if (*s == '[') {
        const char *rb = strchr(s, ']');
        if (!rb)
            return cc_arena_printf(a, "address %s: missing ']' in address", s);
        host = cc_arena_strndup(a, s + 1, (size_t)(rb - s - 1));
        if (rb[1] != ':')
            return cc_arena_printf(a, "address %s: missing port in address", s);
        port = rb + 2;
    } else {
        const char *c = strrchr(s, ':');
        if (!c)
            return cc_arena_printf(a, "address %s: missing port in address", s);
        if (memchr(s, ':', (size_t)(c - s)))
            return cc_arena_printf(a, "address %s: too many colons in address", s);
        host = cc_arena_strndup(a, s, (size_t)(c - s));
        port = c + 1;
    }
    char *end = NULL;
    errno = 0;
    long pn = strtol(port, &end, 10);
    if (!*port || *end == '-')
        return cc_arena_printf(a, "dial address must represent precisely one socket: %s", s);
    if (*end || pn < 0 || pn > 65535 || errno)
        return cc_arena_printf(a, "invalid port '%s'", port);
    d->host = host;
    d->port = port;
    bool v6 = strchr(host, ':') != NULL;
    d->hostport =
        v6 ? cc_arena_printf(a, "[%s]:%s", host, port) : cc_arena_printf(a, "%s:%s", host, port);
    d->address = cc_arena_printf(a, "%s/%s", net, d->hostport);
    return NULL;
}

/* ---- finishing ---- */

void px_unwatch(px_req *p)
{
    if (p->r->gone_fn && p->r->gone_ctx == p)
        cc_req_on_gone(p->r, NULL, NULL);
}

void px_finish(px_req *p, int rc)
{
    if (rc == CC_ASYNC)
        return;
    if (rc != CC_OK)
        px_vars_end(p);
    px_unwatch(p);
    /* the engine may complete (and free) the request inside: p is not touched after */
    cc_req_resume(p->r, rc);
}

/* The client left while the request waits for its upstream: cancel the exchange (the
 * upstream sees the connection close, as Go's canceled context does) and report 499. */
static void on_client_gone(cc_req *r, void *ctx)
{
    px_req *p = ctx;
    if (p->gone || p->st == PX_DONE || p->st == PX_STREAM)
        return;
    px_xfer_release(p);
    cc_loop_timer_stop(p->wait_timer);
    if (r->body_ready_ctx == p)
        cc_req_body_wait(r, NULL, NULL);
    px_attn_drop(p);
    p->st = PX_DONE;
    r->resp.status = 499;
    px_vars_end(p);
    cc_req_resume(r, CC_OK);
}

static int start_attempt(px_req *p);

static void on_wait(cc_loop_timer *t, void *ctx)
{
    (void)t;
    px_req *p = ctx;
    if (p->gone || p->st != PX_WAIT)
        return;
    px_finish(p, start_attempt(p));
}

static cc_rp_fail_kind pool_kind(px_fail kind)
{
    switch (kind) {
    case PX_FAIL_DIAL:
        return CC_RP_FAIL_DIAL;
    case PX_FAIL_NOUP:
        return CC_RP_FAIL_NO_UPSTREAM;
    case PX_FAIL_RESPONSE:
        return CC_RP_FAIL_RESPONSE;
    default:
        return CC_RP_FAIL_TRANSPORT;
    }
}

/* After a failed attempt: retry (CC_ASYNC, after lb_try_interval) or fail the request
 * with the error Caddy would report (CC_ERR). */
static int fail_attempt(px_req *p, px_fail kind, int status, const char *msg)
{
    px_handler *h = p->h;
    cc_req *r = p->r;
    /* "no upstreams available" only when nothing failed before (Caddy keeps proxyErr) */
    if (kind != PX_FAIL_NOUP || !p->fail_msg) {
        p->last_fail = kind;
        p->fail_status = status;
        p->fail_msg = msg;
    }
    if (p->up)
        p->tried[p->up->index] = true;
    bool again;
    if (kind == PX_FAIL_TRANSPORT) {
        cc_vars_set(r->arena, &r->vars, "http.reverse_proxy.is_transport_error", "true");
        again = cc_rp_try_again(h->pool, p->start_ns, p->retries, CC_RP_FAIL_TRANSPORT, r);
        cc_vars_set(r->arena, &r->vars, "http.reverse_proxy.is_transport_error", "false");
    } else {
        again = cc_rp_try_again(h->pool, p->start_ns, p->retries, pool_kind(kind), r);
    }
    /* a body partly taken from the client's stream cannot be sent again */
    if (again && p->streamed > 0)
        again = false;
    if (!again) {
        p->st = PX_DONE;
        r->err = (cc_http_err){0};
        return cc_req_fail(r, p->fail_status, "%s", p->fail_msg ? p->fail_msg : "");
    }
    if (h->verbose)
        cc_log(CC_LOG_DEBUG, "http.handlers.reverse_proxy", NULL, "retrying: %s",
               p->fail_msg ? p->fail_msg : "");
    p->retries++;
    p->st = PX_WAIT;
    if (!p->wait_timer)
        p->wait_timer = cc_loop_timer_new(p->pl->loop, on_wait, p);
    if (!p->wait_timer)
        return cc_req_fail(r, 500, "cannot schedule a retry");
    /* even without an interval the next attempt waits for the next loop turn, so a
     * pool with nothing available never spins inside one callback */
    cc_loop_timer_start(p->wait_timer,
                        (uint64_t)(h->pool->try_interval > 0 ? h->pool->try_interval : 0));
    return CC_ASYNC;
}

void px_attempt_failed(px_req *p, px_fail kind, int status, const char *msg)
{
    px_finish(p, fail_attempt(p, kind, status, msg));
}

/* ---- one attempt ---- */

static void reset_attempt(px_req *p)
{
    p->status = 0;
    p->status_line = NULL;
    p->rh = (cc_headers){0};
    p->rh_bytes = 0;
    p->resp_cl = -1;
    p->head_done = p->xfer_done = p->xfer_ok = p->write_paused = p->timed_out = false;
    p->read_paused = p->req_eof = p->client_gone = p->prereq = false;
    p->want_notify = false;
    p->fail_msg_xfer = NULL;
    p->res = CURLE_OK;
    p->rx_total = 0;
    p->pre_off = 0;
    p->sent_at = 0;
    p->a_done = p->a_head = p->a_notify = p->a_unpause = false;
    px_ring_release(p->pl, &p->ring);
}

static int start_attempt(px_req *p)
{
    px_handler *h = p->h;
    cc_req *r = p->r;
    cc_arena *a = r->arena;
    reset_attempt(p);
    p->st = PX_XFER;
    p->up = NULL;
    cc_rp_upstream *up = cc_rp_select(h->pool->policy, h->pool, r, p->tried);
    if (!up)
        return fail_attempt(p, PX_FAIL_NOUP, 503, "no upstreams available");
    p->up = up;

    /* addresses without placeholders were parsed once at provision */
    px_dial d;
    const char *derr = NULL, *dial = up->dial;
    if (up->index < h->ndials && h->dials[up->index].host) {
        d = h->dials[up->index];
    } else {
        dial = cc_repl_expand(r, up->dial, false);
        derr = px_parse_dial(a, dial, &d);
    }
    if (derr) {
        p->st = PX_DONE;
        return cc_req_fail(r, 502, "making dial info: upstream %s: invalid dial address %s: %s",
                           up->dial, dial, derr);
    }
    p->dial_host = d.host;
    p->dial_port = d.port;
    p->dial_unix = d.unix_path;
    p->hostport = d.hostport;
    p->up_tls = px_tr_uses_tls(&h->tr, d.unix_path ? NULL : d.port);
    px_vars_attempt(p);

    cc_rp_hdr_target t = {.hostport = d.hostport,
                          .host = d.host,
                          .port = d.port,
                          .tls = p->up_tls,
                          .address = d.address};
    cc_headers hdrs;
    if (cc_rp_hdr_up(h->hdr, r, &t, &hdrs) != CC_OK) {
        int st = r->err.status ? r->err.status : 502;
        const char *m = r->err.message;
        r->err = (cc_http_err){0};
        return fail_attempt(p, PX_FAIL_TRANSPORT, st, m);
    }
    p->att_start_ns = cc_loop_now(p->pl->loop);
    if (p->upgrade)
        return px_ws_attempt(p, &hdrs);

    p->x = px_x_get(p->pl);
    if (!p->x) {
        p->st = PX_DONE;
        return cc_req_fail(r, 500, "cannot create an upstream request");
    }
    p->x->p = p;
    if (px_xfer_setup(p, &hdrs) != CC_OK) {
        px_xfer_release(p);
        p->st = PX_DONE;
        return CC_ERR;
    }
    cc_rp_request_begin(up);
    p->up_counted = true;
    p->last_tx = p->last_rx = p->att_start_ns;
    if (px_x_start(p->pm, p->x) != CC_OK) {
        px_xfer_release(p);
        return fail_attempt(p, PX_FAIL_TRANSPORT, 502, "cannot start the upstream request");
    }
    px_xfer_arm(p);
    return CC_ASYNC;
}

/* ---- a finished exchange without a response head ---- */

static const char *errno_text(cc_arena *a, long e)
{
    char *s = cc_arena_strdup(a, strerror((int)e));
    if (s[0] >= 'A' && s[0] <= 'Z')
        s[0] = (char)(s[0] - 'A' + 'a');
    return s;
}

void px_xfer_finished(px_req *p)
{
    cc_req *r = p->r;
    cc_arena *a = r->arena;
    CURLcode c = p->res;
    long oserr = 0;
    if (p->x)
        curl_easy_getinfo(p->x->easy, CURLINFO_OS_ERRNO, &oserr);
    const char *cmsg =
        p->x && p->x->errbuf[0] ? cc_arena_strdup(a, p->x->errbuf) : curl_easy_strerror(c);
    int64_t lat = (int64_t)(cc_loop_now(p->pl->loop) - p->att_start_ns);
    cc_rp_upstream *up = p->up;
    px_xfer_release(p);

    if (p->client_gone) {
        /* the client went away while its body was being sent: not the upstream's
         * failure, and nothing to retry (Caddy records 499) */
        p->st = PX_DONE;
        r->resp.status = 499;
        px_vars_end(p);
        px_finish(p, CC_OK);
        return;
    }
    const char *net = p->dial_unix ? "unix" : "tcp";
    const char *addr = p->dial_unix ? p->dial_unix : p->hostport;
    px_fail kind = PX_FAIL_TRANSPORT;
    int status = 502;
    const char *msg = cmsg;
    if (p->timed_out) {
        status = 504;
        msg = p->head_done || !p->sent_at ? "net/http: request canceled (read/write timeout)"
                                          : "net/http: timeout awaiting response headers";
    } else if (c == CURLE_COULDNT_CONNECT || c == CURLE_COULDNT_RESOLVE_HOST ||
               (c == CURLE_OPERATION_TIMEDOUT && !p->prereq)) {
        kind = PX_FAIL_DIAL;
        if (c == CURLE_OPERATION_TIMEDOUT) {
            status = 504;
            msg = cc_arena_printf(a, "dial %s %s: i/o timeout", net, addr);
        } else if (c == CURLE_COULDNT_RESOLVE_HOST) {
            msg =
                cc_arena_printf(a, "dial %s %s: lookup %s: no such host", net, addr, p->dial_host);
        } else {
            msg = cc_arena_printf(a, "dial %s %s: connect: %s", net, addr,
                                  oserr ? errno_text(a, oserr) : "connection refused");
        }
    } else if (c == CURLE_OPERATION_TIMEDOUT) {
        status = 504;
    } else if (p->fail_msg_xfer) {
        msg = p->fail_msg_xfer;
    }
    if (up)
        cc_rp_report(up, 0, lat, true);
    px_attempt_failed(p, kind, status, msg);
}

/* ---- events ---- */

/* Whether to hold the head back for more body: response_buffers, or a small body of
 * known length that will then leave in one send with its head. */
static bool hold_head(px_req *p)
{
    if (p->xfer_done)
        return false;
    if (p->status == 204 || p->status == 304 || p->status < 200 || strcmp(p->method, "HEAD") == 0)
        return false;
    int64_t rb = p->h->response_buffers;
    if (rb < 0)
        return true;
    if (rb > 0 && p->rx_total < rb)
        return true;
    /* flush_interval asks for every byte as it comes (and so does an event stream) */
    if (p->h->flush_interval != 0)
        return false;
    const char *ct = cc_headers_get(&p->rh, "Content-Type");
    if (ct && strncasecmp(ct, "text/event-stream", 17) == 0)
        return false;
    return p->resp_cl > 0 && p->resp_cl <= (int64_t)PX_RING_SIZE && p->rx_total < p->resp_cl;
}

static void hand_over(px_req *p)
{
    bool retry = false;
    p->st = PX_STREAM;
    int rc = px_on_head(p, &retry);
    if (retry) {
        px_xfer_release(p);
        px_ring_release(p->pl, &p->ring);
        px_attempt_failed(p, PX_FAIL_RESPONSE, p->status,
                          cc_arena_printf(p->r->arena,
                                          "upstream response matched retry_match (status %d)",
                                          p->status));
        return;
    }
    px_finish(p, rc);
}

void px_attend(px_req *p)
{
    if (p->gone)
        return;
    bool done = p->a_done, notify = p->a_notify, unpause = p->a_unpause;
    bool retry = p->a_retry, buffer = p->a_buffer;
    p->a_done = p->a_head = p->a_notify = p->a_unpause = p->a_retry = p->a_buffer = false;

    switch (p->st) {
    case PX_BUFFERING: {
        if (!buffer)
            return;
        int rc = px_buffer_request(p);
        if (rc == CC_ASYNC)
            return;
        if (rc != CC_OK) {
            p->st = PX_DONE;
            p->r->resp.status = 499;
            px_finish(p, CC_OK);
            return;
        }
        px_finish(p, start_attempt(p));
        return;
    }
    case PX_WAIT:
        if (retry)
            px_finish(p, start_attempt(p));
        return;
    case PX_XFER:
    case PX_HEAD:
        if (done && !p->head_done) {
            px_xfer_finished(p);
            return;
        }
        if (done) {
            p->xfer_ok = p->res == CURLE_OK && !p->timed_out;
            px_xfer_release(p);
        }
        if (unpause && p->read_paused) {
            p->read_paused = false;
            px_xfer_unpause(p);
        }
        if (!p->head_done)
            return;
        if (p->st == PX_XFER)
            p->resp_cl = cc_http_parse_length(cc_headers_get(&p->rh, "Content-Length"));
        if (hold_head(p)) {
            p->st = PX_HEAD;
            return;
        }
        hand_over(p);
        return;
    case PX_STREAM:
        if (done) {
            p->xfer_ok = p->res == CURLE_OK && !p->timed_out;
            px_xfer_release(p);
            notify = true;
        }
        if (unpause && p->x) {
            bool go = false;
            if (p->write_paused && px_ring_roomy(&p->ring)) {
                p->write_paused = false;
                go = true;
            }
            if (p->read_paused) {
                p->read_paused = false;
                go = true;
            }
            if (go)
                px_xfer_unpause(p);
        }
        if (notify && p->want_notify && p->body_given) {
            p->want_notify = false;
            cc_resp_body_ready(p->r); /* last: the engine may finish the request */
        }
        return;
    default:
        return;
    }
}

/* ---- the handler ---- */

static void px_req_cleanup(void *arg)
{
    px_req *p = arg;
    p->gone = true;
    px_attn_drop(p);
    px_hrc_drop(p);
    px_xfer_release(p);
    px_ring_release(p->pl, &p->ring);
    free(p->pre_heap);
    p->pre_heap = NULL;
    cc_loop_timer_free(p->wait_timer);
    p->wait_timer = NULL;
}

/* The method and target sent upstream: the handler's own rewrite applies to the copy
 * only (Caddy rewrites a clone), so later handlers still see the request as it was. */
static void prepare_target(px_req *p)
{
    cc_req *r = p->r;
    px_handler *h = p->h;
    if (h->rewrite) {
        const char *m = r->method, *path = r->path, *raw = r->raw_path, *q = r->query,
                   *t = r->target;
        h->rewrite->type->handle(h->rewrite, r, NULL);
        p->method = r->method;
        p->target = r->target;
        r->method = m;
        r->path = path;
        r->raw_path = raw;
        r->query = q;
        r->target = t;
    } else {
        p->method = r->method;
        p->target = r->target;
    }
    /* the request's own strings may live in the engine's connection memory, which a
     * client that goes away takes with it while this request still waits */
    p->method = cc_arena_strdup(r->arena, p->method);
    if (p->target)
        p->target = cc_arena_strdup(r->arena, p->target);
    if (!p->target || p->target[0] != '/') {
        /* absolute-form or asterisk targets: the origin form of the (rewritten) URI */
        const char *raw = r->raw_path && *r->raw_path ? r->raw_path : "/";
        p->target = r->query && *r->query ? cc_arena_printf(r->arena, "%s?%s", raw, r->query) : raw;
    }
}

static int px_handle(cc_handler *hh, cc_req *r, cc_next *next)
{
    px_handler *h = (px_handler *)hh;
    px_loop *pl = px_loop_get();
    if (!pl)
        return cc_req_fail(r, 500, "reverse_proxy: no worker event loop on this thread");
    px_multi *pm = px_multi_get(pl, h->key);
    if (!pm)
        return cc_req_fail(r, 500, "reverse_proxy: cannot create the upstream client");
    px_req *p = cc_arena_alloc(r->arena, sizeof(*p));
    p->h = h;
    p->r = r;
    p->pl = pl;
    p->pm = pm;
    p->st = PX_INIT;
    p->resp_cl = -1;
    p->next = cc_next_save(r, next);
    p->start_ns = cc_rp_now_ns();
    p->tried = cc_arena_alloc(r->arena, h->pool->n + 1);
    cc_arena_defer(r->arena, px_req_cleanup, p);
    prepare_target(p);
    p->upgrade = px_is_upgrade(r);

    cc_body *b = r->body;
    bool nobody = h->rewrite_nobody && strcmp(p->method, r->method) != 0;
    if (b && !nobody && !p->upgrade) {
        if (b->mem) {
            p->has_body = b->mem_len > 0;
            p->pre = b->mem;
            p->pre_len = b->mem_len;
            p->body_len = (int64_t)b->mem_len;
        } else if (r->content_length != 0) {
            p->has_body = true;
            p->stream = true;
            p->body_len = r->content_length;
        }
    }
    int rc;
    if (p->has_body && p->stream && h->request_buffers != 0) {
        p->st = PX_BUFFERING;
        rc = px_buffer_request(p);
        if (rc == CC_ASYNC) {
            p->async = true;
            cc_req_on_gone(r, on_client_gone, p);
            return CC_ASYNC;
        }
        if (rc != CC_OK) {
            r->resp.status = 499;
            return CC_OK;
        }
    }
    rc = start_attempt(p);
    if (rc == CC_ASYNC) {
        p->async = true;
        cc_req_on_gone(r, on_client_gone, p);
    } else if (rc != CC_OK)
        px_vars_end(p);
    return rc;
}

/* ---- provisioning ---- */

static int get_int(const cc_cfg *obj, const char *key, int64_t *out, cc_err *err)
{
    const cc_cfg *v = cc_cfg_get(obj, key);
    if (!v || v->type == CC_CFG_NULL)
        return CC_OK;
    if (v->type == CC_CFG_INT) {
        *out = v->i;
        return CC_OK;
    }
    if (v->type == CC_CFG_STR) {
        /* durations may be written as strings ("10s") */
        char msg[256];
        if (cc_cf_parse_duration_msg(v->s.p, out, msg, sizeof(msg)) == 0)
            return CC_OK;
        return cc_err_setat(err, v->file, v->line, "%s: %s", key, msg);
    }
    return cc_err_setat(err, v->file, v->line, "json: cannot unmarshal %s into an integer", key);
}

static bool mentions(const cc_cfg *c, const char *needle)
{
    if (!c)
        return false;
    switch (c->type) {
    case CC_CFG_STR:
        return memmem(c->s.p, c->s.n, needle, strlen(needle)) != NULL;
    case CC_CFG_ARR:
        for (size_t i = 0; i < c->arr.n; i++)
            if (mentions(c->arr.v[i], needle))
                return true;
        return false;
    case CC_CFG_OBJ:
        for (size_t i = 0; i < c->obj.n; i++)
            if (mentions(c->obj.v[i], needle))
                return true;
        return false;
    default:
        return false;
    }
}

static int provision_rewrite(px_handler *h, const cc_cfg *rw, cc_prov *ctx)
{
    if (!rw || rw->type != CC_CFG_OBJ)
        return CC_OK;
    const char *m = cc_cfg_get_str(rw, "method");
    const char *u = cc_cfg_get_str(rw, "uri");
    if ((!m || !*m) && (!u || !*u))
        return CC_OK;
    cc_cfg *o = cc_cfg_clone(ctx->a, rw);
    o->file = rw->file;
    o->line = rw->line;
    cc_cfg_set_str(ctx->a, o, "handler", "rewrite");
    h->rewrite = cc_handler_provision(o, ctx);
    if (!h->rewrite)
        return CC_ERR;
    h->rewrite_nobody = m && (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0);
    return CC_OK;
}

static int provision_hr(px_handler *h, const cc_cfg *list, cc_prov *ctx)
{
    size_t n = cc_cfg_len(list);
    if (!n || list->type != CC_CFG_ARR)
        return CC_OK;
    h->hr = cc_arena_alloc(ctx->a, n * sizeof(*h->hr));
    for (size_t i = 0; i < n; i++) {
        const cc_cfg *e = cc_cfg_idx(list, i);
        px_hr *x = &h->hr[h->nhr];
        const cc_cfg *m = cc_cfg_get(e, "match");
        if (m && m->type == CC_CFG_OBJ) {
            x->match = cc_respmatch_compile(ctx->a, m, ctx->err);
            if (!x->match)
                return CC_ERR;
        }
        const cc_cfg *sc = cc_cfg_get(e, "status_code");
        if (sc && sc->type == CC_CFG_INT && sc->i != 0)
            x->status = cc_tmpl_compile(ctx->a, cc_arena_printf(ctx->a, "%lld", (long long)sc->i));
        else if (sc && sc->type == CC_CFG_STR && *sc->s.p)
            x->status = cc_tmpl_compile(ctx->a, sc->s.p);
        const cc_cfg *routes = cc_cfg_get(e, "routes");
        if (routes && cc_routes_provision(&x->routes, routes, ctx) != CC_OK)
            return CC_ERR;
        h->nhr++;
    }
    return CC_OK;
}

static int provision_resp_retry(px_handler *h, const cc_cfg *lb, cc_prov *ctx)
{
    const cc_cfg *rm = cc_cfg_get(lb, "retry_match");
    size_t n = cc_cfg_len(rm);
    if (!n || rm->type != CC_CFG_ARR)
        return CC_OK;
    h->resp_retry = cc_arena_alloc(ctx->a, n * sizeof(*h->resp_retry));
    for (size_t i = 0; i < n; i++) {
        const cc_cfg *set = cc_cfg_idx(rm, i);
        /* only sets with an expression can look at the response ({rp.status_code}) */
        if (!cc_cfg_get(set, "expression"))
            continue;
        cc_matchset *ms = cc_matchset_compile(ctx->a, set, ctx->err);
        if (!ms)
            return CC_ERR;
        h->resp_retry[h->nresp_retry++] = ms;
    }
    return CC_OK;
}

/* The shared key is let go when the config arena goes, even if provisioning failed
 * half way and cleanup never runs. */
static void key_release(void *arg)
{
    px_handler *h = arg;
    if (!h->key)
        return;
    atomic_store(&h->key->dead, true);
    px_key_unref(h->key);
    h->key = NULL;
}

static int px_provision(cc_handler *hh, const cc_cfg *cfg, cc_prov *ctx)
{
    px_handler *h = (px_handler *)hh;
    h->key = cc_xcalloc(1, sizeof(*h->key));
    atomic_init(&h->key->refs, 1);
    atomic_init(&h->key->dead, false);
    cc_arena_defer(ctx->a, key_release, h);
    const cc_cfg *dyn = cc_cfg_get(cfg, "dynamic_upstreams");
    if (dyn && dyn->type == CC_CFG_OBJ) {
        const char *src = cc_cfg_get_str(dyn, "source");
        return cc_err_setat(ctx->err, dyn->file ? dyn->file : cfg->file,
                            dyn->file ? dyn->line : cfg->line,
                            "dynamic upstreams (%s) are not supported by caddy-c", src ? src : "?");
    }
    h->pool = cc_rp_pool_provision(ctx->a, cfg, ctx->err);
    if (!h->pool)
        return CC_ERR;
    h->hdr = cc_rp_hdr_provision(ctx->a, cfg, ctx->err);
    if (!h->hdr)
        return CC_ERR;
    const cc_cfg *tr = cc_cfg_get(cfg, "transport");
    if (px_tr_provision(ctx->a, tr, &h->tr, h->key, ctx->err) != CC_OK)
        return CC_ERR;
    if (h->key->max_idle == 0)
        h->key->max_idle = h->tr.per_host_idle > 0
                               ? h->tr.per_host_idle * (long)(h->pool->n ? h->pool->n : 1)
                               : 1024;
    h->ndials = h->pool->n;
    h->dials = cc_arena_alloc(ctx->a, (h->ndials + 1) * sizeof(*h->dials));
    for (size_t i = 0; i < h->ndials; i++) {
        const char *dial = h->pool->up[i]->dial;
        if (!strchr(dial, '{') && px_parse_dial(ctx->a, dial, &h->dials[i]) != NULL)
            h->dials[i] = (px_dial){0};
    }
    if (get_int(cfg, "flush_interval", &h->flush_interval, ctx->err) ||
        get_int(cfg, "request_buffers", &h->request_buffers, ctx->err) ||
        get_int(cfg, "response_buffers", &h->response_buffers, ctx->err) ||
        get_int(cfg, "stream_buffer_size", &h->stream_buffer_size, ctx->err) ||
        get_int(cfg, "stream_timeout", &h->stream_timeout, ctx->err) ||
        get_int(cfg, "stream_close_delay", &h->stream_close_delay, ctx->err))
        return CC_ERR;
    const cc_cfg *vl = cc_cfg_get(cfg, "verbose_logs");
    h->verbose = vl && vl->type == CC_CFG_BOOL && vl->b;
    if (provision_rewrite(h, cc_cfg_get(cfg, "rewrite"), ctx) ||
        provision_hr(h, cc_cfg_get(cfg, "handle_response"), ctx) ||
        provision_resp_retry(h, cc_cfg_get(cfg, "load_balancing"), ctx))
        return CC_ERR;
    /* the {http.reverse_proxy.*} values cost formatting per request: only when read */
    h->need_vars =
        !ctx->root || mentions(ctx->root, "reverse_proxy.") || h->nhr > 0 || h->nresp_retry > 0;
    return CC_OK;
}

static void px_cleanup_handler(cc_handler *hh)
{
    px_handler *h = (px_handler *)hh;
    cc_rp_pool_cleanup(h->pool);
    key_release(h);
}

const cc_handler_type cc_ht_reverse_proxy = {
    CC_HANDLER_ABI, "reverse_proxy", sizeof(px_handler),
    px_provision,   px_handle,       px_cleanup_handler,
};
