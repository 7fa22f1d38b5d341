/* SPDX-License-Identifier: Apache-2.0
 * The `error` directive: fail the request with an error for handle_errors to handle
 * (caddyhttp.StaticError): the Caddyfile parser and the error handler.
 *
 *     error [<matcher>] <status>|<message> [<status>] {
 *         message <text>
 *     }
 *
 * A lone argument of three digits is a status code, anything else is the message; the
 * status defaults to 500 at run time. */
#include <string.h>

#include "../caddyfile/helper.h"
#include "../core/handler.h"
#include "../core/replacer.h"
#include "goconv.h"
#include "goval.h"

static cc_cfg *parse_error(cc_helper *h)
{
    cc_disp *d = h->d;
    cc_arena *a = h->a;
    cc_disp_next(d);
    const char *status, *msg;
    if (cc_go_text_status_args(d, &msg, &status) != CC_OK)
        return NULL;

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

/* ---- run time: the error handler ---- */

typedef struct static_error {
    cc_handler super;
    cc_tmpl *status; /* NULL: 500 */
    cc_tmpl *message;
} static_error;

static int error_provision(cc_handler *hh, const cc_cfg *cfg, cc_prov *ctx)
{
    static_error *h = (static_error *)hh;
    const cc_cfg *sc = cc_cfg_get(cfg, "status_code");
    if (sc && sc->type == CC_CFG_STR && sc->s.n)
        h->status = cc_tmpl_compile(ctx->a, sc->s.p);
    else if (sc && sc->type == CC_CFG_INT)
        h->status = cc_tmpl_compile(ctx->a, cc_arena_printf(ctx->a, "%lld", (long long)sc->i));
    else if (sc && sc->type == CC_CFG_BOOL)
        h->status = cc_tmpl_compile(ctx->a, sc->b ? "true" : "false");
    else if (sc && sc->type == CC_CFG_NUM)
        h->status = cc_tmpl_compile(ctx->a, cc_arena_printf(ctx->a, "%.17g", sc->d));
    const char *msg = cc_cfg_get_str(cfg, "error");
    h->message = cc_tmpl_compile(ctx->a, msg ? msg : "");
    return CC_OK;
}

static int error_handle(cc_handler *hh, cc_req *r, cc_next *next)
{
    (void)next;
    static_error *h = (static_error *)hh;
    int status = 500;
    if (h->status) {
        const char *s = cc_tmpl_expand(h->status, r, false);
        int64_t v;
        const char *bad = cc_goconv_atoi(s, &v);
        if (bad)
            return cc_req_fail(r, 500, "strconv.Atoi: parsing \"%s\": %s", s, bad);
        status = v > 0 && v <= 999 ? (int)v : 500;
    }
    return cc_req_fail(r, status, "%s", cc_tmpl_expand(h->message, r, true));
}

const cc_handler_type cc_ht_error = {
    CC_HANDLER_ABI, "error", sizeof(static_error), error_provision, error_handle, NULL,
};
