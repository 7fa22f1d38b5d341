/* SPDX-License-Identifier: Apache-2.0
 * The file_server directive: its Caddyfile parser, producing Caddy's "file_server"
 * handler JSON. As in Caddy, the Caddyfiles the site came from are added to "hide" so
 * the server never serves its own configuration. Syntax (Caddy's fileserver/caddyfile.go):
 *
 *     file_server [<matcher>] [browse] {
 *         fs            <filesystem>
 *         root          <path>
 *         hide          <files...>
 *         index         <files...>
 *         browse        [<template_file>] {
 *             reveal_symlinks
 *             sort          <name|namedirfirst|size|time|asc|desc...>
 *             file_limit    <n>
 *         }
 *         precompressed [<formats...>]
 *         status        <status>
 *         disable_canonical_uris
 *         pass_thru
 *         etag_file_extensions <exts...>
 *     }
 */
#include <fnmatch.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../caddyfile/helper.h"
#include "goconv.h"

typedef struct fsrv {
    const char *fs, *root, *status;
    cc_cfg *hide, *index, *browse, *precomp, *precomp_order, *etag_exts;
    bool no_canonical, pass_thru;
} fsrv;

/* Caddy's WeakString JSON form: booleans and integers unquoted, anything else (a
 * placeholder, say) as a string. */
static cc_cfg *weak_string(cc_arena *a, const char *s)
{
    int64_t n;
    if (strcmp(s, "true") == 0)
        return cc_cfg_bool(a, true);
    if (strcmp(s, "false") == 0)
        return cc_cfg_bool(a, false);
    if (!cc_goconv_atoi(s, &n))
        return cc_cfg_int(a, n);
    return cc_cfg_str(a, s);
}

static cc_cfg *args_arr(cc_helper *h, size_t *n)
{
    const char **v = cc_disp_remaining_args(h->d, n);
    return cc_cfg_str_arr(h->a, v, *n);
}

static bool is_sort_option(const char *s)
{
    static const char *const opts[] = {"name", "namedirfirst", "size", "time", "asc", "desc"};
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
        if (strcmp(s, opts[i]) == 0)
            return true;
    return false;
}

static int parse_browse(cc_helper *h, fsrv *f)
{
    cc_disp *d = h->d;
    if (f->browse)
        return cc_disp_errf(d, "browsing is already configured");
    f->browse = cc_cfg_obj(h->a);
    const char *tpl = "";
    cc_disp_args(d, &tpl, NULL);
    bool reveal = false;
    int64_t limit = 0;
    cc_cfg *sort = cc_cfg_arr(h->a);
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
        const char *sub = cc_disp_val(d);
        if (strcmp(sub, "reveal_symlinks") == 0) {
            if (reveal)
                return cc_disp_errf(d, "Symlinks path reveal is already enabled");
            reveal = true;
        } else if (strcmp(sub, "sort") == 0) {
            while (cc_disp_next_arg(d)) {
                if (!is_sort_option(cc_disp_val(d)))
                    return cc_disp_errf(d, "unknown sort option '%s'", cc_disp_val(d));
                cc_cfg_push_str(h->a, sort, cc_disp_val(d));
            }
        } else if (strcmp(sub, "file_limit") == 0) {
            size_t n;
            const char **v = cc_disp_remaining_args(d, &n);
            if (n != 1)
                return cc_disp_errf(d, "file_limit should have an integer value");
            int64_t val = 0; /* Caddy ignores a malformed limit: 0, no limit */
            cc_goconv_atoi(v[0], &val);
            if (limit != 0)
                return cc_disp_errf(d, "file_limit is already enabled");
            limit = val;
        } else {
            return cc_disp_errf(d, "unknown subdirective '%s'", sub);
        }
    }
    if (tpl[0])
        cc_cfg_set_str(h->a, f->browse, "template_file", tpl);
    if (reveal)
        cc_cfg_set_bool(h->a, f->browse, "reveal_symlinks", true);
    if (cc_cfg_len(sort))
        cc_cfg_set(h->a, f->browse, "sort", sort);
    if (limit)
        cc_cfg_set_int(h->a, f->browse, "file_limit", limit);
    return CC_OK;
}

