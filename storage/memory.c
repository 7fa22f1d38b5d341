/* SPDX-License-Identifier: Apache-2.0
 * The in-memory storage backend: a sorted array of keys under one mutex, for tests and
 * for runs that must not touch the disk. Same semantics as the persistent backends
 * (the contract suite in tests/unit/test_storage.c holds all of them to it), but the
 * data and locks live only as long as the process. */
#include "memory.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct mem_ent {
    char *key;
    char *val;
    size_t n;
    int64_t modified;
} mem_ent;

typedef struct mem_lock {
    char *name, *owner;
    int64_t updated;
} mem_lock;

typedef struct mem_sto {
    sto_base b;
    pthread_mutex_t mu;
    mem_ent *e;
    size_t n, cap;
    mem_lock *l;
    size_t nl, capl;
} mem_sto;

/* Compares a stored key with k[0..kn) in byte order. */
static int cmp_n(const char *key, const char *k, size_t kn)
{
    int c = strncmp(key, k, kn);
    if (c)
        return c;
    return key[kn] ? 1 : 0;
}

static size_t lower(mem_sto *m, const char *k, size_t kn)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_n(m->e[mid].key, k, kn) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static mem_ent *find(mem_sto *m, const char *k, size_t kn)
{
    size_t i = lower(m, k, kn);
    return i < m->n && cmp_n(m->e[i].key, k, kn) == 0 ? &m->e[i] : NULL;
}

static bool is_below(const char *key, const char *prefix)
{
    size_t pn = strlen(prefix);
    return !pn || (strncmp(key, prefix, pn) == 0 && key[pn] == '/');
}

/* Index of the first key below prefix + "/" (m->n when none). */
static size_t first_below(mem_sto *m, const char *prefix)
{
    size_t pn = strlen(prefix);
    if (!pn)
        return 0;
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *k = m->e[mid].key;
        int c = strncmp(k, prefix, pn);
        if (!c)
            c = (unsigned char)k[pn] < '/' ? -1 : 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < m->n && is_below(m->e[lo].key, prefix) ? lo : m->n;
}

static int m_store(cc_storage *s, const char *key, const void *val, size_t n, cc_err *err)
{
    mem_sto *m = (mem_sto *)s;
    int rc = sto_check_key(key, false, "key", err);
    if (rc != CC_OK)
        return rc;
    char *copy = malloc(n + 1);
    if (!copy)
        return sto_fail(err, CC_ENOMEM, "storage: out of memory storing '%s'", key);
    if (n)
        memcpy(copy, val, n);
    copy[n] = 0;
    pthread_mutex_lock(&m->mu);
    for (const char *p = strchr(key, '/'); p; p = strchr(p + 1, '/')) {
        if (find(m, key, (size_t)(p - key))) {
            rc = sto_fail(err, CC_EINVAL, "storage: cannot store '%s': '%.*s' is a key", key,
                          (int)(p - key), key);
            goto out;
        }
    }
    if (first_below(m, key) < m->n) {
        rc = sto_fail(err, CC_EINVAL, "storage: cannot store '%s': it is a prefix of other keys",
                      key);
        goto out;
    }
    mem_ent *e = find(m, key, strlen(key));
    if (!e) {
        char *k = strdup(key);
        if (!k) {
            rc = sto_fail(err, CC_ENOMEM, "storage: out of memory storing '%s'", key);
            goto out;
        }
        if (m->n == m->cap) {
            size_t cap = m->cap ? m->cap * 2 : 16;
            mem_ent *v = realloc(m->e, cap * sizeof(*v));
            if (!v) {
                free(k);
                rc = sto_fail(err, CC_ENOMEM, "storage: out of memory storing '%s'", key);
                goto out;
            }
            m->e = v;
            m->cap = cap;
        }
        size_t i = lower(m, key, strlen(key));
        memmove(&m->e[i + 1], &m->e[i], (m->n - i) * sizeof(*m->e));
        m->n++;
        e = &m->e[i];
        e->key = k;
        e->val = NULL;
    }
    free(e->val);
    e->val = copy;
    e->n = n;
    e->modified = sto_now_ns();
    copy = NULL;
out:
    pthread_mutex_unlock(&m->mu);
    free(copy);
    return rc;
}

