/* SPDX-License-Identifier: Apache-2.0
 * Storage tests: one contract suite (every operation's semantics, concurrency, locks
 * with heartbeat and stale takeover) run against the memory, SQLite and file-system
 * backends, then what only a backend has: SQLite's file modes, schema versioning,
 * reopening and two processes contending for one lock; the file system's layout; and
 * choosing the backend from the config. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../core/arena.h"
#include "../../core/cfg.h"
#include "../../core/storage.h"
#include "../../storage/default.h"
#include "../../storage/filesystem.h"
#include "../../storage/memory.h"
#include "../../storage/sqlite.h"
#include "../t.h"

#define MS ((int64_t)1000000)

static char tmp[64];

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static int put(cc_storage *s, const char *key, const char *val)
{
    cc_err err = {0};
    return s->ops->store(s, key, val, strlen(val), &err);
}

/* The value of key, or NULL; the caller frees. */
static char *get(cc_storage *s, const char *key)
{
    cc_err err = {0};
    char *v = NULL;
    size_t n = 0;
    if (s->ops->load(s, key, &v, &n, &err) != CC_OK)
        return NULL;
    return v;
}

/* The listing joined with ',' ("" for none, "ERR<code>" on failure). */
static char *list(cc_storage *s, const char *prefix, bool recursive)
{
    static char buf[4096];
    cc_err err = {0};
    char **keys = NULL;
    size_t n = 0;
    int rc = s->ops->list(s, prefix, recursive, &keys, &n, &err);
    if (rc != CC_OK) {
        snprintf(buf, sizeof(buf), "ERR%d", rc);
        return buf;
    }
    buf[0] = 0;
    for (size_t i = 0; i < n; i++) {
        if (i)
            strncat(buf, ",", sizeof(buf) - strlen(buf) - 1);
        strncat(buf, keys[i], sizeof(buf) - strlen(buf) - 1);
    }
    cc_storage_list_free(keys, n);
    return buf;
}

static void basics(cc_storage *s, const char *be)
{
    cc_err err = {0};
    T_INT(put(s, "acme/ca/users/me.json", "{\"a\":1}"), CC_OK);
    char *v = get(s, "acme/ca/users/me.json");
    T_STR(v, "{\"a\":1}");
    free(v);
    T_INT(put(s, "acme/ca/users/me.json", "x"), CC_OK);
    v = get(s, "acme/ca/users/me.json");
    T_STR(v, "x");
    free(v);
    T_OK(s->ops->exists(s, "acme/ca/users/me.json"), "%s: exists key", be);
    T_OK(s->ops->exists(s, "acme/ca"), "%s: exists prefix", be);
    T_OK(s->ops->exists(s, "acme"), "%s: exists top prefix", be);
    T_OK(!s->ops->exists(s, "acme/ca/users/me"), "%s: no partial key", be);
    T_OK(!s->ops->exists(s, "acm"), "%s: no partial prefix", be);
    T_OK(!s->ops->exists(s, "missing"), "%s: missing", be);

    /* not found */
    char *val = (char *)1;
    size_t n = 7;
    T_INT(s->ops->load(s, "missing/key", &val, &n, &err), CC_ENOTFOUND);
    T_OK(val == NULL && n == 0, "%s: load of missing clears outputs", be);
    T_INT(err.code, CC_ENOTFOUND);
    T_HAS(err.msg, "missing/key");
    cc_err_clear(&err);
    T_INT(s->ops->load(s, "acme/ca", &val, &n, &err), CC_ENOTFOUND);
    cc_err_clear(&err);
    T_INT(s->ops->del(s, "missing/key", &err), CC_ENOTFOUND);
    cc_err_clear(&err);
    cc_storage_info info;
    T_INT(s->ops->stat(s, "missing", &info, &err), CC_ENOTFOUND);
    cc_err_clear(&err);
    T_STR(list(s, "missing", false), "ERR-5");
    T_STR(list(s, "missing", true), "ERR-5");
    T_STR(list(s, "acme/ca/users/me.json", false), "ERR-5");

    /* binary values with NULs, the empty value and a large one */
    unsigned char bin[256];
    for (int i = 0; i < 256; i++)
        bin[i] = (unsigned char)(255 - i);
    T_INT(s->ops->store(s, "bin/all", bin, sizeof(bin), &err), CC_OK);
    T_INT(s->ops->load(s, "bin/all", &val, &n, &err), CC_OK);
    T_OK(n == 256 && val && memcmp(val, bin, 256) == 0 && val[256] == 0,
         "%s: binary round trip (n %zu)", be, n);
    free(val);
    T_INT(s->ops->store(s, "bin/empty", "", 0, &err), CC_OK);
    T_INT(s->ops->load(s, "bin/empty", &val, &n, &err), CC_OK);
    T_OK(n == 0 && val && val[0] == 0, "%s: empty value", be);
    free(val);
    size_t big_n = (size_t)1 << 20;
    unsigned char *big = malloc(big_n);
    for (size_t i = 0; i < big_n; i++)
        big[i] = (unsigned char)((i * 2654435761u) >> 13);
    T_INT(s->ops->store(s, "bin/big", big, big_n, &err), CC_OK);
    T_INT(s->ops->load(s, "bin/big", &val, &n, &err), CC_OK);
    T_OK(n == big_n && val && memcmp(val, big, big_n) == 0, "%s: 1 MiB round trip", be);
    free(val);
    T_INT(s->ops->stat(s, "bin/big", &info, &err), CC_OK);
    T_INT(info.size, big_n);
    free(big);
    T_INT(s->ops->del(s, "bin", &err), CC_OK);
    T_OK(!s->ops->exists(s, "bin/all"), "%s: prefix delete", be);
    T_INT(s->ops->del(s, "acme", &err), CC_OK);
    T_OK(!s->ops->exists(s, "acme/ca/users/me.json"), "%s: deep prefix delete", be);
    T_INT(err.code, 0);
}

