/* SPDX-License-Identifier: Apache-2.0
 * Choosing and opening the configured storage (see default.h): a registry of the
 * backends by Caddy module name, and the default database path in the XDG data
 * directory. */
#include "default.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filesystem.h"
#include "internal.h"
#include "sqlite.h"

#define DB_SUFFIX "caddy-c/caddy-c.db"

char *cc_storage_default_path(cc_err *err)
{
    /* the XDG spec: a relative $XDG_DATA_HOME is invalid and must be ignored */
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    const char *fmt = "%s/" DB_SUFFIX, *base = xdg;
    if (!xdg || xdg[0] != '/') {
        fmt = "%s/.local/share/" DB_SUFFIX;
        base = home;
        if (!base || !*base) {
            struct passwd *pw = getpwuid(getuid());
            base = pw && pw->pw_dir && *pw->pw_dir ? pw->pw_dir : NULL;
        }
    }
    if (!base) {
        sto_fail(err, CC_ECONFIG,
                 "storage: no data directory: set XDG_DATA_HOME or HOME, or configure "
                 "`storage sqlite <path>`");
        return NULL;
    }
    size_t n = strlen(base) + strlen(fmt) + 1;
    char *path = malloc(n);
    if (!path) {
        sto_fail(err, CC_ENOMEM, "storage: out of memory");
        return NULL;
    }
    snprintf(path, n, fmt, base);
    return path;
}

static cc_storage *open_sqlite(const cc_cfg *cfg, cc_err *err)
{
    const cc_cfg *p = cfg ? cc_cfg_get(cfg, "path") : NULL;
    if (p && p->type != CC_CFG_STR) {
        sto_fail(err, CC_ECONFIG, "loading storage module: sqlite: path must be a string");
        return NULL;
    }
    if (p && p->s.n)
        return cc_storage_sqlite_open(p->s.p, err);
    char *def = cc_storage_default_path(err);
    if (!def)
        return NULL;
    cc_storage *s = cc_storage_sqlite_open(def, err);
    free(def);
    return s;
}

static cc_storage *open_fs(const cc_cfg *cfg, cc_err *err)
{
    const cc_cfg *r = cc_cfg_get(cfg, "root");
    if (!r || r->type != CC_CFG_STR || !r->s.n) {
        sto_fail(err, CC_ECONFIG, "loading storage module: file_system: missing root path");
        return NULL;
    }
    return cc_storage_fs_open(r->s.p, err);
}

static const struct {
    const char *name;
    cc_storage *(*open)(const cc_cfg *cfg, cc_err *err);
} backends[] = {
    {"sqlite", open_sqlite},
    {"file_system", open_fs},
};

cc_storage *cc_storage_open(const cc_cfg *storage_cfg, cc_err *err)
{
    if (!storage_cfg || storage_cfg->type == CC_CFG_NULL)
        return open_sqlite(NULL, err);
    if (storage_cfg->type != CC_CFG_OBJ) {
        sto_fail(err, CC_ECONFIG, "loading storage module: storage must be an object");
        return NULL;
    }
    const char *mod = cc_cfg_get_str(storage_cfg, "module");
    if (!mod) {
        sto_fail(err, CC_ECONFIG,
                 "loading storage module: module name not specified with key 'module'");
        return NULL;
    }
    for (size_t i = 0; i < sizeof(backends) / sizeof(*backends); i++)
        if (strcmp(backends[i].name, mod) == 0)
            return backends[i].open(storage_cfg, err);
    sto_fail(err, CC_ECONFIG,
             "loading storage module: getting module named 'caddy.storage.%s': module not "
             "registered: caddy.storage.%s",
             mod, mod);
    return NULL;
}
