/* SPDX-License-Identifier: Apache-2.0
 * The file_server directive: its Caddyfile parser, producing Caddy's "file_server"
 * handler JSON, and (at the end) the run-time "file_server" handler that serves static
 * files from it, with fs_content.c (conditional and range requests) and fs_browse.c
 * (listings). As in Caddy, the Caddyfiles the site came from are added to "hide" so the
 * server never serves its own configuration. Syntax (Caddy's fileserver/caddyfile.go):
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
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../caddyfile/helper.h"
#include "../core/rand.h"
#include "../core/replacer.h"
#include "fs.h"
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

/* ---- run time: the "file_server" handler (Caddy's fileserver/staticfiles.go) ---- */

typedef struct precomp {
    const char *enc;    /* Accept-Encoding token */
    const char *suffix; /* sidecar file suffix */
} precomp;

static const precomp precomp_known[] = {{"br", ".br"}, {"zstd", ".zst"}, {"gzip", ".gz"}};

typedef struct fs_handler {
    cc_handler super;
    cc_tmpl *root; /* "{http.vars.root}" unless configured */
    cc_tmpl **hide;
    size_t nhide;
    cc_tmpl **index;
    size_t nindex;
    bool browse;
    cc_fs_browse bcfg;
    bool canonical;
    cc_tmpl *status; /* NULL = no override */
    bool pass_thru;
    const precomp **pre; /* configured sidecar encodings */
    size_t npre;
    const char **order; /* precompressed_order */
    size_t norder;
    const char **etag_exts;
    size_t netag;
    const char *cwd; /* working directory at provision, as Caddy's FastAbs caches it */
} fs_handler;

