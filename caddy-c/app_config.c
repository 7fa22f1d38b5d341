/* SPDX-License-Identifier: Apache-2.0
 * Where configurations come from: a config file (Caddy's LoadConfig, with its adapter
 * inference and messages), an admin request body (by Content-Type), and the running
 * config tree itself, which the admin API reads and changes by path (/config/a/0/b). */
#include "app_priv.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../caddyfile/adapter.h"
#include "cli.h"
#include "json_in.h"

/* Caddy's isCaddyfile: the caddyfile adapter is implied by a file named Caddyfile* or
 * *.caddyfile, unless it ends in .json. */
static bool is_caddyfile(const char *config, const char *adapter)
{
    if (strcmp(adapter, "caddyfile") == 0)
        return true;
    if (*adapter)
        return false;
    const char *base = strrchr(config, '/');
    base = base ? base + 1 : config;
    size_t n = strlen(base);
    char *lower = cc_xmalloc(n + 1);
    for (size_t i = 0; i <= n; i++)
        lower[i] = (char)tolower((unsigned char)base[i]);
    const char *dot = strrchr(lower, '.');
    bool json = dot && strcmp(dot, ".json") == 0;
    bool named = strncmp(lower, "caddyfile", 9) == 0 ||
                 (n >= 10 && strcmp(lower + n - 10, ".caddyfile") == 0);
    free(lower);
    return !json && named;
}

static void log_warnings(const cc_warns *w, const char *adapter)
{
    for (size_t i = 0; i < w->list.n; i++)
        app_log(CC_LOG_WARN, NULL, w->list.v[i], "adapter", adapter, NULL);
}

int cc_app_read_config(cc_arena *a, const char *config, const char *adapter, cc_cfg **cfg,
                       const char **file, const char **adapter_used, cc_err *err)
{
    *cfg = NULL;
    *file = "";
    *adapter_used = "";
    config = config ? config : "";
    adapter = adapter ? adapter : "";
    if (*adapter && !*config)
        return cc_err_set(err, "cannot adapt config without config file (use --config)");

    cc_err e = {0};
    char *src = NULL;
    size_t len = 0;
    if (*config) {
        src = cli_read_file(config, &len, &e);
        if (!src)
            return cc_err_set(err, "reading config from %s: %s",
                              strcmp(config, "-") == 0 ? "stdin" : "file", e.msg);
        if (strcmp(config, "-") == 0)
            app_log(CC_LOG_INFO, NULL, "using config from stdin", NULL);
        else
            app_log(CC_LOG_INFO, NULL, "using config from file", "file", config, NULL);
    } else {
        struct stat st;
        if (stat("Caddyfile", &st) != 0 && errno == ENOENT)
            return CC_OK;
        src = cli_read_file("Caddyfile", &len, &e);
        if (!src)
            return cc_err_set(err, "reading default Caddyfile: %s", e.msg);
        config = "Caddyfile";
        app_log(CC_LOG_INFO, NULL, "using adjacent Caddyfile", NULL);
    }
    *file = cc_arena_strdup(a, config);

    int rc = CC_OK;
    if (is_caddyfile(config, adapter)) {
        cc_warns w = {.a = a};
        *adapter_used = "caddyfile";
        if (cli_adapt_caddyfile(a, config, src, len, cfg, &w, &e) != CC_OK) {
            rc = cc_err_set(err, "adapting config using caddyfile: %s", e.msg);
        } else {
            app_log(CC_LOG_INFO, NULL, "adapted config to JSON", "adapter", "caddyfile", NULL);
            log_warnings(&w, "caddyfile");
        }
    } else if (*adapter && strcmp(adapter, "json") != 0) {
        rc = cc_err_set(err, "unrecognized config adapter: %s", adapter);
    } else {
        *adapter_used = *adapter ? "json" : "";
        rc = cc_json_parse_config(a, src, len, true, cfg, err);
    }
    free(src);
    return rc;
}

