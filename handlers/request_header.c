/* SPDX-License-Identifier: Apache-2.0
 * The `request_header` directive: one request header operation, as Caddy's headers
 * package adapts it.
 *
 *     request_header [<matcher>] [+|-]<field> [<value|regexp>] [<replacement>]
 *
 * Same op syntax as `header` minus `?` (no default for request headers) and without
 * deferral, which only exists for responses. */
#include <string.h>

#include "../caddyfile/helper.h"
#include "headerops.h"

static int parse_request_header(cc_helper *h, cc_cfvals *out)
{
    cc_disp *d = h->d;
    cc_arena *a = h->a;
    cc_disp_next(d);
    cc_cfg *set = NULL;
    if (cc_helper_extract_matcher_set(h, &set) != CC_OK)
        return CC_ERR;
    cc_disp_next(d); /* the directive name again: matcher extraction rewinds */

    if (!cc_disp_next_arg(d))
        return cc_disp_arg_err(d);
    const char *field = cc_disp_val(d);
    /* "Field: value" is a habit from curl and raw HTTP; the colon is dropped */
    size_t fl = strlen(field);
    if (fl && field[fl - 1] == ':')
        field = cc_arena_strndup(a, field, fl - 1);

    const char *value = "", *repl = NULL;
    if (cc_disp_next_arg(d))
        value = cc_disp_val(d);
    if (cc_disp_next_arg(d)) {
        repl = cc_disp_val(d);
        if (cc_disp_next_arg(d))
            return cc_disp_arg_err(d);
    }

    cc_cfg *handler = cc_cfg_obj(a);
    cc_cfg_set_str(a, handler, "handler", "headers");
    const char *msg =
        cc_hdr_apply_op(a, cc_cfg_child_obj(a, handler, "request"), NULL, field, value, repl);
    if (msg)
        return cc_disp_errf(d, "%s", msg);
    cc_cfvals_add(h, out, "route", cc_helper_new_route(h, set, handler));
    return CC_OK;
}

const cc_module cc_mod_request_header = {CC_MODULE_ABI, "request_header", NULL,
                                         parse_request_header};
