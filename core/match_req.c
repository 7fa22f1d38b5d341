/* SPDX-License-Identifier: Apache-2.0
 * The matchers that look at request fields and variables: header, header_regexp,
 * query, remote_ip / client_ip and vars / vars_regexp, with Caddy's semantics
 * (matchers.go, ip_matchers.go, vars.go). Compiled by match.c's dispatcher. */
#include <string.h>
#include <strings.h>

#include "ipnet.h"
#include "match_priv.h"
#include "regex.h"
#include "replacer.h"
#include "urlenc.h"

/* ---- header ---- */

typedef struct hfield {
    const char *name;
    dstr *vals;
    size_t nvals;
    bool absent; /* null: the field must not exist */
} hfield;

typedef struct header_st {
    hfield *v;
    size_t n;
} header_st;

/* Calls fn for every value of field (Host comes from the request line's Host). */
static bool each_value(cc_req *r, const char *field,
                       bool (*fn)(const char *, const void *, cc_req *), const void *ctx,
                       size_t *count)
{
    *count = 0;
    if (strcasecmp(field, "Host") == 0 && r->hostport && *r->hostport) {
        *count = 1;
        return fn(r->hostport, ctx, r);
    }
    for (size_t i = 0; i < r->headers.n; i++) {
        if (strcasecmp(r->headers.v[i].name, field) != 0)
            continue;
        (*count)++;
        if (fn(r->headers.v[i].value, ctx, r))
            return true;
    }
    return false;
}

static bool header_value_ok(const char *actual, const void *ctx, cc_req *r)
{
    const hfield *f = ctx;
    for (size_t k = 0; k < f->nvals; k++) {
        const char *want = cc_dstr_get(&f->vals[k], r);
        size_t wn = strlen(want), an = strlen(actual);
        bool ok;
        if (strcmp(want, "*") == 0) {
            ok = true;
        } else if (wn >= 2 && want[0] == '*' && want[wn - 1] == '*') {
            char *mid = cc_arena_strndup(r->arena, want + 1, wn - 2);
            ok = strstr(actual, mid) != NULL;
        } else if (wn >= 1 && want[0] == '*') {
            ok = an >= wn - 1 && strcmp(actual + an - (wn - 1), want + 1) == 0;
        } else if (wn >= 1 && want[wn - 1] == '*') {
            ok = strncmp(actual, want, wn - 1) == 0;
        } else {
            ok = strcmp(actual, want) == 0;
        }
        if (ok)
            return true;
    }
    return false;
}

static bool m_header(const void *stp, cc_req *r)
{
    const header_st *st = stp;
    for (size_t i = 0; i < st->n; i++) {
        const hfield *f = &st->v[i];
        size_t count;
        bool ok = each_value(r, f->name, header_value_ok, f, &count);
        if (f->absent) {
            if (count == 0)
                continue;
            /* Caddy: a nil list with values present falls to comparing against no
             * allowed values, which never matches */
            return false;
        }
        if (f->nvals == 0) {
            if (count > 0)
                continue;
            return false;
        }
        if (!ok)
            return false;
    }
    return true;
}

int cc_mheader_compile(cc_arena *a, const cc_cfg *v, entry *e, cc_err *err)
{
    if (!v || v->type != CC_CFG_OBJ)
        return cc_match_fail(err, v, "header matcher: expected an object%s%s", "", NULL);
    header_st *st = cc_arena_alloc(a, sizeof(*st));
    st->n = v->obj.n;
    st->v = cc_arena_alloc(a, (st->n ? st->n : 1) * sizeof(*st->v));
    for (size_t i = 0; i < st->n; i++) {
        hfield *f = &st->v[i];
        f->name = v->obj.k[i];
        const cc_cfg *vals = v->obj.v[i];
        if (!vals || vals->type == CC_CFG_NULL) {
            f->absent = true;
            continue;
        }
        const char **list;
        if (!cc_match_strlist(vals, &list, &f->nvals, a))
            return cc_match_fail(err, vals, "header matcher: values of %s must be strings%s",
                                 f->name, NULL);
        f->vals = cc_arena_alloc(a, (f->nvals ? f->nvals : 1) * sizeof(dstr));
        for (size_t k = 0; k < f->nvals; k++)
            f->vals[k] = cc_dstr_make(a, list[k]);
    }
    e->fn = m_header;
    e->st = st;
    return CC_OK;
}

