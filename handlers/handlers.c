/* SPDX-License-Identifier: Apache-2.0
 * The explicit table of built-in handler modules: greppable, and safe under static
 * linking (no constructors, no linker sections). Add one line per directive. */
#include "handlers.h"

/* clang-format off */
/* One X(name) per handlers/<name>.c; three lists so that parallel work never edits the
 * same line. */
#define MODULES_BASIC(X) X(respond) X(redir) X(rewrite) X(uri) X(method) X(header) X(request_header) X(request_body) X(root) X(vars) X(error) X(abort)
#define MODULES_FILES(X) X(file_server) X(try_files) X(basic_auth) X(basicauth) X(encode) X(rate_limit)
#define MODULES_PROXY(X) X(reverse_proxy) X(copy_response) X(copy_response_headers)
#define MODULES(X) MODULES_BASIC(X) MODULES_FILES(X) MODULES_PROXY(X)

#define DECLARE(name) extern const cc_module cc_mod_##name;
#define ENTRY(name) &cc_mod_##name,
MODULES(DECLARE)

const cc_module *const cc_handler_modules[] = {
    MODULES(ENTRY)
    NULL,
};

/* Run-time handler types, keyed by the JSON "handler" name; one X(name) per
 * `const cc_handler_type cc_ht_<name>`, in lists per area like MODULES_* above. */
#define HANDLER_TYPES_BASIC(X) X(static_response) X(rewrite) X(headers) X(request_body) X(vars) X(error) X(subroute) X(invoke) X(encode)
#define HANDLER_TYPES_FILES(X) X(file_server) X(authentication) X(rate_limit)
#define HANDLER_TYPES_PROXY(X) X(reverse_proxy) X(copy_response) X(copy_response_headers)
#define HANDLER_TYPES(X) HANDLER_TYPES_BASIC(X) HANDLER_TYPES_FILES(X) HANDLER_TYPES_PROXY(X)

#define DECLARE_TYPE(name) extern const cc_handler_type cc_ht_##name;
#define TYPE_ENTRY(name) &cc_ht_##name,
HANDLER_TYPES(DECLARE_TYPE)

const cc_handler_type *const cc_handler_types[] = {
    HANDLER_TYPES(TYPE_ENTRY)
    NULL,
};
/* clang-format on */
