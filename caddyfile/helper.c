/* SPDX-License-Identifier: Apache-2.0
 * What directive parsers get from the adapter (helper.h, Caddy's httpcaddyfile.Helper):
 * options, warnings, matcher tokens, routes and groups, and the parsing of nested blocks
 * as directives. Also the evaluation of a list of directive segments, shared by site
 * blocks, named routes and nested blocks, including the wrapper that gives handler
 * directives their matcher and route. */
#include "adapter_priv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cc_cfg *cc_helper_option(cc_helper *h, const char *name)
{
    return h->ad ? cc_cfg_get(h->ad->opts, name) : NULL;
}

void cc_helper_warn(cc_helper *h, const char *fmt, ...)
{
    if (!h->ad || !h->ad->warns)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cc_warn_add(h->ad->warns, cc_disp_file(h->d), cc_disp_line(h->d), "%s", msg);
}

void cc_cfvals_add(cc_helper *h, cc_cfvals *out, const char *cls, cc_cfg *val)
{
    cc_cfval v = {cls, val, NULL, cc_disp_tok(h->d)};
    if (!v.tok && h->d->n)
        v.tok = &h->d->t[0];
    CC_VEC_PUSH(h->a, out, v);
}

int cc_helper_matcher_token(cc_helper *h, cc_cfg **set, bool *has)
{
    *set = NULL;
    *has = false;
    if (!cc_disp_next_arg(h->d))
        return CC_OK;
    const cc_token *t = cc_disp_tok(h->d);
    if (strcmp(t->text, "*") == 0) {
        *has = true;
        return CC_OK;
    }
    if (t->text[0] == '/') {
        cc_cfg *s = cc_cfg_at(cc_cfg_obj(h->a), t->file, t->line);
        cc_cfg_push_str(h->a, cc_cfg_child_arr(h->a, s, "path"), t->text);
        *set = s;
        *has = true;
        return CC_OK;
    }
    if (t->text[0] == '@') {
        cc_cfg *def = cc_cf_matcher_lookup(h->mdefs, t->text);
        if (!def)
            return cc_disp_errf(h->d, "unrecognized matcher name: %s", t->text);
        *set = cc_cfg_clone(h->a, def);
        *has = true;
        return CC_OK;
    }
    cc_disp_prev(h->d);
    return CC_OK;
}

int cc_helper_extract_matcher_set(cc_helper *h, cc_cfg **set)
{
    bool has = false;
    if (cc_helper_matcher_token(h, set, &has))
        return CC_ERR;
    if (has)
        cc_disp_delete(h->d);
    cc_disp_reset(h->d);
    return CC_OK;
}

cc_cfg *cc_helper_new_route(cc_helper *h, cc_cfg *set, cc_cfg *handler)
{
    cc_cfg *r = cc_cfg_obj(h->a);
    if (set) {
        cc_cfg *m = cc_cfg_child_arr(h->a, r, "match");
        cc_cfg_push(h->a, m, set);
    }
    cc_cfg_push(h->a, cc_cfg_child_arr(h->a, r, "handle"), handler);
    return r;
}

const char *cc_helper_next_group(cc_helper *h)
{
    return cc_arena_printf(h->a, "group%d", h->ad->group_counter++);
}

void cc_helper_group_routes(cc_helper *h, cc_cfvals *vals, size_t from)
{
    int count = 0;
    for (size_t i = from; i < vals->n && count < 2; i++)
        if (strcmp(vals->v[i].cls, "route") == 0 && !cc_cf_is_splice(vals->v[i].val))
            count++;
    if (count < 2)
        return;
    const char *g = cc_helper_next_group(h);
    for (size_t i = from; i < vals->n; i++)
        if (strcmp(vals->v[i].cls, "route") == 0 && !cc_cf_is_splice(vals->v[i].val))
            cc_cfg_set_str(h->a, vals->v[i].val, "group", g);
}

/* Runs one handler directive the way RegisterHandlerDirective wraps it. */
static int run_handler(cc_helper *sub, const cc_module *mod, cc_cfvals *out)
{
    if (!cc_disp_next(sub->d))
        return cc_disp_arg_err(sub->d);
    cc_cfg *set = NULL;
    if (cc_helper_extract_matcher_set(sub, &set))
        return CC_ERR;
    const cc_token *dtok = sub->d->n ? &sub->d->t[0] : NULL;
    cc_cfg *handler = mod->parse_handler(sub);
    if (!handler) {
        if (!sub->err->code)
            cc_disp_errf_tok(sub->err, dtok, "parsing caddyfile tokens for '%s' failed", mod->name);
        return CC_ERR;
    }
    cc_cfval v = {"route", cc_helper_new_route(sub, set, handler), NULL, dtok};
    CC_VEC_PUSH(sub->a, out, v);
    return CC_OK;
}

