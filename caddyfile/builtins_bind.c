/* SPDX-License-Identifier: Apache-2.0
 * The `bind` directive: which interfaces a site's listeners bind to. Produces a "bind"
 * config value (an array of host strings) and, when a `protocols` subdirective is given,
 * a "bind.protocols" value (array of protocol names) for those listeners. */
#include "adapt_internal.h"

#include <string.h>

static int parse_bind(cc_helper *h, cc_cfvals *out)
{
    cc_disp *d = h->d;
    cc_disp_next(d); /* directive name */
    size_t n = 0;
    const char **addrs = cc_disp_remaining_args(d, &n);
    cc_cfg *protocols = NULL;
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        if (strcmp(cc_disp_val(d), "protocols") == 0) {
            size_t np = 0;
            const char **p = cc_disp_remaining_args(d, &np);
            if (np == 0)
                return cc_disp_errf(d, "protocols requires one or more arguments");
            protocols = cc_cfg_str_arr(h->a, p, np);
        } else {
            return cc_disp_errf(d, "unknown subdirective: %s", cc_disp_val(d));
        }
    }
    cc_cfvals_add(h, out, "bind", cc_cfg_str_arr(h->a, addrs, n));
    if (protocols)
        cc_cfvals_add(h, out, "bind.protocols", protocols);
    return CC_OK;
}

const cc_module cc_cf_mod_bind = {CC_MODULE_ABI, "bind", NULL, parse_bind};
