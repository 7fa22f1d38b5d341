/* SPDX-License-Identifier: Apache-2.0
 * Declarations shared only by the adapter's own files (adapter.c, httptype.c, helper.c,
 * matchers.c, builtins_route.c, shorthands.c, gosort.c): directive evaluation, route
 * sorting and building, and Go-compatible sorting. Not for other parts of caddyfile/. */
#ifndef CC_CF_ADAPTER_PRIV_H
#define CC_CF_ADAPTER_PRIV_H

#include "adapt_internal.h"

/** Replaces the Caddyfile placeholder shorthands ({host}, {header.X}, ...) in s[0..n)
 * the way Caddy's ShorthandReplacer does; returns an arena copy (length in *out_n). */
char *cc_cf_shorthand_replace(cc_arena *a, const char *s, size_t n, size_t *out_n);
/** Applies cc_cf_shorthand_replace to every token of seg (in place). */
void cc_cf_shorthand_apply(cc_arena *a, cc_segment *seg);

/** Go's strconv.Atoi: 0 ok, 1 syntax error, 2 out of range. */
int cc_cf_atoi(const char *s, long long *out);
/** Caddy's Address.String(): the cleaned-up URL form used in messages. */
const char *cc_cf_addr_string(cc_arena *a, const cc_cf_addr *addr);

/** Caddy's specificity(): length minus '*' characters and {placeholder} spans. */
int cc_cf_specificity(const char *s);

/** Go's sort.SliceStable on n elements of size bytes (insertion sort in blocks of 20,
 * then SymMerge), so that inconsistent "less" functions order exactly as Caddy's do. */
void cc_cf_sort_stable(void *base, size_t n, size_t size,
                       bool (*less)(const void *x, const void *y, void *ctx), void *ctx);

/** True for a "route" value that is a bare subroute ({"handler":"subroute","routes":..}
 * without "handle"): its routes are spliced in place instead of nested. */
bool cc_cf_is_splice(const cc_cfg *v);

/** Evaluates directive segments (matcher definitions must already be in scope) and
 * appends their config values to out. top selects the site-level error wording;
 * braceless adds the "second site" hint to unknown directive errors. */
int cc_cf_eval_segments(cc_helper *proto, const cc_segment *segs, size_t n, cc_cf_mscope *scope,
                        cc_cfvals *out, bool top, bool braceless);

/** Caddy's buildSubroute: optionally checks and sorts by directive order, assigns
 * mutually exclusive groups, splices, consolidates. Returns the routes ARR. */
int cc_cf_build_routes(cc_adapt *ad, cc_cfvals *vals, bool sort, cc_err *err, const cc_token *where,
                       cc_cfg **routes);
/** Merges adjacent routes with equal match/group/terminal (in place). */
void cc_cf_consolidate_routes(cc_arena *a, cc_cfg *routes);

/** Parses a nested matcher set (Caddy's ParseCaddyfileNestedMatcherSet) from the
 * dispenser's current position: arguments of this line or the lines of its block. */
int cc_cf_matcher_parse_nested(cc_adapt *ad, cc_disp *d, cc_cfg **set);
/** Parses one matcher line/segment starting at the cursor (the matcher type token)
 * into set[type], merging with what is there. name is the matcher name for regexp
 * defaults ("" for none). */
int cc_cf_matcher_parse_one(cc_adapt *ad, cc_disp *d, cc_cfg *set, const char *name);

/** Builds apps.http (servers from the blocks' keys and values) into ad->root.
 * invokes: OBJ named-route name -> ARR of names it invokes. */
int cc_cf_build_http(cc_adapt *ad, cc_cfg *invokes);

#endif