int cc_app_adapt_body(cc_arena *a, const char *content_type, const char *body, size_t len,
                      cc_cfg **cfg, cc_warns *warnings, cc_err *err)
{
    *cfg = NULL;
    char mt[128];
    size_t n = 0;
    const char *p = content_type ? content_type : "";
    while (*p == ' ' || *p == '\t')
        p++;
    while (*p && *p != ';' && n + 1 < sizeof(mt))
        mt[n++] = (char)tolower((unsigned char)*p++);
    while (n > 0 && (mt[n - 1] == ' ' || mt[n - 1] == '\t'))
        n--;
    mt[n] = '\0';
    if (n == 0 || (n >= 5 && strcmp(mt + n - 5, "/json") == 0))
        return cc_json_parse_config(a, body, len, false, cfg, err);
    const char *slash = strchr(mt, '/');
    if (!slash)
        return cc_err_set(err, "malformed Content-Type");
    const char *name = slash + 1;
    if (strcmp(name, "caddyfile") != 0)
        return cc_err_set(err, "unrecognized config adapter '%s'", name);
    cc_err e = {0};
    if (cc_cf_adapt(a, "Caddyfile", body, len, cfg, warnings, &e) != CC_OK)
        return cc_err_set(err, "adapting config using caddyfile adapter: %s", e.msg);
    return CC_OK;
}

/* ---- the config tree by path ---------------------------------------------------- */

/* Go's strconv.Atoi plus the canonical-form check of Caddy's parseCanonicalArrayIndex. */
static bool canonical_index(const char *s, size_t *out)
{
    if (!*s || strlen(s) > 9 || (s[0] == '0' && s[1]))
        return false;
    size_t v = 0;
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return false;
        v = v * 10 + (size_t)(*p - '0');
    }
    *out = v;
    return true;
}

/* The path after "/config" split on '/', without empty segments at either end. */
typedef struct {
    char *buf;
    char **parts;
    size_t n;
} cfg_path;

static void path_split(const char *path, cfg_path *p)
{
    while (*path == '/')
        path++;
    p->buf = cc_xstrdup(path);
    size_t len = strlen(p->buf);
    while (len > 0 && p->buf[len - 1] == '/')
        p->buf[--len] = '\0';
    p->parts = cc_xcalloc(len + 2, sizeof(*p->parts));
    p->n = 0;
    if (!len)
        return;
    char *s = p->buf;
    for (;;) {
        p->parts[p->n++] = s;
        char *slash = strchr(s, '/');
        if (!slash)
            break;
        *slash = '\0';
        s = slash + 1;
    }
}

static void path_free(cfg_path *p)
{
    free(p->buf);
    free(p->parts);
}

/* "/a/b" for the first k parts, for messages. */
static const char *path_prefix(cc_arena *a, const cfg_path *p, size_t k)
{
    char *s = cc_arena_strdup(a, "");
    for (size_t i = 0; i < k; i++)
        s = cc_arena_printf(a, "%s/%s", s, p->parts[i]);
    return s;
}

enum { OP_GET, OP_POST, OP_PUT, OP_PATCH, OP_DELETE };

/* Caddy's unsyncedConfigAccess over the tree wrapper {"config": root}: finds the value at
 * the path for GET (*found), or applies the change in place. *status gets the HTTP
 * status of an error. */
