/* SPDX-License-Identifier: Apache-2.0
 * URL escaping and query parsing with Go's net/url rules (core/urlenc.h), since
 * placeholders and matchers must see the same strings Caddy's do. */
#include "urlenc.h"

#include <string.h>

static const char hexd[] = "0123456789ABCDEF";

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

static char *escape(cc_arena *a, const char *s, bool query)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += (unreserved(*p) || (query && *p == ' ')) ? 1 : 3;
    char *out = cc_arena_alloc(a, n + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (unreserved(*p)) {
            *o++ = (char)*p;
        } else if (query && *p == ' ') {
            *o++ = '+';
        } else {
            *o++ = '%';
            *o++ = hexd[*p >> 4];
            *o++ = hexd[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

char *cc_url_query_escape(cc_arena *a, const char *s)
{
    return escape(a, s ? s : "", true);
}

char *cc_url_path_escape(cc_arena *a, const char *s)
{
    return escape(a, s ? s : "", false);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *cc_url_unescape(cc_arena *a, const char *s, size_t n, bool plus_space)
{
    char *out = cc_arena_alloc(a, n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            if (i + 2 >= n)
                return NULL;
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0)
                return NULL;
            *o++ = (char)(h * 16 + l);
            i += 2;
        } else if (plus_space && s[i] == '+') {
            *o++ = ' ';
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

bool cc_query_next(const char *q, size_t *pos, cc_qpair *out)
{
    if (!q)
        return false;
    size_t len = strlen(q);
    while (*pos < len) {
        const char *start = q + *pos;
        const char *amp = strchr(start, '&');
        size_t n = amp ? (size_t)(amp - start) : strlen(start);
        *pos += n + (amp ? 1 : 0);
        if (n == 0)
            continue;
        const char *eq = memchr(start, '=', n);
        size_t kn = eq ? (size_t)(eq - start) : n;
        if (memchr(start, ';', n))
            continue;
        out->k = start;
        out->kn = kn;
        out->has_eq = eq != NULL;
        out->v = eq ? eq + 1 : start + n;
        out->vn = eq ? n - kn - 1 : 0;
        return true;
    }
    return false;
}

const char *cc_query_get_joined(cc_arena *a, const char *q, const char *key, bool *found)
{
    size_t pos = 0, keyn = strlen(key);
    cc_qpair p;
    char *acc = NULL;
    size_t accn = 0;
    bool any = false;
    while (cc_query_next(q, &pos, &p)) {
        char *k = cc_url_unescape(a, p.k, p.kn, true);
        if (!k || strlen(k) != keyn || memcmp(k, key, keyn) != 0)
            continue;
        char *v = cc_url_unescape(a, p.v, p.vn, true);
        if (!v)
            continue;
        size_t vn = strlen(v);
        if (!any) {
            acc = v;
            accn = vn;
        } else {
            char *nx = cc_arena_alloc(a, accn + vn + 2);
            memcpy(nx, acc, accn);
            nx[accn] = ',';
            memcpy(nx + accn + 1, v, vn);
            acc = nx;
            accn += vn + 1;
        }
        any = true;
    }
    if (found)
        *found = any;
    return any ? acc : "";
}
