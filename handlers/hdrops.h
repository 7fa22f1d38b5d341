/* SPDX-License-Identifier: Apache-2.0
 * Header operations and response matchers at run time: Caddy's headers.HeaderOps
 * (add, set, delete with wildcards, replace by substring or regexp) compiled once from
 * their JSON object and applied per request, and caddyhttp.ResponseMatcher (status
 * classes and header values) for `header ... match`, require, and any handler that
 * decides on a response. Used by the headers handler; reverse_proxy header_up/down
 * and handle_response can share it. */
#ifndef CC_HANDLERS_HDROPS_H
#define CC_HANDLERS_HDROPS_H

#include <stdbool.h>

#include "../core/cfg.h"
#include "../core/err.h"
#include "../core/http.h"

typedef struct cc_hdrops cc_hdrops;

/** Compiles a HeaderOps object ({"add","set","delete","replace"}); NULL (err set) on
 * a bad regexp or shape. An absent or null object gives NULL without error: check
 * err->msg[0]. */
cc_hdrops *cc_hdrops_compile(cc_arena *a, const cc_cfg *ops, cc_err *err);
/** HeaderOps.ApplyTo: deletes of "*" first, then add, set, other deletes, replace.
 * Placeholders expand against r; memory comes from r->arena. */
void cc_hdrops_apply(const cc_hdrops *ops, cc_headers *h, cc_req *r);
/** HeaderOps.ApplyToRequest: ops on r->headers where a Host field stands for the
 * request's host, which follows what the ops leave in it. */
void cc_hdrops_apply_request(const cc_hdrops *ops, cc_req *r);

typedef struct cc_respmatch cc_respmatch;

/** Compiles {"status_code": [...], "headers": {...}}; NULL with err set when bad. */
cc_respmatch *cc_respmatch_compile(cc_arena *a, const cc_cfg *m, cc_err *err);
/** ResponseMatcher.Match: a status code of one digit is a class (2 = 2xx); a header
 * value of null requires absence, [] presence, else one value must match (with '*'
 * prefix/suffix/substring wildcards). */
bool cc_respmatch_match(const cc_respmatch *m, int status, const cc_headers *h);

#endif
