/* SPDX-License-Identifier: Apache-2.0
 * The "file" matcher (Caddy's fileserver/matcher.go): tries the files of try_files
 * (placeholders expanded, glob patterns allowed, split_path applied) below the site root
 * and matches when the try_policy picks one: first_exist (a trailing '/' asks for a
 * directory), first_exist_fallback, smallest_size, largest_size or
 * most_recently_modified. The chosen file is published as the
 * {http.matchers.file.relative|absolute|type|remainder} placeholders, which try_files'
 * rewrite uses. An item "=<status>" raises that error instead. */
#include "match_file.h"

#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "fspath.h"
#include "replacer.h"

enum {
    FIRST_EXIST,
    FIRST_EXIST_FALLBACK,
    LARGEST_SIZE,
    SMALLEST_SIZE,
    MOST_RECENTLY_MODIFIED,
};

typedef struct mfile {
    cc_tmpl *root; /* "{http.vars.root}" unless configured */
    const char **try;
    size_t ntry;
    int policy;
    const char **split;
    size_t nsplit;
} mfile;

typedef struct candidate {
    const char *full, *relative, *remainder;
} candidate;

typedef CC_VEC(char) charbuf;
typedef CC_VEC(candidate) cand_vec;

static int fail(cc_err *err, const cc_cfg *at, const char *fmt, const char *arg)
{
    return cc_err_setat(err, at ? at->file : NULL, at ? at->line : 0, fmt, arg);
}

static bool str_array(cc_arena *a, const cc_cfg *obj, const char *key, const char ***out, size_t *n,
                      cc_err *err)
{
    const cc_cfg *v = cc_cfg_get(obj, key);
    if (!v || v->type == CC_CFG_NULL)
        return true;
    if (v->type != CC_CFG_ARR) {
        fail(err, v, "file matcher: %s must be an array of strings", key);
        return false;
    }
    *n = cc_cfg_len(v);
    *out = cc_arena_alloc(a, (*n + 1) * sizeof(**out));
    for (size_t i = 0; i < *n; i++) {
        const cc_cfg *e = cc_cfg_idx(v, i);
        if (e->type != CC_CFG_STR) {
            fail(err, e, "file matcher: %s must be an array of strings", key);
            return false;
        }
        (*out)[i] = e->s.p;
    }
    return true;
}

static void *file_compile(cc_arena *a, const cc_cfg *cfg, cc_err *err)
{
    if (!cfg || cfg->type != CC_CFG_OBJ) {
        fail(err, cfg, "file matcher: %s", "must be a JSON object");
        return NULL;
    }
    mfile *m = cc_arena_alloc(a, sizeof(*m));
    const char *fsname = cc_cfg_get_str(cfg, "fs");
    if (fsname && fsname[0]) {
        fail(err, cfg,
             "file matcher: file system '%s' is not available: only the local disk is "
             "served",
             fsname);
        return NULL;
    }
    const char *root = cc_cfg_get_str(cfg, "root");
    m->root = cc_tmpl_compile(a, root && root[0] ? root : "{http.vars.root}");
    const cc_cfg *tf = cc_cfg_get(cfg, "try_files");
    if (tf && tf->type != CC_CFG_NULL) {
        if (!str_array(a, cfg, "try_files", &m->try, &m->ntry, err))
            return NULL;
    } else {
        /* no list at all: the request path itself (as a placeholder, Caddy #4146) */
        static const char *dflt[] = {"{http.request.uri.path}"};
        m->try = dflt;
        m->ntry = 1;
    }
    if (!str_array(a, cfg, "split_path", &m->split, &m->nsplit, err))
        return NULL;
    const char *pol = cc_cfg_get_str(cfg, "try_policy");
    if (!pol || !pol[0] || strcmp(pol, "first_exist") == 0)
        m->policy = FIRST_EXIST;
    else if (strcmp(pol, "first_exist_fallback") == 0)
        m->policy = FIRST_EXIST_FALLBACK;
    else if (strcmp(pol, "largest_size") == 0)
        m->policy = LARGEST_SIZE;
    else if (strcmp(pol, "smallest_size") == 0)
        m->policy = SMALLEST_SIZE;
    else if (strcmp(pol, "most_recently_modified") == 0)
        m->policy = MOST_RECENTLY_MODIFIED;
    else {
        fail(err, cc_cfg_get(cfg, "try_policy"), "unknown try policy %s", pol);
        return NULL;
    }
    return m;
}

