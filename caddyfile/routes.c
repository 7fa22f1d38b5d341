/* SPDX-License-Identifier: Apache-2.0
 * Turning a block's "route" config values into an ordered route list, as Caddy's
 * buildSubroute does (caddy-reference 3.2, 3.3): check every directive is ordered, sort
 * by the directive order and then by path specificity (vars reversed), put repeated
 * handle/root and every rewrite into groups, splice bare subroutes, and merge adjacent
 * routes that match the same requests. */
#include "adapter_priv.h"

#include <string.h>

bool cc_cf_is_splice(const cc_cfg *v)
{
    return v && v->type == CC_CFG_OBJ && !cc_cfg_get(v, "handle") && cc_cfg_get(v, "routes") &&
           cc_cfg_get_str(v, "handler") && strcmp(cc_cfg_get_str(v, "handler"), "subroute") == 0;
}

static bool is_plain_route(const cc_cfval *v)
{
    return strcmp(v->cls, "route") == 0 && v->val && v->val->type == CC_CFG_OBJ &&
           !cc_cf_is_splice(v->val);
}

/* The single path of a route's only matcher set, or NULL. */
static const char *single_path(const cc_cfg *route)
{
    cc_cfg *match = cc_cfg_get(route, "match");
    if (cc_cfg_len(match) != 1)
        return NULL;
    cc_cfg *paths = cc_cfg_get(cc_cfg_idx(match, 0), "path");
    if (!paths || paths->type != CC_CFG_ARR || paths->arr.n != 1)
        return NULL;
    cc_cfg *p = cc_cfg_idx(paths, 0);
    return p && p->type == CC_CFG_STR ? p->s.p : NULL;
}

static size_t trimmed_len(const char *p)
{
    size_t n = strlen(p);
    return n && p[n - 1] == '*' ? n - 1 : n;
}

static bool route_less(const void *x, const void *y, void *ctx)
{
    const cc_cfval *i = x, *j = y;
    const cc_adapt *ad = ctx;
    if (strcmp(i->directive, j->directive) != 0)
        return cc_cf_order_index(ad, i->directive) < cc_cf_order_index(ad, j->directive);
    if (!is_plain_route(i) || !is_plain_route(j))
        return false;
    const char *ip = single_path(i->val), *jp = single_path(j->val);
    size_t il = ip ? strlen(ip) : 0, jl = jp ? strlen(jp) : 0;
    bool by_path;
    if (il > 0 && jl > 0) {
        size_t it = trimmed_len(ip), jt = trimmed_len(jp);
        if (it == jt && memcmp(ip, jp, it) == 0) {
            by_path = il < jl;
        } else if (it == jt) {
            by_path = memcmp(ip, jp, it) < 0;
        } else {
            by_path = it > jt;
        }
    } else {
        by_path = cc_cfg_len(cc_cfg_get(i->val, "match")) > 0 &&
                  cc_cfg_len(cc_cfg_get(j->val, "match")) == 0;
    }
    if (strcmp(i->directive, "vars") == 0)
        return !by_path;
    return by_path;
}

static bool same_route_props(const cc_cfg *x, const cc_cfg *y)
{
    cc_cfg *tx = cc_cfg_get(x, "terminal"), *ty = cc_cfg_get(y, "terminal");
    bool bx = tx && tx->type == CC_CFG_BOOL && tx->b, by = ty && ty->type == CC_CFG_BOOL && ty->b;
    const char *gx = cc_cfg_get_str(x, "group"), *gy = cc_cfg_get_str(y, "group");
    if (bx != by || strcmp(gx ? gx : "", gy ? gy : "") != 0)
        return false;
    cc_cfg *mx = cc_cfg_get(x, "match"), *my = cc_cfg_get(y, "match");
    if (cc_cfg_len(mx) == 0 && cc_cfg_len(my) == 0)
        return true;
    return cc_cfg_equal(mx, my);
}

void cc_cf_consolidate_routes(cc_arena *a, cc_cfg *routes)
{
    if (!routes || routes->type != CC_CFG_ARR)
        return;
    for (size_t i = 0; i + 1 < routes->arr.n; i++) {
        cc_cfg *r = routes->arr.v[i], *next = routes->arr.v[i + 1];
        if (!same_route_props(r, next))
            continue;
        cc_cfg *nh = cc_cfg_get(next, "handle");
        if (cc_cfg_len(nh)) {
            cc_cfg *h = cc_cfg_child_arr(a, r, "handle");
            for (size_t k = 0; k < nh->arr.n; k++)
                cc_cfg_push(a, h, nh->arr.v[k]);
        }
        cc_cfg_remove(routes, i + 1);
        i--;
    }
}

static const char *const exclusive_dirs[] = {"handle", "rewrite", "root"}; /* sorted */

int cc_cf_build_routes(cc_adapt *ad, cc_cfvals *vals, bool sort, cc_err *err, const cc_token *where,
                       cc_cfg **routes)
{
    cc_arena *a = ad->a;
    (void)where;
    if (sort) {
        for (size_t i = 0; i < vals->n; i++)
            if (cc_cf_order_index(ad, vals->v[i].directive) < 0)
                return cc_disp_errf_tok(err, vals->v[i].tok,
                                        "directive '%s' is not an ordered HTTP handler, so it "
                                        "cannot be used here - try placing within a route block "
                                        "or using the order global option",
                                        vals->v[i].directive);
        cc_cf_sort_stable(vals->v, vals->n, sizeof(cc_cfval), route_less, ad);
    }

    const char *group[3] = {NULL, NULL, NULL};
    for (size_t k = 0; k < 3; k++) {
        int count = 0;
        for (size_t i = 0; i < vals->n && count < 2; i++)
            if (strcmp(vals->v[i].directive, exclusive_dirs[k]) == 0)
                count++;
        if (count > 1 || strcmp(exclusive_dirs[k], "rewrite") == 0)
            group[k] = cc_arena_printf(a, "group%d", ad->group_counter++);
    }

    cc_cfg *out = cc_cfg_arr(a);
    for (size_t i = 0; i < vals->n; i++) {
        const cc_cfval *v = &vals->v[i];
        if (strcmp(v->cls, "route") != 0 || !v->val || v->val->type != CC_CFG_OBJ)
            continue;
        if (cc_cf_is_splice(v->val)) {
            cc_cfg *sub = cc_cfg_get(v->val, "routes");
            for (size_t k = 0; k < cc_cfg_len(sub); k++)
                cc_cfg_push(a, out, cc_cfg_clone(a, sub->arr.v[k]));
            continue;
        }
        cc_cfg *r = cc_cfg_clone(a, v->val);
        for (size_t k = 0; k < 3; k++) {
            if (strcmp(v->directive, exclusive_dirs[k]) != 0)
                continue;
            if (group[k]) {
                /* keep Caddy's key order: group first */
                cc_cfg_del(r, "group");
                cc_cfg *g = cc_cfg_obj(a);
                cc_cfg_set_str(a, g, "group", group[k]);
                for (size_t f = 0; f < r->obj.n; f++)
                    cc_cfg_set(a, g, r->obj.k[f], r->obj.v[f]);
                r = g;
            } else {
                cc_cfg_del(r, "group");
            }
        }
        cc_cfg_push(a, out, r);
    }
    cc_cf_consolidate_routes(a, out);
    *routes = out;
    return CC_OK;
}
