/* SPDX-License-Identifier: Apache-2.0
 * The default directive order (Caddy's defaultDirectiveOrder, with rate_limit placed
 * right before basic_auth, after the deprecated basicauth, as the caddy-ratelimit plugin
 * registers it). Handler directives run
 * in this order within a block unless written inside `route`. */
#include "adapt_internal.h"

#include <string.h>

const char *const cc_cf_default_order[] = {
    "tracing",
    "map",
    "vars",
    "fs",
    "root",
    "log_append",
    "skip_log",
    "log_skip",
    "log_name",
    "header",
    "copy_response_headers",
    "request_body",
    "timeouts",
    "redir",
    "method",
    "rewrite",
    "uri",
    "try_files",
    "basicauth",
    "rate_limit",
    "basic_auth",
    "forward_auth",
    "request_header",
    "encode",
    "push",
    "intercept",
    "templates",
    "invoke",
    "handle",
    "handle_path",
    "route",
    "abort",
    "error",
    "copy_response",
    "respond",
    "metrics",
    "reverse_proxy",
    "php_fastcgi",
    "file_server",
    "acme_server",
    NULL,
};

int cc_cf_order_index(const cc_adapt *ad, const char *name)
{
    const char *const *order = ad && ad->order ? ad->order : cc_cf_default_order;
    for (int i = 0; order[i]; i++)
        if (strcmp(order[i], name) == 0)
            return i;
    return -1;
}
