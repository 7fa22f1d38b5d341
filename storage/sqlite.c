/* SPDX-License-Identifier: Apache-2.0
 * The SQLite storage backend, caddy-c's default: one database file (mode 0600, WAL,
 * a busy timeout so several processes can share it) with a versioned schema. Keys live
 * in kv, '/'-prefix queries are key ranges, and locks are rows whose `updated` column
 * the holder's keeper refreshes; a row not refreshed for the stale interval is taken
 * over by a single atomic upsert, so two processes never both hold a lock. */
#include "sqlite.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

/* Schema migrations: entry i moves a database from version i to i + 1. */
static const char *const migrations[] = {
    "CREATE TABLE meta(schema_version INTEGER NOT NULL);"
    "INSERT INTO meta(schema_version) VALUES(0);"
    "CREATE TABLE kv(key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL,"
    " modified INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE locks(name TEXT PRIMARY KEY NOT NULL, owner TEXT NOT NULL,"
    " created INTEGER NOT NULL, updated INTEGER NOT NULL) WITHOUT ROWID;",
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(*migrations)))

enum {
    Q_GET,
    Q_PUT,
    Q_HAS,
    Q_HAS_BELOW,
    Q_STAT,
    Q_STAT_BELOW,
    Q_DEL,
    Q_DEL_BELOW,
    Q_LIST_BELOW,
    Q_LIST_ALL,
    Q_LOCK_TRY,
    Q_LOCK_REFRESH,
    Q_LOCK_RELEASE,
    Q_BEGIN,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_COUNT
};

/* "Below a prefix" is the key range [prefix + "/", prefix + "0"): '0' follows '/'. */
static const char *const sql[Q_COUNT] = {
    [Q_GET] = "SELECT value FROM kv WHERE key = ?1",
    [Q_PUT] = "INSERT INTO kv(key, value, modified) VALUES(?1, ?2, ?3) ON CONFLICT(key) DO "
              "UPDATE SET value = excluded.value, modified = excluded.modified",
    [Q_HAS] = "SELECT 1 FROM kv WHERE key = ?1",
    [Q_HAS_BELOW] = "SELECT 1 FROM kv WHERE key >= ?1 AND key < ?2 LIMIT 1",
    [Q_STAT] = "SELECT length(value), modified FROM kv WHERE key = ?1",
    [Q_STAT_BELOW] = "SELECT count(*), max(modified) FROM kv WHERE key >= ?1 AND key < ?2",
    [Q_DEL] = "DELETE FROM kv WHERE key = ?1",
    [Q_DEL_BELOW] = "DELETE FROM kv WHERE key >= ?1 AND key < ?2",
    [Q_LIST_BELOW] = "SELECT key FROM kv WHERE key >= ?1 AND key < ?2 ORDER BY key",
    [Q_LIST_ALL] = "SELECT key FROM kv ORDER BY key",
    [Q_LOCK_TRY] = "INSERT INTO locks(name, owner, created, updated) VALUES(?1, ?2, ?3, ?3) "
                   "ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, "
                   "created = excluded.created, updated = excluded.updated "
                   "WHERE locks.updated < ?4",
    [Q_LOCK_REFRESH] = "UPDATE locks SET updated = ?3 WHERE name = ?1 AND owner = ?2",
    [Q_LOCK_RELEASE] = "DELETE FROM locks WHERE name = ?1 AND owner = ?2",
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
};

typedef struct sql_sto {
    sto_base b;
    pthread_mutex_t mu; /* one connection: statements are reused under this */
    sqlite3 *db;
    sqlite3_stmt *q[Q_COUNT];
    char *path;
} sql_sto;

static int db_fail(sql_sto *d, cc_err *err, const char *what, const char *key)
{
    return sto_fail(err, CC_EIO, "storage: sqlite %s: %s '%s': %s", d->path, what, key,
                    sqlite3_errmsg(d->db));
}

/* Binds the text parameters (NULL ends the list) of a reset statement. */
static sqlite3_stmt *prep(sql_sto *d, int q, const char *a, const char *b)
{
    sqlite3_stmt *st = d->q[q];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (a)
        sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    if (b)
        sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
    return st;
}

/* Runs a statement that returns no rows; SQLITE_DONE or the error code. */
static int run(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc;
}