static void bad_keys(cc_storage *s, const char *be)
{
    static const char *const bad[] = {"",   "/a", "a/",    "a//b",         "a/../b",
                                      "..", ".",  "a/./b", "../etc/passwd"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        cc_err err = {0};
        char *val = NULL;
        size_t n = 0;
        T_OK(s->ops->store(s, bad[i], "v", 1, &err) == CC_EINVAL, "%s: store '%s' refused", be,
             bad[i]);
        T_INT(err.code, CC_EINVAL);
        T_OK(s->ops->load(s, bad[i], &val, &n, NULL) == CC_EINVAL, "%s: load '%s' refused", be,
             bad[i]);
        T_OK(s->ops->del(s, bad[i], NULL) == CC_EINVAL, "%s: del '%s' refused", be, bad[i]);
        T_OK(!s->ops->exists(s, bad[i]), "%s: '%s' does not exist", be, bad[i]);
        if (*bad[i])
            T_STR(list(s, bad[i], false), "ERR-3");
    }
    T_STR(list(s, "", false), "ERR-5"); /* an empty storage lists nothing */
}

static void listing(cc_storage *s, const char *be)
{
    static const char *const keys[] = {"t/x", "t/d1/a", "t/d1/b",    "t/d2/e/f",
                                       "t/y", "t/d1.x", "t-other/k", "u"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
        T_INT(put(s, keys[i], keys[i]), CC_OK);
    T_STR(list(s, "t", false), "t/d1,t/d1.x,t/d2,t/x,t/y");
    T_STR(list(s, "t", true), "t/d1,t/d1/a,t/d1/b,t/d1.x,t/d2,t/d2/e,t/d2/e/f,t/x,t/y");
    T_STR(list(s, "t/d2", false), "t/d2/e");
    T_STR(list(s, "t/d2", true), "t/d2/e,t/d2/e/f");
    T_STR(list(s, "", false), "t,t-other,u");

    cc_err err = {0};
    cc_storage_info info;
    int64_t before = now_ns();
    T_INT(put(s, "t/d2/e/g", "12345"), CC_OK);
    int64_t after = now_ns();
    T_INT(s->ops->stat(s, "t/d2/e/g", &info, &err), CC_OK);
    T_OK(info.is_terminal, "%s: key is terminal", be);
    T_INT(info.size, 5);
    T_STR(info.key, "t/d2/e/g");
    /* file systems stamp with a coarse clock */
    T_OK(info.modified_unix_ns > before - 1000 * MS && info.modified_unix_ns < after + 1000 * MS,
         "%s: modified %lld in [%lld, %lld]", be, (long long)info.modified_unix_ns,
         (long long)before, (long long)after);
    T_INT(s->ops->stat(s, "t/d2", &info, &err), CC_OK);
    T_OK(!info.is_terminal, "%s: prefix is not terminal", be);
    T_STR(info.key, "t/d2");
    T_OK(info.modified_unix_ns > 0, "%s: prefix has a modified time", be);

    /* a key is not also a directory, as in a file system */
    T_INT(put(s, "t/x/sub", "v"), CC_EINVAL);
    T_INT(put(s, "t/d1", "v"), CC_EINVAL);
    T_STR(list(s, "t", false), "t/d1,t/d1.x,t/d2,t/x,t/y");

    T_INT(s->ops->del(s, "t/x", &err), CC_OK);
    T_OK(!s->ops->exists(s, "t/x"), "%s: deleted key", be);
    T_INT(s->ops->del(s, "t/d1", &err), CC_OK);
    T_OK(!s->ops->exists(s, "t/d1/a") && !s->ops->exists(s, "t/d1"), "%s: deleted subtree", be);
    T_OK(s->ops->exists(s, "t/d1.x"), "%s: sibling survives a prefix delete", be);
    T_INT(s->ops->del(s, "t/d2/e/f", &err), CC_OK);
    T_INT(s->ops->del(s, "t/d2/e/g", &err), CC_OK);
    T_OK(!s->ops->exists(s, "t/d2"), "%s: emptied prefix is gone", be);
    T_STR(list(s, "t", true), "t/d1.x,t/y");
    T_INT(err.code, 0);
    T_INT(s->ops->del(s, "t", &err), CC_OK);
    T_INT(s->ops->del(s, "t-other", &err), CC_OK);
    T_INT(s->ops->del(s, "u", &err), CC_OK);
    T_STR(list(s, "", true), "ERR-5");
}

typedef struct worker {
    cc_storage *s;
    int id;
    int failures;
} worker;

#define PER_THREAD 40
#define SHARED_N 4096

static void *store_many(void *arg)
{
    worker *w = arg;
    char key[64], val[SHARED_N];
    memset(val, 'A' + w->id, sizeof(val));
    for (int i = 0; i < PER_THREAD; i++) {
        cc_err err = {0};
        snprintf(key, sizeof(key), "conc/t%d/k%02d", w->id, i);
        if (w->s->ops->store(w->s, key, key, strlen(key), &err) != CC_OK)
            w->failures++;
        if (w->s->ops->store(w->s, "conc/shared", val, sizeof(val), &err) != CC_OK)
            w->failures++;
        char *v = get(w->s, key);
        if (!v || strcmp(v, key) != 0)
            w->failures++;
        free(v);
    }
    return NULL;
}

static void concurrency(cc_storage *s, const char *be)
{
    pthread_t th[8];
    worker w[8];
    for (int i = 0; i < 8; i++) {
        w[i] = (worker){s, i, 0};
        pthread_create(&th[i], NULL, store_many, &w[i]);
    }
    int failures = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        failures += w[i].failures;
    }
    T_INT(failures, 0);
    cc_err err = {0};
    char **keys;
    size_t n;
    T_INT(s->ops->list(s, "conc", true, &keys, &n, &err), CC_OK);
    T_INT(n, 8 * PER_THREAD + 8 + 1);
    cc_storage_list_free(keys, n);
    char *v;
    T_INT(s->ops->load(s, "conc/shared", &v, &n, &err), CC_OK);
    bool whole = n == SHARED_N && v[0] >= 'A' && v[0] < 'A' + 8;
    for (size_t i = 0; whole && i < n; i++)
        whole = v[i] == v[0];
    T_OK(whole, "%s: concurrent overwrites leave one whole value", be);
    free(v);
    T_INT(s->ops->del(s, "conc", &err), CC_OK);
}

