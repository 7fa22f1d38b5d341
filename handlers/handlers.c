/* SPDX-License-Identifier: Apache-2.0
 * The explicit table of built-in handler modules: greppable, and safe under static
 * linking (no constructors, no linker sections). Add one line per directive. */
#include "handlers.h"

/* clang-format off */
#define MODULES(X) \
    /* one X(name) per handlers/<name>.c */

#define DECLARE(name) extern const cc_module cc_mod_##name;
#define ENTRY(name) &cc_mod_##name,
MODULES(DECLARE)

const cc_module *const cc_handler_modules[] = {
    MODULES(ENTRY)
    NULL,
};
/* clang-format on */
