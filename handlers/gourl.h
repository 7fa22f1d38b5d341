/* SPDX-License-Identifier: Apache-2.0
 * The parts of Go's net/url and path packages that Caddy's URI rewriting leans on, with
 * Go's exact rules: URL.EscapedPath, path escaping per mode, path.Clean and Caddy's
 * CleanPath, and url.Values (parse, edit, sorted Encode). Request-time helpers: all
 * memory comes from the arena passed in. Complements core/urlenc.h. */
#ifndef CC_HANDLERS_GOURL_H
#define CC_HANDLERS_GOURL_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/arena.h"

/** Go's escape(s, encodePath): what URL.EscapedPath produces from a decoded path. */
char *cc_gourl_escape_path(cc_arena *a, const char *s);
/** Go's url.PathEscape (one segment: '/' escaped too). */
char *cc_gourl_path_escape(cc_arena *a, const char *s);
/** Go's URL.EscapedPath for a decoded path and its raw form (raw may be NULL or ""):
 * raw when it is a valid encoding of path, else path escaped. */
const char *cc_gourl_escaped_path(cc_arena *a, const char *path, const char *raw);
/** Go's url.PathUnescape: NULL when an escape is malformed. */
char *cc_gourl_path_unescape(cc_arena *a, const char *s);
/** Go's path.Clean. */
char *cc_gourl_clean(cc_arena *a, const char *p);
/** Caddy's caddyhttp.CleanPath: path.Clean keeping a trailing slash; with
 * merge_slashes false, empty segments ("//") survive. */
char *cc_gourl_caddy_clean(cc_arena *a, const char *p, bool merge_slashes);

/* url.Values: keys in first-seen order, several values each. */
typedef struct cc_qval {
    const char *key;
    const char **vals;
    size_t n, cap;
} cc_qval;
typedef struct cc_qvals {
    cc_qval *v;
    size_t n, cap;
} cc_qvals;

/** url.ParseQuery: pairs with a ';' or a malformed escape are dropped, as Go does. */
void cc_gourl_query_parse(cc_arena *a, const char *raw, cc_qvals *out);
/** The entry of key, or NULL. */
cc_qval *cc_gourl_query_find(cc_qvals *q, const char *key);
/** The entry of key, created empty when absent. */
cc_qval *cc_gourl_query_entry(cc_arena *a, cc_qvals *q, const char *key);
void cc_gourl_query_add(cc_arena *a, cc_qval *e, const char *val);
void cc_gourl_query_del(cc_qvals *q, const char *key);
/** Values.Encode: keys sorted bytewise, "k=v" joined by '&', QueryEscape'd. */
char *cc_gourl_query_encode(cc_arena *a, const cc_qvals *q);

#endif
