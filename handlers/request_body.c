/* SPDX-License-Identifier: Apache-2.0
 * The `request_body` directive: limit (or replace) the request body; its parser and
 * the request_body handler.
 *
 *     request_body [<matcher>] {
 *         max_size <size>
 *         set <body>
 *     }
 *
 * Reading past max_size fails with 413; `set` (experimental in Caddy) replaces the
 * body with the given text, placeholders allowed. */
#include <ctype.h>
#include <string.h>

#include "../caddyfile/helper.h"
#include "../caddyfile/units.h"
#include "../core/handler.h"
#include "../core/replacer.h"

/* The error go-humanize's ParseBytes gives for s, which Caddy quotes. */
static const char *size_err(cc_arena *a, const char *s)
{
    size_t i = 0, dots = 0;
    char num[64];
    size_t nn = 0;
    for (; isdigit((unsigned char)s[i]) || s[i] == '.' || s[i] == ','; i++) {
        if (s[i] == ',')
            continue;
        dots += s[i] == '.';
        if (nn + 1 < sizeof(num))
            num[nn++] = s[i];
    }
    num[nn] = '\0';
    if (nn == 0 || dots > 1 || strcmp(num, ".") == 0)
        return cc_arena_printf(a, "strconv.ParseFloat: parsing \"%s\": invalid syntax", num);
    const char *u = s + i;
    while (isspace((unsigned char)*u))
        u++;
    size_t ul = strlen(u);
    while (ul && isspace((unsigned char)u[ul - 1]))
        ul--;
    char *unit = cc_arena_strndup(a, u, ul);
    for (char *p = unit; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    static const char *const known[] = {"",    "b",  "k",  "kb",  "ki",  "kib", "m",  "mb", "mi",
                                        "mib", "g",  "gb", "gi",  "gib", "t",   "tb", "ti", "tib",
                                        "p",   "pb", "pi", "pib", "e",   "eb",  "ei", "eib"};
    for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
        if (strcmp(unit, known[k]) == 0)
            return cc_arena_printf(a, "too large: %s", s);
    return cc_arena_printf(a, "unhandled size name: %s", unit);
}

static cc_cfg *parse_request_body(cc_helper *h)
{
    cc_disp *d = h->d;
    cc_arena *a = h->a;
    cc_disp_next(d);
    cc_cfg *o = cc_cfg_obj(a);
    cc_cfg_set_str(a, o, "handler", "request_body");
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        const char *sub = cc_disp_val(d);
        bool is_max = strcmp(sub, "max_size") == 0;
        if (!is_max && strcmp(sub, "set") != 0) {
            cc_disp_errf(d, "unrecognized request_body subdirective '%s'", sub);
            return NULL;
        }
        if (!cc_disp_next_arg(d)) {
            cc_disp_arg_err(d);
            return NULL;
        }
        const char *v = cc_disp_val(d);
        if (cc_disp_next_arg(d)) {
            cc_disp_prev(d);
            cc_disp_arg_err(d);
            return NULL;
        }
        if (!is_max) {
            if (*v)
                cc_cfg_set_str(a, o, "set", v);
            else
                cc_cfg_del(o, "set");
            continue;
        }
        int64_t size;
        if (cc_cf_parse_size(v, &size) != 0) {
            cc_disp_errf(d, "parsing max_size: %s", size_err(a, v));
            return NULL;
        }
        if (size)
            cc_cfg_set_int(a, o, "max_size", size);
        else
            cc_cfg_del(o, "max_size");
    }
    return o;
}

const cc_module cc_mod_request_body = {CC_MODULE_ABI, "request_body", parse_request_body, NULL};

/* ---- run time: the request_body handler ---- */

typedef struct req_body {
    cc_handler super;
    int64_t max_size; /* 0 = no limit */
    cc_tmpl *set;     /* NULL = keep the body */
} req_body;

/* A streaming body read through a limit: reading past it fails, as Go's
 * http.MaxBytesReader does. An async source's CC_EAGAIN passes through (the engine's
 * cc_req_body_ready still reaches whoever waits on the request). */
typedef struct limited {
    cc_body body;
    cc_body *inner;
    int64_t left;
} limited;

static ssize_t limited_read(cc_body *b, char *buf, size_t cap)
{
    limited *l = b->ctx;
    if (l->left < 0)
        return CC_ERR;
    /* ask for one byte more than allowed, to tell "exactly at the limit" from "over" */
    size_t want = cap;
    if ((int64_t)want > l->left + 1)
        want = (size_t)(l->left + 1);
    ssize_t n = l->inner->read(l->inner, buf, want);
    if (n <= 0)
        return n;
    l->left -= n;
    return l->left < 0 ? CC_ERR : n;
}

static void limited_close(cc_body *b)
{
    limited *l = b->ctx;
    if (l->inner->close)
        l->inner->close(l->inner);
}

static int rb_provision(cc_handler *hh, const cc_cfg *cfg, cc_prov *ctx)
{
    req_body *h = (req_body *)hh;
    const cc_cfg *m = cc_cfg_get(cfg, "max_size");
    if (m && m->type == CC_CFG_INT)
        h->max_size = m->i;
    else if (m && m->type == CC_CFG_NUM)
        h->max_size = (int64_t)m->d;
    else if (m && m->type != CC_CFG_NULL)
        return cc_err_setat(ctx->err, m->file, m->line, "request_body: max_size must be a number");
    const char *set = cc_cfg_get_str(cfg, "set");
    if (set && *set)
        h->set = cc_tmpl_compile(ctx->a, set);
    return CC_OK;
}

static int rb_handle(cc_handler *hh, cc_req *r, cc_next *next)
{
    req_body *h = (req_body *)hh;
    if (h->set) {
        const char *b = cc_tmpl_expand(h->set, r, false);
        size_t n = strlen(b);
        r->body = cc_body_mem(r->arena, b, n);
        r->content_length = (int64_t)n;
    }
    if (!r->body || h->max_size <= 0)
        return cc_next_run(next, r);
    int64_t len = r->body->len >= 0 ? r->body->len : r->content_length;
    if (r->body->mem && (int64_t)r->body->mem_len > len)
        len = (int64_t)r->body->mem_len;
    if (len > h->max_size)
        return cc_req_fail(r, 413, "http: request body too large");
    if (len < 0 && !r->body->mem && r->body->fd < 0 && r->body->read) {
        limited *l = cc_arena_alloc(r->arena, sizeof(*l));
        l->inner = r->body;
        l->left = h->max_size;
        l->body.fd = -1;
        l->body.len = -1;
        l->body.read = limited_read;
        l->body.async = l->inner->async;
        l->body.close = limited_close;
        l->body.ctx = l;
        r->body = &l->body;
    }
    return cc_next_run(next, r);
}

const cc_handler_type cc_ht_request_body = {
    CC_HANDLER_ABI, "request_body", sizeof(req_body), rb_provision, rb_handle, NULL,
};
