/* SPDX-License-Identifier: Apache-2.0
 * The subroute handler (caddyhttp.Subroute): a nested route list, the JSON form of
 * `handle`, `handle_path` and `route` blocks. Its routes run before the rest of the
 * enclosing chain, which they continue into when they fall through; its optional
 * "errors" routes handle an error raised inside (or after) it, as Caddy's do. */
#include <unistd.h>

#include "../core/async.h"
#include "../core/handler.h"

typedef struct subroute {
    cc_handler super;
    cc_routes routes;
    cc_routes errors;
    bool has_errors;
} subroute;

static int sub_provision(cc_handler *hh, const cc_cfg *cfg, cc_prov *ctx)
{
    subroute *h = (subroute *)hh;
    const cc_cfg *routes = cc_cfg_get(cfg, "routes");
    if (cc_routes_provision(&h->routes, routes, ctx) != CC_OK)
        return CC_ERR;
    /* like Caddy, error routes only exist beside routes */
    const cc_cfg *errs = cc_cfg_get(cfg, "errors");
    if (routes && routes->type != CC_CFG_NULL && errs && errs->type == CC_CFG_OBJ) {
        if (cc_routes_provision(&h->errors, cc_cfg_get(errs, "routes"), ctx) != CC_OK)
            return CC_ERR;
        h->has_errors = true;
    }
    return CC_OK;
}

/* Drops what the failed chain produced inside this subroute; what middleware outside
 * it registered (older filters) stays, as Caddy's outer response writer wrappers do. */
static void reset_response(cc_req *r, cc_resp_filter *outer_filters)
{
    cc_body *b = r->resp.body;
    if (b) {
        if (b->close)
            b->close(b);
        else if (b->fd >= 0)
            close(b->fd);
        b->close = NULL;
        b->fd = -1;
    }
    r->resp.body = NULL;
    r->resp.status = 0;
    r->resp.filters = outer_filters;
}

static int sub_handle(cc_handler *hh, cc_req *r, cc_next *next)
{
    subroute *h = (subroute *)hh;
    cc_resp_filter *outer_filters = r->resp.filters;
    int rc = cc_routes_run(&h->routes, r, next);
    /* an asynchronous inner handler finishes later: its errors reach the server's
     * error routes, not this subroute's (documented limit of async handlers) */
    if (rc == CC_OK || rc == CC_ASYNC || !h->has_errors || r->resp.abort)
        return rc;
    reset_response(r, outer_filters);
    return cc_routes_run(&h->errors, r, next);
}

const cc_handler_type cc_ht_subroute = {
    CC_HANDLER_ABI, "subroute", sizeof(subroute), sub_provision, sub_handle, NULL,
};
