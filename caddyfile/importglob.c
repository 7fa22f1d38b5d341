/* SPDX-License-Identifier: Apache-2.0
 * Paths and globbing for `import`, with the semantics of Go's path/filepath that Caddy
 * relies on: lexical Clean/Join/Dir, and Glob where '*' and '?' match within one path
 * element and also match dotfiles (Caddy filters those itself), results sorted per
 * directory. Caddy rejects patterns with '[' and ']' before globbing, so a character
 * class can never be closed here and an unescaped '[' is a malformed pattern. */
#include "parse_internal.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/pathmatch.h"

char *cc_cf_path_clean(cc_arena *a, const char *path)
{
    return cc_path_go_clean(a, path);
}

char *cc_cf_path_join(cc_arena *a, const char *dir, const char *name)
{
    if (!*dir && !*name)
        return cc_arena_strdup(a, "");
    if (!*dir)
        return cc_cf_path_clean(a, name);
    if (!*name)
        return cc_cf_path_clean(a, dir);
    return cc_cf_path_clean(a, cc_arena_printf(a, "%s/%s", dir, name));
}

char *cc_cf_path_abs(cc_arena *a, const char *path)
{
    if (path[0] == '/')
        return cc_cf_path_clean(a, path);
    char *wd = getcwd(NULL, 0);
    if (!wd)
        return NULL;
    char *r = cc_cf_path_join(a, wd, path);
    free(wd);
    return r;
}

char *cc_cf_path_dir(cc_arena *a, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return cc_arena_strdup(a, ".");
    return cc_cf_path_clean(a, cc_arena_strndup(a, path, (size_t)(slash - path) + 1));
}

/* Byte length of the UTF-8 sequence at s (1 for an invalid one), as Go decodes it. */
static size_t rune_len(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 1;
    }
    if (s[1] < lo || s[1] > hi)
        return 1;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 1;
    return n;
}

/* Whether pattern is well formed: no '[' (see the file comment) and no trailing '\'. */
static bool pattern_ok(const char *p)
{
    for (; *p; p++) {
        if (*p == '\\') {
            if (!p[1])
                return false;
            p++;
        } else if (*p == '[') {
            return false;
        }
    }
    return true;
}

/* Go's filepath.Match for a well-formed pattern without classes. */
static bool match(const char *p, const char *s)
{
    while (*p) {
        if (*p == '*') {
            while (*p == '*')
                p++;
            if (!*p)
                return !strchr(s, '/');
            for (;;) {
                if (match(p, s))
                    return true;
                if (!*s || *s == '/')
                    return false;
                s++;
            }
        }
        if (*p == '?') {
            if (!*s || *s == '/')
                return false;
            s += rune_len((const unsigned char *)s);
            p++;
            continue;
        }
        if (*p == '\\')
            p++;
        if (*p != *s)
            return false;
        p++;
        s++;
    }
    return !*s;
}

static bool has_meta(const char *p)
{
    return strpbrk(p, "*?[\\") != NULL;
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* Matches of pattern (one path element) among the entries of dir, sorted. */
static void glob_dir(cc_arena *a, const char *dir, const char *pattern, cc_cf_strvec *out)
{
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return;
    DIR *d = opendir(dir);
    if (!d)
        return;
    cc_cf_strvec names = {0};
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        const char *name = cc_arena_strdup(a, e->d_name);
        CC_VEC_PUSH(a, &names, name);
    }
    closedir(d);
    if (names.n)
        qsort(names.v, names.n, sizeof(*names.v), cmp_str);
    for (size_t i = 0; i < names.n; i++)
        if (match(pattern, names.v[i])) {
            const char *m = cc_cf_path_join(a, dir, names.v[i]);
            CC_VEC_PUSH(a, out, m);
        }
}

static int glob_rec(cc_arena *a, const char *pattern, cc_cf_strvec *out, int depth)
{
    if (depth > 10000)
        return CC_ERR;
    if (!has_meta(pattern)) {
        struct stat st;
        if (lstat(pattern, &st) == 0) {
            const char *m = cc_arena_strdup(a, pattern);
            CC_VEC_PUSH(a, out, m);
        }
        return CC_OK;
    }
    const char *slash = strrchr(pattern, '/');
    size_t dlen = slash ? (size_t)(slash - pattern) + 1 : 0;
    const char *file = pattern + dlen;
    char *dir;
    if (dlen == 0)
        dir = cc_arena_strdup(a, ".");
    else if (dlen == 1)
        dir = cc_arena_strdup(a, "/");
    else
        dir = cc_arena_strndup(a, pattern, dlen - 1); /* chop the trailing separator */
    if (!has_meta(dir)) {
        glob_dir(a, dir, file, out);
        return CC_OK;
    }
    if (strcmp(dir, pattern) == 0)
        return CC_ERR;
    cc_cf_strvec dirs = {0};
    if (glob_rec(a, dir, &dirs, depth + 1) != CC_OK)
        return CC_ERR;
    for (size_t i = 0; i < dirs.n; i++)
        glob_dir(a, dirs.v[i], file, out);
    return CC_OK;
}

int cc_cf_glob(cc_arena *a, const char *pattern, cc_cf_strvec *out)
{
    if (!pattern_ok(pattern))
        return CC_ERR;
    return glob_rec(a, pattern, out, 0);
}
