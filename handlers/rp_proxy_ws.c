/* SPDX-License-Identifier: Apache-2.0
 * reverse_proxy for upgrade requests (WebSocket and any Upgrade): libcurl cannot carry
 * the raw stream, so one attempt goes through rp_ws (raw connection, 101, splice) with
 * the header list of cc_rp_hdr_up, and its result feeds the same retry loop and passive
 * health as a curl exchange. */
#include <string.h>
#include <strings.h>

#include "rp_proxy.h"
#include "rp_ws.h"

bool px_is_upgrade(const cc_req *r)
{
    bool conn = false;
    for (size_t i = 0; i < r->headers.n && !conn; i++)
        if (strcasecmp(r->headers.v[i].name, "Connection") == 0 &&
            cc_http_list_has(r->headers.v[i].value, "upgrade"))
            conn = true;
    if (!conn)
        return false;
    const char *u = cc_headers_get(&r->headers, "Upgrade");
    return u && *u;
}

static void ws_done(cc_req *r, cc_rp_ws_result res, int status, void *ctx)
{
    px_req *p = ctx;
    if (p->gone)
        return;
    int64_t lat = (int64_t)(cc_loop_now(p->pl->loop) - p->att_start_ns);
    cc_rp_upstream *up = p->up;
    if (p->up_counted) {
        cc_rp_request_end(up);
        p->up_counted = false;
    }
    if (res == CC_RP_WS_OK) {
        /* rp_ws put the upstream's fields in r->resp.headers: they join what earlier
         * handlers had set, after the header rules for the client */
        cc_headers up_hdrs = r->resp.headers;
        r->resp.headers = p->saved_resp;
        cc_rp_report(up, status, lat, false);
        cc_rp_hdr_down(p->h->hdr, r, status, &up_hdrs);
        for (size_t i = 0; i < up_hdrs.n; i++)
            cc_headers_add(r->arena, &r->resp.headers, up_hdrs.v[i].name, up_hdrs.v[i].value);
        r->resp.status = status;
        p->st = PX_DONE;
        px_vars_end(p);
        px_finish(p, CC_OK);
        return;
    }
    r->resp.headers = p->saved_resp;
    cc_rp_report(up, 0, lat, true);
    const char *addr = p->dial_unix ? p->dial_unix : p->hostport;
    if (res == CC_RP_WS_DIAL_FAILED)
        px_attempt_failed(p, PX_FAIL_DIAL, status ? status : 502,
                          cc_arena_printf(r->arena, "dial %s %s: %s", p->dial_unix ? "unix" : "tcp",
                                          addr, status == 504 ? "i/o timeout" : "connect failed"));
    else
        px_attempt_failed(p, PX_FAIL_TRANSPORT, status ? status : 502,
                          cc_arena_printf(r->arena, "upgrade to %s failed", addr));
}

int px_ws_attempt(px_req *p, const cc_headers *hdrs)
{
    px_handler *h = p->h;
    cc_req *r = p->r;
    cc_arena *a = r->arena;
    const px_tr *tr = &h->tr;
    cc_rp_ws_opts o = {0};
    o.dial = p->dial_unix ? cc_arena_printf(a, "unix/%s", p->dial_unix) : p->hostport;
    o.tls = p->up_tls;
    if (tr->server_name)
        o.tls_server_name = cc_tmpl_expand(tr->server_name, r, false);
    o.tls_insecure = tr->tls_insecure;
    /* the same trust bundle curl gets: every trusted file and inline pool */
    o.tls_ca_pem = tr->ca_blob;
    o.tls_ca_pem_len = tr->ca_len;
    o.dial_timeout = (int64_t)tr->connect_ms * 1000000;
    o.stream_timeout = h->stream_timeout;
    o.stream_close_delay = h->stream_close_delay;
    o.buffer_size = h->stream_buffer_size > 0 ? (size_t)h->stream_buffer_size : 0;
    p->saved_resp = r->resp.headers;
    cc_rp_request_begin(p->up);
    p->up_counted = true;
    if (cc_rp_ws_start(r, &o, p->target, hdrs, ws_done, p) != CC_OK) {
        cc_rp_request_end(p->up);
        p->up_counted = false;
        p->st = PX_DONE;
        return cc_req_fail(r, 502, "cannot start the upgrade to %s", o.dial);
    }
    return CC_ASYNC;
}