/* Expands placeholders (unknown ones become "") with glob characters in the values
 * escaped, so a request can never smuggle a glob into the pattern. */
static const char *expand_glob_safe(cc_arena *a, cc_req *r, const char *s)
{
    if (!strchr(s, '{'))
        return s;
    charbuf b = {0};
    for (size_t i = 0; s[i];) {
        if (s[i] == '\\' && (s[i + 1] == '{' || s[i + 1] == '}')) {
            CC_VEC_PUSH(a, &b, s[i + 1]);
            i += 2;
            continue;
        }
        const char *end = s[i] == '{' ? strchr(s + i + 1, '}') : NULL;
        if (!end) {
            CC_VEC_PUSH(a, &b, s[i]);
            i++;
            continue;
        }
        const char *name = cc_arena_strndup(a, s + i + 1, (size_t)(end - s - i - 1));
        const char *v = cc_repl_get(r, name);
        for (; v && *v; v++) {
            if (*v == '*' || *v == '[' || *v == '?' || *v == '\\')
                CC_VEC_PUSH(a, &b, '\\');
            CC_VEC_PUSH(a, &b, *v);
        }
        i = (size_t)(end - s) + 1;
    }
    CC_VEC_PUSH(a, &b, '\0');
    return b.v;
}

/* Caddy's indexFold, including its bound: a delimiter ending the path is not found,
 * which gives the same split anyway. */
static long index_fold(const char *hay, const char *needle)
{
    size_t hl = strlen(hay), nl = strlen(needle);
    for (size_t i = 0; i + nl < hl; i++)
        if (strncasecmp(hay + i, needle, nl) == 0)
            return (long)i;
    return -1;
}

/* firstSplit: the path up to and including the first delimiter that ends a path
 * element, and the remainder. */
static void first_split(cc_arena *a, const mfile *m, const char *path, const char **before,
                        const char **after)
{
    for (size_t i = 0; i < m->nsplit; i++) {
        long idx = index_fold(path, m->split[i]);
        if (idx < 0)
            continue;
        size_t pos = (size_t)idx + strlen(m->split[i]);
        if (path[pos] != '\0' && path[pos] != '/')
            continue;
        *before = cc_arena_strndup(a, path, pos);
        *after = path + pos;
        return;
    }
    *before = path;
    *after = "";
}

static bool has_meta(const char *s)
{
    return strpbrk(s, "*?[\\") != NULL;
}

/* makeCandidates: one try_files item -> the existing paths it names. */
static void make_candidates(cc_req *r, const mfile *m, const char *root, const char *item,
                            cand_vec *out)
{
    cc_arena *a = r->arena;
    const char *expanded = expand_glob_safe(a, r, item);
    const char *before, *after;
    first_split(a, m, cc_fs_clean(a, expanded), &before, &after);
    size_t il = strlen(item);
    if (il > 0 && item[il - 1] == '/')
        before = cc_arena_printf(a, "%s/", before);
    const char *pattern = cc_fs_join(a, root, before);
    size_t rl = strlen(root);

    if (!has_meta(pattern)) {
        /* filepath.Glob without metacharacters: the path itself when it exists */
        struct stat st;
        if (lstat(pattern, &st) != 0)
            return;
        candidate c = {pattern, strncmp(pattern, root, rl) == 0 ? pattern + rl : pattern, after};
        CC_VEC_PUSH(a, out, c);
        return;
    }
    glob_t g;
    memset(&g, 0, sizeof(g));
    /* GLOB_PERIOD: Go's globbing lets '*' match a leading dot */
    if (glob(pattern, GLOB_PERIOD, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            const char *p = cc_arena_strdup(a, g.gl_pathv[i]);
            candidate c = {p, strncmp(p, root, rl) == 0 ? p + rl : p, after};
            CC_VEC_PUSH(a, out, c);
        }
    }
    globfree(&g);
}

