/* SPDX-License-Identifier: Apache-2.0
 * The structural directives that live in caddyfile/ rather than handlers/ (routing
 * blocks, bind, tls, log and friends), looked up before the handler modules so that a
 * handler module can never shadow them. */
#include "adapter_priv.h"

#include <string.h>

extern const cc_module cc_cf_mod_bind, cc_cf_mod_tls, cc_cf_mod_log, cc_cf_mod_log_skip,
    cc_cf_mod_skip_log, cc_cf_mod_log_name, cc_cf_mod_handle, cc_cf_mod_handle_path,
    cc_cf_mod_route, cc_cf_mod_handle_errors, cc_cf_mod_invoke;

const cc_module *const cc_cf_builtin_modules[] = {
    &cc_cf_mod_bind,     &cc_cf_mod_tls,      &cc_cf_mod_log,           &cc_cf_mod_log_skip,
    &cc_cf_mod_skip_log, &cc_cf_mod_log_name, &cc_cf_mod_handle,        &cc_cf_mod_handle_path,
    &cc_cf_mod_route,    &cc_cf_mod_invoke,   &cc_cf_mod_handle_errors, NULL,
};

const cc_module *cc_cf_find_module(const char *name)
{
    for (size_t i = 0; cc_cf_builtin_modules[i]; i++)
        if (strcmp(cc_cf_builtin_modules[i]->name, name) == 0)
            return cc_cf_builtin_modules[i];
    return cc_module_find(name);
}