static int cfg_fail(cc_prov *ctx, const cc_cfg *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int cfg_fail(cc_prov *ctx, const cc_cfg *at, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return cc_err_setat(ctx->err, at ? at->file : NULL, at ? at->line : 0, "file_server: %s", msg);
}

/* A JSON array of strings as a C array; false (error set) for any other shape. */
static bool str_list(cc_prov *ctx, const cc_cfg *obj, const char *key, const char ***out, size_t *n)
{
    const cc_cfg *v = cc_cfg_get(obj, key);
    *out = NULL;
    *n = 0;
    if (!v || v->type == CC_CFG_NULL)
        return true;
    if (v->type != CC_CFG_ARR) {
        cfg_fail(ctx, v, "%s must be an array of strings", key);
        return false;
    }
    *n = cc_cfg_len(v);
    *out = cc_arena_alloc(ctx->a, (*n + 1) * sizeof(**out));
    for (size_t i = 0; i < *n; i++) {
        const cc_cfg *e = cc_cfg_idx(v, i);
        if (e->type != CC_CFG_STR) {
            cfg_fail(ctx, e, "%s must be an array of strings", key);
            return false;
        }
        (*out)[i] = e->s.p;
    }
    return true;
}

static bool cfg_bool(const cc_cfg *obj, const char *key, bool dflt)
{
    const cc_cfg *v = cc_cfg_get(obj, key);
    return v && v->type == CC_CFG_BOOL ? v->b : dflt;
}

static int provision_browse(fs_handler *f, const cc_cfg *b, cc_prov *ctx)
{
    if (b->type != CC_CFG_OBJ)
        return cfg_fail(ctx, b, "browse must be an object");
    f->browse = true;
    const char *tpl = cc_cfg_get_str(b, "template_file");
    if (tpl && tpl[0])
        return cfg_fail(ctx, b,
                        "browse template_file %s: custom Go templates are not supported, only "
                        "the built-in listing",
                        tpl);
    f->bcfg.reveal_symlinks = cfg_bool(b, "reveal_symlinks", false);
    const cc_cfg *lim = cc_cfg_get(b, "file_limit");
    if (lim && lim->type == CC_CFG_INT)
        f->bcfg.file_limit = lim->i;
    const char **sort;
    size_t n;
    if (!str_list(ctx, b, "sort", &sort, &n))
        return CC_ERR;
    for (size_t i = 0; i < n; i++) {
        const char *s = sort[i];
        if (i == 0) {
            if (strcmp(s, "name") && strcmp(s, "namedirfirst") && strcmp(s, "size") &&
                strcmp(s, "time"))
                return cfg_fail(ctx, b,
                                "the first option must be one of the following: name, "
                                "namedirfirst, size, time, but got %s",
                                s);
            f->bcfg.sort = s;
        } else if (i == 1) {
            if (strcmp(s, "asc") && strcmp(s, "desc"))
                return cfg_fail(ctx, b,
                                "the second option must be one of the following: asc, desc, "
                                "but got %s",
                                s);
            f->bcfg.order = s;
        } else {
            return cfg_fail(ctx, b, "only max 2 sort options are allowed, but got %zu", i + 1);
        }
    }
    return CC_OK;
}

static int provision_precompressed(fs_handler *f, const cc_cfg *cfg, cc_prov *ctx)
{
    const cc_cfg *pc = cc_cfg_get(cfg, "precompressed");
    if (pc && pc->type != CC_CFG_NULL) {
        if (pc->type != CC_CFG_OBJ)
            return cfg_fail(ctx, pc, "precompressed must be an object");
        f->pre = cc_arena_alloc(ctx->a, (pc->obj.n + 1) * sizeof(*f->pre));
        for (size_t i = 0; i < pc->obj.n; i++) {
            const char *name = pc->obj.k[i];
            const precomp *p = NULL;
            for (size_t k = 0; k < sizeof(precomp_known) / sizeof(precomp_known[0]); k++)
                if (strcmp(precomp_known[k].enc, name) == 0)
                    p = &precomp_known[k];
            if (!p)
                return cfg_fail(ctx, pc,
                                "loading encoder modules: unknown module: http.precompressed.%s",
                                name);
            f->pre[f->npre++] = p;
        }
    }
    return str_list(ctx, cfg, "precompressed_order", &f->order, &f->norder) ? CC_OK : CC_ERR;
}

static cc_tmpl **tmpl_list(cc_arena *a, const char **v, size_t n)
{
    cc_tmpl **t = cc_arena_alloc(a, (n + 1) * sizeof(*t));
    for (size_t i = 0; i < n; i++)
        t[i] = cc_tmpl_compile(a, v[i]);
    return t;
}

static int fs_provision(cc_handler *h, const cc_cfg *cfg, cc_prov *ctx)
{
    fs_handler *f = (fs_handler *)h;
    cc_arena *a = ctx->a;
    char *cwd = getcwd(NULL, 0);
    f->cwd = cc_arena_strdup(a, cwd ? cwd : "/");
    free(cwd);

    const char *fsname = cc_cfg_get_str(cfg, "fs");
    if (fsname && fsname[0])
        return cfg_fail(ctx, cc_cfg_get(cfg, "fs"),
                        "file system '%s' is not available: only the local disk is served", fsname);
    const char *root = cc_cfg_get_str(cfg, "root");
    f->root = cc_tmpl_compile(a, root && root[0] ? root : "{http.vars.root}");

    const char **v;
    size_t n;
    if (!str_list(ctx, cfg, "hide", &v, &n))
        return CC_ERR;
    /* static entries with a directory part are made absolute once, here */
    for (size_t i = 0; i < n; i++)
        if (!strchr(v[i], '{') && strchr(v[i], '/'))
            v[i] = cc_fs_abs(a, f->cwd, v[i]);
    f->hide = tmpl_list(a, v, n);
    f->nhide = n;

    const cc_cfg *idx = cc_cfg_get(cfg, "index_names");
    if (idx && idx->type != CC_CFG_NULL) {
        if (!str_list(ctx, cfg, "index_names", &v, &n))
            return CC_ERR;
    } else {
        static const char *dflt[] = {"index.html", "index.txt"};
        v = dflt;
        n = 2;
    }
    f->index = tmpl_list(a, v, n);
    f->nindex = n;

    const cc_cfg *b = cc_cfg_get(cfg, "browse");
    if (b && b->type != CC_CFG_NULL && provision_browse(f, b, ctx) != CC_OK)
        return CC_ERR;
    f->canonical = cfg_bool(cfg, "canonical_uris", true);
    f->pass_thru = cfg_bool(cfg, "pass_thru", false);

    const cc_cfg *st = cc_cfg_get(cfg, "status_code");
    if (st && st->type == CC_CFG_INT)
        f->status = cc_tmpl_compile(a, cc_arena_printf(a, "%lld", (long long)st->i));
    else if (st && st->type == CC_CFG_STR && st->s.p[0])
        f->status = cc_tmpl_compile(a, st->s.p);
    else if (st && st->type != CC_CFG_NULL && st->type != CC_CFG_STR)
        return cfg_fail(ctx, st, "status_code must be an integer or a string");

    if (provision_precompressed(f, cfg, ctx) != CC_OK)
        return CC_ERR;
    return str_list(ctx, cfg, "etag_file_extensions", &f->etag_exts, &f->netag) ? CC_OK : CC_ERR;
}

/* The hide list for this request: placeholders expanded, entries with a '/' absolute. */
static const char **expand_hide(const fs_handler *f, cc_req *r)
{
    const char **out = cc_arena_alloc(r->arena, (f->nhide + 1) * sizeof(*out));
    for (size_t i = 0; i < f->nhide; i++) {
        const char *h = cc_tmpl_expand(f->hide[i], r, false);
        if (cc_tmpl_dynamic(f->hide[i]) && strchr(h, '/'))
            h = cc_fs_abs(r->arena, f->cwd, h);
        out[i] = h;
    }
    return out;
}

static int not_found(const fs_handler *f, cc_req *r, cc_next *next)
{
    if (f->pass_thru)
        return cc_next_run(next, r);
    return cc_req_fail(r, 404, "%s", cc_http_status_text(404));
}

/* A file system error as Caddy maps it: missing -> 404 (or pass_thru), permission ->
 * 403, anything else the path itself is wrong (-> 400) for a stat, or the server is
 * short of something (-> 503 with a Retry-After) for an open. */
static int stat_error(const fs_handler *f, cc_req *r, cc_next *next, int err, const char *path)
{
    if (err == ENOENT)
        return not_found(f, r, next);
    if (err == EACCES || err == EPERM)
        return cc_req_fail(r, 403, "stat %s: %s", path, strerror(err));
    return cc_req_fail(r, 400, "stat %s: %s", path, strerror(err));
}

static int open_error(cc_req *r, int err, const char *path)
{
    if (err == EACCES || err == EPERM)
        return cc_req_fail(r, 403, "open %s: %s", path, strerror(err));
    cc_headers_set(r->arena, &r->resp.headers, "Retry-After",
                   cc_arena_printf(r->arena, "%d", (int)(2 + cc_rand64() % 3)));
    return cc_req_fail(r, 503, "open %s: %s", path, strerror(err));
}

/* A file opened ahead (fs_handle), closed with the request unless it was served. */
typedef struct pre_open {
    int fd;
} pre_open;

static void pre_close(void *p)
{
    pre_open *po = p;
    if (po->fd >= 0)
        close(po->fd);
    po->fd = -1;
}

/* Opens a regular file without blocking on FIFOs; *err gets errno on failure, ENOENT for
 * anything that is not a regular file. */
static int open_regular(const char *path, struct stat *st, int *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        *err = errno;
        return -1;
    }
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        *err = S_ISREG(st->st_mode) ? errno : ENOENT;
        close(fd);
        return -1;
    }
    /* sendfile and pread ignore O_NONBLOCK on regular files */
    return fd;
}