/* parseErrorCode: "=404" style items */
static int error_code(const char *item)
{
    if (item[0] != '=' || !item[1])
        return 0;
    char *end;
    errno = 0;
    long v = strtol(item + 1, &end, 10);
    if (errno || *end || v < 100 || v > 999)
        return 0;
    return (int)v;
}

static void set_placeholders(cc_req *r, const candidate *c, bool is_dir)
{
    cc_arena *a = r->arena;
    cc_vars_set(a, &r->vars, "http.matchers.file.relative", c->relative);
    cc_vars_set(a, &r->vars, "http.matchers.file.absolute", c->full);
    cc_vars_set(a, &r->vars, "http.matchers.file.remainder", c->remainder);
    cc_vars_set(a, &r->vars, "http.matchers.file.type", is_dir ? "directory" : "file");
}

/* strictFileExists: a path ending in '/' must be a directory, any other must not. */
static bool strict_exists(const char *path, struct stat *st)
{
    if (stat(path, st) != 0)
        return false;
    size_t n = strlen(path);
    bool want_dir = n > 0 && path[n - 1] == '/';
    return want_dir == (bool)S_ISDIR(st->st_mode);
}

static bool newer(const struct stat *x, const struct stat *y)
{
    return x->st_mtim.tv_sec > y->st_mtim.tv_sec ||
           (x->st_mtim.tv_sec == y->st_mtim.tv_sec && x->st_mtim.tv_nsec > y->st_mtim.tv_nsec);
}

static bool file_match(void *state, cc_req *r)
{
    const mfile *m = state;
    cc_arena *a = r->arena;
    const char *root = cc_tmpl_expand(m->root, r, false);
    root = cc_fs_clean(a, root[0] ? root : ".");

    if (m->policy == FIRST_EXIST || m->policy == FIRST_EXIST_FALLBACK) {
        size_t last = m->policy == FIRST_EXIST_FALLBACK ? m->ntry - 1 : (size_t)-1;
        for (size_t i = 0; i < m->ntry; i++) {
            int code = error_code(m->try[i]);
            if (code) {
                /* the route runner turns this into a handler error, as Caddy's
                 * MatchWithError ends the route list with it */
                cc_vars_set(a, &r->vars, CC_MATCHER_ERROR_VAR, cc_arena_printf(a, "%d", code));
                return false;
            }
            cand_vec cs = {0};
            make_candidates(r, m, root, m->try[i], &cs);
            for (size_t k = 0; k < cs.n; k++) {
                struct stat st;
                if (i == last) {
                    set_placeholders(r, &cs.v[k], false);
                    return true;
                }
                if (strict_exists(cs.v[k].full, &st)) {
                    set_placeholders(r, &cs.v[k], S_ISDIR(st.st_mode));
                    return true;
                }
            }
        }
        return false;
    }

    candidate best = {0};
    struct stat best_st;
    memset(&best_st, 0, sizeof(best_st));
    bool found = false;
    for (size_t i = 0; i < m->ntry; i++) {
        cand_vec cs = {0};
        make_candidates(r, m, root, m->try[i], &cs);
        for (size_t k = 0; k < cs.n; k++) {
            struct stat st;
            if (stat(cs.v[k].full, &st) != 0)
                continue;
            bool take = false;
            switch (m->policy) {
            case LARGEST_SIZE:
                /* as Caddy: strictly larger than the best so far, starting from 0 */
                take = st.st_size > (found ? best_st.st_size : 0);
                break;
            case SMALLEST_SIZE:
                take = !found || best_st.st_size == 0 || st.st_size < best_st.st_size;
                break;
            default:
                take = !found || newer(&st, &best_st);
                break;
            }
            if (take) {
                best = cs.v[k];
                best_st = st;
                found = true;
            }
        }
    }
    if (!found)
        return false;
    set_placeholders(r, &best, S_ISDIR(best_st.st_mode));
    return true;
}

const cc_matcher_impl cc_matcher_file = {
    .name = "file",
    .compile = file_compile,
    .match = file_match,
};
