/* SPDX-License-Identifier: Apache-2.0
 * Matcher sets (core/match.h) with Caddy's semantics (modules/caddyhttp/matchers.go):
 * each matcher of a set is compiled at provision into a function and a state, and a
 * request runs the functions in order until one says no. Patterns without
 * placeholders are prepared completely up front (lower-cased and classified paths,
 * sorted host lists, translated regexps). This file has the dispatcher and the
 * path, path_regexp, host, method, protocol, not, expression and tls matchers;
 * match_req.c the header, query, IP and vars ones. */
#include "match.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "match_priv.h"
#include "pathmatch.h"
#include "regex.h"
#include "replacer.h"

struct cc_matchset {
    entry *v;
    size_t n;
};

/* ---- registered extension matchers ---- */

static const cc_matcher_impl *ext[16];
static size_t next_impl;

void cc_matcher_register(const cc_matcher_impl *m)
{
    for (size_t i = 0; i < next_impl; i++)
        if (strcmp(ext[i]->name, m->name) == 0) {
            ext[i] = m;
            return;
        }
    if (next_impl < sizeof(ext) / sizeof(ext[0]))
        ext[next_impl++] = m;
}

typedef struct ext_state {
    const cc_matcher_impl *impl;
    void *state;
} ext_state;

static bool m_ext(const void *st, cc_req *r)
{
    const ext_state *e = st;
    return e->impl->match(e->state, r);
}

/* ---- helpers ---- */

int cc_match_fail(cc_err *err, const cc_cfg *at, const char *fmt, const char *a1, const char *a2)
{
    return cc_err_setat(err, at ? at->file : NULL, at ? at->line : 0, fmt, a1, a2 ? a2 : "");
}

char *cc_match_lower(cc_arena *a, const char *s)
{
    char *d = cc_arena_strdup(a, s);
    for (char *c = d; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c + 32);
    return d;
}

dstr cc_dstr_make(cc_arena *a, const char *s)
{
    dstr d = {s, NULL};
    if (strchr(s, '{')) {
        cc_tmpl *t = cc_tmpl_compile(a, s);
        if (cc_tmpl_dynamic(t))
            d.t = t;
    }
    return d;
}

const char *cc_dstr_get(const dstr *d, cc_req *r)
{
    return d->t ? cc_tmpl_expand(d->t, r, false) : d->s;
}

/* Strings of a JSON array (or a single string). false when an element is no string. */
bool cc_match_strlist(const cc_cfg *v, const char ***out, size_t *n, cc_arena *a)
{
    if (v && v->type == CC_CFG_STR) {
        *out = cc_arena_alloc(a, sizeof(char *));
        (*out)[0] = v->s.p;
        *n = 1;
        return true;
    }
    if (!v || v->type != CC_CFG_ARR)
        return false;
    *n = cc_cfg_len(v);
    *out = cc_arena_alloc(a, (*n ? *n : 1) * sizeof(char *));
    for (size_t i = 0; i < *n; i++) {
        const cc_cfg *e = cc_cfg_idx(v, i);
        if (!e || e->type != CC_CFG_STR)
            return false;
        (*out)[i] = e->s.p;
    }
    return true;
}

/* Host as Caddy's matchers see it: r.Host without port and brackets, as a span. */
static const char *req_host(cc_req *r, size_t *len)
{
    const char *hp = r->hostport;
    if (!hp || !*hp) {
        hp = r->host ? r->host : "";
        *len = strlen(hp);
        return hp;
    }
    const char *colon = strrchr(hp, ':');
    if (hp[0] == '[') {
        const char *rb = strchr(hp, ']');
        if (rb && (rb[1] == '\0' || rb + 1 == colon)) {
            *len = (size_t)(rb - hp - 1);
            return hp + 1;
        }
    } else if (colon && !memchr(hp, ':', (size_t)(colon - hp))) {
        *len = (size_t)(colon - hp);
        return hp;
    }
    *len = strlen(hp);
    return hp;
}

/* ---- path ---- */

typedef enum { PK_ALL, PK_ESCAPED, PK_SUBSTR, PK_SUFFIX, PK_PREFIX, PK_GLOB } pkind;

/* A path pattern, lower-cased at provision as Caddy does, and classified once (or per
 * request when it holds placeholders). */
typedef struct path_pat {
    dstr pat;
    pkind k;
    const char *lit; /* the fixed part for SUBSTR / SUFFIX / PREFIX */
    size_t litn;
    bool merge; /* collapse "//" (not when the pattern has one) */
} path_pat;

