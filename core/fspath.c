/* SPDX-License-Identifier: Apache-2.0
 * File system paths from request paths, with Go's semantics: path.Clean, path.Base and
 * Caddy's SanitizedPathJoin, which keeps a request path below the site root. Shared by
 * the file matcher (core/match_file.c) and the file_server handler. */
#include "fspath.h"

#include <stdbool.h>
#include <string.h>

char *cc_fs_clean(cc_arena *a, const char *p)
{
    size_t len = strlen(p);
    if (len == 0)
        return cc_arena_strdup(a, ".");
    bool rooted = p[0] == '/';
    char *out = cc_arena_alloc(a, len + 2);
    size_t o = 0, dotdot = 0; /* dotdot: where ".." may no longer backtrack */
    size_t i = 0;
    if (rooted) {
        out[o++] = '/';
        i = 1;
        dotdot = 1;
    }
    while (i < len) {
        if (p[i] == '/') {
            i++;
        } else if (p[i] == '.' && (i + 1 == len || p[i + 1] == '/')) {
            i++;
        } else if (p[i] == '.' && p[i + 1] == '.' && (i + 2 == len || p[i + 2] == '/')) {
            i += 2;
            if (o > dotdot) {
                /* drop the last element */
                o--;
                while (o > dotdot && out[o] != '/')
                    o--;
            } else if (!rooted) {
                if (o > 0)
                    out[o++] = '/';
                out[o++] = '.';
                out[o++] = '.';
                dotdot = o;
            }
        } else {
            if ((rooted && o != 1) || (!rooted && o != 0))
                out[o++] = '/';
            for (; i < len && p[i] != '/'; i++)
                out[o++] = p[i];
        }
    }
    if (o == 0)
        out[o++] = '.';
    out[o] = '\0';
    return out;
}

const char *cc_fs_base(cc_arena *a, const char *p)
{
    size_t n = strlen(p);
    if (n == 0)
        return ".";
    while (n > 0 && p[n - 1] == '/')
        n--;
    if (n == 0)
        return "/";
    size_t s = n;
    while (s > 0 && p[s - 1] != '/')
        s--;
    return cc_arena_strndup(a, p + s, n - s);
}

/* a + sep + b in the arena (sep 0 = none): runs per file request, so no printf. */
static char *concat3(cc_arena *ar, const char *a, size_t an, char sep, const char *b, size_t bn)
{
    char *p = cc_arena_alloc(ar, an + 1 + bn + 1);
    size_t n = an;
    memcpy(p, a, an);
    if (sep)
        p[n++] = sep;
    memcpy(p + n, b, bn);
    p[n + bn] = 0;
    return p;
}

char *cc_fs_join(cc_arena *a, const char *root, const char *req_path)
{
    if (!root || !root[0])
        root = ".";
    size_t rl = strlen(req_path);
    /* cleaning "/"+path can never climb above "/", so the result is always local */
    const char *rel = cc_fs_clean(a, concat3(a, "", 0, '/', req_path, rl)) + 1;
    char *out = rel[0] ? cc_fs_clean(a, concat3(a, root, strlen(root), '/', rel, strlen(rel)))
                       : cc_fs_clean(a, root);
    if (rl > 1 && req_path[rl - 1] == '/')
        out = concat3(a, out, strlen(out), '/', "", 0);
    return out;
}
