/* SPDX-License-Identifier: Apache-2.0
 * The configuration tree and its JSON writer (see cfg.h). */
#include "cfg.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cc_cfg *node(cc_arena *a, cc_cfg_type t)
{
    cc_cfg *v = cc_arena_alloc(a, sizeof(*v));
    v->type = t;
    return v;
}

cc_cfg *cc_cfg_null(cc_arena *a)
{
    return node(a, CC_CFG_NULL);
}

cc_cfg *cc_cfg_bool(cc_arena *a, bool b)
{
    cc_cfg *v = node(a, CC_CFG_BOOL);
    v->b = b;
    return v;
}

cc_cfg *cc_cfg_int(cc_arena *a, int64_t i)
{
    cc_cfg *v = node(a, CC_CFG_INT);
    v->i = i;
    return v;
}

cc_cfg *cc_cfg_num(cc_arena *a, double d)
{
    cc_cfg *v = node(a, CC_CFG_NUM);
    v->d = d;
    return v;
}

cc_cfg *cc_cfg_strn(cc_arena *a, const char *s, size_t n)
{
    cc_cfg *v = node(a, CC_CFG_STR);
    v->s.p = cc_arena_strndup(a, s ? s : "", s ? n : 0);
    v->s.n = s ? n : 0;
    return v;
}

cc_cfg *cc_cfg_str(cc_arena *a, const char *s)
{
    return cc_cfg_strn(a, s, s ? strlen(s) : 0);
}

cc_cfg *cc_cfg_arr(cc_arena *a)
{
    return node(a, CC_CFG_ARR);
}

cc_cfg *cc_cfg_obj(cc_arena *a)
{
    return node(a, CC_CFG_OBJ);
}

cc_cfg *cc_cfg_str_arr(cc_arena *a, const char *const *v, size_t n)
{
    cc_cfg *arr = cc_cfg_arr(a);
    for (size_t i = 0; i < n; i++)
        cc_cfg_push_str(a, arr, v[i]);
    return arr;
}

cc_cfg *cc_cfg_at(cc_cfg *v, const char *file, int line)
{
    if (v) {
        v->file = file;
        v->line = line;
    }
    return v;
}

static long obj_find(const cc_cfg *obj, const char *key)
{
    if (!obj || obj->type != CC_CFG_OBJ)
        return -1;
    for (size_t i = 0; i < obj->obj.n; i++)
        if (strcmp(obj->obj.k[i], key) == 0)
            return (long)i;
    return -1;
}

void cc_cfg_set(cc_arena *a, cc_cfg *obj, const char *key, cc_cfg *val)
{
    if (!obj || obj->type != CC_CFG_OBJ || !val)
        return;
    long i = obj_find(obj, key);
    if (i >= 0) {
        obj->obj.v[i] = val;
        return;
    }
    if (obj->obj.n == obj->obj.cap) {
        size_t nc = obj->obj.cap ? obj->obj.cap * 2 : 4;
        obj->obj.k =
            cc_arena_grow(a, obj->obj.k, obj->obj.cap * sizeof(char *), nc * sizeof(char *));
        obj->obj.v =
            cc_arena_grow(a, obj->obj.v, obj->obj.cap * sizeof(cc_cfg *), nc * sizeof(cc_cfg *));
        obj->obj.cap = nc;
    }
    obj->obj.k[obj->obj.n] = cc_arena_strdup(a, key);
    obj->obj.v[obj->obj.n++] = val;
}

void cc_cfg_set_str(cc_arena *a, cc_cfg *obj, const char *key, const char *s)
{
    cc_cfg_set(a, obj, key, cc_cfg_str(a, s));
}

void cc_cfg_set_int(cc_arena *a, cc_cfg *obj, const char *key, int64_t i)
{
    cc_cfg_set(a, obj, key, cc_cfg_int(a, i));
}

