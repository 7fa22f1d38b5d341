/* SPDX-License-Identifier: Apache-2.0
 * URL text helpers shared by matchers and placeholders: Go's url.QueryEscape and
 * unescaping, and walking the key=value pairs of a raw query as url.ParseQuery does. */
#ifndef CC_URLENC_H
#define CC_URLENC_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

/** Go's url.QueryEscape (space -> '+', unreserved kept, the rest %XX). */
char *cc_url_query_escape(cc_arena *a, const char *s);
/** Go's url.PathEscape (like QueryEscape but space -> %20 and '/' ... escaped too). */
char *cc_url_path_escape(cc_arena *a, const char *s);
/** Percent-decodes s[0..n); plus_space turns '+' into ' ' (query mode). NULL when an
 * escape is malformed. */
char *cc_url_unescape(cc_arena *a, const char *s, size_t n, bool plus_space);

/* One raw pair of a query; keys/values still escaped. */
typedef struct cc_qpair {
    const char *k, *v;
    size_t kn, vn;
    bool has_eq;
} cc_qpair;

/** Iterates the pairs of raw query q: *pos starts at 0; returns false at the end. Pairs
 * with a ';' in the key are skipped (Go refuses them); empty pairs are skipped. */
bool cc_query_next(const char *q, size_t *pos, cc_qpair *out);
/** Decoded values of key (query mode) joined with ",", "" when absent; *found tells
 * whether the key occurred. */
const char *cc_query_get_joined(cc_arena *a, const char *q, const char *key, bool *found);

#endif
