/* SPDX-License-Identifier: Apache-2.0
 * Handler provisioning and the route runner: Caddy's RouteList semantics in C. A route
 * that does not match falls through to the next; in a group only the first matching
 * route runs; a terminal route ends its list and the enclosing chain. The chain is
 * walked with small stack-allocated continuations (cc_next), so a request allocates
 * nothing here except one group-flag array per route list that has groups. */
#include "handler.h"

#include <stdlib.h>
#include <string.h>

#include "async.h"
#include "match.h"
#include "match_file.h"

static const cc_handler_type *const *types;

void cc_handler_types_set(const cc_handler_type *const *table)
{
    types = table;
}

const cc_handler_type *cc_handler_type_find(const char *name)
{
    if (!types || !name)
        return NULL;
    for (size_t i = 0; types[i]; i++)
        if (strcmp(types[i]->name, name) == 0)
            return types[i];
    return NULL;
}

static void record(cc_prov *ctx, cc_handler *h)
{
    if (ctx->nall == ctx->capall) {
        size_t nc = ctx->capall ? ctx->capall * 2 : 16;
        ctx->all = cc_arena_grow(ctx->a, ctx->all, ctx->capall * sizeof(*ctx->all),
                                 nc * sizeof(*ctx->all));
        ctx->capall = nc;
    }
    ctx->all[ctx->nall++] = h;
}

cc_handler *cc_handler_provision(const cc_cfg *cfg, cc_prov *ctx)
{
    if (!cfg || cfg->type != CC_CFG_OBJ) {
        cc_err_setat(ctx->err, cfg ? cfg->file : NULL, cfg ? cfg->line : 0,
                     "handler must be a JSON object");
        return NULL;
    }
    const char *name = cc_cfg_get_str(cfg, "handler");
    if (!name) {
        cc_err_setat(ctx->err, cfg->file, cfg->line,
                     "module name 'handler' not specified in handler object");
        return NULL;
    }
    const cc_handler_type *t = cc_handler_type_find(name);
    if (!t) {
        cc_err_setat(ctx->err, cfg->file, cfg->line, "unknown module: http.handlers.%s", name);
        return NULL;
    }
    if (t->abi != CC_HANDLER_ABI) {
        cc_err_setat(ctx->err, cfg->file, cfg->line, "handler %s: ABI %d, core expects %d", name,
                     t->abi, CC_HANDLER_ABI);
        return NULL;
    }
    size_t size = t->size < sizeof(cc_handler) ? sizeof(cc_handler) : t->size;
    cc_handler *h = cc_arena_alloc(ctx->a, size);
    h->type = t;
    h->cfg = cfg;
    if (t->provision && t->provision(h, cfg, ctx) != CC_OK) {
        cc_err_setat(ctx->err, cfg->file, cfg->line, "provisioning handler %s failed", name);
        /* what the handler did set up before failing is still released */
        if (t->cleanup)
            record(ctx, h);
        return NULL;
    }
    record(ctx, h);
    return h;
}

void cc_prov_cleanup(cc_prov *ctx)
{
    /* reverse order: nested handlers were provisioned before their parents finished */
    for (size_t i = ctx->nall; i-- > 0;) {
        cc_handler *h = ctx->all[i];
        if (h && h->type->cleanup)
            h->type->cleanup(h);
    }
    ctx->nall = 0;
}

static int group_index(cc_arena *a, const char ***names, size_t *n, const char *g)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*names)[i], g) == 0)
            return (int)i;
    *names = cc_arena_grow(a, *names, *n * sizeof(**names), (*n + 1) * sizeof(**names));
    (*names)[*n] = g;
    return (int)(*n)++;
}

