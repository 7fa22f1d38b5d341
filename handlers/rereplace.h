/* SPDX-License-Identifier: Apache-2.0
 * Go's Regexp.ReplaceAllString over core/regex.h patterns: every non-overlapping match
 * replaced by a template where $1, ${1}, $name, ${name} stand for capture groups and
 * $$ for a dollar sign. Used by rewrite (path_regexp, query replace) and header
 * replace operations; plus Go's plain strings.Replace beside it. */
#ifndef CC_HANDLERS_REREPLACE_H
#define CC_HANDLERS_REREPLACE_H

#include "../core/arena.h"
#include "../core/regex.h"

/** The result is arena-owned (src itself when nothing matched). */
const char *cc_re_replace_all(cc_arena *a, const cc_regex *re, const char *src, const char *repl);

/** Go's strings.Replace(s, old, new, n): the first n (all when n < 0) non-overlapping
 * occurrences; an empty old matches before every UTF-8 sequence and at the end. */
const char *cc_str_replace(cc_arena *a, const char *s, const char *old, const char *new_, long n);

#endif