static int m_load(cc_storage *s, const char *key, char **val, size_t *n, cc_err *err)
{
    mem_sto *m = (mem_sto *)s;
    *val = NULL;
    *n = 0;
    int rc = sto_check_key(key, false, "key", err);
    if (rc != CC_OK)
        return rc;
    pthread_mutex_lock(&m->mu);
    mem_ent *e = find(m, key, strlen(key));
    if (!e) {
        rc = sto_fail(err, CC_ENOTFOUND, "storage: key not found: %s", key);
    } else if (!(*val = malloc(e->n + 1))) {
        rc = sto_fail(err, CC_ENOMEM, "storage: out of memory loading '%s'", key);
    } else {
        memcpy(*val, e->val, e->n + 1);
        *n = e->n;
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static void drop(mem_sto *m, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        free(m->e[i].key);
        free(m->e[i].val);
    }
    memmove(&m->e[from], &m->e[to], (m->n - to) * sizeof(*m->e));
    m->n -= to - from;
}

static int m_del(cc_storage *s, const char *key, cc_err *err)
{
    mem_sto *m = (mem_sto *)s;
    int rc = sto_check_key(key, false, "key", err);
    if (rc != CC_OK)
        return rc;
    pthread_mutex_lock(&m->mu);
    mem_ent *e = find(m, key, strlen(key));
    if (e) {
        size_t i = (size_t)(e - m->e);
        drop(m, i, i + 1);
    } else {
        size_t i = first_below(m, key), j = i;
        while (j < m->n && is_below(m->e[j].key, key))
            j++;
        if (i == j)
            rc = sto_fail(err, CC_ENOTFOUND, "storage: key not found: %s", key);
        else
            drop(m, i, j);
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static bool m_exists(cc_storage *s, const char *key)
{
    mem_sto *m = (mem_sto *)s;
    if (sto_check_key(key, false, "key", NULL) != CC_OK)
        return false;
    pthread_mutex_lock(&m->mu);
    bool yes = find(m, key, strlen(key)) || first_below(m, key) < m->n;
    pthread_mutex_unlock(&m->mu);
    return yes;
}

static int m_list(cc_storage *s, const char *prefix, bool recursive, char ***keys, size_t *n,
                  cc_err *err)
{
    mem_sto *m = (mem_sto *)s;
    *keys = NULL;
    *n = 0;
    int rc = sto_check_key(prefix, true, "prefix", err);
    if (rc != CC_OK)
        return rc;
    sto_keys k = {0};
    pthread_mutex_lock(&m->mu);
    for (size_t i = first_below(m, prefix); i < m->n && is_below(m->e[i].key, prefix); i++) {
        if ((rc = sto_keys_add_below(&k, prefix, m->e[i].key, recursive)) != CC_OK)
            break;
    }
    pthread_mutex_unlock(&m->mu);
    if (rc != CC_OK) {
        sto_keys_free(&k);
        return sto_fail(err, rc, "storage: out of memory listing '%s'", prefix);
    }
    return sto_keys_finish(&k, prefix, keys, n, err);
}

static int m_stat(cc_storage *s, const char *key, cc_storage_info *info, cc_err *err)
{
    mem_sto *m = (mem_sto *)s;
    memset(info, 0, sizeof(*info));
    info->key = key;
    int rc = sto_check_key(key, false, "key", err);
    if (rc != CC_OK)
        return rc;
    pthread_mutex_lock(&m->mu);
    mem_ent *e = find(m, key, strlen(key));
    if (e) {
        info->is_terminal = true;
        info->size = (int64_t)e->n;
        info->modified_unix_ns = e->modified;
    } else {
        size_t i = first_below(m, key);
        if (i == m->n)
            rc = sto_fail(err, CC_ENOTFOUND, "storage: key not found: %s", key);
        for (; i < m->n && is_below(m->e[i].key, key); i++)
            if (m->e[i].modified > info->modified_unix_ns)
                info->modified_unix_ns = m->e[i].modified;
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static mem_lock *find_lock(mem_sto *m, const char *name)
{
    for (size_t i = 0; i < m->nl; i++)
        if (strcmp(m->l[i].name, name) == 0)
            return &m->l[i];
    return NULL;
}

static int try_lock(void *be, const char *name, const char *owner, int64_t now_ns, int64_t stale_ns,
                    cc_err *err)
{
    mem_sto *m = be;
    int rc = 1;
    char *o = strdup(owner);
    pthread_mutex_lock(&m->mu);
    mem_lock *l = find_lock(m, name);
    if (!o) {
        rc = sto_fail(err, CC_ENOMEM, "storage: out of memory taking lock '%s'", name);
    } else if (l && l->updated >= now_ns - stale_ns) {
        rc = 0;
    } else if (l) {
        free(l->owner);
        l->owner = o;
        l->updated = now_ns;
        o = NULL;
    } else {
        char *nm = strdup(name);
        if (m->nl == m->capl) {
            size_t cap = m->capl ? m->capl * 2 : 8;
            mem_lock *v = nm ? realloc(m->l, cap * sizeof(*v)) : NULL;
            if (v) {
                m->l = v;
                m->capl = cap;
            }
        }
        if (!nm || m->nl == m->capl) {
            free(nm);
            rc = sto_fail(err, CC_ENOMEM, "storage: out of memory taking lock '%s'", name);
        } else {
            m->l[m->nl++] = (mem_lock){nm, o, now_ns};
            o = NULL;
        }
    }
    pthread_mutex_unlock(&m->mu);
    free(o);
    return rc;
}

static void refresh(void *be, const char *name, const char *owner, int64_t now_ns)
{
    mem_sto *m = be;
    pthread_mutex_lock(&m->mu);
    mem_lock *l = find_lock(m, name);
    if (l && strcmp(l->owner, owner) == 0)
        l->updated = now_ns;
    pthread_mutex_unlock(&m->mu);
}

static int release(void *be, const char *name, const char *owner, cc_err *err)
{
    mem_sto *m = be;
    int rc = CC_OK;
    pthread_mutex_lock(&m->mu);
    mem_lock *l = find_lock(m, name);
    if (l && strcmp(l->owner, owner) == 0) {
        free(l->name);
        free(l->owner);
        *l = m->l[--m->nl];
    } else {
        rc = sto_fail(err, CC_ERR, "storage: lock '%s' was taken over by another holder", name);
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static const sto_lock_ops lock_ops = {try_lock, refresh, release};

static int m_lock(cc_storage *s, const char *name, int64_t timeout_ns, cc_err *err)
{
    return sto_keeper_lock(&((mem_sto *)s)->b.keep, name, timeout_ns, err);
}

static int m_unlock(cc_storage *s, const char *name, cc_err *err)
{
    return sto_keeper_unlock(&((mem_sto *)s)->b.keep, name, err);
}

static void m_close(cc_storage *s)
{
    mem_sto *m = (mem_sto *)s;
    if (!m)
        return;
    sto_keeper_fini(&m->b.keep);
    drop(m, 0, m->n);
    free(m->e);
    for (size_t i = 0; i < m->nl; i++) {
        free(m->l[i].name);
        free(m->l[i].owner);
    }
    free(m->l);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static const cc_storage_ops mem_ops = {
    .abi = CC_STORAGE_ABI,
    .name = "memory",
    .store = m_store,
    .load = m_load,
    .del = m_del,
    .exists = m_exists,
    .list = m_list,
    .stat = m_stat,
    .lock = m_lock,
    .unlock = m_unlock,
    .close = m_close,
};

cc_storage *cc_storage_memory_open(cc_err *err)
{
    mem_sto *m = calloc(1, sizeof(*m));
    if (!m) {
        sto_fail(err, CC_ENOMEM, "storage: out of memory");
        return NULL;
    }
    m->b.s.ops = &mem_ops;
    pthread_mutex_init(&m->mu, NULL);
    sto_keeper_init(&m->b.keep, &lock_ops, m);
    return &m->b.s;
}
