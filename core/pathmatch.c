/* SPDX-License-Identifier: Apache-2.0
 * Go's path.Clean and path.Match, and Caddy's escaped-path comparison, re-implemented
 * so that the path matcher accepts and refuses exactly the paths Caddy does
 * (core/pathmatch.h). */
#include "pathmatch.h"

#include <string.h>

#include "urlenc.h"

/* Go's path.Clean. */
char *cc_path_go_clean(cc_arena *a, const char *p)
{
    size_t n = strlen(p);
    if (n == 0)
        return cc_arena_strdup(a, ".");
    bool rooted = p[0] == '/';
    char *out = cc_arena_alloc(a, n + 2);
    size_t w = 0, r = 0, dotdot = 0;
    if (rooted) {
        out[w++] = '/';
        r = 1;
        dotdot = 1;
    }
    while (r < n) {
        if (p[r] == '/') {
            r++;
        } else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/')) {
            r++;
        } else if (p[r] == '.' && p[r + 1] == '.' && (r + 2 == n || p[r + 2] == '/')) {
            r += 2;
            if (w > dotdot) {
                w--;
                while (w > dotdot && out[w] != '/')
                    w--;
            } else if (!rooted) {
                if (w > 0)
                    out[w++] = '/';
                out[w++] = '.';
                out[w++] = '.';
                dotdot = w;
            }
        } else {
            if ((rooted && w != 1) || (!rooted && w != 0))
                out[w++] = '/';
            for (; r < n && p[r] != '/'; r++)
                out[w++] = p[r];
        }
    }
    if (w == 0)
        out[w++] = '.';
    out[w] = '\0';
    return out;
}

static char *clean_keep_trailing(cc_arena *a, const char *p)
{
    char *c = cc_path_go_clean(a, p);
    size_t n = strlen(p), cn = strlen(c);
    if (strcmp(c, "/") != 0 && n > 0 && p[n - 1] == '/') {
        char *x = cc_arena_alloc(a, cn + 2);
        memcpy(x, c, cn);
        x[cn] = '/';
        return x;
    }
    return c;
}

/* Already clean (the common case): rooted, no empty, "." or ".." segments. */
static bool is_clean(const char *p)
{
    if (p[0] != '/')
        return false;
    for (const char *c = p; *c; c++) {
        if (*c != '/')
            continue;
        if (c[1] == '/')
            return false;
        if (c[1] == '.' &&
            (c[2] == '/' || c[2] == '\0' || (c[2] == '.' && (c[3] == '/' || c[3] == '\0'))))
            return false;
    }
    return true;
}

char *cc_path_clean(cc_arena *a, const char *p, bool merge_slashes)
{
    if (is_clean(p))
        return (char *)p; /* callers only read the result */
    if (merge_slashes)
        return clean_keep_trailing(a, p);
    size_t n = strlen(p);
    char *tmp = cc_arena_alloc(a, n * 2 + 1), *t = tmp;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '/' && i > 0 && p[i - 1] == '/')
            *t++ = (char)0xff;
        *t++ = p[i];
    }
    *t = '\0';
    char *c = clean_keep_trailing(a, tmp), *w = c;
    for (char *q = c; *q; q++)
        if ((unsigned char)*q != 0xff)
            *w++ = *q;
    *w = '\0';
    return c;
}

/* One UTF-8 sequence length at s (1 for invalid bytes, as Go's RuneError width). */
static size_t rune_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 1;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 1;
    return n;
}

static unsigned rune_at(const unsigned char *s, size_t *len)
{
    *len = rune_len(s);
    if (*len == 1)
        return s[0];
    unsigned v = s[0] & (0xff >> (*len + 1));
    for (size_t i = 1; i < *len; i++)
        v = (v << 6) | (s[i] & 0x3f);
    return v;
}

/* Matches one class at *pp against rune c; advances *pp past ']'. -1: bad pattern. */
static int match_class(const char **pp, unsigned c)
{
    const char *p = *pp;
    bool neg = false, matched = false;
    if (*p == '^') {
        neg = true;
        p++;
    }
    bool first = true;
    for (;;) {
        if (*p == ']' && !first) {
            p++;
            break;
        }
        if (!*p || *p == '-' || *p == ']')
            return -1; /* Go's getEsc refuses these unescaped */
        first = false;
        size_t len;
        if (*p == '\\') {
            p++;
            if (!*p)
                return -1;
        }
        unsigned lo = rune_at((const unsigned char *)p, &len), hi = lo;
        p += len;
        if (*p == '-') {
            p++;
            if (!*p || *p == '-' || *p == ']')
                return -1;
            if (*p == '\\')
                p++;
            if (!*p)
                return -1;
            hi = rune_at((const unsigned char *)p, &len);
            p += len;
        }
        if (lo <= c && c <= hi)
            matched = true;
    }
    *pp = p;
    return matched != neg;
}