static int parse_precompressed(cc_helper *h, fsrv *f)
{
    static const char *const dflt[] = {"br", "zstd", "gzip"};
    size_t n;
    cc_cfg *order = args_arr(h, &n);
    if (n == 0)
        order = cc_cfg_str_arr(h->a, dflt, 3);
    /* the order is replaced by each line but the formats accumulate, as in Caddy */
    f->precomp_order = order;
    if (!f->precomp)
        f->precomp = cc_cfg_obj(h->a);
    for (size_t i = 0; i < cc_cfg_len(order); i++) {
        const char *fmt = cc_cfg_idx(order, i)->s.p;
        if (strcmp(fmt, "br") && strcmp(fmt, "zstd") && strcmp(fmt, "gzip"))
            return cc_disp_errf(h->d,
                                "getting module named 'http.precompressed.%s': module not "
                                "registered: http.precompressed.%s",
                                fmt, fmt);
        cc_cfg_set(h->a, f->precomp, fmt, cc_cfg_obj(h->a));
    }
    return CC_OK;
}

static int parse_sub(cc_helper *h, fsrv *f)
{
    cc_disp *d = h->d;
    const char *sub = cc_disp_val(d);
    size_t n;
    if (strcmp(sub, "fs") == 0) {
        if (!cc_disp_next_arg(d))
            return cc_disp_arg_err(d);
        if (f->fs && f->fs[0])
            return cc_disp_errf(d, "file system already specified");
        f->fs = cc_disp_val(d);
    } else if (strcmp(sub, "hide") == 0) {
        cc_cfg *v = args_arr(h, &n);
        if (n == 0)
            return cc_disp_arg_err(d);
        /* repeated lines accumulate, so snippets compose with the site's own hides */
        for (size_t i = 0; i < n; i++)
            cc_cfg_push(h->a, f->hide, cc_cfg_idx(v, i));
    } else if (strcmp(sub, "index") == 0) {
        f->index = args_arr(h, &n);
        if (n == 0)
            return cc_disp_arg_err(d);
    } else if (strcmp(sub, "root") == 0) {
        if (!cc_disp_args(d, &f->root, NULL))
            return cc_disp_arg_err(d);
    } else if (strcmp(sub, "browse") == 0) {
        return parse_browse(h, f);
    } else if (strcmp(sub, "precompressed") == 0) {
        return parse_precompressed(h, f);
    } else if (strcmp(sub, "status") == 0) {
        if (!cc_disp_next_arg(d))
            return cc_disp_arg_err(d);
        f->status = cc_disp_val(d);
    } else if (strcmp(sub, "disable_canonical_uris") == 0) {
        if (cc_disp_next_arg(d))
            return cc_disp_arg_err(d);
        f->no_canonical = true;
    } else if (strcmp(sub, "pass_thru") == 0) {
        if (cc_disp_next_arg(d))
            return cc_disp_arg_err(d);
        f->pass_thru = true;
    } else if (strcmp(sub, "etag_file_extensions") == 0) {
        f->etag_exts = args_arr(h, &n);
        if (n == 0)
            return cc_disp_arg_err(d);
    } else {
        return cc_disp_errf(d, "unknown subdirective '%s'", sub);
    }
    return CC_OK;
}

/* Go's filepath.Clean: the shortest lexically equivalent path. */
static char *clean_path(cc_arena *a, const char *p)
{
    size_t len = strlen(p);
    bool rooted = p[0] == '/';
    const char **seg = cc_arena_alloc(a, (len / 2 + 2) * sizeof(char *));
    size_t *seglen = cc_arena_alloc(a, (len / 2 + 2) * sizeof(size_t));
    size_t ns = 0;
    for (const char *s = p; *s;) {
        while (*s == '/')
            s++;
        const char *e = s;
        while (*e && *e != '/')
            e++;
        size_t sl = (size_t)(e - s);
        if (sl == 0 || (sl == 1 && s[0] == '.')) {
            /* empty or "." element: dropped */
        } else if (sl == 2 && s[0] == '.' && s[1] == '.') {
            if (ns > 0 && !(seglen[ns - 1] == 2 && memcmp(seg[ns - 1], "..", 2) == 0))
                ns--;
            else if (!rooted) {
                seg[ns] = s;
                seglen[ns++] = sl;
            }
        } else {
            seg[ns] = s;
            seglen[ns++] = sl;
        }
        s = e;
    }
    char *out = cc_arena_alloc(a, len + 2);
    size_t o = 0;
    if (rooted)
        out[o++] = '/';
    for (size_t i = 0; i < ns; i++) {
        if (i)
            out[o++] = '/';
        memcpy(out + o, seg[i], seglen[i]);
        o += seglen[i];
    }
    if (o == 0)
        out[o++] = '.';
    out[o] = '\0';
    return out;
}