typedef struct enc_pref {
    const char *enc;
    double q;
    long order;
} enc_pref;

/* encode.AcceptedEncodings: Accept-Encoding tokens by q (zero excluded), ties broken by
 * the configured order, then by the header's order. */
static size_t accepted_encodings(const fs_handler *f, cc_req *r, const char ***out)
{
    const char *ae = cc_headers_get(&r->headers, "Accept-Encoding");
    *out = NULL;
    if (!ae || !ae[0])
        return 0;
    bool websocket = cc_headers_get(&r->headers, "Sec-Websocket-Key") != NULL;
    CC_VEC(enc_pref) prefs = {0};
    for (const char *s = ae;;) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        const char *tok = cc_arena_strndup(r->arena, s, len);
        char *semi = strchr(tok, ';');
        double q = 1.0;
        if (semi) {
            *semi = '\0';
            const char *pq = semi + 1;
            while (*pq == ' ' || *pq == '\t')
                pq++;
            if ((pq[0] == 'q' || pq[0] == 'Q') && pq[1] == '=') {
                char *end;
                double v = strtod(pq + 2, &end);
                while (*end == ' ' || *end == '\t')
                    end++;
                if (end != pq + 2 && (*end == '\0' || *end == ';') && v >= 0 && v <= 1)
                    q = v;
            }
        }
        char *name = cc_arena_strdup(r->arena, tok);
        while (*name == ' ' || *name == '\t')
            name++;
        size_t nl = strlen(name);
        while (nl > 0 && (name[nl - 1] == ' ' || name[nl - 1] == '\t'))
            name[--nl] = '\0';
        for (char *c = name; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
        if (q >= 0.00001 && !(websocket && strcmp(name, "identity") != 0)) {
            long order = -1;
            for (size_t i = 0; i < f->norder; i++)
                if (strcmp(f->order[i], name) == 0) {
                    order = (long)(f->norder - i);
                    break;
                }
            enc_pref p = {name, q, order};
            CC_VEC_PUSH(r->arena, &prefs, p);
        }
        if (!comma)
            break;
        s = comma + 1;
    }
    /* stable insertion sort: q descending, then preferred order descending */
    for (size_t i = 1; i < prefs.n; i++) {
        enc_pref x = prefs.v[i];
        size_t j = i;
        while (j > 0) {
            enc_pref *y = &prefs.v[j - 1];
            bool before = fabs(x.q - y->q) < 0.00001 ? x.order > y->order : x.q > y->q;
            if (!before)
                break;
            prefs.v[j] = *y;
            j--;
        }
        prefs.v[j] = x;
    }
    const char **names = cc_arena_alloc(r->arena, (prefs.n + 1) * sizeof(*names));
    for (size_t i = 0; i < prefs.n; i++)
        names[i] = prefs.v[i].enc;
    *out = names;
    return prefs.n;
}