static int access_tree(cc_arena *a, cc_cfg *wrapper, const char *raw, const cfg_path *p, int op,
                       cc_cfg *val, bool ellipses, const cc_cfg **found, int *status, cc_err *err)
{
    cc_cfg *ptr = wrapper;
    *status = 400;
    for (size_t i = 0; i < p->n; i++) {
        const char *part = p->parts[i];
        bool last = i == p->n - 1;
        if (ptr && ptr->type == CC_CFG_OBJ) {
            cc_cfg *child = cc_cfg_get(ptr, part);
            /* the final segment indexes an array held by this object */
            if (child && child->type == CC_CFG_ARR && i == p->n - 2) {
                const char *idxs = p->parts[p->n - 1];
                size_t idx = 0, n = cc_cfg_len(child);
                if (op != OP_POST) {
                    if (!canonical_index(idxs, &idx))
                        return cc_err_set(err, "[%s] invalid array index '%s'", raw, idxs);
                    if ((op != OP_PUT && idx >= n) || idx > n) {
                        *status = 404;
                        return cc_err_set(err, "[%s] array index out of bounds: %s", raw, idxs);
                    }
                }
                switch (op) {
                case OP_GET:
                    *found = cc_cfg_idx(child, idx);
                    break;
                case OP_POST:
                    if (ellipses) {
                        if (val->type != CC_CFG_ARR)
                            return cc_err_set(err, "final element is not an array");
                        for (size_t k = 0; k < val->arr.n; k++)
                            cc_cfg_push(a, child, val->arr.v[k]);
                    } else {
                        cc_cfg_push(a, child, val);
                    }
                    break;
                case OP_PUT:
                    cc_cfg_insert(a, child, idx, val);
                    break;
                case OP_PATCH:
                    child->arr.v[idx] = val;
                    break;
                default:
                    cc_cfg_remove(child, idx);
                }
                return CC_OK;
            }
            if (last) {
                switch (op) {
                case OP_GET:
                    if (!child) {
                        *status = 404;
                        return cc_err_set(err, "[%s] key does not exist: %s", raw, part);
                    }
                    *found = child;
                    break;
                case OP_POST:
                    if (child && child->type == CC_CFG_ARR) {
                        if (ellipses && val->type != CC_CFG_ARR)
                            return cc_err_set(err, "final element is not an array");
                        if (ellipses)
                            for (size_t k = 0; k < val->arr.n; k++)
                                cc_cfg_push(a, child, val->arr.v[k]);
                        else
                            cc_cfg_push(a, child, val);
                    } else {
                        cc_cfg_set(a, ptr, part, val);
                    }
                    break;
                case OP_PUT:
                    if (child) {
                        *status = 409;
                        return cc_err_set(err, "[%s] key already exists: %s", raw, part);
                    }
                    cc_cfg_set(a, ptr, part, val);
                    break;
                default:
                    if (!child) {
                        *status = 404;
                        return cc_err_set(err, "[%s] key does not exist: %s", raw, part);
                    }
                    if (op == OP_PATCH)
                        cc_cfg_set(a, ptr, part, val);
                    else
                        cc_cfg_del(ptr, part);
                }
                return CC_OK;
            }
            if ((!child || child->type == CC_CFG_NULL) && op == OP_PUT) {
                child = cc_cfg_obj(a);
                cc_cfg_set(a, ptr, part, child);
            }
            if (!child) {
                *status = 404;
                return cc_err_set(err, "[%s] key does not exist: %s", raw,
                                  path_prefix(a, p, i + 1));
            }
            ptr = child;
        } else if (ptr && ptr->type == CC_CFG_ARR) {
            size_t idx;
            if (!canonical_index(part, &idx))
                return cc_err_set(err, "[%s] invalid array index '%s'", path_prefix(a, p, i + 1),
                                  part);
            if (idx >= cc_cfg_len(ptr)) {
                *status = 404;
                return cc_err_set(err, "[%s] array index out of bounds: %s",
                                  path_prefix(a, p, i + 1), part);
            }
            ptr = cc_cfg_idx(ptr, idx);
            if (last && op == OP_GET) {
                *found = ptr;
                return CC_OK;
            }
        } else {
            *status = 404;
            return cc_err_set(err, "invalid traversal path at: %s", path_prefix(a, p, i + 1) + 1);
        }
    }
    return cc_err_set(err, "no traversable path");
}

/* Copies the origin file names of a cloned tree into its own arena: cc_cfg_clone keeps
 * pointers into the old config's arena, which goes away after the swap. */