/* ---- header_regexp ---- */

typedef struct hre {
    const char *name;
    cc_rematch *m;
} hre;

typedef struct hre_st {
    hre *v;
    size_t n;
} hre_st;

static bool hre_value(const char *actual, const void *ctx, cc_req *r)
{
    return cc_rematch_match(ctx, r, actual);
}

static bool m_header_re(const void *stp, cc_req *r)
{
    const hre_st *st = stp;
    for (size_t i = 0; i < st->n; i++) {
        size_t count;
        if (!each_value(r, st->v[i].name, hre_value, st->v[i].m, &count))
            return false;
    }
    return true;
}

int cc_mheader_re_compile(cc_arena *a, const cc_cfg *v, entry *e, cc_err *err)
{
    if (!v || v->type != CC_CFG_OBJ)
        return cc_match_fail(err, v, "header_regexp matcher: expected an object%s%s", "", NULL);
    hre_st *st = cc_arena_alloc(a, sizeof(*st));
    st->n = v->obj.n;
    st->v = cc_arena_alloc(a, (st->n ? st->n : 1) * sizeof(*st->v));
    for (size_t i = 0; i < st->n; i++) {
        st->v[i].name = v->obj.k[i];
        st->v[i].m = cc_match_rematch(a, v->obj.v[i], err);
        if (!st->v[i].m)
            return CC_ERR;
    }
    e->fn = m_header_re;
    e->st = st;
    return CC_OK;
}

/* ---- query ---- */

typedef struct qkey {
    dstr key;
    dstr *vals;
    size_t nvals;
} qkey;

typedef struct query_st {
    qkey *v;
    size_t n;
} query_st;

typedef struct qparsed {
    const char **k, **v;
    size_t n;
    bool bad;
} qparsed;

/* url.ParseQuery: every valid pair decoded; bad is set for ';' or a bad escape. */
static void parse_query(cc_req *r, qparsed *out)
{
    memset(out, 0, sizeof(*out));
    const char *q = r->query ? r->query : "";
    size_t cap = 1;
    for (const char *c = q; *c; c++)
        cap += *c == '&';
    out->k = cc_arena_alloc(r->arena, cap * sizeof(char *));
    out->v = cc_arena_alloc(r->arena, cap * sizeof(char *));
    const char *p = q;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t n = amp ? (size_t)(amp - p) : strlen(p);
        if (n > 0) {
            if (memchr(p, ';', n)) {
                out->bad = true;
            } else {
                const char *eq = memchr(p, '=', n);
                size_t kn = eq ? (size_t)(eq - p) : n;
                char *k = cc_url_unescape(r->arena, p, kn, true);
                char *v = eq ? cc_url_unescape(r->arena, eq + 1, n - kn - 1, true)
                             : cc_arena_strdup(r->arena, "");
                if (!k || !v) {
                    out->bad = true;
                } else {
                    out->k[out->n] = k;
                    out->v[out->n++] = v;
                }
            }
        }
        if (!amp)
            break;
        p = amp + 1;
    }
}

static bool m_query(const void *stp, cc_req *r)
{
    const query_st *st = stp;
    qparsed q;
    parse_query(r, &q);
    if (st->n == 0)
        return q.n == 0;
    if (q.bad)
        return false;
    for (size_t i = 0; i < st->n; i++) {
        const char *key = cc_dstr_get(&st->v[i].key, r);
        bool found = false, matched = false;
        for (size_t j = 0; j < q.n; j++)
            if (strcmp(q.k[j], key) == 0)
                found = true;
        if (!found)
            return false;
        for (size_t k = 0; k < st->v[i].nvals && !matched; k++) {
            const char *want = cc_dstr_get(&st->v[i].vals[k], r);
            if (strcmp(want, "*") == 0) {
                matched = true;
                break;
            }
            for (size_t j = 0; j < q.n; j++) {
                if (strcmp(q.k[j], key) == 0 && strcmp(q.v[j], want) == 0) {
                    matched = true;
                    break;
                }
            }
        }
        if (!matched)
            return false;
    }
    return true;
}

