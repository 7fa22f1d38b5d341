/* SPDX-License-Identifier: Apache-2.0
 * What a directive parser gets from the adapter (Caddy's httpcaddyfile.Helper in C):
 * its tokens (a dispenser), the global options, matcher extraction, route building and
 * sub-route parsing for block directives. Implemented by caddyfile/helper.c.
 *
 * A directive produces "config values": a class and a cc_cfg. Classes (as Caddy's):
 *   "route"                  a route object {"match"?, "handle": [...], "group"?}
 *   "error_route"            a subroute handler for handle_errors {"handler":"subroute",...}
 *   "bind"                   array of listener host strings
 *   "tls.connection_policy"  a TLS connection policy object
 *   "tls.cert_issuer"        an issuer object ({"module": "acme"|"internal"|"zerossl", ...})
 *   "tls.cert_loader"        a certificate loader object ({"module":"load_files"|...})
 *   "tls.key_type"           string
 *   "tls.on_demand"          bool
 *   "tls.force_automate"     bool
 *   "tls.off"                bool (tls off is not a Caddy feature; reserved)
 *   "custom_log"             {"name": "...", "hostnames": [...], "no_hostname": bool,
 *                             "log": logger object}
 *   "named_route"            reserved for &(name) blocks
 */
#ifndef CC_CF_HELPER_H
#define CC_CF_HELPER_H

#include <stdbool.h>

#include "../core/cfg.h"
#include "../core/err.h"
#include "../core/module.h"
#include "dispenser.h"

typedef struct cc_cfval {
    const char *cls; /* one of the classes above */
    cc_cfg *val;
    const char *directive; /* set by the adapter: normalised directive name */
    const cc_token *tok;   /* directive token, for error positions */
} cc_cfval;

typedef struct cc_cfvals {
    cc_cfval *v;
    size_t n, cap;
} cc_cfvals;

struct cc_adapt;     /* caddyfile/adapt_internal.h */
struct cc_cf_mscope; /* named matchers visible in a block (adapter-private) */
struct cc_cf_block;  /* caddyfile/adapt_internal.h */

typedef struct cc_helper {
    cc_disp *d;                 /* this directive's tokens only */
    cc_arena *a;                /* owns everything produced */
    cc_err *err;                /* == d->err */
    struct cc_adapt *ad;        /* adapter state */
    struct cc_cf_mscope *mdefs; /* named matchers in scope */
    struct cc_cf_block *block;  /* enclosing site block, NULL in global options */
} cc_helper;

/** Global option value by name (see adapt_internal.h for shapes), or NULL if unset. */
cc_cfg *cc_helper_option(cc_helper *h, const char *name);
/** Adds a warning at the current token's position. */
void cc_helper_warn(cc_helper *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Appends a config value of class cls. */
void cc_cfvals_add(cc_helper *h, cc_cfvals *out, const char *cls, cc_cfg *val);

/** If the next argument is a matcher token ("*", "/path", "@name"), consumes it and
 * sets *set to its matcher set object ({"path": [...]} etc.; NULL for "*") and *has to
 * true; otherwise leaves the cursor and sets *has = false. CC_ERR on an unknown @name. */
int cc_helper_matcher_token(cc_helper *h, cc_cfg **set, bool *has);
/** Like cc_helper_matcher_token, then deletes the matcher token from the dispenser and
 * resets it. *set is NULL when there was no matcher. */
int cc_helper_extract_matcher_set(cc_helper *h, cc_cfg **set);
/** A route object {"match": [set] (omitted when set is NULL), "handle": [handler]}. */
cc_cfg *cc_helper_new_route(cc_helper *h, cc_cfg *set, cc_cfg *handler);
/** Gives all "route" values in vals[from..] one new group name, if there are at least two. */
void cc_helper_group_routes(cc_helper *h, cc_cfvals *vals, size_t from);
/** A fresh group name ("group0", "group1", ...), unique within the adaptation. */
const char *cc_helper_next_group(cc_helper *h);

/** Parses the block of the current directive as directives (with their own named
 * matchers) into config values. The dispenser is at the start (cursor -1); non-matcher
 * arguments on the first line are an error. */
int cc_helper_parse_segment_as_config(cc_helper *h, cc_cfvals *out);
/** Same, then builds {"handler": "subroute", "routes": [...]} sorted by directive order. */
int cc_helper_parse_segment_as_subroute(cc_helper *h, cc_cfg **subroute);
/** Builds a subroute handler from route values (sorting by directive order if sort). */
int cc_helper_build_subroute(cc_helper *h, cc_cfvals *vals, bool sort, cc_cfg **subroute);
/** Parses request matchers written as the lines of the block opened at the end of the
 * current line ("{ path /a; method GET }") into one matcher set object. Used by
 * lb_retry_match, rate_limit zone match, and similar. */
int cc_helper_parse_matcher_block(cc_helper *h, cc_cfg **set);
/** Parses one matcher line (cursor on the matcher type token, e.g. "path") into set
 * (merging with what set already has, as repeated lines OR together). */
int cc_helper_parse_matcher_line(cc_helper *h, cc_cfg *set);
/** Sorted list of the files the enclosing site block's tokens came from. */
cc_cfg *cc_helper_caddyfiles(cc_helper *h);

#endif