typedef struct locker {
    cc_storage *s;
    const char *name;
    int64_t timeout;
    int rc;
    int64_t waited_ms, done_at;
    bool unlock_after;
} locker;

static void *lock_once(void *arg)
{
    locker *l = arg;
    cc_err err = {0};
    int64_t t0 = now_ns();
    l->rc = l->s->ops->lock(l->s, l->name, l->timeout, &err);
    l->done_at = now_ns();
    l->waited_ms = (l->done_at - t0) / MS;
    if (l->rc == CC_OK && l->unlock_after)
        l->s->ops->unlock(l->s, l->name, &err);
    return NULL;
}

/* Runs lock_once on another thread (another owner) and waits for it. */
static locker lock_elsewhere(cc_storage *s, const char *name, int64_t timeout, bool unlock)
{
    locker l = {s, name, timeout, 0, 0, 0, unlock};
    pthread_t th;
    pthread_create(&th, NULL, lock_once, &l);
    pthread_join(th, NULL);
    return l;
}

typedef struct counter {
    cc_storage *s;
    int inside, overlaps, total;
} counter;

static void *count_under_lock(void *arg)
{
    counter *c = arg;
    for (int i = 0; i < 20; i++) {
        cc_err err = {0};
        if (c->s->ops->lock(c->s, "count", 0, &err) != CC_OK) {
            __atomic_add_fetch(&c->overlaps, 1, __ATOMIC_SEQ_CST);
            continue;
        }
        if (__atomic_add_fetch(&c->inside, 1, __ATOMIC_SEQ_CST) != 1)
            __atomic_add_fetch(&c->overlaps, 1, __ATOMIC_SEQ_CST);
        int t = c->total;
        sleep_ms(1);
        c->total = t + 1;
        __atomic_sub_fetch(&c->inside, 1, __ATOMIC_SEQ_CST);
        c->s->ops->unlock(c->s, "count", &err);
    }
    return NULL;
}