/* The bounds of the range below prefix, malloc'd in one buffer: lo, then hi. */
static char *range(const char *prefix, const char **hi)
{
    size_t n = strlen(prefix);
    char *buf = malloc(2 * n + 4);
    if (!buf)
        return NULL;
    memcpy(buf, prefix, n);
    memcpy(buf + n, "/", 2);
    memcpy(buf + n + 2, prefix, n);
    memcpy(buf + 2 * n + 2, "0", 2);
    *hi = buf + n + 2;
    return buf;
}

/* 1 when a row exists, 0 when not, < 0 on error. */
static int has_row(sql_sto *d, int q, const char *a, const char *b)
{
    sqlite3_stmt *st = prep(d, q, a, b);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int has_below(sql_sto *d, const char *key)
{
    const char *hi;
    char *lo = range(key, &hi);
    if (!lo)
        return -1;
    int rc = has_row(d, Q_HAS_BELOW, lo, hi);
    free(lo);
    return rc;
}

/* A key cannot also be a directory, nor sit below another key (as in a file system). */
static int check_tree(sql_sto *d, const char *key, cc_err *err)
{
    char *buf = strdup(key);
    if (!buf)
        return sto_fail(err, CC_ENOMEM, "storage: out of memory storing '%s'", key);
    int rc = CC_OK;
    for (char *p = strchr(buf, '/'); p && rc == CC_OK; p = strchr(p + 1, '/')) {
        *p = 0;
        int r = has_row(d, Q_HAS, buf, NULL);
        if (r > 0)
            rc = sto_fail(err, CC_EINVAL, "storage: cannot store '%s': '%s' is a key", key, buf);
        else if (r < 0)
            rc = db_fail(d, err, "storing", key);
        *p = '/';
    }
    if (rc == CC_OK) {
        int r = has_below(d, key);
        if (r > 0)
            rc = sto_fail(err, CC_EINVAL,
                          "storage: cannot store '%s': it is a prefix of other keys", key);
        else if (r < 0)
            rc = db_fail(d, err, "storing", key);
    }
    free(buf);
    return rc;
}

static int q_store(cc_storage *s, const char *key, const void *val, size_t n, cc_err *err)
{
    sql_sto *d = (sql_sto *)s;
    int rc = sto_check_key(key, false, "key", err);
    if (rc != CC_OK)
        return rc;
    if (n > (size_t)0x7fffffff)
        return sto_fail(err, CC_EINVAL, "storage: value of '%s' is too large", key);
    pthread_mutex_lock(&d->mu);
    if (run(d->q[Q_BEGIN]) != SQLITE_DONE) {
        rc = db_fail(d, err, "storing", key);
        goto out;
    }
    rc = check_tree(d, key, err);
    if (rc == CC_OK) {
        sqlite3_stmt *st = prep(d, Q_PUT, key, NULL);
        if (n)
            sqlite3_bind_blob(st, 2, val, (int)n, SQLITE_STATIC);
        else
            sqlite3_bind_zeroblob(st, 2, 0);
        sqlite3_bind_int64(st, 3, sto_now_ns());
        if (run(st) != SQLITE_DONE)
            rc = db_fail(d, err, "storing", key);
        sqlite3_clear_bindings(st);
    }
    if (rc == CC_OK && run(d->q[Q_COMMIT]) != SQLITE_DONE)
        rc = db_fail(d, err, "storing", key);
    if (rc != CC_OK && !sqlite3_get_autocommit(d->db))
        run(d->q[Q_ROLLBACK]);
out:
    pthread_mutex_unlock(&d->mu);
    return rc;
}

static int q_load(cc_storage *s, const char *key, char **val, size_t *n, cc_err *err)
{
    sql_sto *d = (sql_sto *)s;
    *val = NULL;
    *n = 0;
    int rc = sto_check_key(key, false, "key", err);
    if (rc != CC_OK)
        return rc;
    pthread_mutex_lock(&d->mu);
    sqlite3_stmt *st = prep(d, Q_GET, key, NULL);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        const void *p = sqlite3_column_blob(st, 0);
        size_t len = (size_t)sqlite3_column_bytes(st, 0);
        if (!(*val = malloc(len + 1))) {
            rc = sto_fail(err, CC_ENOMEM, "storage: out of memory loading '%s'", key);
        } else {
            if (len)
                memcpy(*val, p, len);
            (*val)[len] = 0;
            *n = len;
        }
    } else if (r == SQLITE_DONE) {
        rc = sto_fail(err, CC_ENOTFOUND, "storage: key not found: %s", key);
    } else {
        rc = db_fail(d, err, "loading", key);
    }
    sqlite3_reset(st);
    pthread_mutex_unlock(&d->mu);
    return rc;
}