typedef struct path_st {
    path_pat *v;
    size_t n;
    bool all;
} path_st;

static void path_classify(cc_arena *a, const char *pat, path_pat *pp)
{
    size_t pn = strlen(pat), stars = 0;
    for (const char *c = pat; *c; c++)
        stars += *c == '*';
    pp->merge = strstr(pat, "//") == NULL;
    pp->lit = pat;
    pp->litn = pn;
    if (strcmp(pat, "*") == 0)
        pp->k = PK_ALL;
    else if (strchr(pat, '%'))
        pp->k = PK_ESCAPED;
    else if (stars == 2 && pn >= 2 && pat[0] == '*' && pat[pn - 1] == '*') {
        pp->k = PK_SUBSTR;
        pp->lit = cc_arena_strndup(a, pat + 1, pn - 2);
        pp->litn = pn - 2;
    } else if (stars == 1 && pat[0] == '*') {
        pp->k = PK_SUFFIX;
        pp->lit = pat + 1;
        pp->litn = pn - 1;
    } else if (stars == 1 && pat[pn - 1] == '*') {
        pp->k = PK_PREFIX;
        pp->litn = pn - 1;
    } else {
        pp->k = PK_GLOB;
    }
}

static const char *lower_if_needed(cc_arena *a, const char *s)
{
    for (const char *c = s; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            return cc_match_lower(a, s);
    return s;
}

static bool path_one(const path_pat *pp, const char *pat, cc_req *r, const char **lower,
                     const char **merged, const char **kept)
{
    if (pp->k == PK_ALL)
        return true;
    if (pp->k == PK_ESCAPED) {
        const char *raw = r->raw_path ? r->raw_path : (r->path ? r->path : "/");
        return cc_path_match_escaped(r->arena, cc_path_clean(r->arena, raw, pp->merge), pat);
    }
    if (!*lower)
        *lower = lower_if_needed(r->arena, r->path ? r->path : "");
    const char **slot = pp->merge ? merged : kept;
    if (!*slot)
        *slot = cc_path_clean(r->arena, *lower, pp->merge);
    const char *p = *slot;
    size_t n = strlen(p);
    switch (pp->k) {
    case PK_SUBSTR:
        return memmem(p, n, pp->lit, pp->litn) != NULL;
    case PK_SUFFIX:
        return n >= pp->litn && memcmp(p + n - pp->litn, pp->lit, pp->litn) == 0;
    case PK_PREFIX:
        return n >= pp->litn && memcmp(p, pp->lit, pp->litn) == 0;
    default:
        return cc_path_glob(pat, p);
    }
}

static bool m_path(const void *stp, cc_req *r)
{
    const path_st *st = stp;
    if (st->all)
        return true;
    const char *lower = NULL, *merged = NULL, *kept = NULL;
    for (size_t i = 0; i < st->n; i++) {
        const path_pat *pp = &st->v[i];
        if (pp->pat.t) {
            path_pat dyn;
            const char *pat = cc_dstr_get(&pp->pat, r);
            path_classify(r->arena, pat, &dyn);
            if (path_one(&dyn, pat, r, &lower, &merged, &kept))
                return true;
        } else if (path_one(pp, pp->pat.s, r, &lower, &merged, &kept)) {
            return true;
        }
    }
    return false;
}

static int c_path(cc_arena *a, const cc_cfg *v, entry *e, cc_err *err)
{
    const char **pats;
    size_t n;
    if (!cc_match_strlist(v, &pats, &n, a))
        return cc_match_fail(err, v, "path matcher: expected an array of strings%s%s", "", NULL);
    path_st *st = cc_arena_alloc(a, sizeof(*st));
    st->v = cc_arena_alloc(a, (n ? n : 1) * sizeof(*st->v));
    st->n = n;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(pats[i], "*") == 0)
            st->all = true;
        st->v[i].pat = cc_dstr_make(a, cc_match_lower(a, pats[i]));
        if (!st->v[i].pat.t)
            path_classify(a, st->v[i].pat.s, &st->v[i]);
    }
    e->fn = m_path;
    e->st = st;
    return CC_OK;
}

/* ---- path_regexp ---- */

static bool m_path_re(const void *st, cc_req *r)
{
    const char *clean = cc_path_clean(r->arena, r->path ? r->path : "", true);
    return cc_rematch_match(st, r, clean);
}