static void locks(cc_storage *s, const char *be)
{
    cc_err err = {0};
    T_INT(s->ops->lock(s, "issue_cert_example.com", 1000 * MS, &err), CC_OK);
    locker l = lock_elsewhere(s, "issue_cert_example.com", 300 * MS, true);
    T_INT(l.rc, CC_ETIMEDOUT);
    T_OK(l.waited_ms >= 250 && l.waited_ms < 2000, "%s: timed out after %lld ms", be,
         (long long)l.waited_ms);
    l = lock_elsewhere(s, "issue_cert_other.com", 300 * MS, true);
    T_INT(l.rc, CC_OK);
    T_INT(s->ops->unlock(s, "issue_cert_example.com", &err), CC_OK);
    T_INT(s->ops->unlock(s, "issue_cert_example.com", &err), CC_ENOTFOUND);
    cc_err_clear(&err);
    l = lock_elsewhere(s, "issue_cert_example.com", 300 * MS, true);
    T_INT(l.rc, CC_OK);
    T_OK(l.waited_ms < 200, "%s: a free lock is taken at once (%lld ms)", be,
         (long long)l.waited_ms);
    T_INT(s->ops->lock(s, "", 0, &err), CC_EINVAL);
    cc_err_clear(&err);

    /* mutual exclusion between threads */
    cc_storage_set_lock_timing(s, 5000 * MS, 10000 * MS, 5 * MS);
    counter c = {s, 0, 0, 0};
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, count_under_lock, &c);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    T_INT(c.overlaps, 0);
    T_INT(c.total, 80);

    /* the heartbeat keeps a held lock fresh past the staleness interval */
    T_INT(cc_storage_set_lock_timing(s, 50 * MS, 400 * MS, 10 * MS), CC_OK);
    T_INT(s->ops->lock(s, "beat", 0, &err), CC_OK);
    l = lock_elsewhere(s, "beat", 1000 * MS, true);
    T_INT(l.rc, CC_ETIMEDOUT);
    T_INT(s->ops->unlock(s, "beat", &err), CC_OK);

    /* a holder that stopped refreshing (crashed) loses its lock once stale */
    T_INT(cc_storage_set_lock_timing(s, 3600000 * MS, 200 * MS, 10 * MS), CC_OK);
    int64_t t0 = now_ns();
    T_INT(s->ops->lock(s, "crashed", 0, &err), CC_OK);
    l = lock_elsewhere(s, "crashed", 3000 * MS, false);
    T_INT(l.rc, CC_OK);
    T_OK(l.done_at - t0 >= 200 * MS && l.waited_ms < 2000,
         "%s: stale lock taken over after %lld ms", be, (long long)((l.done_at - t0) / MS));
    T_OK(s->ops->unlock(s, "crashed", &err) < 0, "%s: the old holder's unlock fails", be);
    T_HAS(err.msg, "taken over");
    cc_err_clear(&err);
    T_INT(cc_storage_set_lock_timing(s, 5000 * MS, 10000 * MS, 250 * MS), CC_OK);
    /* the new holder (a finished thread) still owns the row: only staleness frees it */
    l = lock_elsewhere(s, "crashed", 100 * MS, false);
    T_INT(l.rc, CC_ETIMEDOUT);
}