static int q_del(cc_storage *s, const char *key, cc_err *err)
{
    sql_sto *d = (sql_sto *)s;
    int rc = sto_check_key(key, false, "key", err);
    if (rc != CC_OK)
        return rc;
    const char *hi;
    char *lo = range(key, &hi);
    if (!lo)
        return sto_fail(err, CC_ENOMEM, "storage: out of memory deleting '%s'", key);
    pthread_mutex_lock(&d->mu);
    /* a key and keys below it never coexist, so one of the two deletes is a no-op */
    int changed = 0;
    if (run(prep(d, Q_DEL, key, NULL)) != SQLITE_DONE)
        rc = db_fail(d, err, "deleting", key);
    else if ((changed = sqlite3_changes(d->db)) == 0 &&
             run(prep(d, Q_DEL_BELOW, lo, hi)) != SQLITE_DONE)
        rc = db_fail(d, err, "deleting", key);
    else if (!changed && sqlite3_changes(d->db) == 0)
        rc = sto_fail(err, CC_ENOTFOUND, "storage: key not found: %s", key);
    pthread_mutex_unlock(&d->mu);
    free(lo);
    return rc;
}

static bool q_exists(cc_storage *s, const char *key)
{
    sql_sto *d = (sql_sto *)s;
    if (sto_check_key(key, false, "key", NULL) != CC_OK)
        return false;
    pthread_mutex_lock(&d->mu);
    bool yes = has_row(d, Q_HAS, key, NULL) > 0 || has_below(d, key) > 0;
    pthread_mutex_unlock(&d->mu);
    return yes;
}

static int q_list(cc_storage *s, const char *prefix, bool recursive, char ***keys, size_t *n,
                  cc_err *err)
{
    sql_sto *d = (sql_sto *)s;
    *keys = NULL;
    *n = 0;
    int rc = sto_check_key(prefix, true, "prefix", err);
    if (rc != CC_OK)
        return rc;
    const char *hi = NULL;
    char *lo = *prefix ? range(prefix, &hi) : NULL;
    if (*prefix && !lo)
        return sto_fail(err, CC_ENOMEM, "storage: out of memory listing '%s'", prefix);
    sto_keys k = {0};
    pthread_mutex_lock(&d->mu);
    sqlite3_stmt *st = lo ? prep(d, Q_LIST_BELOW, lo, hi) : prep(d, Q_LIST_ALL, NULL, NULL);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(st, 0);
        if (key && sto_keys_add_below(&k, prefix, key, recursive) != CC_OK) {
            rc = sto_fail(err, CC_ENOMEM, "storage: out of memory listing '%s'", prefix);
            break;
        }
    }
    if (rc == CC_OK && r != SQLITE_DONE)
        rc = db_fail(d, err, "listing", prefix);
    sqlite3_reset(st);
    pthread_mutex_unlock(&d->mu);
    free(lo);
    if (rc != CC_OK) {
        sto_keys_free(&k);
        return rc;
    }
    return sto_keys_finish(&k, prefix, keys, n, err);
}

static int q_stat(cc_storage *s, const char *key, cc_storage_info *info, cc_err *err)
{
    sql_sto *d = (sql_sto *)s;
    memset(info, 0, sizeof(*info));
    info->key = key;
    int rc = sto_check_key(key, false, "key", err);
    if (rc != CC_OK)
        return rc;
    const char *hi;
    char *lo = range(key, &hi);
    if (!lo)
        return sto_fail(err, CC_ENOMEM, "storage: out of memory in stat of '%s'", key);
    pthread_mutex_lock(&d->mu);
    sqlite3_stmt *st = prep(d, Q_STAT, key, NULL);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        info->is_terminal = true;
        info->size = sqlite3_column_int64(st, 0);
        info->modified_unix_ns = sqlite3_column_int64(st, 1);
    } else if (r == SQLITE_DONE) {
        sqlite3_reset(st);
        st = prep(d, Q_STAT_BELOW, lo, hi);
        r = sqlite3_step(st);
        if (r != SQLITE_ROW)
            rc = db_fail(d, err, "stat of", key);
        else if (sqlite3_column_int64(st, 0) == 0)
            rc = sto_fail(err, CC_ENOTFOUND, "storage: key not found: %s", key);
        else
            info->modified_unix_ns = sqlite3_column_int64(st, 1);
    } else {
        rc = db_fail(d, err, "stat of", key);
    }
    sqlite3_reset(st);
    pthread_mutex_unlock(&d->mu);
    free(lo);
    return rc;
}

