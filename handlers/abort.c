/* SPDX-License-Identifier: Apache-2.0
 * The `abort` directive: close the connection without a response.
 *
 *     abort [<matcher>]
 *
 * It takes nothing else: any further token, block included, is an argument error. */
#include "../caddyfile/helper.h"

static cc_cfg *parse_abort(cc_helper *h)
{
    cc_disp *d = h->d;
    cc_disp_next(d);
    if (cc_disp_next(d)) {
        cc_disp_arg_err(d);
        return NULL;
    }
    cc_cfg *o = cc_cfg_obj(h->a);
    cc_cfg_set_str(h->a, o, "handler", "static_response");
    cc_cfg_set_bool(h->a, o, "abort", true);
    return o;
}

const cc_module cc_mod_abort = {CC_MODULE_ABI, "abort", parse_abort, NULL};