static void contract(cc_storage *s, const char *be)
{
    T_OK(s != NULL, "%s: opened", be);
    if (!s)
        return;
    T_INT(s->ops->abi, CC_STORAGE_ABI);
    bad_keys(s, be);
    basics(s, be);
    listing(s, be);
    concurrency(s, be);
    locks(s, be);
}

static char *path_in(const char *rel)
{
    static char buf[8][256];
    static int i;
    char *p = buf[i++ % 8];
    snprintf(p, 256, "%s/%s", tmp, rel);
    return p;
}

static int mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
}

/* Runs a statement on a database with Python's sqlite3 module (tests may not include
 * <sqlite3.h>); returns the first column of the first row, or "" / NULL on failure. */
static char *pysql(const char *db, const char *sql)
{
    static char out[256];
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); "
             "r=c.execute(sys.argv[2]).fetchone(); c.commit(); print(r[0] if r else \"\")' "
             "'%s' '%s'",
             db, sql);
    FILE *f = popen(cmd, "r");
    if (!f)
        return NULL;
    out[0] = 0;
    if (!fgets(out, sizeof(out), f))
        out[0] = 0;
    out[strcspn(out, "\n")] = 0;
    return pclose(f) == 0 ? out : NULL;
}

/* Each process takes the lock 15 times; inside it a marker file must not exist and a
 * counter file is incremented non-atomically. Returns the number of violations. */
static int contend(const char *db, const char *marker, const char *countfile)
{
    cc_err err = {0};
    cc_storage *s = cc_storage_sqlite_open(db, &err);
    if (!s)
        return 100;
    cc_storage_set_lock_timing(s, 5000 * MS, 10000 * MS, 5 * MS);
    int bad = 0;
    for (int i = 0; i < 15; i++) {
        if (s->ops->lock(s, "proc", 20000 * MS, &err) != CC_OK) {
            bad++;
            continue;
        }
        int fd = open(marker, O_CREAT | O_EXCL | O_WRONLY, 0600);
        if (fd < 0)
            bad++;
        else
            close(fd);
        FILE *f = fopen(countfile, "r");
        int n = 0;
        if (f) {
            if (fscanf(f, "%d", &n) != 1)
                n = 0;
            fclose(f);
        }
        sleep_ms(3);
        f = fopen(countfile, "w");
        if (f) {
            fprintf(f, "%d\n", n + 1);
            fclose(f);
        }
        unlink(marker);
        if (s->ops->unlock(s, "proc", &err) != CC_OK)
            bad++;
    }
    s->ops->close(s);
    return bad;
}

