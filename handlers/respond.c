/* SPDX-License-Identifier: Apache-2.0
 * The `respond` directive: a static response (caddyhttp.StaticResponse). Its
 * Caddyfile parser, and the static_response handler that serves it (also for redir
 * and abort).
 *
 *     respond [<matcher>] <status>|<body> [<status>] {
 *         body <text>
 *         close
 *     }
 *
 * A lone argument of three digits is a status code, anything else is the body. The
 * status may be a placeholder; like Caddy, it is not range-checked when adapting. */
#include <string.h>

#include "../caddyfile/helper.h"
#include "../core/handler.h"
#include "../core/replacer.h"
#include "goconv.h"
#include "goval.h"
#include "headerops.h"

static cc_cfg *parse_respond(cc_helper *h)
{
    cc_disp *d = h->d;
    cc_arena *a = h->a;
    cc_disp_next(d);
    const char *status, *body;
    if (cc_go_text_status_args(d, &body, &status) != CC_OK)
        return NULL;

    bool close = false;
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        const char *sub = cc_disp_val(d);
        if (strcmp(sub, "body") == 0) {
            if (*body) {
                cc_disp_errf(d, "body already specified");
                return NULL;
            }
            if (!cc_disp_next_arg(d)) {
                cc_disp_arg_err(d);
                return NULL;
            }
            body = cc_disp_val(d);
            if (cc_disp_next_arg(d)) {
                cc_disp_prev(d);
                cc_disp_arg_err(d);
                return NULL;
            }
        } else if (strcmp(sub, "close") == 0) {
            if (close) {
                cc_disp_errf(d, "close already specified");
                return NULL;
            }
            close = true;
        } else {
            cc_disp_errf(d, "unrecognized subdirective '%s'", sub);
            return NULL;
        }
    }

    cc_cfg *o = cc_cfg_obj(a);
    cc_cfg_set_str(a, o, "handler", "static_response");
    if (*status)
        cc_cfg_set(a, o, "status_code", cc_go_weak_string(a, status));
    if (*body)
        cc_cfg_set_str(a, o, "body", body);
    if (close)
        cc_cfg_set_bool(a, o, "close", true);
    return o;
}

const cc_module cc_mod_respond = {CC_MODULE_ABI, "respond", parse_respond, NULL};

/* ---- run time: the static_response handler ---- */

typedef struct sr_header {
    cc_tmpl *name;
    const char *static_name; /* canonical, when name has no placeholder */
    cc_tmpl **vals;
    size_t nvals;
} sr_header;

typedef struct static_resp {
    cc_handler super;
    cc_tmpl *status;          /* NULL: 200, or the error's status inside handle_errors */
    cc_tmpl *body;            /* NULL: no body */
    const char *static_ctype; /* Content-Type for a body without placeholders */
    sr_header *hdrs;
    size_t nhdrs;
    bool close, abort;
} static_resp;

/* Go's json.Valid over s[i..n): a strict RFC 8259 reader, recursion depth bounded. */
static bool json_value(const char *s, size_t n, size_t *i, int depth);

static void json_ws(const char *s, size_t n, size_t *i)
{
    while (*i < n && (s[*i] == ' ' || s[*i] == '\t' || s[*i] == '\n' || s[*i] == '\r'))
        (*i)++;
}

static bool json_string(const char *s, size_t n, size_t *i)
{
    (*i)++; /* opening quote */
    while (*i < n) {
        unsigned char c = (unsigned char)s[(*i)++];
        if (c == '"')
            return true;
        if (c < 0x20)
            return false;
        if (c != '\\')
            continue;
        if (*i >= n)
            return false;
        c = (unsigned char)s[(*i)++];
        if (c == 'u') {
            for (int k = 0; k < 4; k++, (*i)++)
                if (*i >= n || !strchr("0123456789abcdefABCDEF", s[*i]) || !s[*i])
                    return false;
        } else if (!strchr("\"\\/bfnrt", c) || !c) {
            return false;
        }
    }
    return false;
}

static bool json_digits(const char *s, size_t n, size_t *i)
{
    size_t st = *i;
    while (*i < n && s[*i] >= '0' && s[*i] <= '9')
        (*i)++;
    return *i > st;
}

