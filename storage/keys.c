/* SPDX-License-Identifier: Apache-2.0
 * Key rules and listing shared by the backends (see internal.h): which keys are valid,
 * the order certmagic's file storage lists them in, and how a flat set of stored keys
 * becomes a '/'-directory listing. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/storage.h"
#include "internal.h"

int64_t sto_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int sto_fail(cc_err *err, int code, const char *fmt, ...)
{
    if (err && !err->code) {
        va_list ap;
        va_start(ap, fmt);
        cc_err_vset(err, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

int sto_check_key(const char *key, bool allow_empty, const char *what, cc_err *err)
{
    if (!key)
        return sto_fail(err, CC_EINVAL, "storage: %s is missing", what);
    if (!*key) {
        if (allow_empty)
            return CC_OK;
        return sto_fail(err, CC_EINVAL, "storage: %s is empty", what);
    }
    const char *seg = key;
    for (;;) {
        const char *end = strchr(seg, '/');
        size_t n = end ? (size_t)(end - seg) : strlen(seg);
        if (n == 0)
            return sto_fail(err, CC_EINVAL, "storage: %s '%s' has an empty path segment", what,
                            key);
        if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return sto_fail(err, CC_EINVAL, "storage: %s '%s' has a '%.*s' path segment", what, key,
                            (int)n, seg);
        if (!end)
            return CC_OK;
        seg = end + 1;
    }
}

int sto_key_cmp(const char *a, const char *b)
{
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    for (; *x && *x == *y; x++, y++)
        ;
    unsigned cx = *x == '/' ? 1 : (*x ? (unsigned)*x + 1 : 0);
    unsigned cy = *y == '/' ? 1 : (*y ? (unsigned)*y + 1 : 0);
    return cx < cy ? -1 : cx > cy;
}

int sto_keys_push(sto_keys *k, const char *s, size_t n)
{
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 16;
        char **v = realloc(k->v, cap * sizeof(*v));
        if (!v)
            return CC_ENOMEM;
        k->v = v;
        k->cap = cap;
    }
    char *c = malloc(n + 1);
    if (!c)
        return CC_ENOMEM;
    memcpy(c, s, n);
    c[n] = 0;
    k->v[k->n++] = c;
    return CC_OK;
}

int sto_keys_add_below(sto_keys *k, const char *prefix, const char *key, bool recursive)
{
    size_t pn = strlen(prefix);
    const char *rest = key;
    if (pn) {
        if (strncmp(key, prefix, pn) != 0 || key[pn] != '/')
            return CC_OK;
        rest = key + pn + 1;
    }
    for (const char *p = rest;; p++) {
        if (*p == '/' || !*p) {
            int rc = sto_keys_push(k, key, (size_t)(p - key));
            if (rc != CC_OK || !recursive || !*p)
                return rc;
        }
    }
}

static int cmp_ptr(const void *a, const void *b)
{
    return sto_key_cmp(*(char *const *)a, *(char *const *)b);
}

int sto_keys_finish(sto_keys *k, const char *prefix, char ***out, size_t *n, cc_err *err)
{
    *out = NULL;
    *n = 0;
    if (!k->n) {
        sto_keys_free(k);
        return sto_fail(err, CC_ENOTFOUND, "storage: no keys under '%s'", prefix);
    }
    qsort(k->v, k->n, sizeof(*k->v), cmp_ptr);
    size_t w = 1;
    for (size_t i = 1; i < k->n; i++) {
        if (strcmp(k->v[i], k->v[w - 1]) == 0)
            free(k->v[i]);
        else
            k->v[w++] = k->v[i];
    }
    *out = k->v;
    *n = w;
    k->v = NULL;
    k->n = k->cap = 0;
    return CC_OK;
}

void sto_keys_free(sto_keys *k)
{
    cc_storage_list_free(k->v, k->n);
    k->v = NULL;
    k->n = k->cap = 0;
}