int cc_cf_eval_segments(cc_helper *proto, const cc_segment *segs, size_t n, cc_cf_mscope *scope,
                        cc_cfvals *out, bool top, bool braceless)
{
    for (size_t i = 0; i < n; i++) {
        const cc_segment *seg = &segs[i];
        if (!seg->n || seg->v[0].text[0] == '@')
            continue;
        const cc_token *dt = &seg->v[0];
        const char *dir = dt->text;
        const cc_module *mod = cc_cf_find_module(dir);
        if (!mod || (!mod->parse_handler && !mod->parse_directive)) {
            if (!top)
                return cc_disp_errf_tok(proto->err, dt,
                                        "unrecognized directive: %s - are you sure your Caddyfile "
                                        "structure (nesting and braces) is correct?",
                                        dir);
            if (braceless)
                return cc_disp_errf_tok(proto->err, dt,
                                        "unrecognized directive: %s\nDid you mean to define a "
                                        "second site? If so, you must use curly braces around "
                                        "each site to separate their configurations.",
                                        dir);
            return cc_disp_errf_tok(proto->err, dt, "unrecognized directive: %s", dir);
        }
        cc_helper sub = *proto;
        sub.d = cc_disp_new(proto->a, seg->v, seg->n, proto->err);
        sub.mdefs = scope;
        size_t start = out->n;
        int rc;
        if (mod->parse_handler) {
            rc = run_handler(&sub, mod, out);
        } else {
            rc = mod->parse_directive(&sub, out);
            if (rc && !proto->err->code)
                cc_disp_errf_tok(proto->err, dt, "parsing caddyfile tokens for '%s' failed", dir);
        }
        if (rc)
            return CC_ERR;
        const char *norm = strcmp(dir, "handle_path") == 0 ? "handle" : dir;
        for (size_t k = start; k < out->n; k++) {
            out->v[k].directive = norm;
            if (!out->v[k].tok)
                out->v[k].tok = dt;
        }
    }
    return CC_OK;
}

int cc_helper_parse_segment_as_config(cc_helper *h, cc_cfvals *out)
{
    cc_disp *d = h->d;
    while (cc_disp_next(d)) {
        if (cc_disp_next_arg(d))
            return cc_disp_arg_err(d);
        CC_VEC(cc_segment) segs = {0};
        for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
            cc_segment s = cc_disp_next_segment(d);
            CC_VEC_PUSH(h->a, &segs, s);
        }
        cc_cf_mscope *scope = cc_cf_mscope_new(h->a, h->mdefs);
        for (size_t i = 0; i < segs.n; i++)
            if (segs.v[i].n && segs.v[i].v[0].text[0] == '@' &&
                cc_cf_matcher_define(h->ad, scope, &segs.v[i]))
                return CC_ERR;
        if (cc_cf_eval_segments(h, segs.v, segs.n, scope, out, false, false))
            return CC_ERR;
    }
    return CC_OK;
}

int cc_helper_build_subroute(cc_helper *h, cc_cfvals *vals, bool sort, cc_cfg **subroute)
{
    cc_cfg *routes = NULL;
    if (cc_cf_build_routes(h->ad, vals, sort, h->err, cc_disp_tok(h->d), &routes))
        return CC_ERR;
    cc_cfg *s = cc_cfg_obj(h->a);
    cc_cfg_set_str(h->a, s, "handler", "subroute");
    if (cc_cfg_len(routes))
        cc_cfg_set(h->a, s, "routes", routes);
    *subroute = s;
    return CC_OK;
}

int cc_helper_parse_segment_as_subroute(cc_helper *h, cc_cfg **subroute)
{
    cc_cfvals vals = {0};
    if (cc_helper_parse_segment_as_config(h, &vals))
        return CC_ERR;
    return cc_helper_build_subroute(h, &vals, true, subroute);
}

int cc_helper_parse_matcher_block(cc_helper *h, cc_cfg **set)
{
    return cc_cf_matcher_parse_nested(h->ad, h->d, set);
}

int cc_helper_parse_matcher_line(cc_helper *h, cc_cfg *set)
{
    return cc_cf_matcher_parse_one(h->ad, h->d, set, "");
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

cc_cfg *cc_helper_caddyfiles(cc_helper *h)
{
    CC_VEC(const char *) files = {0};
    if (h->block && h->block->sb) {
        const cc_sblock *sb = h->block->sb;
        for (size_t i = 0; i < sb->nsegs; i++)
            for (size_t k = 0; k < sb->segs[i].n; k++) {
                const char *f = sb->segs[i].v[k].file;
                bool seen = false;
                for (size_t j = 0; f && j < files.n && !seen; j++)
                    seen = strcmp(files.v[j], f) == 0;
                if (f && !seen)
                    CC_VEC_PUSH(h->a, &files, f);
            }
    }
    if (files.n)
        qsort(files.v, files.n, sizeof(*files.v), cmp_str);
    return cc_cfg_str_arr(h->a, files.v, files.n);
}
