/* SPDX-License-Identifier: Apache-2.0
 * reverse_proxy's response side (Caddy's reverseProxy after the round trip): passive
 * health for the response, the {http.reverse_proxy.*} placeholders, response-based
 * retries, handle_response routes with the upstream response held (replace_status,
 * copy_response, copy_response_headers), and finalizeResponse onto r->resp. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rp_proxy.h"

/* ---- placeholders ---- */

const char *px_fmt_duration(cc_arena *a, int64_t ns)
{
    char buf[64];
    uint64_t u = ns < 0 ? (uint64_t)(-ns) : (uint64_t)ns;
    const char *sign = ns < 0 ? "-" : "";
    if (u == 0)
        return "0s";
    if (u < 1000000000ull) {
        const char *unit = "ns";
        uint64_t div = 1;
        int digits = 0;
        if (u >= 1000000) {
            unit = "ms";
            div = 1000000;
            digits = 6;
        } else if (u >= 1000) {
            unit = "\xc2\xb5s";
            div = 1000;
            digits = 3;
        }
        int n = snprintf(buf, sizeof(buf), "%s%llu", sign, (unsigned long long)(u / div));
        if (u % div) {
            char f[16];
            snprintf(f, sizeof(f), "%0*llu", digits, (unsigned long long)(u % div));
            for (int i = digits - 1; i > 0 && f[i] == '0'; i--)
                f[i] = '\0';
            n += snprintf(buf + n, sizeof(buf) - (size_t)n, ".%s", f);
        }
        snprintf(buf + n, sizeof(buf) - (size_t)n, "%s", unit);
        return cc_arena_strdup(a, buf);
    }
    uint64_t secs = u / 1000000000ull, frac = u % 1000000000ull;
    uint64_t h = secs / 3600, m = (secs / 60) % 60, s = secs % 60;
    int n = snprintf(buf, sizeof(buf), "%s", sign);
    if (h)
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%lluh", (unsigned long long)h);
    if (h || m)
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%llum", (unsigned long long)m);
    n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%llu", (unsigned long long)s);
    if (frac) {
        char f[16];
        snprintf(f, sizeof(f), "%09llu", (unsigned long long)frac);
        for (int i = 8; i > 0 && f[i] == '0'; i--)
            f[i] = '\0';
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, ".%s", f);
    }
    snprintf(buf + n, sizeof(buf) - (size_t)n, "s");
    return cc_arena_strdup(a, buf);
}

/* Go's strconv.FormatFloat(v, 'f', -1, 64): the shortest form that reads back. */
static const char *fmt_float(cc_arena *a, double v)
{
    char buf[64];
    for (int d = 0; d < 17; d++) {
        snprintf(buf, sizeof(buf), "%.*f", d, v);
        if (strtod(buf, NULL) == v)
            return cc_arena_strdup(a, buf);
    }
    return cc_arena_printf(a, "%.17f", v);
}

static void set_ns(cc_req *r, const char *name, int64_t ns)
{
    cc_arena *a = r->arena;
    cc_vars_set(a, &r->vars, name, px_fmt_duration(a, ns));
    cc_vars_set(a, &r->vars, cc_arena_printf(a, "%s_ms", name), fmt_float(a, (double)ns / 1e6));
}

void px_vars_attempt(px_req *p)
{
    if (!p->h->need_vars)
        return;
    cc_req *r = p->r;
    cc_arena *a = r->arena;
    cc_vars_set(a, &r->vars, "http.reverse_proxy.upstream.requests",
                cc_arena_printf(a, "%d", cc_rp_upstream_num_requests(p->up)));
    cc_vars_set(a, &r->vars, "http.reverse_proxy.upstream.max_requests",
                cc_arena_printf(a, "%d", p->up->max_requests));
    cc_vars_set(a, &r->vars, "http.reverse_proxy.upstream.fails",
                cc_arena_printf(a, "%d", cc_rp_upstream_fails(p->up)));
}

void px_vars_end(px_req *p)
{
    if (!p->h->need_vars || p->vars_ended)
        return;
    p->vars_ended = true;
    cc_req *r = p->r;
    uint64_t now = cc_now_mono_ns();
    set_ns(r, "http.reverse_proxy.duration", (int64_t)(now - p->start_ns));
    if (p->att_start_ns)
        set_ns(r, "http.reverse_proxy.upstream.duration", (int64_t)(now - p->att_start_ns));
    cc_vars_set(r->arena, &r->vars, "http.reverse_proxy.retries",
                cc_arena_printf(r->arena, "%d", p->retries));
}

