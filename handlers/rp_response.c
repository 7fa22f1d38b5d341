/* SPDX-License-Identifier: Apache-2.0
 * What reverse_proxy does around the round trip: header_up / header_down ops, method and
 * rewrite of the proxied request, named response matchers, replace_status and
 * handle_response routes; plus the copy_response and copy_response_headers directives
 * that only make sense inside handle_response. */
#include <string.h>
#include <strings.h>

#include "goconv.h"
#include "goval.h"
#include "headerops.h"
#include "rp.h"

/* Settings the proxy already applies by default. */
static void lint_header_up(cc_rp *rp, const char *f, const char *v)
{
    static const struct {
        const char *field, *values[4];
    } lint[] = {
        {"x-forwarded-for",
         {"{remote}", "{http.request.remote}", "{remote_host}", "{http.request.remote.host}"}},
        {"x-forwarded-proto", {"{scheme}", "{http.request.scheme}", NULL, NULL}},
        {"x-forwarded-host",
         {"{host}", "{http.request.host}", "{hostport}", "{http.request.hostport}"}},
    };
    static const char *const names[] = {"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host"};
    for (size_t i = 0; i < sizeof(lint) / sizeof(lint[0]); i++) {
        if (strcasecmp(f, lint[i].field))
            continue;
        for (size_t j = 0; j < 4 && lint[i].values[j]; j++)
            if (!strcmp(v, lint[i].values[j]))
                cc_helper_warn(rp->h,
                               "Unnecessary header_up %s: the reverse proxy's default behavior "
                               "is to pass headers to the upstream",
                               names[i]);
    }
}

static int header_updown(cc_rp *rp, bool up)
{
    cc_cfg *hdrs = cc_rp_obj(rp, rp->out, "headers");
    cc_cfg *ops = cc_rp_obj(rp, hdrs, up ? "request" : "response");
    size_t n;
    const char **args = cc_disp_remaining_args(rp->d, &n);
    if (n < 1 || n > 3)
        return cc_disp_arg_err(rp->d);
    if (up && n == 2)
        lint_header_up(rp, args[0], args[1]);
    /* header_down too passes no response-ops object: no '?', no implied defer */
    const char *e =
        cc_hdr_apply_op(rp->a, ops, NULL, args[0], n >= 2 ? args[1] : "", n == 3 ? args[2] : NULL);
    return e ? cc_disp_errf(rp->d, "%s", e) : CC_OK;
}

/* ---- response matchers ---- */

static int define_resp_matcher(cc_rp *rp)
{
    const char *name = cc_disp_val(rp->d);
    cc_disp *d = cc_disp_new_from_next_segment(rp->d);
    if (cc_cfg_get(rp->resp_matchers, name)) {
        cc_disp_next(d);
        return cc_disp_errf(d, "matcher is defined more than once: %s", name);
    }
    cc_cfg *m = NULL;
    if (cc_hdr_parse_response_matcher(d, &m))
        return CC_ERR;
    cc_cfg_set(rp->a, rp->resp_matchers, name, m);
    return CC_OK;
}

/* The response matcher an argument names, or an error. */
static int find_resp_matcher(cc_rp *rp, cc_disp *d, const char *arg, cc_cfg **m)
{
    if (arg[0] != '@')
        return cc_disp_errf(d, "must use a named response matcher, starting with '@'");
    cc_cfg *found = cc_cfg_get(rp->resp_matchers, arg);
    if (!found)
        return cc_disp_errf(d, "no named response matcher defined with name '%s'", arg + 1);
    *m = cc_cfg_clone(rp->a, found);
    return CC_OK;
}

/* ---- replace_status and handle_response ---- */

static int replace_status(cc_rp *rp)
{
    size_t n;
    const char **args = cc_disp_remaining_args(rp->d, &n);
    if (n != 1 && n != 2)
        return cc_disp_errf(rp->d, "must have one or two arguments: an optional response "
                                   "matcher, and a status code");
    cc_cfg *rh = cc_cfg_obj(rp->a);
    if (n == 2) {
        cc_cfg *m = NULL;
        if (find_resp_matcher(rp, rp->d, args[0], &m))
            return CC_ERR;
        cc_cfg_set(rp->a, rh, "match", m);
    }
    if (*args[n - 1])
        cc_cfg_set(rp->a, rh, "status_code", cc_go_weak_string(rp->a, args[n - 1]));
    if (cc_disp_next_block(rp->d, cc_disp_nesting(rp->d)))
        return cc_disp_errf(rp->d, "cannot define routes for 'replace_status', use "
                                   "'handle_response' instead.");
    cc_cfg_push(rp->a, cc_cfg_child_arr(rp->a, rp->out, "handle_response"), rh);
    return CC_OK;
}

/* Parses one saved handle_response segment into a response handler. */
static int handle_response(cc_rp *rp, cc_disp *d, cc_cfg **out)
{
    cc_disp_next(d); /* handle_response */
    size_t n;
    const char **args = cc_disp_remaining_args(d, &n);
    if (n > 1) {
        size_t len = 3;
        for (size_t i = 0; i < n; i++)
            len += strlen(args[i]) + 1;
        char *list = cc_arena_alloc(rp->a, len);
        strcat(list, "[");
        for (size_t i = 0; i < n; i++) {
            if (i)
                strcat(list, " ");
            strcat(list, args[i]);
        }
        strcat(list, "]");
        return cc_disp_errf(d,
                            "too many arguments for 'handle_response': only a single response "
                            "matcher name is allowed, but got: %s",
                            list);
    }
    cc_cfg *rh = cc_cfg_obj(rp->a);
    if (n == 1) {
        cc_cfg *m = NULL;
        if (find_resp_matcher(rp, d, args[0], &m))
            return CC_ERR;
        cc_cfg_set(rp->a, rh, "match", m);
    }
    cc_helper sub = *rp->h;
    sub.d = cc_disp_new_from_next_segment(d);
    cc_cfg *subroute = NULL;
    if (cc_helper_parse_segment_as_subroute(&sub, &subroute))
        return CC_ERR;
    cc_cfg *routes = cc_cfg_get(subroute, "routes");
    if (cc_cfg_len(routes))
        cc_cfg_set(rp->a, rh, "routes", routes);
    *out = rh;
    return CC_OK;
}

