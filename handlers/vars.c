/* SPDX-License-Identifier: Apache-2.0
 * The `vars` directive: set request variables (caddyhttp.VarsMiddleware). Its parser,
 * and the vars handler that root and log_skip emit too.
 *
 *     vars [<matcher>] [<name> <value>] {
 *         <name> <value>
 *         ...
 *     }
 *
 * Unquoted values are typed as Caddy's ScalarVal types them (int, float, bool), so
 * `vars n 1` stores the number 1 and `vars n "1"` the string. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../caddyfile/helper.h"
#include "../core/handler.h"
#include "../core/replacer.h"
#include "goval.h"

/* One "<name> <value>" pair, the name being the current token. */
static int var_line(cc_disp *d, cc_arena *a, cc_cfg *o)
{
    const char *name = cc_disp_val(d);
    if (!cc_disp_next_arg(d))
        return cc_disp_arg_err(d);
    /* Caddy adds "handler" after marshalling the map, so a var of that name is lost */
    if (strcmp(name, "handler") != 0)
        cc_cfg_set(a, o, name, cc_go_scalar(a, cc_disp_tok(d)));
    if (cc_disp_next_arg(d))
        return cc_disp_arg_err(d);
    return CC_OK;
}

static cc_cfg *parse_vars(cc_helper *h)
{
    cc_disp *d = h->d;
    cc_arena *a = h->a;
    cc_disp_next(d);
    cc_cfg *o = cc_cfg_obj(a);
    cc_cfg_set_str(a, o, "handler", "vars");
    if (cc_disp_next_arg(d) && var_line(d, a, o) != CC_OK)
        return NULL;
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);)
        if (var_line(d, a, o) != CC_OK)
            return NULL;
    return o;
}

const cc_module cc_mod_vars = {CC_MODULE_ABI, "vars", parse_vars, NULL};

/* ---- run time: the vars handler ---- */

typedef struct var_entry {
    cc_tmpl *name;
    cc_tmpl *tmpl;    /* string values: expanded per request */
    const char *text; /* other values: their placeholder text, fixed */
} var_entry;

typedef struct vars_mw {
    cc_handler super;
    var_entry *v;
    size_t n;
} vars_mw;

/* Go's strconv.FormatFloat(v, 'f', -1, 64): the shortest digits that read back as v,
 * written without an exponent (Caddy's ToString of a JSON number). */
static const char *float_text(cc_arena *a, double v)
{
    char buf[64];
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*e", prec - 1, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    snprintf(buf, sizeof(buf), "%.*e", prec - 1, v);
    /* buf is [-]d[.ddd]e[+-]xx: rebuild it in positional form */
    char digits[32];
    size_t nd = 0;
    const char *p = buf;
    bool neg = *p == '-';
    if (neg)
        p++;
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            digits[nd++] = *p;
    int exp = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    size_t cap = nd + (size_t)(exp < 0 ? -exp : exp) + 4;
    char *out = cc_arena_alloc(a, cap), *o = out;
    if (neg && !(nd == 1 && digits[0] == '0'))
        *o++ = '-';
    if (exp < 0) {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -exp - 1; i++)
            *o++ = '0';
        memcpy(o, digits, nd);
        o += nd;
    } else {
        for (int i = 0; i <= exp; i++)
            *o++ = (size_t)i < nd ? digits[i] : '0';
        if ((size_t)exp + 1 < nd) {
            *o++ = '.';
            memcpy(o, digits + exp + 1, nd - (size_t)exp - 1);
            o += nd - (size_t)exp - 1;
        }
    }
    *o = '\0';
    return out;
}

/* Caddy's ToString of a decoded JSON value; containers as Go's %+v prints them. */
static const char *value_text(cc_arena *a, const cc_cfg *v)
{
    switch (v->type) {
    case CC_CFG_NULL:
        return "";
    case CC_CFG_BOOL:
        return v->b ? "true" : "false";
    case CC_CFG_INT:
        return cc_arena_printf(a, "%lld", (long long)v->i);
    case CC_CFG_NUM:
        return float_text(a, v->d);
    case CC_CFG_STR:
        return v->s.p;
    case CC_CFG_ARR: {
        const char *s = "[";
        for (size_t i = 0; i < v->arr.n; i++)
            s = cc_arena_printf(a, "%s%s%s", s, i ? " " : "", value_text(a, v->arr.v[i]));
        return cc_arena_printf(a, "%s]", s);
    }
    case CC_CFG_OBJ: {
        /* Go prints map keys sorted */
        size_t n = v->obj.n;
        size_t *idx = cc_arena_alloc(a, (n ? n : 1) * sizeof(*idx));
        for (size_t i = 0; i < n; i++) {
            size_t j = i;
            while (j > 0 && strcmp(v->obj.k[idx[j - 1]], v->obj.k[i]) > 0) {
                idx[j] = idx[j - 1];
                j--;
            }
            idx[j] = i;
        }
        const char *s = "map[";
        for (size_t i = 0; i < n; i++)
            s = cc_arena_printf(a, "%s%s%s:%s", s, i ? " " : "", v->obj.k[idx[i]],
                                value_text(a, v->obj.v[idx[i]]));
        return cc_arena_printf(a, "%s]", s);
    }
    }
    return "";
}

static int vars_provision(cc_handler *hh, const cc_cfg *cfg, cc_prov *ctx)
{
    vars_mw *h = (vars_mw *)hh;
    h->v = cc_arena_alloc(ctx->a, (cfg->obj.n ? cfg->obj.n : 1) * sizeof(*h->v));
    for (size_t i = 0; i < cfg->obj.n; i++) {
        if (strcmp(cfg->obj.k[i], "handler") == 0)
            continue;
        var_entry *e = &h->v[h->n++];
        e->name = cc_tmpl_compile(ctx->a, cfg->obj.k[i]);
        const cc_cfg *val = cfg->obj.v[i];
        if (val->type == CC_CFG_STR)
            e->tmpl = cc_tmpl_compile(ctx->a, val->s.p);
        else
            e->text = value_text(ctx->a, val);
    }
    return CC_OK;
}

static int vars_handle(cc_handler *hh, cc_req *r, cc_next *next)
{
    vars_mw *h = (vars_mw *)hh;
    for (size_t i = 0; i < h->n; i++) {
        const var_entry *e = &h->v[i];
        const char *name = cc_tmpl_expand(e->name, r, false);
        cc_vars_set(r->arena, &r->vars, name,
                    e->tmpl ? cc_tmpl_expand(e->tmpl, r, false) : e->text);
    }
    return cc_next_run(next, r);
}

const cc_handler_type cc_ht_vars = {
    CC_HANDLER_ABI, "vars", sizeof(vars_mw), vars_provision, vars_handle, NULL,
};
