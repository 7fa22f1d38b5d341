/* SPDX-License-Identifier: Apache-2.0
 * The `method` directive: change the request method for the handlers that follow.
 *
 *     method [<matcher>] <method>
 */
#include "../caddyfile/helper.h"

static cc_cfg *parse_method(cc_helper *h)
{
    cc_disp *d = h->d;
    cc_disp_next(d);
    if (!cc_disp_next_arg(d) || cc_disp_next_arg(d)) {
        cc_disp_arg_err(d);
        return NULL;
    }
    cc_cfg *o = cc_cfg_obj(h->a);
    cc_cfg_set_str(h->a, o, "handler", "rewrite");
    if (*cc_disp_val(d))
        cc_cfg_set_str(h->a, o, "method", cc_disp_val(d));
    return o;
}

const cc_module cc_mod_method = {CC_MODULE_ABI, "method", parse_method, NULL};
