/* SPDX-License-Identifier: Apache-2.0
 * Request matchers at run time: a matcher set (the JSON object of one "match" entry)
 * compiled at provision, evaluated per request. Every type the adapter emits: path,
 * path_regexp, host, method, header, header_regexp, query, protocol, remote_ip,
 * client_ip, not, expression (answered "not supported" at provision), file, vars,
 * vars_regexp, tls. Semantics are Caddy's (caddy-reference.md section 2.4). Regular
 * expressions use RE2 syntax translated to POSIX ERE (libc only). */
#ifndef CC_MATCH_H
#define CC_MATCH_H

#include <stdbool.h>

#include "cfg.h"
#include "err.h"
#include "http.h"

typedef struct cc_matchset cc_matchset;

/** Compiles one matcher set object. NULL with err set on invalid input. */
cc_matchset *cc_matchset_compile(cc_arena *a, const cc_cfg *set, cc_err *err);
/** True when every matcher in the set matches (captures land in r->vars as
 * "http.regexp.<name>.<group>"). */
bool cc_matchset_match(const cc_matchset *m, cc_req *r);

/* Extension point for matcher types implemented outside match.c (the file matcher in
 * core/match_file.c): compile() turns the matcher's JSON value into a state (NULL with
 * err set on invalid input), match() evaluates it per request. Register at start-up,
 * before any config is loaded (not thread-safe); at most 16 types. */
typedef struct cc_matcher_impl {
    const char *name; /* JSON key, e.g. "file" */
    void *(*compile)(cc_arena *a, const cc_cfg *cfg, cc_err *err);
    bool (*match)(void *state, cc_req *r);
} cc_matcher_impl;
void cc_matcher_register(const cc_matcher_impl *m);

#endif
