/* SPDX-License-Identifier: Apache-2.0
 * The `root` directive: set the site root ({http.vars.root}) used by file_server,
 * try_files and php_fastcgi.
 *
 *     root [<matcher>] <path>
 *
 * With a single argument it is the path even when it starts with '/' (`root /srv`);
 * `root * /srv` is the explicit form. The adapter makes several roots in one block
 * mutually exclusive by grouping them. */
#include "../caddyfile/helper.h"

static int parse_root(cc_helper *h, cc_cfvals *out)
{
    cc_disp *d = h->d;
    cc_disp_next(d);
    int n = cc_disp_count_remaining_args(d);
    if (n == 0)
        return cc_disp_errf(d, "too few arguments; must have at least a root path");
    if (n > 2)
        return cc_disp_errf(d, "too many arguments; should only be a matcher and a path");

    cc_cfg *set = NULL;
    if (n == 2) {
        if (cc_helper_extract_matcher_set(h, &set) != CC_OK)
            return CC_ERR;
        cc_disp_next(d); /* the directive name again: matcher extraction rewinds */
    }
    if (!cc_disp_next_arg(d))
        return cc_disp_arg_err(d);
    cc_cfg *vars = cc_cfg_obj(h->a);
    cc_cfg_set_str(h->a, vars, "handler", "vars");
    cc_cfg_set_str(h->a, vars, "root", cc_disp_val(d));
    cc_cfvals_add(h, out, "route", cc_helper_new_route(h, set, vars));
    return CC_OK;
}

const cc_module cc_mod_root = {CC_MODULE_ABI, "root", NULL, parse_root};
