/* SPDX-License-Identifier: Apache-2.0
 * Header manipulation config as Caddy's headers package builds it from the Caddyfile:
 * one header operation (`Field value`, `+Field`, `-Field`, `?Field`, `>Field`, regex
 * replace) applied to a HeaderOps object, Go's canonical header-key spelling, and the
 * response matcher block (`status ...`, `header ...`). Used by header, request_header
 * and any directive with header_up/header_down style lines or response matchers. */
#ifndef CC_HANDLERS_HEADEROPS_H
#define CC_HANDLERS_HEADEROPS_H

#include "../caddyfile/dispenser.h"
#include "../core/cfg.h"

/** Go's textproto.CanonicalMIMEHeaderKey: "x-foo" -> "X-Foo"; keys with bytes outside
 * the HTTP token set (placeholders, spaces, ':') are returned unchanged. Arena-owned. */
const char *cc_hdr_canonical_key(cc_arena *a, const char *s);

/** Caddy's applyHeaderOp. ops is a HeaderOps object ({"add","set","delete","replace"});
 * resp is the RespHeaderOps object holding "require" and "deferred" (for response ops
 * it is the same object as ops, Go embeds one in the other), or NULL for request
 * headers. replacement is NULL unless the line had a third argument. Returns NULL, or
 * the error message (arena-owned) for an op not allowed here. */
const char *cc_hdr_apply_op(cc_arena *a, cc_cfg *ops, cc_cfg *resp, const char *field,
                            const char *value, const char *replacement);

/** Caddy's ParseNamedResponseMatcher without the name registry: d is a dispenser over
 * the matcher's segment (its first token is the name, e.g. "match" or "@name"); the
 * result is {"status_code": [...], "headers": {...}} (keys present when used). */
int cc_hdr_parse_response_matcher(cc_disp *d, cc_cfg **out);

#endif
