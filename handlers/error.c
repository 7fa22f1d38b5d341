/* SPDX-License-Identifier: Apache-2.0
 * The `error` directive: fail the request with an error for handle_errors to handle
 * (caddyhttp.StaticError).
 *
 *     error [<matcher>] <status>|<message> [<status>] {
 *         message <text>
 *     }
 *
 * A lone argument of three digits is a status code, anything else is the message; the
 * status defaults to 500 at run time. */
#include <string.h>

#include "../caddyfile/helper.h"
#include "goval.h"

static cc_cfg *parse_error(cc_helper *h)
{
    cc_disp *d = h->d;
    cc_arena *a = h->a;
    cc_disp_next(d);
    size_t n;
    const char **args = cc_disp_remaining_args(d, &n);
    const char *status = "", *msg = "";
    int64_t num;
    switch (n) {
    case 1:
        if (strlen(args[0]) == 3 && cc_go_atoi(args[0], &num) && num > 0)
            status = args[0];
        else
            msg = args[0];
        break;
    case 2:
        msg = args[0];
        status = args[1];
        break;
    default:
        cc_disp_arg_err(d);
        return NULL;
    }

    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        const char *sub = cc_disp_val(d);
        if (strcmp(sub, "message") != 0) {
            cc_disp_errf(d, "unrecognized subdirective '%s'", sub);
            return NULL;
        }
        if (*msg) {
            cc_disp_errf(d, "message already specified");
            return NULL;
        }
        if (!cc_disp_next_arg(d)) {
            cc_disp_arg_err(d);
            return NULL;
        }
        msg = cc_disp_val(d);
        if (cc_disp_next_arg(d)) {
            cc_disp_prev(d);
            cc_disp_arg_err(d);
            return NULL;
        }
    }

    cc_cfg *o = cc_cfg_obj(a);
    cc_cfg_set_str(a, o, "handler", "error");
    if (*msg)
        cc_cfg_set_str(a, o, "error", msg);
    if (*status)
        cc_cfg_set(a, o, "status_code", cc_go_weak_string(a, status));
    return o;
}

const cc_module cc_mod_error = {CC_MODULE_ABI, "error", parse_error, NULL};