int cc_mquery_compile(cc_arena *a, const cc_cfg *v, entry *e, cc_err *err)
{
    if (!v || v->type != CC_CFG_OBJ)
        return cc_match_fail(err, v, "query matcher: expected an object%s%s", "", NULL);
    query_st *st = cc_arena_alloc(a, sizeof(*st));
    st->n = v->obj.n;
    st->v = cc_arena_alloc(a, (st->n ? st->n : 1) * sizeof(*st->v));
    for (size_t i = 0; i < st->n; i++) {
        qkey *q = &st->v[i];
        q->key = cc_dstr_make(a, v->obj.k[i]);
        const char **list;
        if (!cc_match_strlist(v->obj.v[i], &list, &q->nvals, a))
            return cc_match_fail(err, v->obj.v[i], "query matcher: values of %s must be strings%s",
                                 v->obj.k[i], NULL);
        q->vals = cc_arena_alloc(a, (q->nvals ? q->nvals : 1) * sizeof(dstr));
        for (size_t k = 0; k < q->nvals; k++)
            q->vals[k] = cc_dstr_make(a, list[k]);
    }
    e->fn = m_query;
    e->st = st;
    return CC_OK;
}

/* ---- remote_ip / client_ip ---- */

typedef struct ip_st {
    cc_ipnet *v;
    const char **zones;
    size_t n;
    bool client;
} ip_st;

static bool m_ip(const void *stp, cc_req *r)
{
    const ip_st *st = stp;
    const char *addr = NULL;
    if (st->client)
        addr = cc_vars_get(&r->vars, "client_ip");
    if (!addr)
        addr = r->conn && r->conn->remote_ip ? r->conn->remote_ip : "";
    const char *pct = strchr(addr, '%');
    const char *zone = pct ? pct + 1 : "";
    cc_ip ip;
    if (!cc_ip_parse(addr, &ip))
        return false;
    for (size_t i = 0; i < st->n; i++) {
        if (!cc_ipnet_contains(&st->v[i], &ip))
            continue;
        if (!st->zones[i][0] || strcmp(zone, st->zones[i]) == 0)
            return true;
    }
    return false;
}

int cc_mip_compile(cc_arena *a, const cc_cfg *v, entry *e, cc_err *err, bool client)
{
    const cc_cfg *ranges = v && v->type == CC_CFG_OBJ ? cc_cfg_get(v, "ranges") : v;
    const char **list;
    size_t n;
    if (!ranges)
        list = NULL, n = 0;
    else if (!cc_match_strlist(ranges, &list, &n, a))
        return cc_match_fail(err, v, "%s matcher: ranges must be strings%s",
                             client ? "client_ip" : "remote_ip", NULL);
    ip_st *st = cc_arena_alloc(a, sizeof(*st));
    size_t cap = n + cc_nprivate_ranges;
    st->v = cc_arena_alloc(a, (cap ? cap : 1) * sizeof(*st->v));
    st->zones = cc_arena_alloc(a, (cap ? cap : 1) * sizeof(char *));
    st->client = client;
    for (size_t i = 0; i < n; i++) {
        const char *s = cc_repl_expand(NULL, list[i], false);
        if (strcmp(s, "private_ranges") == 0) {
            st->v = cc_arena_grow(a, st->v, cap * sizeof(*st->v),
                                  (cap + cc_nprivate_ranges) * sizeof(*st->v));
            st->zones = cc_arena_grow(a, st->zones, cap * sizeof(char *),
                                      (cap + cc_nprivate_ranges) * sizeof(char *));
            cap += cc_nprivate_ranges;
            for (size_t k = 0; k < cc_nprivate_ranges; k++) {
                cc_ipnet_parse(cc_private_ranges[k], &st->v[st->n]);
                st->zones[st->n++] = "";
            }
            continue;
        }
        const char *pct = strchr(s, '%');
        const char *zone = "";
        char *addr = cc_arena_strdup(a, s);
        if (pct) {
            addr[pct - s] = '\0';
            zone = cc_arena_strdup(a, pct + 1);
            char *z2 = strchr((char *)zone, '%');
            if (z2)
                *z2 = '\0';
        }
        if (!cc_ipnet_parse(addr, &st->v[st->n])) {
            if (strchr(addr, '/'))
                return cc_match_fail(err, v, "parsing CIDR expression '%s'%s", addr, NULL);
            return cc_match_fail(err, v, "invalid IP address: '%s'%s", addr, NULL);
        }
        st->zones[st->n++] = zone;
    }
    e->fn = m_ip;
    e->st = st;
    return CC_OK;
}