static bool json_number(const char *s, size_t n, size_t *i)
{
    if (s[*i] == '-')
        (*i)++;
    if (*i < n && s[*i] == '0')
        (*i)++;
    else if (!json_digits(s, n, i))
        return false;
    if (*i < n && s[*i] == '.') {
        (*i)++;
        if (!json_digits(s, n, i))
            return false;
    }
    if (*i < n && (s[*i] == 'e' || s[*i] == 'E')) {
        (*i)++;
        if (*i < n && (s[*i] == '+' || s[*i] == '-'))
            (*i)++;
        if (!json_digits(s, n, i))
            return false;
    }
    return true;
}

static bool json_container(const char *s, size_t n, size_t *i, int depth, bool obj)
{
    char close = obj ? '}' : ']';
    (*i)++;
    json_ws(s, n, i);
    if (*i < n && s[*i] == close) {
        (*i)++;
        return true;
    }
    for (;;) {
        if (obj) {
            json_ws(s, n, i);
            if (*i >= n || s[*i] != '"' || !json_string(s, n, i))
                return false;
            json_ws(s, n, i);
            if (*i >= n || s[*i] != ':')
                return false;
            (*i)++;
        }
        if (!json_value(s, n, i, depth + 1))
            return false;
        json_ws(s, n, i);
        if (*i < n && s[*i] == ',') {
            (*i)++;
            continue;
        }
        if (*i < n && s[*i] == close) {
            (*i)++;
            return true;
        }
        return false;
    }
}

static bool json_value(const char *s, size_t n, size_t *i, int depth)
{
    if (depth > 10000)
        return false;
    json_ws(s, n, i);
    if (*i >= n)
        return false;
    switch (s[*i]) {
    case '{':
        return json_container(s, n, i, depth, true);
    case '[':
        return json_container(s, n, i, depth, false);
    case '"':
        return json_string(s, n, i);
    case 't':
    case 'f':
    case 'n': {
        const char *lit = s[*i] == 't' ? "true" : s[*i] == 'f' ? "false" : "null";
        size_t ln = strlen(lit);
        if (n - *i < ln || memcmp(s + *i, lit, ln) != 0)
            return false;
        *i += ln;
        return true;
    }
    default:
        if (s[*i] == '-' || (s[*i] >= '0' && s[*i] <= '9'))
            return json_number(s, n, i);
        return false;
    }
}

/* Caddy's choice for a body without a Content-Type: JSON when the trimmed body is a
 * valid JSON object or array, else UTF-8 text. */
static const char *body_content_type(const char *body)
{
    size_t n = strlen(body);
    while (n && strchr(" \t\n\r\v\f", body[n - 1]))
        n--;
    while (n && strchr(" \t\n\r\v\f", *body)) {
        body++;
        n--;
    }
    if (n > 2 &&
        ((body[0] == '{' && body[n - 1] == '}') || (body[0] == '[' && body[n - 1] == ']'))) {
        size_t i = 0;
        if (json_value(body, n, &i, 0)) {
            json_ws(body, n, &i);
            if (i == n)
                return "application/json";
        }
    }
    return "text/plain; charset=utf-8";
}

/* A caddyhttp.WeakString from JSON: strings as they are, other scalars as their text. */
static const char *weak_string(cc_arena *a, const cc_cfg *v)
{
    switch (v->type) {
    case CC_CFG_STR:
        return v->s.p;
    case CC_CFG_INT:
        return cc_arena_printf(a, "%lld", (long long)v->i);
    case CC_CFG_NUM:
        return cc_arena_printf(a, "%.17g", v->d);
    case CC_CFG_BOOL:
        return v->b ? "true" : "false";
    default:
        return "";
    }
}

