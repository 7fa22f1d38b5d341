/* SPDX-License-Identifier: Apache-2.0
 * The `rewrite` directive: internally rewrite the request URI.
 *
 *     rewrite [<matcher>] <to>
 *
 * Only the URI parts present in <to> change. With a single argument it is the URI even
 * when it looks like a path matcher (`rewrite /index.html`), which is why this is a
 * general directive that finds its own matcher. The adapter always groups rewrite
 * routes so that only the first matching one runs. */
#include "../caddyfile/helper.h"

static cc_cfg *rewrite_handler(cc_arena *a, const char *uri)
{
    cc_cfg *o = cc_cfg_obj(a);
    cc_cfg_set_str(a, o, "handler", "rewrite");
    if (*uri)
        cc_cfg_set_str(a, o, "uri", uri);
    return o;
}

static int parse_rewrite(cc_helper *h, cc_cfvals *out)
{
    cc_disp *d = h->d;
    cc_disp_next(d);
    int n = cc_disp_count_remaining_args(d);
    if (n == 0)
        return cc_disp_errf(d, "too few arguments; must have at least a rewrite URI");
    if (n > 2)
        return cc_disp_errf(d, "too many arguments; should only be a matcher and a URI");

    cc_cfg *set = NULL;
    if (n == 2) {
        if (cc_helper_extract_matcher_set(h, &set) != CC_OK)
            return CC_ERR;
        cc_disp_next(d); /* the directive name again: matcher extraction rewinds */
    }
    if (!cc_disp_next_arg(d))
        return cc_disp_arg_err(d);
    cc_cfvals_add(h, out, "route",
                  cc_helper_new_route(h, set, rewrite_handler(h->a, cc_disp_val(d))));
    return CC_OK;
}

const cc_module cc_mod_rewrite = {CC_MODULE_ABI, "rewrite", NULL, parse_rewrite};