void cc_cfg_set_bool(cc_arena *a, cc_cfg *obj, const char *key, bool b)
{
    cc_cfg_set(a, obj, key, cc_cfg_bool(a, b));
}

cc_cfg *cc_cfg_get(const cc_cfg *obj, const char *key)
{
    long i = obj_find(obj, key);
    return i < 0 ? NULL : obj->obj.v[i];
}

const char *cc_cfg_get_str(const cc_cfg *obj, const char *key)
{
    cc_cfg *v = cc_cfg_get(obj, key);
    return v && v->type == CC_CFG_STR ? v->s.p : NULL;
}

bool cc_cfg_del(cc_cfg *obj, const char *key)
{
    long i = obj_find(obj, key);
    if (i < 0)
        return false;
    size_t rest = obj->obj.n - (size_t)i - 1;
    memmove(&obj->obj.k[i], &obj->obj.k[i + 1], rest * sizeof(char *));
    memmove(&obj->obj.v[i], &obj->obj.v[i + 1], rest * sizeof(cc_cfg *));
    obj->obj.n--;
    return true;
}

cc_cfg *cc_cfg_child_obj(cc_arena *a, cc_cfg *obj, const char *key)
{
    cc_cfg *v = cc_cfg_get(obj, key);
    if (!v || v->type != CC_CFG_OBJ) {
        v = cc_cfg_obj(a);
        cc_cfg_set(a, obj, key, v);
    }
    return v;
}

cc_cfg *cc_cfg_child_arr(cc_arena *a, cc_cfg *obj, const char *key)
{
    cc_cfg *v = cc_cfg_get(obj, key);
    if (!v || v->type != CC_CFG_ARR) {
        v = cc_cfg_arr(a);
        cc_cfg_set(a, obj, key, v);
    }
    return v;
}

void cc_cfg_insert(cc_arena *a, cc_cfg *arr, size_t idx, cc_cfg *val)
{
    if (!arr || arr->type != CC_CFG_ARR || !val)
        return;
    if (arr->arr.n == arr->arr.cap) {
        size_t nc = arr->arr.cap ? arr->arr.cap * 2 : 4;
        arr->arr.v =
            cc_arena_grow(a, arr->arr.v, arr->arr.cap * sizeof(cc_cfg *), nc * sizeof(cc_cfg *));
        arr->arr.cap = nc;
    }
    if (idx > arr->arr.n)
        idx = arr->arr.n;
    memmove(&arr->arr.v[idx + 1], &arr->arr.v[idx], (arr->arr.n - idx) * sizeof(cc_cfg *));
    arr->arr.v[idx] = val;
    arr->arr.n++;
}

void cc_cfg_push(cc_arena *a, cc_cfg *arr, cc_cfg *val)
{
    if (arr && arr->type == CC_CFG_ARR)
        cc_cfg_insert(a, arr, arr->arr.n, val);
}

void cc_cfg_push_str(cc_arena *a, cc_cfg *arr, const char *s)
{
    cc_cfg_push(a, arr, cc_cfg_str(a, s));
}

void cc_cfg_remove(cc_cfg *arr, size_t idx)
{
    if (!arr || arr->type != CC_CFG_ARR || idx >= arr->arr.n)
        return;
    memmove(&arr->arr.v[idx], &arr->arr.v[idx + 1], (arr->arr.n - idx - 1) * sizeof(cc_cfg *));
    arr->arr.n--;
}

size_t cc_cfg_len(const cc_cfg *v)
{
    if (!v)
        return 0;
    if (v->type == CC_CFG_ARR)
        return v->arr.n;
    if (v->type == CC_CFG_OBJ)
        return v->obj.n;
    return 0;
}

cc_cfg *cc_cfg_idx(const cc_cfg *arr, size_t i)
{
    if (!arr || arr->type != CC_CFG_ARR || i >= arr->arr.n)
        return NULL;
    return arr->arr.v[i];
}