int cc_rp_response_finish(cc_rp *rp)
{
    cc_cfg *all = cc_cfg_get(rp->out, "handle_response");
    for (size_t i = 0; i < rp->hr_seg.n; i++) {
        cc_cfg *rh = NULL;
        if (handle_response(rp, rp->hr_seg.v[i], &rh))
            return CC_ERR;
        if (!all)
            all = cc_cfg_child_arr(rp->a, rp->out, "handle_response");
        cc_cfg_push(rp->a, all, rh);
    }
    if (!all)
        return CC_OK;
    /* handlers without a matcher go last, the others keep their order */
    cc_cfg *sorted = cc_cfg_arr(rp->a);
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < cc_cfg_len(all); i++)
            if ((cc_cfg_get(cc_cfg_idx(all, i), "match") != NULL) == (pass == 0))
                cc_cfg_push(rp->a, sorted, cc_cfg_idx(all, i));
    cc_cfg_set(rp->a, rp->out, "handle_response", sorted);
    return CC_OK;
}

/* method <m> and rewrite <uri>: one argument each, into the "rewrite" object. */
static int rewrite_field(cc_rp *rp, const char *key)
{
    if (cc_rp_need_arg(rp))
        return CC_ERR;
    cc_cfg *rw = cc_rp_obj(rp, rp->out, "rewrite");
    if (*cc_disp_val(rp->d))
        cc_cfg_set_str(rp->a, rw, key, cc_disp_val(rp->d));
    else
        cc_cfg_del(rw, key);
    return cc_rp_no_more_args(rp);
}

int cc_rp_response_sub(cc_rp *rp, const char *sub)
{
    if (sub[0] == '@')
        return define_resp_matcher(rp);
    if (!strcmp(sub, "header_up") || !strcmp(sub, "header_down"))
        return header_updown(rp, !strcmp(sub, "header_up"));
    if (!strcmp(sub, "method"))
        return rewrite_field(rp, "method");
    if (!strcmp(sub, "rewrite"))
        return rewrite_field(rp, "uri");
    if (!strcmp(sub, "replace_status"))
        return replace_status(rp);
    if (!strcmp(sub, "handle_response")) {
        /* parsed after the whole block, so it may use matchers defined further down */
        CC_VEC_PUSH(rp->a, &rp->hr_seg, cc_disp_new_from_next_segment(rp->d));
        return CC_OK;
    }
    return CC_RP_NOT_MINE;
}

/* ---- copy_response and copy_response_headers ---- */

static cc_cfg *parse_copy_response(cc_helper *h)
{
    cc_disp *d = h->d;
    cc_cfg *out = cc_cfg_obj(h->a);
    cc_cfg_set_str(h->a, out, "handler", "copy_response");
    cc_disp_next(d);
    size_t n;
    const char **args = cc_disp_remaining_args(d, &n);
    int64_t code;
    if (n == 1 && !cc_goconv_atoi(args[0], &code) && code > 0) {
        cc_cfg_set(h->a, out, "status_code", cc_go_weak_string(h->a, args[0]));
        return out;
    }
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        if (strcmp(cc_disp_val(d), "status")) {
            cc_disp_errf(d, "unrecognized subdirective '%s'", cc_disp_val(d));
            return NULL;
        }
        if (!cc_disp_next_arg(d)) {
            cc_disp_arg_err(d);
            return NULL;
        }
        if (*cc_disp_val(d))
            cc_cfg_set(h->a, out, "status_code", cc_go_weak_string(h->a, cc_disp_val(d)));
    }
    return out;
}

static cc_cfg *parse_copy_response_headers(cc_helper *h)
{
    cc_disp *d = h->d;
    cc_cfg *out = cc_cfg_obj(h->a);
    cc_cfg_set_str(h->a, out, "handler", "copy_response_headers");
    cc_disp_next(d);
    if (cc_disp_count_remaining_args(d)) {
        cc_disp_arg_err(d);
        return NULL;
    }
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        const char *opt = cc_disp_val(d);
        if (strcmp(opt, "include") && strcmp(opt, "exclude")) {
            cc_disp_errf(d, "unrecognized subdirective '%s'", opt);
            return NULL;
        }
        size_t n;
        const char **v = cc_disp_remaining_args(d, &n);
        if (!n)
            continue;
        cc_cfg *arr = cc_cfg_child_arr(h->a, out, opt);
        for (size_t i = 0; i < n; i++)
            cc_cfg_push_str(h->a, arr, v[i]);
    }
    return out;
}

const cc_module cc_mod_copy_response = {
    .abi = CC_MODULE_ABI,
    .name = "copy_response",
    .parse_handler = parse_copy_response,
};

const cc_module cc_mod_copy_response_headers = {
    .abi = CC_MODULE_ABI,
    .name = "copy_response_headers",
    .parse_handler = parse_copy_response_headers,
};