static void sqlite_specific(void)
{
    cc_err err = {0};
    char *db = path_in("sq/nested/dir/c.db");
    cc_storage *s = cc_storage_sqlite_open(db, &err);
    T_OK(s != NULL, "sqlite open: %s", err.msg);
    if (!s)
        return;
    T_STR(s->ops->name, "sqlite");
    T_INT(mode_of(path_in("sq/nested/dir")), 0700);
    T_INT(mode_of(path_in("sq/nested")), 0700);
    T_INT(put(s, "certificates/local/a/a.key", "PRIVATE"), CC_OK);
    T_INT(mode_of(db), 0600);
    char wal[300], shm[300];
    snprintf(wal, sizeof(wal), "%s-wal", db);
    snprintf(shm, sizeof(shm), "%s-shm", db);
    T_INT(mode_of(wal), 0600);
    T_INT(mode_of(shm), 0600);
    T_STR(pysql(db, "PRAGMA journal_mode"), "wal");
    T_STR(pysql(db, "SELECT schema_version FROM meta"), "1");
    s->ops->close(s);

    /* reopening keeps the data, and tightens loose modes */
    chmod(db, 0644);
    s = cc_storage_sqlite_open(db, &err);
    T_OK(s != NULL, "sqlite reopen: %s", err.msg);
    char *v = s ? get(s, "certificates/local/a/a.key") : NULL;
    T_STR(v, "PRIVATE");
    free(v);
    T_INT(mode_of(db), 0600);
    if (s)
        s->ops->close(s);

    /* two instances in one process (a config reload overlaps the old storage) */
    cc_storage *s1 = cc_storage_sqlite_open(db, &err);
    cc_storage *s2 = cc_storage_sqlite_open(db, &err);
    T_OK(s1 && s2, "two handles: %s", err.msg);
    if (s1 && s2) {
        T_INT(s1->ops->lock(s1, "shared", 0, &err), CC_OK);
        T_INT(s2->ops->lock(s2, "shared", 300 * MS, &err), CC_ETIMEDOUT);
        cc_err_clear(&err);
        T_INT(put(s2, "from/two", "2"), CC_OK);
        v = get(s1, "from/two");
        T_STR(v, "2");
        free(v);
        T_INT(s1->ops->unlock(s1, "shared", &err), CC_OK);
        T_INT(s2->ops->lock(s2, "shared", 2000 * MS, &err), CC_OK);
        T_INT(s2->ops->del(s2, "from", &err), CC_OK);
    }
    if (s1)
        s1->ops->close(s1);
    if (s2)
        s2->ops->close(s2); /* releases "shared" */

    /* a pre-existing empty file with loose bits becomes a private database */
    char *pre = path_in("pre.db");
    int fd = open(pre, O_CREAT | O_WRONLY, 0666);
    close(fd);
    chmod(pre, 0666);
    s = cc_storage_sqlite_open(pre, &err);
    T_OK(s != NULL, "sqlite open of empty file: %s", err.msg);
    T_INT(mode_of(pre), 0600);
    if (s)
        s->ops->close(s);

    /* a newer schema is refused with a clear error */
    T_OK(pysql(pre, "UPDATE meta SET schema_version = 99") != NULL, "bump schema");
    cc_err_clear(&err);
    s = cc_storage_sqlite_open(pre, &err);
    T_OK(s == NULL, "newer schema refused");
    T_HAS(err.msg, "schema version 99");
    T_HAS(err.msg, "newer");
    if (s)
        s->ops->close(s);

    /* not a database */
    char *junk = path_in("junk.db");
    FILE *f = fopen(junk, "w");
    fputs("this is not a database, just some text that is long enough......................"
          "................................................................................",
          f);
    fclose(f);
    cc_err_clear(&err);
    s = cc_storage_sqlite_open(junk, &err);
    T_OK(s == NULL, "junk refused");
    T_HAS(err.msg, "junk.db");
    if (s)
        s->ops->close(s);

    /* two processes contend for one lock: never both inside */
    char *marker = path_in("inside"), *count = path_in("count");
    pid_t kids[2];
    for (int i = 0; i < 2; i++) {
        kids[i] = fork();
        if (kids[i] == 0)
            _exit(contend(db, marker, count) ? 1 : 0);
    }
    int bad = 0;
    for (int i = 0; i < 2; i++) {
        int st = 0;
        waitpid(kids[i], &st, 0);
        bad += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
    }
    T_INT(bad, 0);
    f = fopen(count, "r");
    int n = 0;
    if (f) {
        if (fscanf(f, "%d", &n) != 1)
            n = -1;
        fclose(f);
    }
    T_INT(n, 30);

    /* a process that dies holding a lock: another takes it over once stale */
    pid_t kid = fork();
    if (kid == 0) {
        cc_storage *k = cc_storage_sqlite_open(db, NULL);
        _exit(k && k->ops->lock(k, "dies", 0, NULL) == CC_OK ? 0 : 1);
    }
    int st = 0;
    waitpid(kid, &st, 0);
    T_OK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child took the lock");
    s = cc_storage_sqlite_open(db, &err);
    if (s) {
        cc_storage_set_lock_timing(s, 5000 * MS, 300 * MS, 10 * MS);
        int64_t t0 = now_ns();
        T_INT(s->ops->lock(s, "dies", 5000 * MS, &err), CC_OK);
        T_OK((now_ns() - t0) / MS < 3000, "dead holder's lock taken over");
        T_INT(s->ops->unlock(s, "dies", &err), CC_OK);
        s->ops->close(s);
    }
}

