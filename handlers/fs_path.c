/* SPDX-License-Identifier: Apache-2.0
 * Path helpers of the file server: filepath.Abs with a cached working directory and
 * Caddy's fileHidden, which decides what `hide` hides (core/fspath.c has the request
 * path to file path rules). */
#include <fnmatch.h>
#include <string.h>

#include "fs.h"

const char *cc_fs_abs(cc_arena *a, const char *cwd, const char *p)
{
    if (p[0] == '/' || !cwd)
        return cc_fs_clean(a, p);
    return cc_fs_clean(a, cc_arena_printf(a, "%s/%s", cwd, p));
}

/* Go's filepath.Match on one string; fnmatch with FNM_PATHNAME has the same '*', '?'
 * and class rules, and a leading dot is matched like any other character. */
static bool glob_match(const char *pat, const char *s)
{
    return fnmatch(pat, s, FNM_PATHNAME) == 0;
}

bool cc_fs_hidden(cc_arena *a, const char *cwd, const char *filename, const char *const *hide,
                  size_t nhide)
{
    if (nhide == 0)
        return false;
    const char *abs = cc_fs_abs(a, cwd, filename);
    for (size_t i = 0; i < nhide; i++) {
        const char *h = hide[i];
        if (!h || !h[0])
            continue;
        if (!strchr(h, '/')) {
            /* a bare name hides that name anywhere: "bar" hides /foo/bar/baz */
            for (const char *c = abs;;) {
                const char *e = strchr(c, '/');
                size_t cl = e ? (size_t)(e - c) : strlen(c);
                if (glob_match(h, cc_arena_strndup(a, c, cl)))
                    return true;
                if (!e)
                    break;
                c = e + 1;
            }
        } else {
            size_t hl = strlen(h);
            if (strncmp(abs, h, hl) == 0 && abs[hl] == '/')
                return true;
        }
        if (glob_match(h, abs))
            return true;
    }
    return false;
}
