/* SPDX-License-Identifier: Apache-2.0
 * Import arguments (Caddy's importargs.go): {args[N]} and the deprecated {args.N} are
 * replaced inside imported tokens, and a token that is exactly {args[a:b]} expands to
 * several tokens. Bad indexes leave the placeholder as it is and warn, as Caddy does. */
#include "parse_internal.h"

#include <limits.h>
#include <stdarg.h>
#include <string.h>

/* Go's strconv.Atoi: optional sign, then at least one decimal digit, nothing else. */
static bool go_atoi(const char *s, size_t n, long long *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        i++;
    }
    if (i == n)
        return false;
    unsigned long long v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned long long)(s[i] - '0');
        if (v > (unsigned long long)LLONG_MAX + (neg ? 1 : 0))
            return false;
    }
    *out = neg ? (long long)(0 - v) : (long long)v;
    return true;
}

static void warn_at(cc_warns *w, const cc_token *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void warn_at(cc_warns *w, const cc_token *t, const char *fmt, ...)
{
    if (!w || !w->a)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = cc_arena_vprintf(w->a, fmt, ap);
    va_end(ap);
    cc_warn_add(w, t ? t->file : NULL, t ? t->line : 0, "%s", msg);
}

bool cc_cf_args_variadic(const cc_token *tok, size_t nargs, size_t *start, size_t *end, cc_warns *w)
{
    const char *s = tok->text;
    size_t n = tok->len;
    if (n < 8 || memcmp(s, "{args[", 6) != 0 || memcmp(s + n - 2, "]}", 2) != 0)
        return false;
    const char *range = s + 6;
    size_t rlen = n - 8;
    if (rlen == 0) {
        warn_at(w, tok, "Placeholder %s cannot have an empty index", s);
        return false;
    }
    const char *colon = memchr(range, ':', rlen);
    if (!colon)
        return false; /* a plain {args[N]}: the replacer handles it */
    size_t slen = (size_t)(colon - range), elen = rlen - slen - 1;
    const char *es = colon + 1;
    /* "{args[0]}:{args[1]}" is several placeholders, not a range */
    if (memchr(range, '}', slen) || memchr(es, '{', elen))
        return false;
    long long a = 0, b = (long long)nargs;
    if (slen && !go_atoi(range, slen, &a)) {
        warn_at(w, tok, "Variadic placeholder %s has an invalid start index", s);
        return false;
    }
    if (elen && !go_atoi(es, elen, &b)) {
        warn_at(w, tok, "Variadic placeholder %s has an invalid end index", s);
        return false;
    }
    if (a < 0 || a > b || b > (long long)nargs) {
        warn_at(w, tok,
                "Variadic placeholder %s indices are out of bounds, only %zu argument(s) exist", s,
                nargs);
        return false;
    }
    *start = (size_t)a;
    *end = (size_t)b;
    return true;
}

/* The value of placeholder key[0..n) or NULL when it is not a usable args placeholder. */
static const cc_token *arg_value(const char *key, size_t n, const cc_token **args, size_t nargs,
                                 const cc_token *tok, cc_warns *w, cc_arena *a)
{
    if (n > 5 && memcmp(key, "args.", 5) == 0 && !memchr(key + 5, '\n', n - 5)) {
        char *idx = cc_arena_strndup(a, key + 5, n - 5);
        long long v;
        if (!go_atoi(key + 5, n - 5, &v)) {
            warn_at(w, tok, "Placeholder {args.%s} has an invalid index", idx);
            return NULL;
        }
        if (v < 0 || v >= (long long)nargs) {
            warn_at(w, tok,
                    "Placeholder {args.%s} index is out of bounds, only %zu argument(s) exist", idx,
                    nargs);
            return NULL;
        }
        warn_at(w, tok, "Placeholder {args.%s} deprecated, use {args[%s]} instead", idx, idx);
        return args[v];
    }
    if (n > 6 && memcmp(key, "args[", 5) == 0 && key[n - 1] == ']' &&
        !memchr(key + 5, '\n', n - 6)) {
        char *idx = cc_arena_strndup(a, key + 5, n - 6);
        long long v;
        if (memchr(idx, ':', n - 6)) {
            warn_at(w, tok, "Variadic placeholder {args[%s]} must be a token on its own", idx);
            return NULL;
        }
        if (!go_atoi(key + 5, n - 6, &v)) {
            warn_at(w, tok, "Placeholder {args[%s]} has an invalid index", idx);
            return NULL;
        }
        if (v < 0 || v >= (long long)nargs) {
            warn_at(w, tok,
                    "Placeholder {args[%s]} index is out of bounds, only %zu argument(s) exist",
                    idx, nargs);
            return NULL;
        }
        return args[v];
    }
    return NULL;
}

typedef struct obuf {
    cc_arena *a;
    char *p;
    size_t n, cap;
} obuf;

static void put(obuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 32;
        while (nc < b->n + n + 1)
            nc *= 2;
        b->p = cc_arena_grow(b->a, b->p, b->n, nc);
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static const char *find_close(const char *s, size_t n)
{
    return memchr(s, '}', n);
}

char *cc_cf_args_replace(cc_arena *a, const char *in, size_t len, const cc_token **args,
                         size_t nargs, const cc_token *tok, cc_warns *w, size_t *out_len)
{
    if (!memchr(in, '{', len) && !memchr(in, '}', len)) {
        *out_len = len;
        return (char *)in;
    }
    obuf b = {.a = a};
    put(&b, "", 0);
    size_t last = 0;
    int unclosed = 0;
    for (size_t i = 0; i < len; i++) {
        /* an escaped brace loses its backslash */
        if (i > 0 && in[i - 1] == '\\' && (in[i] == '}' || in[i] == '{')) {
            put(&b, in + last, i - 1 - last);
            last = i;
            continue;
        }
        if (in[i] != '{')
            continue;
        if (unclosed > 100) {
            /* Caddy's replacer gives up and ReplaceKnown yields "" */
            *out_len = 0;
            return cc_arena_strdup(a, "");
        }
        const char *c = find_close(in + i, len - i);
        if (!c) {
            unclosed++;
            continue;
        }
        size_t end = (size_t)(c - in);
        bool skip = false;
        while (end > 0 && end < len - 1 && in[end - 1] == '\\') {
            const char *c2 = find_close(in + end + 1, len - end - 1);
            if (!c2) {
                unclosed++;
                skip = true;
                break;
            }
            end = (size_t)(c2 - in);
        }
        if (skip)
            continue;
        put(&b, in + last, i - last);
        const cc_token *v = arg_value(in + i + 1, end - i - 1, args, nargs, tok, w, a);
        if (!v) {
            last = i;
            continue;
        }
        put(&b, v->text, v->len);
        i = end;
        last = i + 1;
    }
    put(&b, in + last, len - last);
    *out_len = b.n;
    return b.p;
}