static void fs_specific(void)
{
    cc_err err = {0};
    char *root = path_in("fsroot2/data");
    cc_storage *s = cc_storage_fs_open(root, &err);
    T_OK(s != NULL, "fs open: %s", err.msg);
    if (!s)
        return;
    T_STR(s->ops->name, "file_system");
    T_INT(mode_of(root), 0700);
    T_INT(put(s, "certificates/local/a.example/a.example.key", "K"), CC_OK);
    char *file = path_in("fsroot2/data/certificates/local/a.example/a.example.key");
    T_INT(mode_of(file), 0600);
    T_INT(mode_of(path_in("fsroot2/data/certificates/local")), 0700);
    T_INT(s->ops->lock(s, "issue_cert_*.Example.com", 0, &err), CC_OK);
    char *lf = path_in("fsroot2/data/locks/issue_cert_wildcard_.example.com.lock");
    FILE *f = fopen(lf, "r");
    char buf[512] = "";
    if (f) {
        if (!fgets(buf, sizeof(buf), f))
            buf[0] = 0;
        fclose(f);
    }
    T_HAS(buf, "\"created\":\"20");
    T_HAS(buf, "\"updated\":\"20");
    T_INT(s->ops->unlock(s, "issue_cert_*.Example.com", &err), CC_OK);
    T_OK(access(lf, F_OK) != 0, "lock file removed on unlock");

    /* a lock file certmagic left behind long ago is stale */
    f = fopen(path_in("fsroot2/data/locks/old.lock"), "w");
    fputs("{\"created\":\"2020-01-02T03:04:05.5+02:00\",\"updated\":\"2020-01-02T03:04:06Z\"}", f);
    fclose(f);
    int64_t t0 = now_ns();
    T_INT(s->ops->lock(s, "old", 2000 * MS, &err), CC_OK);
    T_OK((now_ns() - t0) / MS < 1000, "old certmagic lock taken over at once");
    T_INT(s->ops->unlock(s, "old", &err), CC_OK);
    /* a fresh one from another instance (no owner field) is respected */
    f = fopen(path_in("fsroot2/data/locks/fresh.lock"), "w");
    fclose(f);
    T_INT(s->ops->lock(s, "fresh", 300 * MS, &err), CC_ETIMEDOUT);
    s->ops->close(s);
}