bool cc_cfg_arr_has_str(const cc_cfg *arr, const char *s)
{
    for (size_t i = 0; i < cc_cfg_len(arr); i++) {
        const cc_cfg *e = arr->arr.v[i];
        if (e->type == CC_CFG_STR && strcmp(e->s.p, s) == 0)
            return true;
    }
    return false;
}

static bool is_numeric(const cc_cfg *v)
{
    return v->type == CC_CFG_INT || v->type == CC_CFG_NUM;
}

bool cc_cfg_equal(const cc_cfg *x, const cc_cfg *y)
{
    if (x == y)
        return true;
    if (!x || !y)
        return false;
    if (is_numeric(x) && is_numeric(y)) {
        double dx = x->type == CC_CFG_INT ? (double)x->i : x->d;
        double dy = y->type == CC_CFG_INT ? (double)y->i : y->d;
        return dx == dy;
    }
    if (x->type != y->type)
        return false;
    switch (x->type) {
    case CC_CFG_NULL:
        return true;
    case CC_CFG_BOOL:
        return x->b == y->b;
    case CC_CFG_STR:
        return x->s.n == y->s.n && memcmp(x->s.p, y->s.p, x->s.n) == 0;
    case CC_CFG_ARR:
        if (x->arr.n != y->arr.n)
            return false;
        for (size_t i = 0; i < x->arr.n; i++)
            if (!cc_cfg_equal(x->arr.v[i], y->arr.v[i]))
                return false;
        return true;
    case CC_CFG_OBJ:
        if (x->obj.n != y->obj.n)
            return false;
        for (size_t i = 0; i < x->obj.n; i++)
            if (!cc_cfg_equal(x->obj.v[i], cc_cfg_get(y, x->obj.k[i])))
                return false;
        return true;
    default:
        return false;
    }
}

cc_cfg *cc_cfg_clone(cc_arena *a, const cc_cfg *v)
{
    if (!v)
        return NULL;
    cc_cfg *c;
    switch (v->type) {
    case CC_CFG_STR:
        c = cc_cfg_strn(a, v->s.p, v->s.n);
        break;
    case CC_CFG_ARR:
        c = cc_cfg_arr(a);
        for (size_t i = 0; i < v->arr.n; i++)
            cc_cfg_push(a, c, cc_cfg_clone(a, v->arr.v[i]));
        break;
    case CC_CFG_OBJ:
        c = cc_cfg_obj(a);
        for (size_t i = 0; i < v->obj.n; i++)
            cc_cfg_set(a, c, v->obj.k[i], cc_cfg_clone(a, v->obj.v[i]));
        break;
    default:
        c = node(a, v->type);
        *c = *v;
        return c;
    }
    c->file = v->file;
    c->line = v->line;
    return c;
}

bool cc_cfg_is_empty(const cc_cfg *v)
{
    if (!v || v->type == CC_CFG_NULL)
        return true;
    if (v->type == CC_CFG_STR)
        return v->s.n == 0;
    if (v->type == CC_CFG_ARR || v->type == CC_CFG_OBJ)
        return cc_cfg_len(v) == 0;
    return false;
}

/* ---- JSON writer ---- */

