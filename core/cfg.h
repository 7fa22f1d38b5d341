/* SPDX-License-Identifier: Apache-2.0
 * The configuration tree: an arena-owned JSON-like value (null, bool, integer, number,
 * string, array, object with insertion-ordered keys). The Caddyfile adapter produces one
 * tree whose shape is Caddy's JSON config (docs/config.md); `caddy-c adapt` prints it and
 * `caddy-c run` provisions from it. Nodes remember the Caddyfile position they came from
 * so that provisioning errors can still say FILE:LINE. */
#ifndef CC_CFG_H
#define CC_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"

typedef enum {
    CC_CFG_NULL,
    CC_CFG_BOOL,
    CC_CFG_INT,
    CC_CFG_NUM,
    CC_CFG_STR,
    CC_CFG_ARR,
    CC_CFG_OBJ,
} cc_cfg_type;

typedef struct cc_cfg cc_cfg;
struct cc_cfg {
    cc_cfg_type type;
    const char *file; /* origin in the Caddyfile; NULL when synthesized */
    int line;
    union {
        bool b;
        int64_t i;
        double d;
        struct {
            char *p; /* NUL-terminated, may also contain NULs (n is authoritative) */
            size_t n;
        } s;
        struct {
            cc_cfg **v;
            size_t n, cap;
        } arr;
        struct {
            const char **k;
            cc_cfg **v;
            size_t n, cap;
        } obj;
    };
};

/* Constructors: all arena-owned, never NULL. */
cc_cfg *cc_cfg_null(cc_arena *a);
cc_cfg *cc_cfg_bool(cc_arena *a, bool b);
cc_cfg *cc_cfg_int(cc_arena *a, int64_t i);
cc_cfg *cc_cfg_num(cc_arena *a, double d);
cc_cfg *cc_cfg_str(cc_arena *a, const char *s);
cc_cfg *cc_cfg_strn(cc_arena *a, const char *s, size_t n);
cc_cfg *cc_cfg_arr(cc_arena *a);
cc_cfg *cc_cfg_obj(cc_arena *a);
/** Array of strings from a C array. */
cc_cfg *cc_cfg_str_arr(cc_arena *a, const char *const *v, size_t n);
/** Sets the origin position of v (and returns v) */
cc_cfg *cc_cfg_at(cc_cfg *v, const char *file, int line);

/* Objects. Keys are copied. set replaces an existing key in place (order kept). */
void cc_cfg_set(cc_arena *a, cc_cfg *obj, const char *key, cc_cfg *val);
void cc_cfg_set_str(cc_arena *a, cc_cfg *obj, const char *key, const char *s);
void cc_cfg_set_int(cc_arena *a, cc_cfg *obj, const char *key, int64_t i);
void cc_cfg_set_bool(cc_arena *a, cc_cfg *obj, const char *key, bool b);
/** Value under key, or NULL (also when obj is NULL or not an object). */
cc_cfg *cc_cfg_get(const cc_cfg *obj, const char *key);
/** String value under key, or NULL if absent or not a string. */
const char *cc_cfg_get_str(const cc_cfg *obj, const char *key);
/** Removes key; returns whether it was there. */
bool cc_cfg_del(cc_cfg *obj, const char *key);
/** Child object under key, created (empty) if missing. */
cc_cfg *cc_cfg_child_obj(cc_arena *a, cc_cfg *obj, const char *key);
/** Child array under key, created (empty) if missing. */
cc_cfg *cc_cfg_child_arr(cc_arena *a, cc_cfg *obj, const char *key);

/* Arrays. */
void cc_cfg_push(cc_arena *a, cc_cfg *arr, cc_cfg *val);
void cc_cfg_push_str(cc_arena *a, cc_cfg *arr, const char *s);
void cc_cfg_insert(cc_arena *a, cc_cfg *arr, size_t idx, cc_cfg *val);
void cc_cfg_remove(cc_cfg *arr, size_t idx);
/** Element count of an array or object; 0 for scalars and NULL. */
size_t cc_cfg_len(const cc_cfg *v);
/** Array element i, or NULL when out of range. */
cc_cfg *cc_cfg_idx(const cc_cfg *arr, size_t i);
/** True when arr holds a string equal to s. */
bool cc_cfg_arr_has_str(const cc_cfg *arr, const char *s);

/** Deep structural equality (object key order ignored; INT and NUM compare by value). */
bool cc_cfg_equal(const cc_cfg *x, const cc_cfg *y);
/** Deep copy into arena a. */
cc_cfg *cc_cfg_clone(cc_arena *a, const cc_cfg *v);
/** True for null, empty string, empty array and empty object (Go's omitempty notion). */
bool cc_cfg_is_empty(const cc_cfg *v);

/** Serialises v as JSON (UTF-8; invalid bytes become U+FFFD). pretty: tab-indented like
 * `caddy adapt --pretty`. Returns a malloc'd NUL-terminated string; *len (if not NULL)
 * gets its length. */
char *cc_cfg_to_json(const cc_cfg *v, bool pretty, size_t *len);

#endif
