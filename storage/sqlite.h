/* SPDX-License-Identifier: Apache-2.0
 * The SQLite storage backend, caddy-c's default storage: one database file shared by
 * every thread and by every process that opens the same path. */
#ifndef CC_STORAGE_SQLITE_H
#define CC_STORAGE_SQLITE_H

#include "../core/err.h"
#include "../core/storage.h"

/* Opens (creating it and its directories, 0700, when missing) the database at path,
 * forces mode 0600 on it and its -wal/-shm files, and brings its schema up to date.
 * Refuses a database whose schema is newer than this build knows. NULL with err set on
 * failure; close with s->ops->close. */
cc_storage *cc_storage_sqlite_open(const char *path, cc_err *err);

#endif
