/* SPDX-License-Identifier: Apache-2.0
 * Parts every storage backend shares: key validation, the '/'-directory listing order,
 * error helpers, and the lock keeper that waits for a lock, refreshes held locks from a
 * background thread (certmagic's heartbeat) and releases them on close. A backend only
 * supplies the atomic try/refresh/release steps for its medium. */
#ifndef CC_STORAGE_INTERNAL_H
#define CC_STORAGE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/storage.h"

/* certmagic's timings: a holder rewrites its lock every 5 s, a lock not refreshed for
 * 10 s belongs to a crashed holder; our waiters poll faster than certmagic's 1 s. */
#define STO_REFRESH_NS ((int64_t)5000000000)
#define STO_STALE_NS ((int64_t)10000000000)
#define STO_POLL_NS ((int64_t)250000000)

/* Wall-clock time: lock ages are compared across processes (and machines). */
int64_t sto_now_ns(void);
/* Sets err (unless already set) and returns code. Messages never contain values. */
int sto_fail(cc_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Keys are '/'-separated segments: not empty, no empty, "." or ".." segment, no leading
 * or trailing '/'. allow_empty admits "" (the root prefix of list). */
int sto_check_key(const char *key, bool allow_empty, const char *what, cc_err *err);
/* certmagic's file-walk order: byte order where '/' sorts before every other byte, so a
 * directory's entries follow it directly. */
int sto_key_cmp(const char *a, const char *b);

/* A growing list of malloc'd keys, the result of list. */
typedef struct sto_keys {
    char **v;
    size_t n, cap;
} sto_keys;

int sto_keys_push(sto_keys *k, const char *s, size_t n);
/* Adds the listing entries one stored key contributes below prefix: its first segment
 * (non-recursive) or every intermediate directory and the key itself (recursive). */
int sto_keys_add_below(sto_keys *k, const char *prefix, const char *key, bool recursive);
/* Sorts in walk order and drops duplicates; CC_ENOTFOUND when empty. */
int sto_keys_finish(sto_keys *k, const char *prefix, char ***out, size_t *n, cc_err *err);
void sto_keys_free(sto_keys *k);

/* The steps a backend provides for locks. owner is unique per holder thread. */
typedef struct sto_lock_ops {
    /* 1 when taken (free, or its holder's last refresh is older than stale_ns),
     * 0 when a live holder has it, < 0 on error. */
    int (*try_lock)(void *be, const char *name, const char *owner, int64_t now_ns, int64_t stale_ns,
                    cc_err *err);
    void (*refresh)(void *be, const char *name, const char *owner, int64_t now_ns);
    /* CC_OK, or an error when the lock was taken over meanwhile. */
    int (*release)(void *be, const char *name, const char *owner, cc_err *err);
} sto_lock_ops;

typedef struct sto_held {
    char *name, *owner;
} sto_held;

typedef struct sto_keeper {
    const sto_lock_ops *ops;
    void *be;
    pthread_mutex_t mu; /* guards everything below and serializes refresh/release */
    pthread_cond_t cv;  /* unlocks and stop, on CLOCK_MONOTONIC */
    pthread_t thr;
    bool running, stopping;
    int64_t refresh_ns, stale_ns, poll_ns;
    char instance[17]; /* random hex, one per opened storage */
    sto_held *held;
    size_t nheld, capheld;
} sto_keeper;

/* Every backend's object starts like this, so the test hook below reaches the keeper. */
typedef struct sto_base {
    cc_storage s;
    sto_keeper keep;
} sto_base;

void sto_keeper_init(sto_keeper *k, const sto_lock_ops *ops, void *be);
int sto_keeper_lock(sto_keeper *k, const char *name, int64_t timeout_ns, cc_err *err);
int sto_keeper_unlock(sto_keeper *k, const char *name, cc_err *err);
/* Releases every lock still held (Caddy releases its own locks on exit) and stops the
 * refresher. */
void sto_keeper_fini(sto_keeper *k);

#endif