/* ---- vars / vars_regexp ---- */

typedef struct vkey {
    const char *key;
    const char *ph; /* placeholder name when the key is "{...}" */
    dstr *vals;
    size_t nvals;
    cc_rematch *re;
} vkey;

typedef struct vars_st {
    vkey *v;
    size_t n;
} vars_st;

static const char *var_value(const vkey *k, cc_req *r)
{
    const char *v = k->ph ? cc_repl_get(r, k->ph) : cc_vars_get(&r->vars, k->key);
    return v ? v : "";
}

static bool m_vars(const void *stp, cc_req *r)
{
    const vars_st *st = stp;
    if (st->n == 0)
        return true;
    for (size_t i = 0; i < st->n; i++) {
        const char *have = var_value(&st->v[i], r);
        for (size_t k = 0; k < st->v[i].nvals; k++)
            if (strcmp(have, cc_dstr_get(&st->v[i].vals[k], r)) == 0)
                return true;
    }
    return false;
}

static bool m_vars_re(const void *stp, cc_req *r)
{
    const vars_st *st = stp;
    for (size_t i = 0; i < st->n; i++)
        if (cc_rematch_match(st->v[i].re, r, var_value(&st->v[i], r)))
            return true;
    return false;
}

static const char *placeholder_key(cc_arena *a, const char *key)
{
    size_t n = strlen(key);
    if (n >= 2 && key[0] == '{' && key[n - 1] == '}' && !strchr(key + 1, '{'))
        return cc_arena_strndup(a, key + 1, n - 2);
    return NULL;
}

int cc_mvars_compile(cc_arena *a, const cc_cfg *v, entry *e, cc_err *err, bool re)
{
    if (!v || v->type != CC_CFG_OBJ)
        return cc_match_fail(err, v, "%s matcher: expected an object%s",
                             re ? "vars_regexp" : "vars", NULL);
    vars_st *st = cc_arena_alloc(a, sizeof(*st));
    st->n = v->obj.n;
    st->v = cc_arena_alloc(a, (st->n ? st->n : 1) * sizeof(*st->v));
    for (size_t i = 0; i < st->n; i++) {
        vkey *k = &st->v[i];
        k->key = v->obj.k[i];
        k->ph = placeholder_key(a, k->key);
        if (re) {
            k->re = cc_match_rematch(a, v->obj.v[i], err);
            if (!k->re)
                return CC_ERR;
            continue;
        }
        const char **list;
        if (!cc_match_strlist(v->obj.v[i], &list, &k->nvals, a))
            return cc_match_fail(err, v->obj.v[i], "vars matcher: values of %s must be strings%s",
                                 k->key, NULL);
        k->vals = cc_arena_alloc(a, (k->nvals ? k->nvals : 1) * sizeof(dstr));
        for (size_t j = 0; j < k->nvals; j++)
            k->vals[j] = cc_dstr_make(a, list[j]);
    }
    e->fn = re ? m_vars_re : m_vars;
    e->st = st;
    return CC_OK;
}
