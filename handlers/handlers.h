/* SPDX-License-Identifier: Apache-2.0
 * The table of built-in handler directive modules. One module per directive, each
 * defined in handlers/<directive>.c as `const cc_module cc_mod_<directive>`. */
#ifndef CC_HANDLERS_H
#define CC_HANDLERS_H

#include "../core/handler.h"
#include "../core/module.h"

/* NULL-terminated; install with cc_modules_set(cc_handler_modules). */
extern const cc_module *const cc_handler_modules[];

/* NULL-terminated run-time handler types (JSON "handler" names); install with
 * cc_handler_types_set(cc_handler_types). */
extern const cc_handler_type *const cc_handler_types[];

#endif
