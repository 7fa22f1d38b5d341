/* SPDX-License-Identifier: Apache-2.0
 * The `header` directive: response header manipulation, as Caddy's headers package
 * adapts it; and the headers handler (header and request_header) that applies it at
 * run time with handlers/hdrops.h.
 *
 *     header [<matcher>] [[+|-|?|>]<field> [<value|regexp>] [<replacement>]] {
 *         [+]<field> [<value|regexp> [<replacement>]]
 *         ?<field> <default_value>
 *         -<field>
 *         ><field> <value>
 *         [defer]
 *         [match { status <codes...>; header <field> [<value>] }]
 *     }
 *
 * One op on the first line or ops in the block, not both. `?` ops in the block go to a
 * second handler that carries the require matcher, so up to two routes come out. */
#include <string.h>

#include "../caddyfile/helper.h"
#include "../core/handler.h"
#include "hdrops.h"
#include "headerops.h"

static cc_cfg *new_handler(cc_arena *a)
{
    cc_cfg *h = cc_cfg_obj(a);
    cc_cfg_set_str(a, h, "handler", "headers");
    cc_cfg_child_obj(a, h, "response");
    return h;
}

static int parse_header(cc_helper *h, cc_cfvals *out)
{
    cc_disp *d = h->d;
    cc_arena *a = h->a;
    cc_disp_next(d);
    cc_cfg *set = NULL;
    if (cc_helper_extract_matcher_set(h, &set) != CC_OK)
        return CC_ERR;
    cc_disp_next(d); /* the directive name again: matcher extraction rewinds */

    cc_cfg *handler = new_handler(a), *with_require = new_handler(a);
    cc_cfg *resp = cc_cfg_get(handler, "response");
    cc_cfg *resp_req = cc_cfg_get(with_require, "response");

    bool has_args = false;
    if (cc_disp_next_arg(d)) {
        has_args = true;
        const char *field = cc_disp_val(d), *value = "", *repl = NULL;
        if (cc_disp_next_arg(d))
            value = cc_disp_val(d);
        if (cc_disp_next_arg(d))
            repl = cc_disp_val(d);
        const char *msg = cc_hdr_apply_op(a, resp, resp, field, value, repl);
        if (msg)
            return cc_disp_errf(d, "%s", msg);
    }

    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        const char *field = cc_disp_val(d);
        if (strcmp(field, "defer") == 0) {
            cc_cfg_set_bool(a, resp, "deferred", true);
            continue;
        }
        if (strcmp(field, "match") == 0) {
            cc_cfg *m;
            if (cc_hdr_parse_response_matcher(cc_disp_new_from_next_segment(d), &m) != CC_OK)
                return CC_ERR;
            cc_cfg_set(a, resp, "require", m);
            continue;
        }
        if (has_args)
            return cc_disp_errf(d, "cannot specify headers in both arguments and block");

        /* "Field: value" is a habit from curl and raw HTTP; the colon is dropped */
        size_t fl = strlen(field);
        if (fl && field[fl - 1] == ':')
            field = cc_arena_strndup(a, field, fl - 1);

        const char *value = "", *repl = NULL;
        if (cc_disp_next_arg(d))
            value = cc_disp_val(d);
        if (cc_disp_next_arg(d))
            repl = cc_disp_val(d);
        cc_cfg *target = field[0] == '?' ? resp_req : resp;
        const char *msg = cc_hdr_apply_op(a, target, target, field, value, repl);
        if (msg)
            return cc_disp_errf(d, "%s", msg);
    }

    /* Caddy emits a handler only when it differs from an empty one */
    if (cc_cfg_len(resp))
        cc_cfvals_add(h, out, "route", cc_helper_new_route(h, set, handler));
    if (cc_cfg_len(resp_req))
        cc_cfvals_add(h, out, "route", cc_helper_new_route(h, set, with_require));
    return CC_OK;
}

const cc_module cc_mod_header = {CC_MODULE_ABI, "header", NULL, parse_header};

/* ---- run time: the headers handler ---- */

typedef struct headers_mw {
    cc_handler super;
    cc_hdrops *req;
    cc_hdrops *resp;
    cc_respmatch *require; /* NULL: none */
    bool deferred;         /* response ops wait for the response head */
} headers_mw;

static int headers_provision(cc_handler *hh, const cc_cfg *cfg, cc_prov *ctx)
{
    headers_mw *h = (headers_mw *)hh;
    cc_arena *a = ctx->a;
    h->req = cc_hdrops_compile(a, cc_cfg_get(cfg, "request"), ctx->err);
    if (!h->req && ctx->err->msg[0])
        return CC_ERR;
    const cc_cfg *resp = cc_cfg_get(cfg, "response");
    if (!resp || resp->type == CC_CFG_NULL)
        return CC_OK;
    /* RespHeaderOps embeds HeaderOps: the op keys sit beside require and deferred */
    h->resp = cc_hdrops_compile(a, resp, ctx->err);
    if (!h->resp)
        return CC_ERR;
    const cc_cfg *req = cc_cfg_get(resp, "require");
    if (req && req->type != CC_CFG_NULL) {
        h->require = cc_respmatch_compile(a, req, ctx->err);
        if (!h->require)
            return CC_ERR;
    }
    const cc_cfg *d = cc_cfg_get(resp, "deferred");
    h->deferred = d && d->type == CC_CFG_BOOL && d->b;
    return CC_OK;
}

/* The deferred half: runs when the response head is committed. */
static int headers_commit(cc_req *r, void *ctx)
{
    const headers_mw *h = ctx;
    int status = r->resp.status ? r->resp.status : 200;
    if (cc_respmatch_match(h->require, status, &r->resp.headers))
        cc_hdrops_apply(h->resp, &r->resp.headers, r);
    return CC_OK;
}

static int headers_handle(cc_handler *hh, cc_req *r, cc_next *next)
{
    headers_mw *h = (headers_mw *)hh;
    if (h->req)
        cc_hdrops_apply_request(h->req, r);
    if (h->resp) {
        if (h->deferred || h->require)
            cc_resp_add_filter(r, headers_commit, h);
        else
            cc_hdrops_apply(h->resp, &r->resp.headers, r);
    }
    return cc_next_run(next, r);
}

const cc_handler_type cc_ht_headers = {
    CC_HANDLER_ABI, "headers", sizeof(headers_mw), headers_provision, headers_handle, NULL,
};
