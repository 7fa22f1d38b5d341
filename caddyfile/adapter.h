/* SPDX-License-Identifier: Apache-2.0
 * The Caddyfile adapter: Caddyfile text -> configuration tree (Caddy's JSON shape,
 * documented in docs/config.md). This is what `caddy-c adapt` prints and what
 * `caddy-c run` provisions. */
#ifndef CC_CF_ADAPTER_H
#define CC_CF_ADAPTER_H

#include "../core/cfg.h"
#include "../core/err.h"

/** Adapts a Caddyfile. filename is used in messages and as the base for relative
 * imports. On success *out is the arena-owned config and warnings (if not NULL, with
 * warns->a set by the caller) are appended. Returns CC_OK, or CC_ERR with err set to
 * "FILE:LINE: message" (every error the adapter can raise carries a position). */
int cc_cf_adapt(cc_arena *a, const char *filename, const char *src, size_t len, cc_cfg **out,
                cc_warns *warns, cc_err *err);

/** True when name is a directive the adapter knows (built-in or registered module). */
bool cc_cf_is_directive(const char *name);

#endif