typedef struct {
    char *p;
    size_t n, cap;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->n + n + 1)
            nc *= 2;
        b->p = cc_xrealloc(b->p, nc);
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_puts(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

/* Length of a valid UTF-8 sequence at s (max n bytes), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0) {
        len = 2;
        min = 0x80;
        c &= 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3;
        min = 0x800;
        c &= 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4;
        min = 0x10000;
        c &= 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    return len;
}

static void write_str(sbuf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    sb_put(b, "\"", 1);
    size_t i = 0;
    while (i < n) {
        unsigned char c = u[i];
        const char *esc = NULL;
        char tmp[8];
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        default:
            break;
        }
        if (esc) {
            sb_puts(b, esc);
            i++;
            continue;
        }
        if (c < 0x20 || c == 0x7f) {
            snprintf(tmp, sizeof(tmp), "\\u%04x", c);
            sb_puts(b, tmp);
            i++;
            continue;
        }
        size_t l = utf8_len(u + i, n - i);
        if (l == 0) {
            sb_puts(b, "\\ufffd");
            i++;
            continue;
        }
        sb_put(b, s + i, l);
        i += l;
    }
    sb_put(b, "\"", 1);
}

static void indent(sbuf *b, bool pretty, int depth)
{
    if (!pretty)
        return;
    sb_put(b, "\n", 1);
    for (int i = 0; i < depth; i++)
        sb_put(b, "\t", 1);
}

/* Go's encoding/json float format (what `caddy adapt` prints): the shortest text that
 * reads back as the same double, fixed notation for 1e-6 <= |d| < 1e21, else exponent
 * notation with a minimal exponent ("1e-7", "1e+21"). */
static void write_num(sbuf *b, double d)
{
    char tmp[400];
    if (!isfinite(d)) {
        sb_puts(b, "null");
        return;
    }
    double ad = fabs(d);
    if (ad == 0 || (ad >= 1e-6 && ad < 1e21)) {
        for (int dec = 0; dec <= 30; dec++) {
            snprintf(tmp, sizeof(tmp), "%.*f", dec, d);
            if (strtod(tmp, NULL) == d)
                break;
        }
    } else {
        for (int prec = 0; prec <= 17; prec++) {
            snprintf(tmp, sizeof(tmp), "%.*e", prec, d);
            if (strtod(tmp, NULL) == d)
                break;
        }
        /* "1e-07" -> "1e-7" */
        char *e = strchr(tmp, 'e');
        if (e && (e[1] == '-' || e[1] == '+') && e[2] == '0' && e[3])
            memmove(e + 2, e + 3, strlen(e + 3) + 1);
    }
    sb_puts(b, tmp);
}

static void write_val(sbuf *b, const cc_cfg *v, bool pretty, int depth)
{
    char tmp[64];
    if (!v) {
        sb_puts(b, "null");
        return;
    }
    switch (v->type) {
    case CC_CFG_NULL:
        sb_puts(b, "null");
        break;
    case CC_CFG_BOOL:
        sb_puts(b, v->b ? "true" : "false");
        break;
    case CC_CFG_INT:
        snprintf(tmp, sizeof(tmp), "%" PRId64, v->i);
        sb_puts(b, tmp);
        break;
    case CC_CFG_NUM:
        write_num(b, v->d);
        break;
    case CC_CFG_STR:
        write_str(b, v->s.p, v->s.n);
        break;
    case CC_CFG_ARR:
        sb_put(b, "[", 1);
        for (size_t i = 0; i < v->arr.n; i++) {
            if (i)
                sb_put(b, ",", 1);
            indent(b, pretty, depth + 1);
            write_val(b, v->arr.v[i], pretty, depth + 1);
        }
        if (v->arr.n)
            indent(b, pretty, depth);
        sb_put(b, "]", 1);
        break;
    case CC_CFG_OBJ:
        sb_put(b, "{", 1);
        for (size_t i = 0; i < v->obj.n; i++) {
            if (i)
                sb_put(b, ",", 1);
            indent(b, pretty, depth + 1);
            write_str(b, v->obj.k[i], strlen(v->obj.k[i]));
            sb_puts(b, pretty ? ": " : ":");
            write_val(b, v->obj.v[i], pretty, depth + 1);
        }
        if (v->obj.n)
            indent(b, pretty, depth);
        sb_put(b, "}", 1);
        break;
    }
}

char *cc_cfg_to_json(const cc_cfg *v, bool pretty, size_t *len)
{
    sbuf b = {0};
    write_val(&b, v, pretty, 0);
    if (!b.p)
        sb_put(&b, "", 0);
    if (len)
        *len = b.n;
    return b.p;
}