static int glob(const char *p, const char *s)
{
    while (*p) {
        if (*p == '*') {
            while (*p == '*')
                p++;
            if (!*p)
                return strchr(s, '/') == NULL;
            for (const char *t = s;; t++) {
                int m = glob(p, t);
                if (m != 0)
                    return m;
                if (!*t || *t == '/')
                    return 0;
            }
        }
        if (!*s)
            return 0;
        size_t len;
        unsigned c = rune_at((const unsigned char *)s, &len);
        if (*p == '?') {
            if (c == '/')
                return 0;
            p++;
            s += len;
            continue;
        }
        if (*p == '[') {
            p++;
            int m = match_class(&p, c);
            if (m <= 0)
                return m;
            s += len;
            continue;
        }
        if (*p == '\\') {
            p++;
            if (!*p)
                return -1;
        }
        if (*p != *s)
            return 0;
        p++;
        s++;
    }
    return *s == '\0';
}

bool cc_path_glob(const char *pattern, const char *name)
{
    return glob(pattern, name) == 1;
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

bool cc_path_match_escaped(cc_arena *a, const char *escaped_path, const char *pattern)
{
    size_t plen = strlen(escaped_path), mlen = strlen(pattern);
    char *ep = cc_arena_strdup(a, escaped_path);
    for (char *c = ep; *c; c++)
        *c = lower(*c);
    size_t cap = plen * 3 + 1, n = 0;
    char *sbuf = cc_arena_alloc(a, cap + 1);
#define SB_PUT(s_, n_)                                                                             \
    do {                                                                                           \
        if (n + (n_) > cap) {                                                                      \
            sbuf = cc_arena_grow(a, sbuf, cap + 1, (cap + (n_)) * 2 + 1);                          \
            cap = (cap + (n_)) * 2;                                                                \
        }                                                                                          \
        memcpy(sbuf + n, (s_), (n_));                                                              \
        n += (n_);                                                                                 \
    } while (0)
    size_t ip = 0, ipath = 0;
    while (ip < mlen && ipath < plen) {
        char pathch[4] = {ep[ipath], 0};
        size_t pathchn = 1;
        const char *escch = "";
        size_t escn = 0;
        if (ep[ipath] == '%' && plen >= ipath + 3) {
            escch = ep + ipath;
            escn = 3;
            char *dec = cc_url_unescape(a, escch, 3, false);
            if (!dec)
                return false;
            pathch[0] = dec[0];
            pathchn = 1;
            ipath += 2;
        }
        bool normalize = true;
        bool wildcard = false;
        switch (pattern[ip]) {
        case '%':
            if (mlen >= ip + 3 && pattern[ip + 1] != '*') {
                SB_PUT(escch, escn);
                ipath++;
                ip += 2;
                break;
            }
            ip++;
            normalize = false;
            wildcard = true;
            break;
        case '*':
            wildcard = true;
            break;
        default:
            SB_PUT(pathch, pathchn);
            ipath++;
        }
        if (wildcard) {
            const char *remaining = ep + ipath;
            size_t until = plen - ipath;
            if (ip < mlen - 1) {
                const char *f = strchr(remaining, pattern[ip + 1]);
                if (!f)
                    return false;
                until = (size_t)(f - remaining);
            }
            if (until > 0) {
                if (normalize) {
                    char *dec = cc_url_unescape(a, remaining, until, false);
                    if (!dec)
                        return false;
                    SB_PUT(dec, strlen(dec));
                } else {
                    SB_PUT(remaining, until);
                }
                ipath += until;
            }
        }
        ip++;
    }
    if (ipath < plen) {
        const char *rem = ep + ipath;
        char *dec = cc_url_unescape(a, rem, plen - ipath, false);
        if (dec)
            SB_PUT(dec, strlen(dec));
        else
            SB_PUT(rem, plen - ipath);
    }
#undef SB_PUT
    sbuf[n] = '\0';
    for (char *c = sbuf; *c; c++)
        *c = lower(*c);
    /* "%*" becomes a plain glob star */
    char *pat = cc_arena_alloc(a, mlen + 1), *w = pat;
    for (size_t i = 0; i < mlen; i++) {
        if (pattern[i] == '%' && pattern[i + 1] == '*') {
            *w++ = '*';
            i++;
        } else {
            *w++ = pattern[i];
        }
    }
    *w = '\0';
    return cc_path_glob(pat, sbuf);
}
