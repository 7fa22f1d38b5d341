/* SPDX-License-Identifier: Apache-2.0
 * The `respond` directive: a static response (caddyhttp.StaticResponse).
 *
 *     respond [<matcher>] <status>|<body> [<status>] {
 *         body <text>
 *         close
 *     }
 *
 * A lone argument of three digits is a status code, anything else is the body. The
 * status may be a placeholder; like Caddy, it is not range-checked when adapting. */
#include <string.h>

#include "../caddyfile/helper.h"
#include "goval.h"

static cc_cfg *parse_respond(cc_helper *h)
{
    cc_disp *d = h->d;
    cc_arena *a = h->a;
    cc_disp_next(d);
    size_t n;
    const char **args = cc_disp_remaining_args(d, &n);
    const char *status = "", *body = "";
    int64_t num;
    switch (n) {
    case 1:
        if (strlen(args[0]) == 3 && cc_go_atoi(args[0], &num) && num > 0)
            status = args[0];
        else
            body = args[0];
        break;
    case 2:
        body = args[0];
        status = args[1];
        break;
    default:
        cc_disp_arg_err(d);
        return NULL;
    }

    bool close = false;
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        const char *sub = cc_disp_val(d);
        if (strcmp(sub, "body") == 0) {
            if (*body) {
                cc_disp_errf(d, "body already specified");
                return NULL;
            }
            if (!cc_disp_next_arg(d)) {
                cc_disp_arg_err(d);
                return NULL;
            }
            body = cc_disp_val(d);
            if (cc_disp_next_arg(d)) {
                cc_disp_prev(d);
                cc_disp_arg_err(d);
                return NULL;
            }
        } else if (strcmp(sub, "close") == 0) {
            if (close) {
                cc_disp_errf(d, "close already specified");
                return NULL;
            }
            close = true;
        } else {
            cc_disp_errf(d, "unrecognized subdirective '%s'", sub);
            return NULL;
        }
    }

    cc_cfg *o = cc_cfg_obj(a);
    cc_cfg_set_str(a, o, "handler", "static_response");
    if (*status)
        cc_cfg_set(a, o, "status_code", cc_go_weak_string(a, status));
    if (*body)
        cc_cfg_set_str(a, o, "body", body);
    if (close)
        cc_cfg_set_bool(a, o, "close", true);
    return o;
}

const cc_module cc_mod_respond = {CC_MODULE_ABI, "respond", parse_respond, NULL};