/* Go's textproto.CanonicalMIMEHeaderKey. */
static const char *canon(cc_arena *a, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' || c == ':' || c < 0x21 || c > 0x7e)
            return s; /* not a token: Go leaves it as it is */
    }
    char *o = cc_arena_strndup(a, s, n);
    bool up = true;
    for (size_t i = 0; i < n; i++) {
        char c = o[i];
        if (up && c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        else if (!up && c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        o[i] = c;
        up = c == '-';
    }
    return o;
}

static void set_response_vars(px_req *p, int64_t lat)
{
    cc_req *r = p->r;
    cc_arena *a = r->arena;
    set_ns(r, "http.reverse_proxy.upstream.latency", lat);
    /* header placeholders of an earlier attempt must not leak into this one */
    static const char pfx[] = "http.reverse_proxy.header.";
    for (size_t i = 0; i < r->vars.n; i++)
        if (strncmp(r->vars.v[i].name, pfx, sizeof(pfx) - 1) == 0)
            r->vars.v[i].value = "";
    for (size_t i = 0; i < p->rh.n; i++) {
        const char *name = p->rh.v[i].name;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcasecmp(p->rh.v[j].name, name) == 0;
        if (seen)
            continue;
        cc_vars_set(a, &r->vars, cc_arena_printf(a, "%s%s", pfx, canon(a, name)),
                    cc_headers_get_joined(a, &p->rh, name));
    }
    cc_vars_set(a, &r->vars, "http.reverse_proxy.status_code", cc_arena_printf(a, "%d", p->status));
    cc_vars_set(a, &r->vars, "http.reverse_proxy.status_text",
                p->status_line ? p->status_line : "");
}

/* ---- finalizeResponse ---- */

int px_finalize(px_req *p, int status)
{
    cc_req *r = p->r;
    cc_arena *a = r->arena;
    int st = status ? status : p->status;
    p->finalized = true;
    /* header_down rewrites a copy: copy_response_headers may still read the original */
    cc_headers hd = {0};
    hd.cap = p->rh.n + 2;
    hd.v = cc_arena_alloc(a, hd.cap * sizeof(*hd.v));
    memcpy(hd.v, p->rh.v, p->rh.n * sizeof(*hd.v));
    hd.n = p->rh.n;
    cc_rp_hdr_down_proto(p->h->hdr, r, st, p->ver_major, p->ver_minor, &hd);
    for (size_t i = 0; i < hd.n; i++)
        cc_headers_add(a, &r->resp.headers, hd.v[i].name, hd.v[i].value);
    r->resp.status = st;
    bool head = strcmp(p->method, "HEAD") == 0;
    if (head || st < 200 || st == 204 || st == 304) {
        if (head && p->resp_cl >= 0)
            cc_headers_set(a, &r->resp.headers, "Content-Length",
                           cc_arena_printf(a, "%lld", (long long)p->resp_cl));
        r->resp.body = NULL;
        px_xfer_release(p);
        px_ring_release(p->pl, &p->ring);
        p->st = PX_DONE;
        px_vars_end(p);
        return CC_OK;
    }
    r->resp.body = px_resp_body(p);
    p->st = PX_STREAM;
    return CC_OK;
}

/* ---- the head is in ---- */

int px_on_head(px_req *p, bool *retry)
{
    px_handler *h = p->h;
    cc_req *r = p->r;
    int64_t lat = (int64_t)(cc_loop_now(p->pl->loop) - p->att_start_ns);
    cc_rp_report(p->up, p->status, lat, false);
    if (h->need_vars)
        set_response_vars(p, lat);
    for (size_t i = 0; i < h->nresp_retry; i++) {
        if (cc_matchset_match(h->resp_retry[i], r)) {
            *retry = true;
            return CC_ERR;
        }
    }
    int status = 0;
    for (size_t i = 0; i < h->nhr; i++) {
        px_hr *hr = &h->hr[i];
        if (hr->match && !cc_respmatch_match(hr->match, p->status, &p->rh))
            continue;
        if (hr->status) {
            /* replace_status: only the code changes, the response is proxied as usual */
            const char *s = cc_tmpl_expand(hr->status, r, false);
            char *end = NULL;
            long v = strtol(s, &end, 10);
            if (!*s || *end)
                return cc_req_fail(r, 500, "strconv.Atoi: parsing \"%s\": invalid syntax", s);
            status = (int)v;
            break;
        }
        /* the routes run with the response held; copy_response finds it through hrc;
         * a handler in them that goes asynchronous watches the client itself */
        px_unwatch(p);
        px_hrc_push(p);
        p->hr_active = true;
        int rc = cc_routes_run(&hr->routes, r, p->next);
        if (rc != CC_ASYNC && !p->finalized) {
            /* nothing copies the body any more: let the upstream exchange go */
            px_xfer_release(p);
            px_ring_release(p->pl, &p->ring);
            p->st = PX_DONE;
            px_vars_end(p);
        }
        return rc;
    }
    return px_finalize(p, status);
}

/* ---- handle_response contexts ---- */

static __thread px_hrc *hrc_top;

void px_hrc_push(px_req *p)
{
    if (p->hrc)
        return;
    px_hrc *c = cc_arena_alloc(p->r->arena, sizeof(*c));
    c->p = p;
    c->next = hrc_top;
    if (hrc_top)
        hrc_top->prev = c;
    hrc_top = c;
    p->hrc = c;
}

void px_hrc_drop(px_req *p)
{
    px_hrc *c = p->hrc;
    if (!c)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        hrc_top = c->next;
    if (c->next)
        c->next->prev = c->prev;
    p->hrc = NULL;
}

static px_req *hrc_find(const cc_req *r)
{
    for (px_hrc *c = hrc_top; c; c = c->next)
        if (c->p->r == r && !c->p->gone)
            return c->p;
    return NULL;
}

/* ---- copy_response ---- */

typedef struct copy_response {
    cc_handler super;
    cc_tmpl *status;
} copy_response;

static int cr_provision(cc_handler *hh, const cc_cfg *cfg, cc_prov *ctx)
{
    copy_response *h = (copy_response *)hh;
    const cc_cfg *sc = cc_cfg_get(cfg, "status_code");
    if (sc && sc->type == CC_CFG_INT)
        h->status = cc_tmpl_compile(ctx->a, cc_arena_printf(ctx->a, "%lld", (long long)sc->i));
    else if (sc && sc->type == CC_CFG_STR && *sc->s.p)
        h->status = cc_tmpl_compile(ctx->a, sc->s.p);
    else if (sc && sc->type != CC_CFG_NULL)
        return cc_err_setat(ctx->err, sc->file, sc->line,
                            "status_code must be an integer or a string");
    return CC_OK;
}

static int cr_handle(cc_handler *hh, cc_req *r, cc_next *next)
{
    (void)next;
    copy_response *h = (copy_response *)hh;
    px_req *p = hrc_find(r);
    if (!p)
        return cc_req_fail(
            r, 500, "cannot use 'copy_response' outside of reverse_proxy's handle_response routes");
    int status = 0;
    if (h->status) {
        const char *s = cc_tmpl_expand(h->status, r, false);
        char *end = NULL;
        long v = strtol(s, &end, 10);
        if (!*s || *end)
            return cc_req_fail(r, 500, "strconv.Atoi: parsing \"%s\": invalid syntax", s);
        status = (int)v;
    }
    if (p->finalized)
        return CC_OK; /* the body was copied already */
    return px_finalize(p, status);
}

const cc_handler_type cc_ht_copy_response = {
    CC_HANDLER_ABI, "copy_response", sizeof(copy_response), cr_provision, cr_handle, NULL,
};

/* ---- copy_response_headers ---- */

typedef struct copy_headers {
    cc_handler super;
    const char **include, **exclude;
    size_t ninclude, nexclude;
} copy_headers;

static int strlist(cc_arena *a, const cc_cfg *v, const char ***out, size_t *n, cc_err *err)
{
    size_t k = cc_cfg_len(v);
    if (!k)
        return CC_OK;
    if (v->type != CC_CFG_ARR)
        return cc_err_setat(err, v->file, v->line, "json: cannot unmarshal into []string");
    *out = cc_arena_alloc(a, k * sizeof(char *));
    for (size_t i = 0; i < k; i++) {
        const cc_cfg *s = cc_cfg_idx(v, i);
        if (s->type != CC_CFG_STR)
            return cc_err_setat(err, s->file, s->line, "json: cannot unmarshal into []string");
        (*out)[(*n)++] = s->s.p;
    }
    return CC_OK;
}

static int ch_provision(cc_handler *hh, const cc_cfg *cfg, cc_prov *ctx)
{
    copy_headers *h = (copy_headers *)hh;
    if (strlist(ctx->a, cc_cfg_get(cfg, "include"), &h->include, &h->ninclude, ctx->err) ||
        strlist(ctx->a, cc_cfg_get(cfg, "exclude"), &h->exclude, &h->nexclude, ctx->err))
        return CC_ERR;
    if (h->ninclude && h->nexclude)
        return cc_err_setat(ctx->err, cfg->file, cfg->line,
                            "cannot define both 'exclude' and 'include' lists at the same time");
    return CC_OK;
}

static bool listed(const char **v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(v[i], name) == 0)
            return true;
    return false;
}

static int ch_handle(cc_handler *hh, cc_req *r, cc_next *next)
{
    copy_headers *h = (copy_headers *)hh;
    px_req *p = hrc_find(r);
    if (!p)
        return cc_req_fail(
            r, 500,
            "cannot use 'copy_response_headers' outside of reverse_proxy's handle_response routes");
    for (size_t i = 0; i < p->rh.n; i++) {
        const char *name = p->rh.v[i].name;
        if (h->ninclude && !listed(h->include, h->ninclude, name))
            continue;
        if (h->nexclude && listed(h->exclude, h->nexclude, name))
            continue;
        cc_headers_add(r->arena, &r->resp.headers, canon(r->arena, name), p->rh.v[i].value);
    }
    return cc_next_run(next, r);
}

const cc_handler_type cc_ht_copy_response_headers = {
    CC_HANDLER_ABI, "copy_response_headers", sizeof(copy_headers), ch_provision, ch_handle, NULL,
};
