/* SPDX-License-Identifier: Apache-2.0
 * The invoke handler (caddyhttp.Invoke): runs a named route, defined once in a
 * server's "named_routes" (`&(name) { ... }` in a Caddyfile), then continues the
 * chain. The route is provisioned per invoking handler, at config load. */
#include <string.h>

#include "../core/handler.h"

typedef struct invoke {
    cc_handler super;
    cc_routes route;  /* the named route, as a one-route list */
    const char *name; /* set when the route does not exist: requests fail, as in Caddy */
} invoke;

/* The named route called name in any server of the config: the adapter only emits a
 * server's named_routes for routes its sites invoke, and one name means one route. */
static const cc_cfg *find_named(const cc_cfg *root, const char *name)
{
    const cc_cfg *servers = cc_cfg_get(cc_cfg_get(cc_cfg_get(root, "apps"), "http"), "servers");
    if (!servers || servers->type != CC_CFG_OBJ)
        return NULL;
    for (size_t i = 0; i < servers->obj.n; i++) {
        const cc_cfg *r = cc_cfg_get(cc_cfg_get(servers->obj.v[i], "named_routes"), name);
        if (r && r->type == CC_CFG_OBJ)
            return r;
    }
    return NULL;
}

static int invoke_provision(cc_handler *hh, const cc_cfg *cfg, cc_prov *ctx)
{
    invoke *h = (invoke *)hh;
    const char *name = cc_cfg_get_str(cfg, "name");
    if (!name || !*name)
        return cc_err_setat(ctx->err, cfg->file, cfg->line, "invoke: route name is required");
    const cc_cfg *route = find_named(ctx->root, name);
    if (!route) {
        h->name = name;
        return CC_OK;
    }
    cc_cfg *list = cc_cfg_arr(ctx->a);
    cc_cfg_push(ctx->a, list, (cc_cfg *)route);
    return cc_routes_provision(&h->route, list, ctx);
}

static int invoke_handle(cc_handler *hh, cc_req *r, cc_next *next)
{
    invoke *h = (invoke *)hh;
    if (h->name)
        return cc_req_fail(r, 500, "invoke: route '%s' not found", h->name);
    return cc_routes_run(&h->route, r, next);
}

const cc_handler_type cc_ht_invoke = {
    CC_HANDLER_ABI, "invoke", sizeof(invoke), invoke_provision, invoke_handle, NULL,
};
