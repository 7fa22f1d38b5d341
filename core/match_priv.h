/* SPDX-License-Identifier: Apache-2.0
 * Internal pieces of the matcher code shared between core/match*.c files. */
#ifndef CC_MATCH_PRIV_H
#define CC_MATCH_PRIV_H

#include <stdbool.h>

#include "arena.h"
#include "err.h"
#include "cfg.h"
#include "http.h"
#include "match.h"
#include "regex.h"
#include "replacer.h"

/** Compiles the supported subset of a CEL expression (see match_expr.c). */
void *cc_expr_compile(cc_arena *a, const char *expr, cc_err *err);
bool cc_expr_eval(const void *expr, cc_req *r);

/* A compiled matcher: its function and state. */
typedef bool (*match_fn)(const void *st, cc_req *r);
typedef struct entry {
    match_fn fn;
    const void *st;
} entry;

/* A string that may hold placeholders: expanded with ReplaceAll per request. */
typedef struct dstr {
    const char *s;
    cc_tmpl *t; /* NULL when static */
} dstr;

/** Sets err at the position of node at: fmt takes two string arguments. */
int cc_match_fail(cc_err *err, const cc_cfg *at, const char *fmt, const char *a1, const char *a2);
char *cc_match_lower(cc_arena *a, const char *s);
dstr cc_dstr_make(cc_arena *a, const char *s);
const char *cc_dstr_get(const dstr *d, cc_req *r);
/** Strings of a JSON array (or one string); false when an element is no string. */
bool cc_match_strlist(const cc_cfg *v, const char ***out, size_t *n, cc_arena *a);
/** A {"name", "pattern"} regexp matcher object. */
cc_rematch *cc_match_rematch(cc_arena *a, const cc_cfg *v, cc_err *err);

/* match_req.c */
int cc_mheader_compile(cc_arena *a, const cc_cfg *v, entry *e, cc_err *err);
int cc_mheader_re_compile(cc_arena *a, const cc_cfg *v, entry *e, cc_err *err);
int cc_mquery_compile(cc_arena *a, const cc_cfg *v, entry *e, cc_err *err);
int cc_mip_compile(cc_arena *a, const cc_cfg *v, entry *e, cc_err *err, bool client);
int cc_mvars_compile(cc_arena *a, const cc_cfg *v, entry *e, cc_err *err, bool re);

#endif