static void rehome_files(cc_arena *a, cc_cfg *v, const char **last_old, const char **last_new)
{
    if (!v)
        return;
    if (v->file) {
        if (v->file != *last_old) {
            *last_old = v->file;
            *last_new = cc_arena_strdup(a, v->file);
        }
        v->file = *last_new;
    }
    if (v->type == CC_CFG_ARR)
        for (size_t i = 0; i < v->arr.n; i++)
            rehome_files(a, v->arr.v[i], last_old, last_new);
    else if (v->type == CC_CFG_OBJ)
        for (size_t i = 0; i < v->obj.n; i++)
            rehome_files(a, v->obj.v[i], last_old, last_new);
}

/* The running config wrapped as {"config": root} (root null for the empty config). */
static cc_cfg *wrap(cc_arena *a, const cc_app *app, bool copy)
{
    cc_cfg *w = cc_cfg_obj(a);
    cc_cfg *root;
    if (!app->rt || app->config_null) {
        root = cc_cfg_null(a);
    } else if (!copy) {
        root = app->rt->config;
    } else {
        root = cc_cfg_clone(a, app->rt->config);
        const char *last_old = NULL, *last_new = NULL;
        rehome_files(a, root, &last_old, &last_new);
    }
    cc_cfg_set(a, w, "config", root);
    return w;
}

char *cc_app_config_json(cc_app *app, const char *path, int *status, size_t *len, cc_err *err)
{
    cc_arena *a = cc_arena_new(0);
    cfg_path p;
    path_split(path, &p);
    char *out = NULL;
    pthread_mutex_lock(&app->lock);
    const cc_cfg *found = NULL;
    if (access_tree(a, wrap(a, app, false), path, &p, OP_GET, NULL, false, &found, status, err) ==
        CC_OK) {
        size_t n;
        char *js = cc_cfg_to_json(found, false, &n);
        out = cc_xrealloc(js, n + 2);
        out[n] = '\n';
        out[n + 1] = '\0';
        *len = n + 1;
    }
    pthread_mutex_unlock(&app->lock);
    path_free(&p);
    cc_arena_free(a);
    return out;
}

int cc_app_config_change(cc_app *app, const char *method, const char *path, const char *body,
                         size_t len, bool force, int *status, cc_err *err)
{
    int op = strcmp(method, "POST") == 0    ? OP_POST
             : strcmp(method, "PUT") == 0   ? OP_PUT
             : strcmp(method, "PATCH") == 0 ? OP_PATCH
                                            : OP_DELETE;
    cc_arena *a = cc_arena_new(0);
    *status = 400;
    cc_cfg *val = NULL;
    if (op != OP_DELETE) {
        if (cc_json_parse(a, body, len, "decoding request body", &val, err) != CC_OK) {
            cc_arena_free(a);
            return CC_ERR;
        }
    }
    cfg_path p;
    path_split(path, &p);
    bool ellipses = p.n > 0 && strcmp(p.parts[p.n - 1], "...") == 0;
    if (ellipses)
        p.n--;
    pthread_mutex_lock(&app->lock);
    cc_cfg *w = wrap(a, app, true);
    int rc = access_tree(a, w, path, &p, op, val, ellipses, NULL, status, err);
    if (rc == CC_OK) {
        cc_cfg *root = cc_cfg_get(w, "config");
        if (root && root->type == CC_CFG_NULL)
            root = NULL;
        if (root && root->type != CC_CFG_OBJ) {
            cc_arena_free(a);
            rc = cc_err_set(err,
                            "loading new config: decoding config: json: cannot unmarshal %s "
                            "into Go value of type caddy.Config",
                            cc_json_kind(root));
        } else {
            rc = app_load_locked(app, a, root, force, err);
        }
        a = NULL;
        *status = 400;
    }
    pthread_mutex_unlock(&app->lock);
    path_free(&p);
    cc_arena_free(a);
    return rc == CC_APP_UNCHANGED ? CC_OK : rc;
}
