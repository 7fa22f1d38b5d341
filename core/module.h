/* SPDX-License-Identifier: Apache-2.0
 * The directive module registry. A directive is a module: its Caddyfile parser now,
 * and (appended later, ABI append-only like sqlite's iVersion) provision, handle and
 * cleanup. The table of built-in handler modules lives in handlers/handlers.c and is
 * installed once at start-up with cc_modules_set(); caddyfile/ finds modules by name
 * through here, so it never includes handlers/. */
#ifndef CC_MODULE_H
#define CC_MODULE_H

#include <stddef.h>

struct cc_helper; /* caddyfile/helper.h */
struct cc_cfvals; /* caddyfile/helper.h */
struct cc_cfg;    /* core/cfg.h */

#define CC_MODULE_ABI 1

typedef struct cc_module {
    int abi;          /* CC_MODULE_ABI */
    const char *name; /* directive name, e.g. "reverse_proxy" */
    /* Handler directive: the dispenser is reset and any matcher token already removed,
     * so the first cc_disp_next() yields the directive name. Returns the handler's config
     * object ({"handler": "...", ...}), or NULL with h->err set. The adapter wraps it in
     * a route with the matcher. Exactly one of parse_handler / parse_directive is set. */
    struct cc_cfg *(*parse_handler)(struct cc_helper *h);
    /* General directive: appends config values (routes or other classes) to out.
     * Returns CC_OK or CC_ERR with h->err set. */
    int (*parse_directive)(struct cc_helper *h, struct cc_cfvals *out);
} cc_module;

/** Installs the NULL-terminated table of modules (not copied; must outlive its use). */
void cc_modules_set(const cc_module *const *table);
/** The module for a directive name, or NULL. */
const cc_module *cc_module_find(const char *name);

#endif
