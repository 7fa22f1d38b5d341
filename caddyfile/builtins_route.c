/* SPDX-License-Identifier: Apache-2.0
 * The routing directives (caddy-reference 3.4): handle, handle_path, route,
 * handle_errors and invoke. They parse their blocks as directives and wrap the result
 * in subroutes; handle_errors turns status codes into Caddy's CEL expression. */
#include "adapter_priv.h"

#include <string.h>

static cc_cfg *parse_handle(cc_helper *h)
{
    cc_cfg *sub = NULL;
    if (cc_helper_parse_segment_as_subroute(h, &sub))
        return NULL;
    return sub;
}

static cc_cfg *parse_route(cc_helper *h)
{
    cc_cfvals vals = {0};
    if (cc_helper_parse_segment_as_config(h, &vals))
        return NULL;
    for (size_t i = 0; i < vals.n; i++)
        if (strcmp(vals.v[i].cls, "route") != 0) {
            cc_disp_errf_tok(h->err, vals.v[i].tok,
                             "%s directive returned something other than an HTTP route or "
                             "subroute: %s (only handler directives can be used in routes)",
                             vals.v[i].directive, vals.v[i].cls);
            return NULL;
        }
    cc_cfg *sub = NULL;
    if (cc_helper_build_subroute(h, &vals, false, &sub))
        return NULL;
    return sub;
}

static int parse_handle_path(cc_helper *h, cc_cfvals *out)
{
    cc_disp *d = h->d;
    cc_disp_next(d);
    if (!cc_disp_next_arg(d))
        return cc_disp_arg_err(d);
    const char *path = cc_disp_val(d);
    if (path[0] != '/')
        return cc_disp_errf(d, "path matcher must begin with '/', got %s", path);
    size_t n = strlen(path);
    size_t strip = n;
    if (n >= 2 && strcmp(path + n - 2, "/*") == 0)
        strip = n - 2;
    else if (n >= 1 && path[n - 1] == '*')
        strip = n - 1;

    cc_disp_reset(d);
    cc_disp_next(d);
    cc_cfg *sub = NULL;
    if (cc_helper_parse_segment_as_subroute(h, &sub))
        return CC_ERR;

    cc_cfg *rw = cc_cfg_obj(h->a);
    cc_cfg_set_str(h->a, rw, "handler", "rewrite");
    if (strip)
        cc_cfg_set(h->a, rw, "strip_path_prefix", cc_cfg_strn(h->a, path, strip));
    cc_cfg *first = cc_cfg_obj(h->a);
    cc_cfg_push(h->a, cc_cfg_child_arr(h->a, first, "handle"), rw);
    cc_cfg_insert(h->a, cc_cfg_child_arr(h->a, sub, "routes"), 0, first);

    cc_cfg *set = cc_cfg_obj(h->a);
    cc_cfg_push_str(h->a, cc_cfg_child_arr(h->a, set, "path"), path);
    cc_cfvals_add(h, out, "route", cc_helper_new_route(h, set, sub));
    return CC_OK;
}

static int parse_handle_errors(cc_helper *h, cc_cfvals *out)
{
    cc_disp *d = h->d;
    cc_arena *a = h->a;
    cc_disp_next(d);
    size_t nargs = 0;
    const char **args = cc_disp_remaining_args(d, &nargs);
    char *expr = cc_arena_strdup(a, "");
    char *codes = cc_arena_strdup(a, "");
    for (size_t i = 0; i < nargs; i++) {
        const char *v = args[i];
        long long num = 0;
        if (strlen(v) != 3)
            return cc_disp_errf(d, "bad status value '%s'", v);
        if (strcmp(v + 1, "xx") == 0) {
            char c[2] = {v[0], 0};
            if (cc_cf_atoi(c, &num))
                return cc_disp_errf(d,
                                    "bad status value '%s': strconv.Atoi: parsing \"%s\": invalid "
                                    "syntax",
                                    c, c);
            expr = cc_arena_printf(a,
                                   "%s%s{http.error.status_code} >= %s00 && "
                                   "{http.error.status_code} <= %s99",
                                   expr, *expr ? " || " : "", c, c);
            continue;
        }
        int rc = cc_cf_atoi(v, &num);
        if (rc)
            return cc_disp_errf(d, "bad status value '%s': strconv.Atoi: parsing \"%s\": %s", v, v,
                                rc == 1 ? "invalid syntax" : "value out of range");
        codes = cc_arena_printf(a, "%s%s%s", codes, *codes ? ", " : "", v);
    }
    if (*codes)
        expr = cc_arena_printf(a, "%s%s{http.error.status_code} in [%s]", expr, *expr ? " || " : "",
                               codes);
    if (nargs) {
        cc_disp_reset(d);
        cc_disp_next(d);
        cc_disp_remaining_args(d, NULL);
    }
    cc_disp_prev(d);

    cc_cfg *sub = NULL;
    if (cc_helper_parse_segment_as_subroute(h, &sub))
        return CC_ERR;
    cc_cfg *wrap = cc_cfg_obj(a);
    if (*expr) {
        cc_cfg *set = cc_cfg_obj(a);
        cc_cfg_set_str(a, set, "expression", expr);
        cc_cfg_push(a, cc_cfg_child_arr(a, wrap, "match"), set);
    }
    cc_cfg_push(a, cc_cfg_child_arr(a, wrap, "handle"), sub);
    cc_cfg *outer = cc_cfg_obj(a);
    cc_cfg_set_str(a, outer, "handler", "subroute");
    cc_cfg_push(a, cc_cfg_child_arr(a, outer, "routes"), wrap);
    cc_cfvals_add(h, out, "error_route", outer);
    return CC_OK;
}

static cc_cfg *parse_invoke(cc_helper *h)
{
    cc_disp *d = h->d;
    cc_disp_next(d);
    if (!cc_disp_next_arg(d)) {
        cc_disp_arg_err(d);
        return NULL;
    }
    const char *name = cc_disp_val(d);
    if (cc_disp_next(d) || cc_disp_next_block(d, 0)) {
        cc_disp_arg_err(d);
        return NULL;
    }
    /* the server that runs this block must carry the named route */
    if (h->block)
        cc_cfvals_add(h, &h->block->vals, "named_route", cc_cfg_str(h->a, name));
    cc_cfg *o = cc_cfg_obj(h->a);
    cc_cfg_set_str(h->a, o, "handler", "invoke");
    cc_cfg_set_str(h->a, o, "name", name);
    return o;
}

const cc_module cc_cf_mod_handle = {CC_MODULE_ABI, "handle", parse_handle, NULL};
const cc_module cc_cf_mod_route = {CC_MODULE_ABI, "route", parse_route, NULL};
const cc_module cc_cf_mod_handle_path = {CC_MODULE_ABI, "handle_path", NULL, parse_handle_path};
const cc_module cc_cf_mod_handle_errors = {CC_MODULE_ABI, "handle_errors", NULL,
                                           parse_handle_errors};
const cc_module cc_cf_mod_invoke = {CC_MODULE_ABI, "invoke", parse_invoke, NULL};