static int try_lock(void *be, const char *name, const char *owner, int64_t now_ns, int64_t stale_ns,
                    cc_err *err)
{
    sql_sto *d = be;
    pthread_mutex_lock(&d->mu);
    sqlite3_stmt *st = prep(d, Q_LOCK_TRY, name, owner);
    sqlite3_bind_int64(st, 3, now_ns);
    sqlite3_bind_int64(st, 4, now_ns - stale_ns);
    int rc =
        run(st) == SQLITE_DONE ? sqlite3_changes(d->db) > 0 : db_fail(d, err, "taking lock", name);
    pthread_mutex_unlock(&d->mu);
    return rc;
}

static void refresh(void *be, const char *name, const char *owner, int64_t now_ns)
{
    sql_sto *d = be;
    pthread_mutex_lock(&d->mu);
    sqlite3_stmt *st = prep(d, Q_LOCK_REFRESH, name, owner);
    sqlite3_bind_int64(st, 3, now_ns);
    run(st);
    pthread_mutex_unlock(&d->mu);
}

static int release(void *be, const char *name, const char *owner, cc_err *err)
{
    sql_sto *d = be;
    pthread_mutex_lock(&d->mu);
    int rc = CC_OK;
    if (run(prep(d, Q_LOCK_RELEASE, name, owner)) != SQLITE_DONE)
        rc = db_fail(d, err, "releasing lock", name);
    else if (sqlite3_changes(d->db) == 0)
        rc = sto_fail(err, CC_ERR, "storage: lock '%s' was taken over by another holder", name);
    pthread_mutex_unlock(&d->mu);
    return rc;
}

static const sto_lock_ops lock_ops = {try_lock, refresh, release};

static int q_lock(cc_storage *s, const char *name, int64_t timeout_ns, cc_err *err)
{
    return sto_keeper_lock(&((sql_sto *)s)->b.keep, name, timeout_ns, err);
}

static int q_unlock(cc_storage *s, const char *name, cc_err *err)
{
    return sto_keeper_unlock(&((sql_sto *)s)->b.keep, name, err);
}

static void free_db(sql_sto *d)
{
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(d->q[i]);
    if (d->db)
        sqlite3_close_v2(d->db);
    pthread_mutex_destroy(&d->mu);
    free(d->path);
    free(d);
}

static void q_close(cc_storage *s)
{
    sql_sto *d = (sql_sto *)s;
    if (!d)
        return;
    sto_keeper_fini(&d->b.keep);
    free_db(d);
}

static const cc_storage_ops sqlite_ops = {
    .abi = CC_STORAGE_ABI,
    .name = "sqlite",
    .store = q_store,
    .load = q_load,
    .del = q_del,
    .exists = q_exists,
    .list = q_list,
    .stat = q_stat,
    .lock = q_lock,
    .unlock = q_unlock,
    .close = q_close,
};

/* mkdir -p of path's directory; directories we create are private (0700). */
static int make_parents(const char *path, cc_err *err)
{
    char *dir = strdup(path);
    if (!dir)
        return sto_fail(err, CC_ENOMEM, "storage: out of memory");
    int rc = CC_OK;
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        for (char *p = dir + 1;; p++) {
            if (*p != '/' && *p)
                continue;
            char c = *p;
            *p = 0;
            if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
                rc = sto_fail(err, CC_EIO, "storage: creating directory %s: %s", dir,
                              strerror(errno));
                break;
            }
            *p = c;
            if (!c)
                break;
        }
    }
    free(dir);
    return rc;
}

/* The database and its -wal/-shm files hold private keys: owner-only, even when an
 * older file was created with looser bits. By path, never through a descriptor of our
 * own: closing one would drop the POSIX locks SQLite holds on the same file. */
static int tighten(const char *path, const char *suffix, bool must_exist, cc_err *err)
{
    char buf[4096];
    if ((size_t)snprintf(buf, sizeof(buf), "%s%s", path, suffix) >= sizeof(buf))
        return sto_fail(err, CC_EINVAL, "storage: database path is too long");
    if (chmod(buf, 0600) != 0 && (must_exist || errno != ENOENT))
        return sto_fail(err, CC_EIO, "storage: chmod %s: %s", buf, strerror(errno));
    return CC_OK;
}

