/* SPDX-License-Identifier: Apache-2.0
 * The storage interface (certmagic's Storage in C): a key-value store with
 * "directory" semantics on '/'-separated keys and expiring locks, shared by every part
 * of caddy-c that keeps state across restarts or instances: ACME accounts, keys and
 * certificates, locks, distributed rate-limit state. Backends live in storage/
 * (SQLite is the default); the vtable is here so handlers and certmagic can use a
 * storage without including a backend. Every operation is thread-safe. */
#ifndef CC_STORAGE_H
#define CC_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "err.h"

#define CC_STORAGE_ABI 1

typedef struct cc_storage cc_storage;

typedef struct cc_storage_info {
    const char *key; /* as asked */
    int64_t modified_unix_ns;
    int64_t size;
    bool is_terminal; /* a value (true) or a "directory" prefix of other keys (false) */
} cc_storage_info;

typedef struct cc_storage_ops {
    int abi;          /* CC_STORAGE_ABI; slots are only appended */
    const char *name; /* "sqlite", "memory" */
    /* Stores val[0..n) under key (overwriting). */
    int (*store)(cc_storage *s, const char *key, const void *val, size_t n, cc_err *err);
    /* Loads key into a malloc'd buffer (*val, *n; NUL-terminated for convenience);
     * CC_ENOTFOUND when missing. */
    int (*load)(cc_storage *s, const char *key, char **val, size_t *n, cc_err *err);
    /* Deletes key, or every key under the prefix key + "/"; CC_ENOTFOUND when none. */
    int (*del)(cc_storage *s, const char *key, cc_err *err);
    bool (*exists)(cc_storage *s, const char *key);
    /* Keys directly under prefix (or all below it when recursive), malloc'd array of
     * malloc'd strings (free with cc_storage_list_free); CC_ENOTFOUND when none.
     * As certmagic's file storage lists: the entries are full keys, "directory"
     * prefixes included (non-recursive: the immediate children; recursive: every key
     * and prefix below), in file-walk order; prefix "" lists from the top. */
    int (*list)(cc_storage *s, const char *prefix, bool recursive, char ***keys, size_t *n,
                cc_err *err);
    int (*stat)(cc_storage *s, const char *key, cc_storage_info *info, cc_err *err);
    /* Blocks until the named lock is held by this caller (an expired lock of a crashed
     * holder is taken over: locks expire unless refreshed, certmagic's 5 s heartbeat /
     * 10 s staleness), or until timeout_ns (0 = wait forever): CC_ETIMEDOUT. */
    int (*lock)(cc_storage *s, const char *name, int64_t timeout_ns, cc_err *err);
    int (*unlock)(cc_storage *s, const char *name, cc_err *err);
    void (*close)(cc_storage *s);
} cc_storage_ops;

struct cc_storage {
    const cc_storage_ops *ops;
};

void cc_storage_list_free(char **keys, size_t n);

#endif