cc_rematch *cc_match_rematch(cc_arena *a, const cc_cfg *v, cc_err *err)
{
    if (!v || v->type != CC_CFG_OBJ) {
        cc_match_fail(err, v, "regexp matcher: expected an object with a pattern%s%s", "", NULL);
        return NULL;
    }
    const char *pat = cc_cfg_get_str(v, "pattern");
    if (!pat) {
        cc_match_fail(err, v, "regexp matcher: missing pattern%s%s", "", NULL);
        return NULL;
    }
    cc_err sub = {0};
    cc_rematch *m = cc_rematch_compile(a, cc_cfg_get_str(v, "name"), pat, &sub);
    if (!m) {
        cc_match_fail(err, v, "%s%s", sub.msg, NULL);
        return NULL;
    }
    return m;
}

static int c_path_re(cc_arena *a, const cc_cfg *v, entry *e, cc_err *err)
{
    cc_rematch *m = cc_match_rematch(a, v, err);
    if (!m)
        return CC_ERR;
    e->fn = m_path_re;
    e->st = m;
    return CC_OK;
}

/* ---- host ---- */

typedef struct host_st {
    dstr *v; /* every host, in order */
    size_t n;
    const char **exact; /* sorted exact hosts, for long lists */
    size_t nexact;
    bool large;
} host_st;

