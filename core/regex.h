/* SPDX-License-Identifier: Apache-2.0
 * Regular expressions in Go's RE2 syntax (what Caddy configs contain), translated once
 * to POSIX extended syntax and compiled with libc's regcomp. The translation keeps RE2
 * group numbers and names; constructs POSIX cannot express (lookaround and
 * backreferences, which RE2 refuses too, and non-greedy quantifiers) are refused at
 * provision with a clear message. */
#ifndef CC_REGEX_H
#define CC_REGEX_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "err.h"
#include "http.h"

typedef struct cc_regex {
    regex_t re;
    size_t ngroups;      /* RE2 capture groups (without group 0) */
    size_t nposix;       /* POSIX groups (non-capturing ones become groups too) */
    int *posix_of;       /* RE2 group i (1..ngroups) -> POSIX group index */
    const char **names;  /* RE2 group i -> name or NULL */
    const char *pattern; /* as written */
    const char *translated;
} cc_regex;

/** Translates RE2 syntax into POSIX ERE; NULL with err set when unsupported. *icase
 * and *newline receive the (?i) / (?m) flags found at the start. */
char *cc_regex_translate(cc_arena *a, const char *re2, size_t *ngroups, int **posix_of,
                         const char ***names, size_t *nposix, bool *icase, bool *newline,
                         cc_err *err);
/** Compiles pattern; frees the regex_t when arena a is freed. NULL with err set. */
cc_regex *cc_regex_compile(cc_arena *a, const char *pattern, cc_err *err);
/** True when s matches anywhere. */
bool cc_regex_test(const cc_regex *re, const char *s);
/** Like cc_regex_test, and on a match fills spans (ngroups+1 entries, -1 for groups
 * that did not take part) with [start,end) offsets. */
bool cc_regex_exec(const cc_regex *re, const char *s, regoff_t (*spans)[2]);

/* A regexp matcher as Caddy's MatchRegexp: an optional name and the compiled pattern,
 * with the placeholder keys of every group made at provision. */
typedef struct cc_rematch {
    cc_regex *re;
    const char *name;
    const char **keys_named;  /* "http.regexp.<name>.<i>" per group (NULL without name) */
    const char **keys_plain;  /* "http.regexp.<i>" */
    const char **gkeys_named; /* "http.regexp.<name>.<groupname>" (NULL when unnamed) */
    const char **gkeys_plain; /* "http.regexp.<groupname>" */
} cc_rematch;

/** Compiles a {"name": ..., "pattern": ...} object (name may be overridden by
 * dflt_name when absent). */
cc_rematch *cc_rematch_compile(cc_arena *a, const char *name, const char *pattern, cc_err *err);
/** Matches input and stores captures into r->vars. */
bool cc_rematch_match(const cc_rematch *m, cc_req *r, const char *input);

#endif
