/* SPDX-License-Identifier: Apache-2.0
 * The Caddyfile adapter's driver (Caddy's httpcaddyfile ServerType.Setup): parse, read
 * the global options, extract named routes, evaluate every site block's directives with
 * its named matchers and placeholder shorthands, then build apps.http and the other
 * apps. The result is a config tree in Caddy's JSON shape. */
#include "adapter_priv.h"

#include <string.h>

bool cc_cf_is_directive(const char *name)
{
    return name && cc_cf_find_module(name) != NULL;
}

/* The order option (the whole list after every `order` line) as a C array. */
static void set_order(cc_adapt *ad)
{
    cc_cfg *o = cc_cfg_get(ad->opts, "order");
    if (!o || o->type != CC_CFG_ARR)
        return;
    const char **v = cc_arena_alloc(ad->a, (o->arr.n + 1) * sizeof(char *));
    size_t n = 0;
    for (size_t i = 0; i < o->arr.n; i++)
        if (o->arr.v[i]->type == CC_CFG_STR)
            v[n++] = o->arr.v[i]->s.p;
    v[n] = NULL;
    ad->order = v;
}

static cc_helper proto_helper(cc_adapt *ad, cc_cf_block *blk)
{
    cc_helper h = {0};
    h.a = ad->a;
    h.err = ad->err;
    h.ad = ad;
    h.block = blk;
    h.d = cc_disp_new(ad->a, NULL, 0, ad->err);
    return h;
}

/* &(name) blocks become routes that `invoke` can run (Caddy's extractNamedRoutes). */
static int extract_named_routes(cc_adapt *ad, cc_sblock *blocks, size_t n, cc_cfg *invokes)
{
    cc_arena *a = ad->a;
    ad->group_counter = 0;
    for (size_t i = 0; i < n; i++) {
        cc_sblock *sb = &blocks[i];
        if (!sb->is_named_route || !sb->nsegs)
            continue;
        CC_VEC(cc_token) whole = {0};
        for (size_t s = 0; s < sb->nsegs; s++) {
            cc_cf_shorthand_apply(a, &sb->segs[s]);
            for (size_t k = 0; k < sb->segs[s].n; k++)
                CC_VEC_PUSH(a, &whole, sb->segs[s].v[k]);
        }
        cc_cf_block tmp = {.sb = sb};
        cc_helper h = proto_helper(ad, &tmp);
        h.d = cc_disp_new(a, whole.v, whole.n, ad->err);
        cc_cfg *sub = NULL;
        if (cc_helper_parse_segment_as_subroute(&h, &sub))
            return CC_ERR;
        cc_cfg *routes = cc_cfg_get(sub, "routes");
        cc_cfg *route = cc_cfg_obj(a);
        cc_cfg *handle = cc_cfg_child_arr(a, route, "handle");
        if (cc_cfg_len(routes) == 1 && !cc_cfg_len(cc_cfg_get(cc_cfg_idx(routes, 0), "match"))) {
            /* Caddy keeps only the first handler here, silently dropping the rest of a
             * consolidated route; caddy-c keeps them all */
            cc_cfg *hs = cc_cfg_get(cc_cfg_idx(routes, 0), "handle");
            for (size_t k = 0; k < cc_cfg_len(hs); k++)
                cc_cfg_push(a, handle, cc_cfg_idx(hs, k));
        } else {
            cc_cfg_push(a, handle, sub);
        }
        const char *key = sb->nkeys ? sb->keys[0].text : "";
        if (strncmp(key, "&(", 2) == 0 && strlen(key) > 3)
            key = cc_arena_strndup(a, key + 2, strlen(key) - 3);
        if (cc_cfg_get(ad->named_routes, key))
            return cc_disp_errf_tok(ad->err, sb->nkeys ? &sb->keys[0] : NULL,
                                    "cannot have duplicate named_routes: %s", key);
        cc_cfg_set(a, ad->named_routes, key, route);
        cc_cfg *inv = cc_cfg_arr(a);
        for (size_t v = 0; v < tmp.vals.n; v++)
            if (strcmp(tmp.vals.v[v].cls, "named_route") == 0 && tmp.vals.v[v].val &&
                tmp.vals.v[v].val->type == CC_CFG_STR &&
                !cc_cfg_arr_has_str(inv, tmp.vals.v[v].val->s.p))
                cc_cfg_push(a, inv, tmp.vals.v[v].val);
        cc_cfg_set(a, invokes, key, inv);
    }
    ad->group_counter = 0;
    return CC_OK;
}

/* Matcher definitions first (they may be used above their definition), then every
 * directive in written order. */
static int eval_block(cc_adapt *ad, cc_cf_block *blk)
{
    cc_sblock *sb = blk->sb;
    for (size_t s = 0; s < sb->nsegs; s++)
        cc_cf_shorthand_apply(ad->a, &sb->segs[s]);
    cc_cf_mscope *scope = cc_cf_mscope_new(ad->a, NULL);
    for (size_t s = 0; s < sb->nsegs; s++)
        if (sb->segs[s].n && sb->segs[s].v[0].text[0] == '@' &&
            cc_cf_matcher_define(ad, scope, &sb->segs[s]))
            return CC_ERR;
    cc_helper h = proto_helper(ad, blk);
    h.mdefs = scope;
    return cc_cf_eval_segments(&h, sb->segs, sb->nsegs, scope, &blk->vals, true, !sb->has_braces);
}

int cc_cf_adapt(cc_arena *a, const char *filename, const char *src, size_t len, cc_cfg **out,
                cc_warns *warns, cc_err *err)
{
    cc_sblocks blocks = {0};
    cc_cf_parse_opts po = {.is_directive = cc_cf_is_directive, .warns = warns};
    if (cc_cf_parse(a, filename, src, len, &po, &blocks, err))
        return CC_ERR;

    cc_adapt *ad = cc_arena_alloc(a, sizeof(*ad));
    ad->a = a;
    ad->err = err;
    ad->warns = warns;
    ad->opts = cc_cfg_obj(a);
    ad->named_routes = cc_cfg_obj(a);
    ad->root = cc_cfg_obj(a);

    size_t first = 0;
    const cc_sblock *global = NULL;
    if (blocks.n && blocks.v[0].nkeys == 0 && !blocks.v[0].is_named_route) {
        global = &blocks.v[0];
        first = 1;
    }
    if (cc_cf_options_parse(ad, global))
        return CC_ERR;
    set_order(ad);

    cc_cfg *invokes = cc_cfg_obj(a);
    /* blocks.v is NULL for an empty file: no pointer arithmetic on it */
    if (extract_named_routes(ad, blocks.n ? blocks.v + first : NULL, blocks.n - first, invokes))
        return CC_ERR;

    ad->blocks = cc_arena_alloc(a, (blocks.n ? blocks.n : 1) * sizeof(cc_cf_block));
    for (size_t i = first; i < blocks.n; i++) {
        cc_sblock *sb = &blocks.v[i];
        if (sb->is_named_route)
            continue;
        if (sb->nkeys == 0) {
            const cc_token *t = sb->nsegs && sb->segs[0].n ? &sb->segs[0].v[0] : NULL;
            return cc_disp_errf_tok(err, t,
                                    "server block without any key is global configuration, and "
                                    "if used, it must be first");
        }
        cc_cf_block *blk = &ad->blocks[ad->nblocks++];
        blk->sb = sb;
        if (eval_block(ad, blk))
            return CC_ERR;
    }

    if (cc_cf_build_http(ad, invokes))
        return CC_ERR;
    if (cc_cf_build_other_apps(ad))
        return CC_ERR;
    *out = ad->root;
    return CC_OK;
}
