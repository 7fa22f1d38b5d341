/* SPDX-License-Identifier: Apache-2.0
 * Placeholders ({http.request.host}, {env.X}, {time.now} ...; caddy-reference.md 1.4)
 * expanded per request. Strings with placeholders are compiled once at provision into a
 * template, so a request only copies literal parts and looks up values. */
#ifndef CC_REPLACER_H
#define CC_REPLACER_H

#include <stdbool.h>

#include "arena.h"
#include "http.h"

typedef struct cc_tmpl cc_tmpl;

/** Compiles s (escapes \{ and \} honoured). Never fails; a string without placeholders
 * expands to itself at no cost. */
cc_tmpl *cc_tmpl_compile(cc_arena *a, const char *s);
/** True when the template has at least one placeholder. */
bool cc_tmpl_dynamic(const cc_tmpl *t);
/** Expands for request r (r may be NULL for global placeholders only). Unknown
 * placeholders are kept verbatim when keep_unknown, else replaced by "". Arena-owned. */
const char *cc_tmpl_expand(const cc_tmpl *t, cc_req *r, bool keep_unknown);
/** One-shot: compile + expand. */
const char *cc_repl_expand(cc_req *r, const char *s, bool keep_unknown);
/** The value of one placeholder name (without braces), or NULL when unknown. */
const char *cc_repl_get(cc_req *r, const char *name);

#endif
