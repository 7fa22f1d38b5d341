/* SPDX-License-Identifier: Apache-2.0
 * Go's ReplaceAllString and Regexp.Expand (handlers/rereplace.h) on libc regexec:
 * the same match stepping (an empty match right after a match is not replaced, the
 * search always moves on by at least one character) and the same template rules,
 * where a name runs as far as letters, digits and '_' go, so "$1x" names group "1x". */
#include "rereplace.h"

#include <stdbool.h>
#include <string.h>

typedef struct sbuf {
    cc_arena *a;
    char *p;
    size_t n, cap;
} sbuf;

static void put(sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 64;
        while (nc < b->n + n + 1)
            nc *= 2;
        b->p = cc_arena_grow(b->a, b->p, b->cap, nc);
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static bool name_char(unsigned char c)
{
    /* Go accepts Unicode letters and digits too; bytes >= 0x80 stand in for them */
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c >= 0x80;
}

/* Go's regexp extract(): the group reference at the start of t (after '$'). */
static bool extract(const char *t, const char **name, size_t *namen, long *num, const char **rest)
{
    bool brace = false;
    if (*t == '{') {
        brace = true;
        t++;
    }
    size_t i = 0;
    while (t[i] && name_char((unsigned char)t[i]))
        i++;
    if (i == 0)
        return false;
    *name = t;
    *namen = i;
    if (brace) {
        if (t[i] != '}')
            return false;
        i++;
    }
    long v = 0;
    for (size_t k = 0; k < *namen; k++) {
        if (t[k] < '0' || t[k] > '9' || v >= 100000000) {
            v = -1;
            break;
        }
        v = v * 10 + (t[k] - '0');
    }
    if ((*name)[0] == '0' && *namen > 1)
        v = -1;
    *num = v;
    *rest = t + i;
    return true;
}

static void expand(sbuf *b, const cc_regex *re, const char *tmpl, const char *src,
                   const regmatch_t *m)
{
    const char *t = tmpl;
    for (;;) {
        const char *dollar = strchr(t, '$');
        if (!dollar)
            break;
        put(b, t, (size_t)(dollar - t));
        t = dollar + 1;
        if (*t == '$') {
            put(b, "$", 1);
            t++;
            continue;
        }
        const char *name, *rest;
        size_t namen;
        long num;
        if (!extract(t, &name, &namen, &num, &rest)) {
            put(b, "$", 1); /* malformed: the dollar is literal */
            continue;
        }
        t = rest;
        long g = -1;
        if (num >= 0) {
            if ((size_t)num <= re->ngroups)
                g = num;
        } else {
            for (size_t i = 1; i <= re->ngroups; i++) {
                const char *gn = re->names ? re->names[i] : NULL;
                if (gn && strlen(gn) == namen && memcmp(gn, name, namen) == 0) {
                    g = (long)i;
                    break;
                }
            }
        }
        if (g < 0)
            continue;
        int pg = g == 0 ? 0 : re->posix_of[g];
        if (m[pg].rm_so >= 0)
            put(b, src + m[pg].rm_so, (size_t)(m[pg].rm_eo - m[pg].rm_so));
    }
    put(b, t, strlen(t));
}

static size_t utf8_width(const char *s)
{
    unsigned char c = (unsigned char)*s;
    size_t w = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    for (size_t i = 1; i < w; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            return 1;
    return w;
}

const char *cc_re_replace_all(cc_arena *a, const cc_regex *re, const char *src, const char *repl)
{
    size_t len = strlen(src), search = 0, last_end = 0;
    size_t nm = re->nposix + 1;
    regmatch_t stackm[16];
    regmatch_t *m = nm <= 16 ? stackm : cc_arena_alloc(a, nm * sizeof(*m));
    sbuf b = {.a = a};
    bool any = false;
    while (search <= len) {
        m[0].rm_so = (regoff_t)search;
        m[0].rm_eo = (regoff_t)len;
        if (regexec(&re->re, src, nm, m, REG_STARTEND | (search > 0 ? REG_NOTBOL : 0)) != 0)
            break;
        size_t ms = (size_t)m[0].rm_so, me = (size_t)m[0].rm_eo;
        any = true;
        put(&b, src + last_end, ms - last_end);
        if (me > last_end || ms == 0)
            expand(&b, re, repl, src, m);
        last_end = me;
        size_t width = search < len ? utf8_width(src + search) : 1;
        if (search + width > me)
            search += width;
        else if (search + 1 > me)
            search++;
        else
            search = me;
    }
    if (!any)
        return src;
    put(&b, src + last_end, len - last_end);
    return b.p ? b.p : "";
}

/* Length of the UTF-8 sequence at s (Go's DecodeRune width; 1 for invalid bytes). */
static size_t seq_width(const char *s, size_t left)
{
    size_t w = utf8_width(s);
    return w <= left ? w : 1;
}

const char *cc_str_replace(cc_arena *a, const char *s, const char *old, const char *new_, long n)
{
    size_t on = strlen(old), nn = strlen(new_), len = strlen(s);
    if (n == 0 || strcmp(old, new_) == 0)
        return s;
    size_t count = 0;
    if (on == 0) {
        for (size_t i = 0; i < len; i += seq_width(s + i, len - i))
            count++;
        count++;
    } else {
        for (const char *p = s; (p = strstr(p, old)); p += on)
            count++;
    }
    if (count == 0)
        return s;
    if (n > 0 && (size_t)n < count)
        count = (size_t)n;
    char *out = cc_arena_alloc(a, len + count * nn + 1), *o = out;
    size_t start = 0;
    for (size_t k = 0; k < count; k++) {
        size_t j;
        if (on == 0) {
            j = start;
            if (k > 0)
                j += seq_width(s + start, len - start);
        } else {
            j = (size_t)(strstr(s + start, old) - s);
        }
        memcpy(o, s + start, j - start);
        o += j - start;
        memcpy(o, new_, nn);
        o += nn;
        start = j + on;
    }
    memcpy(o, s + start, len - start);
    o[len - start] = '\0';
    return out;
}
