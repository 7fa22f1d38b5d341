/* SPDX-License-Identifier: Apache-2.0
 * Path helpers for the path matcher, with Go's exact rules: path.Clean (plus Caddy's
 * trailing-slash and keep-double-slash variants), path.Match globbing, and Caddy's
 * comparison of %-escaped patterns against the raw request path. */
#ifndef CC_PATHMATCH_H
#define CC_PATHMATCH_H

#include <stdbool.h>

#include "arena.h"

/** Caddy's CleanPath: path.Clean keeping a trailing slash; with merge_slashes false,
 * empty segments ("//") survive. */
char *cc_path_clean(cc_arena *a, const char *p, bool merge_slashes);
/** Go's path.Clean exactly (lexical: "//" merged, "." and ".." resolved, "" -> "."),
 * arena-owned. The one implementation the parser, matchers and handlers share. */
char *cc_path_go_clean(cc_arena *a, const char *p);
/** Go's path.Match (a malformed pattern matches nothing). */
bool cc_path_glob(const char *pattern, const char *name);
/** Caddy's matchPatternWithEscapeSequence: pattern (lower-cased) holds %XX or %*;
 * escaped_path is the cleaned raw path. */
bool cc_path_match_escaped(cc_arena *a, const char *escaped_path, const char *pattern);

#endif
