/* SPDX-License-Identifier: Apache-2.0
 * The `redir` directive: a static response that redirects.
 *
 *     redir [<matcher>] <to> [<code>]
 *
 * <code> is "permanent" (301), "temporary" (302, the default), a placeholder, any
 * 3xx, 401 (lets XHR clients read Location), or "html": a 200 page that redirects
 * browsers with a script and a meta refresh, leaving other clients where they are. */
#include <string.h>

#include "../caddyfile/helper.h"
#include "goval.h"

/* Go's html.EscapeString. */
static const char *html_escape(cc_arena *a, const char *s)
{
    size_t n = 0;
    for (const char *p = s; *p; p++)
        n += strchr("<>&'\"", *p) ? 5 : 1;
    char *out = cc_arena_alloc(a, n + 1), *w = out;
    for (const char *p = s; *p; p++) {
        const char *rep = NULL;
        switch (*p) {
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '&':
            rep = "&amp;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        case '"':
            rep = "&#34;";
            break;
        default:
            *w++ = *p;
            continue;
        }
        size_t rl = strlen(rep);
        memcpy(w, rep, rl);
        w += rl;
    }
    *w = '\0';
    return out;
}

static cc_cfg *parse_redir(cc_helper *h)
{
    cc_disp *d = h->d;
    cc_arena *a = h->a;
    cc_disp_next(d);
    if (!cc_disp_next_arg(d)) {
        cc_disp_arg_err(d);
        return NULL;
    }
    const char *to = cc_disp_val(d);
    const char *code = cc_disp_next_arg(d) ? cc_disp_val(d) : "";

    cc_cfg *hdr = NULL;
    const char *body = NULL;
    if (strcmp(code, "permanent") == 0) {
        code = "301";
    } else if (strcmp(code, "temporary") == 0 || !*code) {
        code = "302";
    } else if (strcmp(code, "html") == 0) {
        /* the script first: it imitates a redirect in the browser's history better;
         * the meta tag is the fallback for clients without JS */
        const char *t = html_escape(a, to);
        body = cc_arena_printf(a,
                               "<!DOCTYPE html>\n<html>\n\t<head>\n"
                               "\t\t<title>Redirecting...</title>\n"
                               "\t\t<script>window.location.replace(\"%s\");</script>\n"
                               "\t\t<meta http-equiv=\"refresh\" content=\"0; URL='%s'\">\n"
                               "\t</head>\n"
                               "\t<body>Redirecting to <a href=\"%s\">%s</a>...</body>\n"
                               "</html>\n",
                               t, t, t, t);
        hdr = cc_cfg_obj(a);
        cc_cfg *ct = cc_cfg_arr(a);
        cc_cfg_push_str(a, ct, "text/html; charset=utf-8");
        cc_cfg_set(a, hdr, "Content-Type", ct);
        code = "200";
    } else if (code[0] != '{') {
        int64_t n;
        if (!cc_go_atoi(code, &n)) {
            cc_disp_errf(d, "Not a supported redir code type or not valid integer: '%s'", code);
            return NULL;
        }
        if (n < 300 || (n > 399 && n != 401)) {
            cc_disp_errf(d, "Redir code not in the 3xx range or 401: '%lld'", (long long)n);
            return NULL;
        }
    }
    if (strcmp(code, "200") != 0) {
        hdr = cc_cfg_obj(a);
        cc_cfg *loc = cc_cfg_arr(a);
        cc_cfg_push_str(a, loc, to);
        cc_cfg_set(a, hdr, "Location", loc);
    }

    cc_cfg *o = cc_cfg_obj(a);
    cc_cfg_set_str(a, o, "handler", "static_response");
    cc_cfg_set(a, o, "status_code", cc_go_weak_string(a, code));
    cc_cfg_set(a, o, "headers", hdr);
    if (body)
        cc_cfg_set_str(a, o, "body", body);
    return o;
}

const cc_module cc_mod_redir = {CC_MODULE_ABI, "redir", parse_redir, NULL};