static bool fuzzy(const char *h)
{
    return strchr(h, '{') || strchr(h, '*');
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static bool host_wild(const char *pat, const char *host, size_t hlen)
{
    const char *hend = host + hlen;
    for (;;) {
        const char *pd = strchr(pat, '.'), *hd = memchr(host, '.', (size_t)(hend - host));
        size_t pn = pd ? (size_t)(pd - pat) : strlen(pat);
        size_t hn = hd ? (size_t)(hd - host) : (size_t)(hend - host);
        if (!(pn == 1 && pat[0] == '*') && (pn != hn || strncasecmp(pat, host, pn) != 0))
            return false;
        if (!pd || !hd)
            return !pd && !hd;
        pat = pd + 1;
        host = hd + 1;
    }
}

static bool m_host(const void *stp, cc_req *r)
{
    const host_st *st = stp;
    size_t hlen;
    const char *host = req_host(r, &hlen);
    if (st->large) {
        const char *low = cc_match_lower(r->arena, cc_arena_strndup(r->arena, host, hlen));
        if (bsearch(&low, st->exact, st->nexact, sizeof(char *), cmp_str))
            return true;
    }
    for (size_t i = 0; i < st->n; i++) {
        if (st->large && !fuzzy(st->v[i].s))
            continue;
        const char *h = cc_dstr_get(&st->v[i], r);
        if (strchr(h, '*')) {
            if (host_wild(h, host, hlen))
                return true;
        } else if (strlen(h) == hlen && strncasecmp(h, host, hlen) == 0) {
            return true;
        }
    }
    return false;
}

static int c_host(cc_arena *a, const cc_cfg *v, entry *e, cc_err *err)
{
    const char **hosts;
    size_t n;
    if (!cc_match_strlist(v, &hosts, &n, a))
        return cc_match_fail(err, v, "host matcher: expected an array of strings%s%s", "", NULL);
    host_st *st = cc_arena_alloc(a, sizeof(*st));
    st->v = cc_arena_alloc(a, (n ? n : 1) * sizeof(*st->v));
    st->exact = cc_arena_alloc(a, (n ? n : 1) * sizeof(char *));
    st->n = n;
    st->large = n > 100;
    const char **seen = cc_arena_alloc(a, (n ? n : 1) * sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        char *norm = cc_match_lower(a, hosts[i]);
        for (size_t k = 0; k < i; k++) {
            if (strcmp(seen[k], norm) == 0) {
                return cc_err_setat(err, v->file, v->line,
                                    "host at index %zu is repeated at index %zu: %s", k, i,
                                    hosts[i]);
            }
        }
        seen[i] = norm;
        const char *h = fuzzy(hosts[i]) ? hosts[i] : norm;
        st->v[i] = cc_dstr_make(a, h);
        if (!fuzzy(h))
            st->exact[st->nexact++] = h;
    }
    qsort(st->exact, st->nexact, sizeof(char *), cmp_str);
    e->fn = m_host;
    e->st = st;
    return CC_OK;
}

/* ---- method ---- */

typedef struct list_st {
    const char **v;
    size_t n;
} list_st;

static bool m_method(const void *stp, cc_req *r)
{
    const list_st *st = stp;
    for (size_t i = 0; i < st->n; i++)
        if (r->method && strcmp(st->v[i], r->method) == 0)
            return true;
    return false;
}

static int c_method(cc_arena *a, const cc_cfg *v, entry *e, cc_err *err)
{
    list_st *st = cc_arena_alloc(a, sizeof(*st));
    if (!cc_match_strlist(v, &st->v, &st->n, a))
        return cc_match_fail(err, v, "method matcher: expected an array of strings%s%s", "", NULL);
    for (size_t i = 0; i < st->n; i++) {
        char *u = cc_arena_strdup(a, st->v[i]);
        for (char *c = u; *c; c++)
            if (*c >= 'a' && *c <= 'z')
                *c = (char)(*c - 32);
        st->v[i] = u;
    }
    e->fn = m_method;
    e->st = st;
    return CC_OK;
}

/* ---- protocol ---- */

static bool m_protocol(const void *stp, cc_req *r)
{
    const char *p = stp;
    bool tls = r->conn && r->conn->tls;
    int maj = r->proto_major, min = r->proto_minor;
    if (strcmp(p, "grpc") == 0) {
        const char *ct = cc_headers_get(&r->headers, "Content-Type");
        return ct && strncmp(ct, "application/grpc", 16) == 0;
    }
    if (strcmp(p, "https") == 0)
        return tls;
    if (strcmp(p, "http") == 0)
        return !tls;
    if (strcmp(p, "http/1.0") == 0)
        return maj == 1 && min == 0;
    if (strcmp(p, "http/1.0+") == 0)
        return maj > 1 || (maj == 1 && min >= 0);
    if (strcmp(p, "http/1.1") == 0)
        return maj == 1 && min == 1;
    if (strcmp(p, "http/1.1+") == 0)
        return maj > 1 || (maj == 1 && min >= 1);
    if (strcmp(p, "http/2") == 0)
        return maj == 2;
    if (strcmp(p, "http/2+") == 0)
        return maj >= 2;
    if (strcmp(p, "http/3") == 0)
        return maj == 3;
    if (strcmp(p, "http/3+") == 0)
        return maj >= 3;
    return false;
}

static int c_protocol(cc_arena *a, const cc_cfg *v, entry *e, cc_err *err)
{
    (void)a;
    if (!v || v->type != CC_CFG_STR)
        return cc_match_fail(err, v, "protocol matcher: expected a string%s%s", "", NULL);
    e->fn = m_protocol;
    e->st = cc_arena_strdup(a, v->s.p);
    for (char *c = (char *)e->st; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c + 32);
    return CC_OK;
}

/* ---- not ---- */

typedef struct not_st {
    cc_matchset **v;
    size_t n;
} not_st;

static bool m_not(const void *stp, cc_req *r)
{
    const not_st *st = stp;
    for (size_t i = 0; i < st->n; i++)
        if (cc_matchset_match(st->v[i], r))
            return false;
    return true;
}

static int c_not(cc_arena *a, const cc_cfg *v, entry *e, cc_err *err)
{
    not_st *st = cc_arena_alloc(a, sizeof(*st));
    if (v && v->type == CC_CFG_OBJ) {
        /* a single set written as an object */
        st->n = 1;
        st->v = cc_arena_alloc(a, sizeof(*st->v));
        st->v[0] = cc_matchset_compile(a, v, err);
        if (!st->v[0])
            return CC_ERR;
    } else if (v && v->type == CC_CFG_ARR) {
        st->n = cc_cfg_len(v);
        st->v = cc_arena_alloc(a, (st->n ? st->n : 1) * sizeof(*st->v));
        for (size_t i = 0; i < st->n; i++) {
            st->v[i] = cc_matchset_compile(a, cc_cfg_idx(v, i), err);
            if (!st->v[i])
                return CC_ERR;
        }
    } else {
        return cc_match_fail(err, v, "not matcher: expected an array of matcher sets%s%s", "",
                             NULL);
    }
    e->fn = m_not;
    e->st = st;
    return CC_OK;
}

/* ---- expression ---- */

static bool m_expr(const void *st, cc_req *r)
{
    return cc_expr_eval(st, r);
}

static int c_expr(cc_arena *a, const cc_cfg *v, entry *e, cc_err *err)
{
    const char *expr = NULL;
    if (v && v->type == CC_CFG_STR)
        expr = v->s.p;
    else if (v && v->type == CC_CFG_OBJ)
        expr = cc_cfg_get_str(v, "expr");
    if (!expr)
        return cc_match_fail(err, v, "expression matcher: expected a string%s%s", "", NULL);
    cc_err sub = {0};
    void *x = cc_expr_compile(a, expr, &sub);
    if (!x)
        return cc_match_fail(err, v, "%s%s", sub.msg, NULL);
    e->fn = m_expr;
    e->st = x;
    return CC_OK;
}

/* ---- tls ---- */

typedef struct tls_st {
    int handshake; /* -1 any, 0 early data only, 1 completed only */
} tls_st;

static bool m_tls(const void *stp, cc_req *r)
{
    const tls_st *st = stp;
    if (!r->conn || !r->conn->tls)
        return false;
    /* caddy-c never accepts 0-RTT data, so a TLS request's handshake is complete */
    return st->handshake != 0;
}

static int c_tls(cc_arena *a, const cc_cfg *v, entry *e, cc_err *err)
{
    (void)err;
    tls_st *st = cc_arena_alloc(a, sizeof(*st));
    st->handshake = -1;
    const cc_cfg *hc = cc_cfg_get(v, "handshake_complete");
    if (hc && hc->type == CC_CFG_BOOL)
        st->handshake = hc->b ? 1 : 0;
    e->fn = m_tls;
    e->st = st;
    return CC_OK;
}

/* ---- sets ---- */

static int compile_one(cc_arena *a, const char *name, const cc_cfg *v, entry *e, cc_err *err)
{
    if (strcmp(name, "path") == 0)
        return c_path(a, v, e, err);
    if (strcmp(name, "path_regexp") == 0)
        return c_path_re(a, v, e, err);
    if (strcmp(name, "host") == 0)
        return c_host(a, v, e, err);
    if (strcmp(name, "method") == 0)
        return c_method(a, v, e, err);
    if (strcmp(name, "header") == 0)
        return cc_mheader_compile(a, v, e, err);
    if (strcmp(name, "header_regexp") == 0)
        return cc_mheader_re_compile(a, v, e, err);
    if (strcmp(name, "query") == 0)
        return cc_mquery_compile(a, v, e, err);
    if (strcmp(name, "protocol") == 0)
        return c_protocol(a, v, e, err);
    if (strcmp(name, "remote_ip") == 0)
        return cc_mip_compile(a, v, e, err, false);
    if (strcmp(name, "client_ip") == 0)
        return cc_mip_compile(a, v, e, err, true);
    if (strcmp(name, "not") == 0)
        return c_not(a, v, e, err);
    if (strcmp(name, "expression") == 0)
        return c_expr(a, v, e, err);
    if (strcmp(name, "vars") == 0)
        return cc_mvars_compile(a, v, e, err, false);
    if (strcmp(name, "vars_regexp") == 0)
        return cc_mvars_compile(a, v, e, err, true);
    if (strcmp(name, "tls") == 0)
        return c_tls(a, v, e, err);
    for (size_t i = 0; i < next_impl; i++) {
        if (strcmp(ext[i]->name, name) != 0)
            continue;
        ext_state *es = cc_arena_alloc(a, sizeof(*es));
        es->impl = ext[i];
        es->state = ext[i]->compile(a, v, err);
        if (!es->state)
            return cc_err_setat(err, v ? v->file : NULL, v ? v->line : 0,
                                "%s matcher: invalid configuration", name);
        e->fn = m_ext;
        e->st = es;
        return CC_OK;
    }
    return cc_err_setat(err, v ? v->file : NULL, v ? v->line : 0,
                        "loading matcher modules: module name '%s': unknown module: "
                        "http.matchers.%s",
                        name, name);
}

cc_matchset *cc_matchset_compile(cc_arena *a, const cc_cfg *set, cc_err *err)
{
    if (!set || set->type != CC_CFG_OBJ) {
        cc_err_setat(err, set ? set->file : NULL, set ? set->line : 0,
                     "matcher set must be a JSON object");
        return NULL;
    }
    cc_matchset *m = cc_arena_alloc(a, sizeof(*m));
    m->n = set->obj.n;
    m->v = cc_arena_alloc(a, (m->n ? m->n : 1) * sizeof(*m->v));
    for (size_t i = 0; i < m->n; i++)
        if (compile_one(a, set->obj.k[i], set->obj.v[i], &m->v[i], err) != CC_OK)
            return NULL;
    return m;
}

bool cc_matchset_match(const cc_matchset *m, cc_req *r)
{
    for (size_t i = 0; i < m->n; i++)
        if (!m->v[i].fn(m->v[i].st, r))
            return false;
    return true;
}
