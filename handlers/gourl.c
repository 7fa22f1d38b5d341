/* SPDX-License-Identifier: Apache-2.0
 * Go's URL path and query rules (handlers/gourl.h). Caddy rewrites operate on Go's
 * url.URL, whose escaping choices show up in the rewritten request line, so these
 * follow net/url byte for byte rather than a generic RFC 3986 reading. */
#include "gourl.h"

#include <stdlib.h>
#include <string.h>

#include "../core/pathmatch.h"
#include "../core/urlenc.h"

static const char hexd[] = "0123456789ABCDEF";

enum mode { PATH, SEGMENT };

/* net/url shouldEscape for the path modes */
static bool should_escape(unsigned char c, enum mode m)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return false;
    switch (c) {
    case '-':
    case '_':
    case '.':
    case '~':
        return false;
    case '$':
    case '&':
    case '+':
    case ',':
    case '/':
    case ':':
    case ';':
    case '=':
    case '?':
    case '@':
        if (m == PATH)
            return c == '?';
        return c == '/' || c == ';' || c == ',' || c == '?';
    default:
        return true;
    }
}

static char *escape(cc_arena *a, const char *s, enum mode m)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += should_escape(*p, m) ? 3 : 1;
    char *out = cc_arena_alloc(a, n + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (should_escape(*p, m)) {
            *o++ = '%';
            *o++ = hexd[*p >> 4];
            *o++ = hexd[*p & 15];
        } else {
            *o++ = (char)*p;
        }
    }
    return out;
}

char *cc_gourl_escape_path(cc_arena *a, const char *s)
{
    return escape(a, s ? s : "", PATH);
}

char *cc_gourl_path_escape(cc_arena *a, const char *s)
{
    return escape(a, s ? s : "", SEGMENT);
}

char *cc_gourl_path_unescape(cc_arena *a, const char *s)
{
    return cc_url_unescape(a, s, strlen(s), false);
}

/* net/url validEncoded(s, encodePath) */
static bool valid_encoded(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (strchr("!$&'()*+,;=:@[]%", *p))
            continue;
        if (should_escape(*p, PATH))
            return false;
    }
    return true;
}

const char *cc_gourl_escaped_path(cc_arena *a, const char *path, const char *raw)
{
    if (raw && *raw && valid_encoded(raw)) {
        char *p = cc_gourl_path_unescape(a, raw);
        if (p && strcmp(p, path) == 0)
            return raw;
    }
    if (strcmp(path, "*") == 0)
        return "*";
    return cc_gourl_escape_path(a, path);
}

char *cc_gourl_clean(cc_arena *a, const char *path)
{
    return cc_path_go_clean(a, path);
}

/* Caddy's cleanPath: path.Clean but a trailing slash survives */
static char *clean_keep_slash(cc_arena *a, const char *p)
{
    char *c = cc_gourl_clean(a, p);
    size_t n = strlen(p);
    if (strcmp(c, "/") != 0 && n > 0 && p[n - 1] == '/')
        return cc_arena_printf(a, "%s/", c);
    return c;
}

char *cc_gourl_caddy_clean(cc_arena *a, const char *p, bool merge_slashes)
{
    if (merge_slashes)
        return clean_keep_slash(a, p);
    /* Caddy marks each empty segment with a byte no URI holds (0xff), cleans, then
     * drops the marks */
    size_t n = strlen(p), extra = 0;
    for (size_t i = 1; i < n; i++)
        extra += p[i] == '/' && p[i - 1] == '/';
    if (extra == 0)
        return clean_keep_slash(a, p);
    char *tmp = cc_arena_alloc(a, n + extra + 1), *t = tmp;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '/' && i > 0 && p[i - 1] == '/')
            *t++ = (char)0xff;
        *t++ = p[i];
    }
    char *c = clean_keep_slash(a, tmp), *w = c;
    for (char *q = c; *q; q++)
        if (*q != (char)0xff)
            *w++ = *q;
    *w = '\0';
    return c;
}

/* ---- url.Values ---- */

cc_qval *cc_gourl_query_find(cc_qvals *q, const char *key)
{
    for (size_t i = 0; i < q->n; i++)
        if (strcmp(q->v[i].key, key) == 0)
            return &q->v[i];
    return NULL;
}

cc_qval *cc_gourl_query_entry(cc_arena *a, cc_qvals *q, const char *key)
{
    cc_qval *e = cc_gourl_query_find(q, key);
    if (e)
        return e;
    cc_qval nv = {.key = key};
    CC_VEC_PUSH(a, q, nv);
    return &q->v[q->n - 1];
}

void cc_gourl_query_add(cc_arena *a, cc_qval *e, const char *val)
{
    if (e->n == e->cap) {
        size_t nc = e->cap ? e->cap * 2 : 2;
        e->vals = cc_arena_grow(a, e->vals, e->cap * sizeof(*e->vals), nc * sizeof(*e->vals));
        e->cap = nc;
    }
    e->vals[e->n++] = val;
}

void cc_gourl_query_del(cc_qvals *q, const char *key)
{
    size_t j = 0;
    for (size_t i = 0; i < q->n; i++)
        if (strcmp(q->v[i].key, key) != 0)
            q->v[j++] = q->v[i];
    q->n = j;
}

void cc_gourl_query_parse(cc_arena *a, const char *raw, cc_qvals *out)
{
    size_t pos = 0;
    cc_qpair p;
    while (cc_query_next(raw, &pos, &p)) {
        char *k = cc_url_unescape(a, p.k, p.kn, true);
        if (!k)
            continue;
        char *v = cc_url_unescape(a, p.v, p.vn, true);
        if (!v)
            continue;
        cc_gourl_query_add(a, cc_gourl_query_entry(a, out, k), v);
    }
}

static int cmp_key(const void *x, const void *y)
{
    const cc_qval *const *a = x, *const *b = y;
    return strcmp((*a)->key, (*b)->key);
}

char *cc_gourl_query_encode(cc_arena *a, const cc_qvals *q)
{
    if (q->n == 0)
        return cc_arena_strdup(a, "");
    const cc_qval **order = cc_arena_alloc(a, q->n * sizeof(*order));
    for (size_t i = 0; i < q->n; i++)
        order[i] = &q->v[i];
    qsort(order, q->n, sizeof(*order), cmp_key);
    /* escape once, then size and join */
    size_t total = 1, nv = 0;
    for (size_t i = 0; i < q->n; i++)
        nv += order[i]->n;
    const char **parts = cc_arena_alloc(a, (2 * nv + 1) * sizeof(*parts));
    size_t np = 0;
    for (size_t i = 0; i < q->n; i++) {
        const char *k = cc_url_query_escape(a, order[i]->key);
        for (size_t j = 0; j < order[i]->n; j++) {
            parts[np++] = k;
            parts[np++] = cc_url_query_escape(a, order[i]->vals[j]);
            total += strlen(k) + strlen(parts[np - 1]) + 2;
        }
    }
    char *out = cc_arena_alloc(a, total), *o = out;
    for (size_t i = 0; i < np; i += 2) {
        if (i)
            *o++ = '&';
        size_t kn = strlen(parts[i]), vn = strlen(parts[i + 1]);
        memcpy(o, parts[i], kn);
        o += kn;
        *o++ = '=';
        memcpy(o, parts[i + 1], vn);
        o += vn;
    }
    *o = '\0';
    return out;
}