static int exec(sql_sto *d, const char *what, const char *q, cc_err *err)
{
    if (sqlite3_exec(d->db, q, NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(d, err, what, d->path);
    return CC_OK;
}

static int wal(sql_sto *d, cc_err *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(d->db, "PRAGMA journal_mode = WAL", -1, &st, NULL) != SQLITE_OK)
        return db_fail(d, err, "opening", d->path);
    int r = sqlite3_step(st);
    const char *mode = r == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
    int rc = CC_OK;
    if (!mode)
        rc = db_fail(d, err, "enabling WAL on", d->path);
    else if (strcmp(mode, "wal") != 0)
        rc = sto_fail(err, CC_EIO, "storage: sqlite %s: cannot use WAL (journal mode is %s)",
                      d->path, mode);
    sqlite3_finalize(st);
    return rc;
}

static int64_t schema_version(sql_sto *d, cc_err *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(d->db,
                           "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'", -1,
                           &st, NULL) != SQLITE_OK)
        return db_fail(d, err, "reading schema of", d->path);
    int r = sqlite3_step(st);
    sqlite3_finalize(st);
    if (r == SQLITE_DONE)
        return 0;
    if (r != SQLITE_ROW || sqlite3_prepare_v2(d->db, "SELECT max(schema_version) FROM meta", -1,
                                              &st, NULL) != SQLITE_OK)
        return db_fail(d, err, "reading schema of", d->path);
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    if (v < 0)
        return db_fail(d, err, "reading schema version of", d->path);
    return v;
}

/* Brings the schema to SCHEMA_VERSION in one write transaction, so processes opening a
 * new file at the same time migrate it once. */
static int migrate(sql_sto *d, cc_err *err)
{
    int rc = exec(d, "migrating", "BEGIN IMMEDIATE", err);
    if (rc != CC_OK)
        return rc;
    int64_t v = schema_version(d, err);
    if (v < 0) {
        rc = (int)v;
    } else if (v > SCHEMA_VERSION) {
        rc = sto_fail(err, CC_EINVAL,
                      "storage: %s has schema version %lld, newer than the %d this caddy-c "
                      "supports; use a newer caddy-c or another storage path",
                      d->path, (long long)v, SCHEMA_VERSION);
    }
    for (; rc == CC_OK && v < SCHEMA_VERSION; v++) {
        char set[64];
        snprintf(set, sizeof(set), "UPDATE meta SET schema_version = %lld", (long long)v + 1);
        if ((rc = exec(d, "migrating", migrations[v], err)) == CC_OK)
            rc = exec(d, "migrating", set, err);
    }
    if (rc == CC_OK)
        return exec(d, "migrating", "COMMIT", err);
    sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

cc_storage *cc_storage_sqlite_open(const char *path, cc_err *err)
{
    if (!path || !*path) {
        sto_fail(err, CC_EINVAL, "storage: sqlite: database path is empty");
        return NULL;
    }
    sql_sto *d = calloc(1, sizeof(*d));
    if (!d || !(d->path = strdup(path))) {
        free(d);
        sto_fail(err, CC_ENOMEM, "storage: out of memory");
        return NULL;
    }
    pthread_mutex_init(&d->mu, NULL);
    d->b.s.ops = &sqlite_ops;
    if (make_parents(path, err) != CC_OK)
        goto fail;
    if (sqlite3_open_v2(path, &d->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK) {
        sto_fail(err, CC_EIO, "storage: sqlite %s: %s", path,
                 d->db ? sqlite3_errmsg(d->db) : "out of memory");
        goto fail;
    }
    /* SQLite creates the file at open, empty: private before anything is written */
    if (tighten(path, "", true, err) != CC_OK)
        goto fail;
    sqlite3_busy_timeout(d->db, 5000);
    sqlite3_extended_result_codes(d->db, 0);
    /* WAL lets readers run while another process writes; FULL syncs each commit, since
     * what we store (keys, certificates) is rare and costly to lose */
    if (wal(d, err) != CC_OK || exec(d, "opening", "PRAGMA synchronous = FULL", err) != CC_OK ||
        migrate(d, err) != CC_OK)
        goto fail;
    if (tighten(path, "-wal", false, err) != CC_OK || tighten(path, "-shm", false, err) != CC_OK)
        goto fail;
    for (int i = 0; i < Q_COUNT; i++) {
        if (sqlite3_prepare_v3(d->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &d->q[i], NULL) !=
            SQLITE_OK) {
            db_fail(d, err, "preparing", sql[i]);
            goto fail;
        }
    }
    sto_keeper_init(&d->b.keep, &lock_ops, d);
    return &d->b.s;
fail:
    free_db(d);
    return NULL;
}
