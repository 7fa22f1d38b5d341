/* SPDX-License-Identifier: Apache-2.0
 * For the unit tests that serve a Caddyfile from a real engine in-process: the runtime
 * built from Caddyfile text (adapter + provisioning), and an engine started on it with
 * the handler modules registered. Include after t.h. */
#ifndef CC_TEST_ENGINE_RT_H
#define CC_TEST_ENGINE_RT_H

#include <string.h>

#include "../../caddyfile/adapter.h"
#include "../../core/module.h"
#include "../../engine/engine.h"
#include "../../handlers/handlers.h"

/* The runtime of Caddyfile text, or NULL with err set; fix (if any) may rewrite the
 * adapted config first. */
static inline cc_runtime *t_load_fix(const char *src, cc_err *err,
                                     void (*fix)(cc_arena *a, cc_cfg *cfg))
{
    cc_arena *a = cc_arena_new(0);
    cc_cfg *cfg = NULL;
    cc_err_clear(err);
    if (cc_cf_adapt(a, "Caddyfile", src, strlen(src), &cfg, NULL, err) != CC_OK) {
        cc_arena_free(a);
        return NULL;
    }
    if (fix)
        fix(a, cfg);
    return cc_runtime_load(a, cfg, err);
}

static inline cc_runtime *t_load(const char *src, cc_err *err)
{
    return t_load_fix(src, err, NULL);
}

/* An engine of `workers` workers serving src; NULL (a failed check) when it cannot. */
static inline cc_engine *t_serve(const char *src, int workers)
{
    cc_modules_set(cc_handler_modules);
    cc_handler_types_set(cc_handler_types);
    cc_err err = {0};
    cc_runtime *rt = t_load(src, &err);
    T_OK(rt != NULL, "load: %s", err.msg);
    if (!rt)
        return NULL;
    cc_engine *e = cc_engine_start(rt, &(cc_engine_opts){.workers = workers}, &err);
    cc_runtime_unref(rt);
    T_OK(e != NULL, "start: %s", err.msg);
    return e;
}

#endif
