/* SPDX-License-Identifier: Apache-2.0
 * The `vars` directive: set request variables (caddyhttp.VarsMiddleware).
 *
 *     vars [<matcher>] [<name> <value>] {
 *         <name> <value>
 *         ...
 *     }
 *
 * Unquoted values are typed as Caddy's ScalarVal types them (int, float, bool), so
 * `vars n 1` stores the number 1 and `vars n "1"` the string. */
#include <string.h>

#include "../caddyfile/helper.h"
#include "goval.h"

/* One "<name> <value>" pair, the name being the current token. */
static int var_line(cc_disp *d, cc_arena *a, cc_cfg *o)
{
    const char *name = cc_disp_val(d);
    if (!cc_disp_next_arg(d))
        return cc_disp_arg_err(d);
    /* Caddy adds "handler" after marshalling the map, so a var of that name is lost */
    if (strcmp(name, "handler") != 0)
        cc_cfg_set(a, o, name, cc_go_scalar(a, cc_disp_tok(d)));
    if (cc_disp_next_arg(d))
        return cc_disp_arg_err(d);
    return CC_OK;
}

static cc_cfg *parse_vars(cc_helper *h)
{
    cc_disp *d = h->d;
    cc_arena *a = h->a;
    cc_disp_next(d);
    cc_cfg *o = cc_cfg_obj(a);
    cc_cfg_set_str(a, o, "handler", "vars");
    if (cc_disp_next_arg(d) && var_line(d, a, o) != CC_OK)
        return NULL;
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);)
        if (var_line(d, a, o) != CC_OK)
            return NULL;
    return o;
}

const cc_module cc_mod_vars = {CC_MODULE_ABI, "vars", parse_vars, NULL};