static const char *abs_path(cc_arena *a, const char *p)
{
    if (p[0] == '/')
        return clean_path(a, p);
    char *cwd = getcwd(NULL, 0);
    if (!cwd)
        return p;
    const char *joined = cc_arena_printf(a, "%s/%s", cwd, p);
    free(cwd);
    return clean_path(a, joined);
}

/* Caddy's fileHidden, used here only to avoid hiding a Caddyfile twice: a hide entry
 * without a slash matches any path component, one with a slash matches a directory
 * prefix, and any entry may be a glob over the whole absolute path. */
static bool file_hidden(cc_arena *a, const char *filename, const cc_cfg *hide)
{
    if (cc_cfg_len(hide) == 0)
        return false;
    const char *abs = abs_path(a, filename);
    for (size_t i = 0; i < cc_cfg_len(hide); i++) {
        const cc_cfg *hv = cc_cfg_idx(hide, i);
        if (hv->type != CC_CFG_STR)
            continue;
        const char *pat = hv->s.p;
        if (!strchr(pat, '/')) {
            for (const char *c = abs;;) {
                const char *e = strchr(c, '/');
                size_t cl = e ? (size_t)(e - c) : strlen(c);
                if (fnmatch(pat, cc_arena_strndup(a, c, cl), 0) == 0)
                    return true;
                if (!e)
                    break;
                c = e + 1;
            }
        } else {
            size_t pl = strlen(pat);
            if (strncmp(abs, pat, pl) == 0 && abs[pl] == '/')
                return true;
        }
        if (fnmatch(pat, abs, FNM_PATHNAME) == 0)
            return true;
    }
    return false;
}

static void hide_caddyfiles(cc_helper *h, fsrv *f)
{
    cc_cfg *files = cc_helper_caddyfiles(h);
    for (size_t i = 0; i < cc_cfg_len(files); i++) {
        const cc_cfg *fv = cc_cfg_idx(files, i);
        if (fv->type != CC_CFG_STR)
            continue;
        const char *file = clean_path(h->a, fv->s.p);
        if (file_hidden(h->a, file, f->hide))
            continue;
        /* a bare name would hide every file so named; hide only this one */
        if (!strchr(file, '/'))
            file = cc_arena_printf(h->a, "./%s", file);
        cc_cfg_push_str(h->a, f->hide, file);
    }
}

static cc_cfg *build(cc_helper *h, const fsrv *f)
{
    cc_arena *a = h->a;
    cc_cfg *o = cc_cfg_obj(a);
    cc_cfg_set_str(a, o, "handler", "file_server");
    if (f->fs && f->fs[0])
        cc_cfg_set_str(a, o, "fs", f->fs);
    if (f->root && f->root[0])
        cc_cfg_set_str(a, o, "root", f->root);
    if (cc_cfg_len(f->hide))
        cc_cfg_set(a, o, "hide", f->hide);
    if (cc_cfg_len(f->index))
        cc_cfg_set(a, o, "index_names", f->index);
    if (f->browse)
        cc_cfg_set(a, o, "browse", f->browse);
    if (f->no_canonical)
        cc_cfg_set_bool(a, o, "canonical_uris", false);
    if (f->status && f->status[0])
        cc_cfg_set(a, o, "status_code", weak_string(a, f->status));
    if (f->pass_thru)
        cc_cfg_set_bool(a, o, "pass_thru", true);
    if (cc_cfg_len(f->precomp))
        cc_cfg_set(a, o, "precompressed", f->precomp);
    if (cc_cfg_len(f->precomp_order))
        cc_cfg_set(a, o, "precompressed_order", f->precomp_order);
    if (cc_cfg_len(f->etag_exts))
        cc_cfg_set(a, o, "etag_file_extensions", f->etag_exts);
    return o;
}

static cc_cfg *parse_handler(cc_helper *h)
{
    cc_disp *d = h->d;
    fsrv f = {.hide = cc_cfg_arr(h->a)};
    cc_disp_next(d);
    size_t n;
    const char **args = cc_disp_remaining_args(d, &n);
    if (n > 1 || (n == 1 && strcmp(args[0], "browse") != 0)) {
        cc_disp_arg_err(d);
        return NULL;
    }
    if (n == 1)
        f.browse = cc_cfg_obj(h->a);
    for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);)
        if (parse_sub(h, &f) != CC_OK)
            return NULL;
    hide_caddyfiles(h, &f);
    return build(h, &f);
}

const cc_module cc_mod_file_server = {CC_MODULE_ABI, "file_server", parse_handler, NULL};