int cc_routes_provision(cc_routes *out, const cc_cfg *routes, cc_prov *ctx)
{
    memset(out, 0, sizeof(*out));
    if (!routes || routes->type == CC_CFG_NULL)
        return CC_OK;
    if (routes->type != CC_CFG_ARR)
        return cc_err_setat(ctx->err, routes->file, routes->line, "routes must be a JSON array");
    size_t n = cc_cfg_len(routes);
    out->v = cc_arena_alloc(ctx->a, (n ? n : 1) * sizeof(*out->v));
    out->n = n;
    const char **gnames = NULL;
    size_t ngroups = 0;
    for (size_t i = 0; i < n; i++) {
        const cc_cfg *rc = cc_cfg_idx(routes, i);
        cc_route *rt = &out->v[i];
        rt->group = -1;
        if (!rc || rc->type != CC_CFG_OBJ)
            return cc_err_setat(ctx->err, rc ? rc->file : NULL, rc ? rc->line : 0,
                                "route %zu: must be a JSON object", i);
        const cc_cfg *match = cc_cfg_get(rc, "match");
        if (match && match->type == CC_CFG_ARR && cc_cfg_len(match) > 0) {
            rt->nsets = cc_cfg_len(match);
            rt->sets = cc_arena_alloc(ctx->a, rt->nsets * sizeof(*rt->sets));
            for (size_t k = 0; k < rt->nsets; k++) {
                rt->sets[k] = cc_matchset_compile(ctx->a, cc_cfg_idx(match, k), ctx->err);
                if (!rt->sets[k])
                    return CC_ERR;
            }
        } else if (match && match->type != CC_CFG_ARR && match->type != CC_CFG_NULL) {
            return cc_err_setat(ctx->err, match->file, match->line,
                                "route %zu: match must be a JSON array of matcher sets", i);
        }
        const cc_cfg *handle = cc_cfg_get(rc, "handle");
        if (handle && handle->type == CC_CFG_ARR && cc_cfg_len(handle) > 0) {
            rt->nhandlers = cc_cfg_len(handle);
            rt->handlers = cc_arena_alloc(ctx->a, rt->nhandlers * sizeof(*rt->handlers));
            for (size_t k = 0; k < rt->nhandlers; k++) {
                rt->handlers[k] = cc_handler_provision(cc_cfg_idx(handle, k), ctx);
                if (!rt->handlers[k])
                    return CC_ERR;
            }
        } else if (handle && handle->type != CC_CFG_ARR && handle->type != CC_CFG_NULL) {
            return cc_err_setat(ctx->err, handle->file, handle->line,
                                "route %zu: handle must be a JSON array of handlers", i);
        }
        const char *g = cc_cfg_get_str(rc, "group");
        if (g && *g)
            rt->group = group_index(ctx->a, &gnames, &ngroups, g);
        const cc_cfg *term = cc_cfg_get(rc, "terminal");
        rt->terminal = term && term->type == CC_CFG_BOOL && term->b;
    }
    out->ngroups = ngroups;
    return CC_OK;
}

/* The end of the whole chain (Caddy's emptyHandler): the access log says "NOP" when
 * nothing answered. In the error chain the server turns this into the error status. */
static void chain_end(cc_req *r)
{
    if (r->err.status == 0 && r->resp.status == 0)
        cc_vars_set(r->arena, &r->vars, "unhandled", "true");
}

static bool route_matches(const cc_route *rt, cc_req *r)
{
    if (rt->nsets == 0)
        return true;
    for (size_t i = 0; i < rt->nsets; i++)
        if (cc_matchset_match(rt->sets[i], r))
            return true;
    return false;
}

/* Runs the first route at or after index `from` that matches and whose group is not yet
 * satisfied; falls back to the outer chain when the list is exhausted. */
static int run_from(const cc_routes *routes, size_t from, unsigned char *groups, cc_next *outer,
                    cc_req *r)
{
    for (size_t i = from; i < routes->n; i++) {
        const cc_route *rt = &routes->v[i];
        if (!route_matches(rt, r)) {
            /* a matcher may end the whole list with an error instead of a plain "no"
             * (the file matcher's "=404" try_files item), as Caddy's MatchWithError */
            const char *merr = cc_vars_get(&r->vars, CC_MATCHER_ERROR_VAR);
            if (merr && *merr) {
                int status = atoi(merr);
                cc_vars_set(r->arena, &r->vars, CC_MATCHER_ERROR_VAR, "");
                return cc_req_fail(r, status >= 100 && status <= 599 ? status : 500,
                                   "matcher error %s", merr);
            }
            continue;
        }
        if (rt->group >= 0) {
            if (groups[rt->group])
                continue;
            groups[rt->group] = 1;
        }
        cc_next nx = {
            .routes = routes,
            .route = i,
            .handler = 0,
            .groups_done = groups,
            .outer = outer,
            .terminal = rt->terminal,
        };
        return cc_next_run(&nx, r);
    }
    if (outer)
        return cc_next_run(outer, r);
    chain_end(r);
    return CC_OK;
}

int cc_routes_run(const cc_routes *routes, cc_req *r, cc_next *outer)
{
    unsigned char *groups = NULL;
    if (routes->ngroups > 0)
        groups = cc_arena_alloc(r->arena, routes->ngroups);
    return run_from(routes, 0, groups, outer, r);
}

int cc_next_run(cc_next *next, cc_req *r)
{
    if (!next)
        return CC_OK;
    const cc_route *rt = &next->routes->v[next->route];
    if (next->handler < rt->nhandlers) {
        cc_handler *h = rt->handlers[next->handler];
        cc_next nx = *next;
        nx.handler++;
        int rc = h->type->handle(h, r, &nx);
        if (rc == CC_ASYNC)
            return CC_ASYNC;
        if (rc != CC_OK) {
            if (r->err.status == 0)
                cc_req_fail(r, 500, "handler %s failed", h->type->name);
            if (!r->err.trace)
                r->err.trace = h->type->name;
            return CC_ERR;
        }
        return CC_OK;
    }
    if (next->terminal) {
        /* Caddy's errorEmptyHandler: an error route that ends without answering still
         * writes the error's status */
        if (r->err.status != 0 && r->resp.status == 0)
            r->resp.status = r->err.status;
        chain_end(r);
        return CC_OK;
    }
    return run_from(next->routes, next->route + 1, next->groups_done, next->outer, r);
}
