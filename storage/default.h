/* SPDX-License-Identifier: Apache-2.0
 * Opening the configured storage: the top-level "storage" object of the config picks
 * the backend ({"module":"sqlite","path":P} or {"module":"file_system","root":R}); no
 * object means SQLite in the data directory, as Caddy keeps its data in its own. */
#ifndef CC_STORAGE_DEFAULT_H
#define CC_STORAGE_DEFAULT_H

#include <stdint.h>

#include "../core/cfg.h"
#include "../core/err.h"
#include "../core/storage.h"

/* A new storage (close with s->ops->close), or NULL with err set. */
cc_storage *cc_storage_open(const cc_cfg *storage_cfg, cc_err *err);

/* The default database path, malloc'd: $XDG_DATA_HOME/caddy-c/caddy-c.db when that
 * variable holds an absolute path, else $HOME/.local/share/caddy-c/caddy-c.db. */
char *cc_storage_default_path(cc_err *err);

/* Test hook: lock heartbeat, staleness and poll intervals (ns) of a storage opened by
 * this directory's backends; CC_EINVAL for any other storage or a non-positive value. */
int cc_storage_set_lock_timing(cc_storage *s, int64_t refresh_ns, int64_t stale_ns,
                               int64_t poll_ns);

#endif
