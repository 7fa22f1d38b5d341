/* SPDX-License-Identifier: Apache-2.0
 * The explicit table of built-in handler modules: greppable, and safe under static
 * linking (no constructors, no linker sections). Add one line per directive. */
#include "handlers.h"

/* clang-format off */
/* One X(name) per handlers/<name>.c; three lists so that parallel work never edits the
 * same line. */
#define MODULES_BASIC(X)
#define MODULES_FILES(X)
#define MODULES_PROXY(X)
#define MODULES(X) MODULES_BASIC(X) MODULES_FILES(X) MODULES_PROXY(X)

#define DECLARE(name) extern const cc_module cc_mod_##name;
#define ENTRY(name) &cc_mod_##name,
MODULES(DECLARE)

const cc_module *const cc_handler_modules[] = {
    MODULES(ENTRY)
    NULL,
};
/* clang-format on */