static void config(void)
{
    cc_arena *a = cc_arena_new(0);
    cc_err err = {0};
    char *home = path_in("home");
    setenv("HOME", home, 1);
    setenv("XDG_DATA_HOME", "relative/dir", 1);
    char *p = cc_storage_default_path(&err);
    char want[300];
    snprintf(want, sizeof(want), "%s/.local/share/caddy-c/caddy-c.db", home);
    T_STR(p, want);
    free(p);
    setenv("XDG_DATA_HOME", path_in("xdg"), 1);
    p = cc_storage_default_path(&err);
    snprintf(want, sizeof(want), "%s/caddy-c/caddy-c.db", path_in("xdg"));
    T_STR(p, want);
    free(p);

    cc_storage *s = cc_storage_open(NULL, &err);
    T_OK(s && !strcmp(s->ops->name, "sqlite"), "default storage: %s", err.msg);
    T_INT(mode_of(want), 0600);
    T_INT(mode_of(path_in("xdg/caddy-c")), 0700);
    if (s)
        s->ops->close(s);

    cc_cfg *c = cc_cfg_obj(a);
    cc_cfg_set_str(a, c, "module", "sqlite");
    cc_cfg_set_str(a, c, "path", path_in("cfg/explicit.db"));
    s = cc_storage_open(c, &err);
    T_OK(s && !strcmp(s->ops->name, "sqlite"), "sqlite from config: %s", err.msg);
    T_INT(mode_of(path_in("cfg/explicit.db")), 0600);
    if (s)
        s->ops->close(s);

    c = cc_cfg_obj(a);
    cc_cfg_set_str(a, c, "module", "sqlite");
    s = cc_storage_open(c, &err);
    T_OK(s && !strcmp(s->ops->name, "sqlite"), "sqlite without path: %s", err.msg);
    if (s)
        s->ops->close(s);

    c = cc_cfg_obj(a);
    cc_cfg_set_str(a, c, "module", "file_system");
    cc_cfg_set_str(a, c, "root", path_in("cfg/fs"));
    s = cc_storage_open(c, &err);
    T_OK(s && !strcmp(s->ops->name, "file_system"), "file_system from config: %s", err.msg);
    if (s)
        s->ops->close(s);

    c = cc_cfg_obj(a);
    cc_cfg_set_str(a, c, "module", "file_system");
    s = cc_storage_open(c, &err);
    T_OK(s == NULL, "file_system needs a root");
    T_HAS(err.msg, "missing root path");
    cc_err_clear(&err);

    c = cc_cfg_obj(a);
    cc_cfg_set_str(a, c, "module", "redis");
    s = cc_storage_open(c, &err);
    T_OK(s == NULL, "unknown module");
    T_STR(err.msg, "loading storage module: getting module named 'caddy.storage.redis': module "
                   "not registered: caddy.storage.redis");
    cc_err_clear(&err);
    T_OK(cc_storage_open(cc_cfg_obj(a), &err) == NULL, "no module name");
    T_HAS(err.msg, "module name not specified");
    cc_arena_free(a);
}

int main(void)
{
    snprintf(tmp, sizeof(tmp), "/tmp/cc-storage-XXXXXX");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    cc_err err = {0};
    cc_storage *s = cc_storage_memory_open(&err);
    contract(s, "memory");
    if (s)
        s->ops->close(s);
    s = cc_storage_sqlite_open(path_in("contract.db"), &err);
    contract(s, "sqlite");
    if (s)
        s->ops->close(s);
    s = cc_storage_fs_open(path_in("fsroot"), &err);
    contract(s, "file_system");
    if (s)
        s->ops->close(s);
    T_INT(err.code, 0);

    sqlite_specific();
    fs_specific();
    config();

    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    return t_done();
}