/* The ETag from a sidecar file (etag_file_extensions); "" when there is none, NULL with
 * the request failed when one exists but cannot be read. */
static const char *etag_from_file(const fs_handler *f, cc_req *r, const char *filename)
{
    for (size_t i = 0; i < f->netag; i++) {
        const char *path = cc_arena_printf(r->arena, "%s%s", filename, f->etag_exts[i]);
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0 && errno == ENOENT)
            continue;
        char buf[1024];
        ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
        int err = errno;
        if (fd >= 0)
            close(fd);
        if (n < 0) {
            cc_req_fail(r, 500, "cannot read etag from file %s: %s", path, strerror(err));
            return NULL;
        }
        char *out = cc_arena_alloc(r->arena, (size_t)n + 1);
        size_t o = 0;
        for (ssize_t k = 0; k < n; k++)
            if (buf[k] != '\n')
                out[o++] = buf[k];
        out[o] = '\0';
        return out;
    }
    return "";
}

static bool is_method(const cc_req *r, const char *m)
{
    return strcmp(r->method, m) == 0;
}

static bool has_suffix_slash(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && s[n - 1] == '/';
}

static int fs_handle(cc_handler *h, cc_req *r, cc_next *next)
{
    const fs_handler *f = (const fs_handler *)h;
    cc_arena *a = r->arena;
    cc_headers *rh = &r->resp.headers;

    /* a decoded NUL would silently cut the path short: Go's stat refuses it (400) */
    const char *raw = r->raw_path ? r->raw_path : "";
    if (strstr(raw, "%00"))
        return cc_req_fail(r, 400, "invalid path: NUL byte");

    const char **hide = expand_hide(f, r);
    const char *root = cc_tmpl_expand(f->root, r, false);
    if (!root[0])
        root = ".";

    char *filename = cc_fs_join(a, root, r->path);
    size_t fl = strlen(filename);
    if (fl > 0 && filename[fl - 1] == '/')
        filename[fl - 1] = '\0';

    /* the common case, a regular file, costs one path walk (open, then fstat) instead
     * of two (stat, then open); anything else takes the stat path as before */
    struct stat st;
    pre_open *po = cc_arena_alloc(a, sizeof(*po));
    po->fd = open(filename, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (po->fd >= 0) {
        cc_arena_defer(a, pre_close, po);
        if (fstat(po->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            close(po->fd);
            po->fd = -1;
        }
    }
    if (po->fd < 0 && stat(filename, &st) != 0)
        return stat_error(f, r, next, errno, filename);

    bool implicit_index = false;
    if (S_ISDIR(st.st_mode)) {
        for (size_t i = 0; i < f->nindex; i++) {
            const char *page = cc_tmpl_expand(f->index[i], r, false);
            char *ipath = cc_fs_join(a, filename, page);
            if (cc_fs_hidden(a, f->cwd, ipath, hide, f->nhide))
                continue;
            struct stat ist;
            if (stat(ipath, &ist) != 0)
                continue;
            st = ist;
            filename = ipath;
            implicit_index = true;
            break;
        }
    }

    if (S_ISDIR(st.st_mode)) {
        if (f->browse && !cc_fs_hidden(a, f->cwd, filename, hide, f->nhide)) {
            cc_fs_listing_req lr = {&f->bcfg, root, filename, f->cwd, hide, f->nhide};
            return cc_fs_serve_browse(r, &lr);
        }
        return not_found(f, r, next);
    }
    if (cc_fs_hidden(a, f->cwd, filename, hide, f->nhide))
        return not_found(f, r, next);

    if (f->canonical) {
        /* only when the file name itself was not rewritten, so that an explicit rewrite
         * never turns into a redirect loop */
        const char *orig = r->orig_path ? r->orig_path : r->path;
        if (strcmp(cc_fs_base(a, orig), cc_fs_base(a, r->path)) == 0) {
            if (implicit_index && !has_suffix_slash(orig)) {
                cc_fs_redirect(r, cc_arena_printf(a, "%s/", orig));
                return CC_OK;
            }
            if (!implicit_index && has_suffix_slash(orig)) {
                cc_fs_redirect(r, cc_arena_strndup(a, orig, strlen(orig) - 1));
                return CC_OK;
            }
        }
    }

    /* a header directive may have set one on purpose */
    const char *etag = cc_headers_get(rh, "Etag");
    /* the representation may vary with Accept-Encoding even when served as is, so
     * caches key on it */
    cc_headers_add(a, rh, "Vary", "Accept-Encoding");

    int fd = -1, err = 0;
    struct stat fst;
    const char **encs;
    size_t nenc = f->npre ? accepted_encodings(f, r, &encs) : 0;
    for (size_t i = 0; i < nenc && fd < 0; i++) {
        const precomp *p = NULL;
        for (size_t k = 0; k < f->npre; k++)
            if (strcmp(f->pre[k]->enc, encs[i]) == 0)
                p = f->pre[k];
        if (!p)
            continue;
        const char *cpath = cc_arena_printf(a, "%s%s", filename, p->suffix);
        struct stat cst;
        if (stat(cpath, &cst) != 0 || S_ISDIR(cst.st_mode))
            continue;
        fd = open_regular(cpath, &fst, &err);
        if (fd < 0) {
            if (err != ENOENT && err != EACCES && err != EPERM)
                return open_error(r, err, cpath);
            continue;
        }
        cc_headers_set(a, rh, "Content-Encoding", p->enc);
        if (!etag || !etag[0]) {
            etag = f->netag ? etag_from_file(f, r, cpath) : "";
            if (!etag) {
                close(fd);
                return CC_ERR;
            }
        }
        /* sidecars are transparent, but a different body needs its own validator */
        if (!etag[0])
            etag = cc_fs_etag(a, &fst);
    }
    if (fd >= 0 && po->fd >= 0) {
        close(po->fd); /* a precompressed sidecar is served instead */
        po->fd = -1;
    }
    if (fd < 0) {
        if (po->fd >= 0 && !implicit_index) {
            fd = po->fd;
            po->fd = -1;
            fst = st;
        } else {
            fd = open_regular(filename, &fst, &err);
        }
        if (fd < 0) {
            if (err == ENOENT)
                return not_found(f, r, next);
            return open_error(r, err, filename);
        }
        if (!etag || !etag[0]) {
            etag = f->netag ? etag_from_file(f, r, filename) : "";
            if (!etag) {
                close(fd);
                return CC_ERR;
            }
        }
        if (!etag[0])
            etag = cc_fs_etag(a, &st);
    }

    bool error_ctx = r->err.status != 0;
    if (!is_method(r, "GET") && !is_method(r, "HEAD") && !error_ctx) {
        close(fd);
        cc_headers_add(a, rh, "Allow", "GET, HEAD");
        return cc_req_fail(r, 405, "%s", cc_http_status_text(405));
    }
    if (etag && etag[0])
        cc_headers_set(a, rh, "Etag", etag);
    if (!cc_headers_get(rh, "Content-Type")) {
        const char *ct = cc_fs_mime(filename);
        if (ct)
            cc_headers_set(a, rh, "Content-Type", ct);
    }

    int status = error_ctx ? r->err.status : 0;
    if (f->status) {
        const char *s = cc_tmpl_expand(f->status, r, false);
        char *end;
        long v = strtol(s, &end, 10);
        if (!s[0] || *end || v < 0 || v > 999) {
            close(fd);
            return cc_req_fail(r, 500, "strconv.Atoi: parsing \"%s\": invalid syntax", s);
        }
        status = (int)v;
    }

    cc_fs_content c = {
        .fd = fd,
        .size = (int64_t)fst.st_size,
        .mtime = st.st_mtim.tv_sec,
        .status = status,
    };
    return cc_fs_serve_content(r, &c);
}

const cc_handler_type cc_ht_file_server = {
    .abi = CC_HANDLER_ABI,
    .name = "file_server",
    .size = sizeof(fs_handler),
    .provision = fs_provision,
    .handle = fs_handle,
};