static int sr_provision(cc_handler *hh, const cc_cfg *cfg, cc_prov *ctx)
{
    static_resp *h = (static_resp *)hh;
    cc_arena *a = ctx->a;
    const cc_cfg *sc = cc_cfg_get(cfg, "status_code");
    if (sc && sc->type != CC_CFG_NULL) {
        const char *s = weak_string(a, sc);
        if (*s)
            h->status = cc_tmpl_compile(a, s);
    }
    const char *body = cc_cfg_get_str(cfg, "body");
    if (body && *body) {
        h->body = cc_tmpl_compile(a, body);
        if (!cc_tmpl_dynamic(h->body))
            h->static_ctype = body_content_type(body);
    }
    const cc_cfg *hdrs = cc_cfg_get(cfg, "headers");
    if (hdrs && hdrs->type == CC_CFG_OBJ) {
        h->nhdrs = hdrs->obj.n;
        h->hdrs = cc_arena_alloc(a, (h->nhdrs ? h->nhdrs : 1) * sizeof(*h->hdrs));
        for (size_t i = 0; i < hdrs->obj.n; i++) {
            sr_header *x = &h->hdrs[i];
            x->name = cc_tmpl_compile(a, hdrs->obj.k[i]);
            if (!cc_tmpl_dynamic(x->name))
                x->static_name = cc_hdr_canonical_key(a, hdrs->obj.k[i]);
            const cc_cfg *vals = hdrs->obj.v[i];
            if (vals->type == CC_CFG_STR) {
                x->nvals = 1;
                x->vals = cc_arena_alloc(a, sizeof(*x->vals));
                x->vals[0] = cc_tmpl_compile(a, vals->s.p);
                continue;
            }
            if (vals->type != CC_CFG_ARR && vals->type != CC_CFG_NULL)
                return cc_err_setat(ctx->err, vals->file, vals->line,
                                    "static_response: header %s: values must be strings",
                                    hdrs->obj.k[i]);
            x->nvals = cc_cfg_len(vals);
            x->vals = cc_arena_alloc(a, (x->nvals ? x->nvals : 1) * sizeof(*x->vals));
            for (size_t k = 0; k < x->nvals; k++) {
                const cc_cfg *v = cc_cfg_idx(vals, k);
                if (v->type != CC_CFG_STR)
                    return cc_err_setat(ctx->err, v->file, v->line,
                                        "static_response: header %s: values must be strings",
                                        hdrs->obj.k[i]);
                x->vals[k] = cc_tmpl_compile(a, v->s.p);
            }
        }
    }
    const cc_cfg *c = cc_cfg_get(cfg, "close");
    h->close = c && c->type == CC_CFG_BOOL && c->b;
    c = cc_cfg_get(cfg, "abort");
    h->abort = c && c->type == CC_CFG_BOOL && c->b;
    return CC_OK;
}

static int sr_handle(cc_handler *hh, cc_req *r, cc_next *next)
{
    static_resp *h = (static_resp *)hh;
    cc_arena *a = r->arena;
    if (h->abort) {
        r->resp.abort = true;
        return CC_OK;
    }
    if (h->close) {
        r->resp.close = true;
        cc_headers_set(a, &r->resp.headers, "Connection", "close");
    }
    for (size_t i = 0; i < h->nhdrs; i++) {
        const sr_header *x = &h->hdrs[i];
        const char *name = x->static_name
                               ? x->static_name
                               : cc_hdr_canonical_key(a, cc_tmpl_expand(x->name, r, false));
        cc_headers_del(&r->resp.headers, name);
        for (size_t k = 0; k < x->nvals; k++)
            cc_headers_add(a, &r->resp.headers, name, cc_tmpl_expand(x->vals[k], r, false));
    }
    const char *body = h->body ? cc_tmpl_expand(h->body, r, true) : "";
    if (*body && !cc_headers_get(&r->resp.headers, "Content-Type"))
        cc_headers_set(a, &r->resp.headers, "Content-Type",
                       h->static_ctype ? h->static_ctype : body_content_type(body));

    int status = r->err.status > 0 ? r->err.status : 200;
    if (h->status) {
        const char *s = cc_tmpl_expand(h->status, r, false);
        int64_t v;
        const char *bad = cc_goconv_atoi(s, &v);
        if (bad)
            return cc_req_fail(r, 500, "strconv.Atoi: parsing \"%s\": %s", s, bad);
        /* net/http refuses to write such a code (a panic Caddy turns into a 500) */
        if (v < 100 || v > 999)
            return cc_req_fail(r, 500, "invalid WriteHeader code %lld", (long long)v);
        status = (int)v;
    }
    if (status == 103) {
        /* Early Hints: the hint headers stay on the response, the chain goes on */
        return cc_next_run(next, r);
    }
    r->resp.status = status;
    r->resp.body = *body ? cc_body_mem(a, body, strlen(body)) : NULL;
    return CC_OK;
}

const cc_handler_type cc_ht_static_response = {
    CC_HANDLER_ABI, "static_response", sizeof(static_resp), sr_provision, sr_handle, NULL,
};
