/* SPDX-License-Identifier: Apache-2.0
 * The lock keeper (see internal.h): certmagic's lock protocol on top of a backend's
 * atomic try/refresh/release. A waiter retries every poll interval (and at once when a
 * lock of the same storage is released); a background thread refreshes every held lock
 * so that other instances never see it stale while its holder lives. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "default.h"
#include "internal.h"

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct timespec abs_mono(int64_t at_ns)
{
    struct timespec ts = {.tv_sec = at_ns / 1000000000, .tv_nsec = at_ns % 1000000000};
    return ts;
}

void sto_keeper_init(sto_keeper *k, const sto_lock_ops *ops, void *be)
{
    memset(k, 0, sizeof(*k));
    k->ops = ops;
    k->be = be;
    pthread_mutex_init(&k->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&k->cv, &ca);
    pthread_condattr_destroy(&ca);
    k->refresh_ns = STO_REFRESH_NS;
    k->stale_ns = STO_STALE_NS;
    k->poll_ns = STO_POLL_NS;
    uint64_t id = 0;
    if (getrandom(&id, sizeof(id), 0) != (ssize_t)sizeof(id))
        id = (uint64_t)mono_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)k;
    snprintf(k->instance, sizeof(k->instance), "%016llx", (unsigned long long)id);
}

static void *refresher(void *arg)
{
    sto_keeper *k = arg;
    pthread_mutex_lock(&k->mu);
    int64_t last = mono_ns();
    while (!k->stopping) {
        /* re-read each round: the test hook may shorten the interval */
        int64_t next = last + k->refresh_ns;
        if (mono_ns() < next) {
            struct timespec ts = abs_mono(next);
            pthread_cond_timedwait(&k->cv, &k->mu, &ts);
            continue;
        }
        int64_t now = sto_now_ns();
        for (size_t i = 0; i < k->nheld; i++)
            k->ops->refresh(k->be, k->held[i].name, k->held[i].owner, now);
        last = mono_ns();
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

static int hold(sto_keeper *k, const char *name, const char *owner)
{
    if (k->nheld == k->capheld) {
        size_t cap = k->capheld ? k->capheld * 2 : 4;
        sto_held *h = realloc(k->held, cap * sizeof(*h));
        if (!h)
            return CC_ENOMEM;
        k->held = h;
        k->capheld = cap;
    }
    sto_held h = {strdup(name), strdup(owner)};
    if (!h.name || !h.owner) {
        free(h.name);
        free(h.owner);
        return CC_ENOMEM;
    }
    k->held[k->nheld++] = h;
    if (!k->running && pthread_create(&k->thr, NULL, refresher, k) == 0)
        k->running = true;
    return CC_OK;
}

int sto_keeper_lock(sto_keeper *k, const char *name, int64_t timeout_ns, cc_err *err)
{
    if (!name || !*name)
        return sto_fail(err, CC_EINVAL, "storage: lock name is empty");
    char owner[80];
    snprintf(owner, sizeof(owner), "%s-%ld-%ld", k->instance, (long)getpid(),
             (long)syscall(SYS_gettid));
    int64_t start = mono_ns();
    int64_t deadline = timeout_ns == 0 ? INT64_MAX : timeout_ns < 0 ? start : start + timeout_ns;
    pthread_mutex_lock(&k->mu);
    for (;;) {
        int rc = k->ops->try_lock(k->be, name, owner, sto_now_ns(), k->stale_ns, err);
        if (rc == 1) {
            rc = hold(k, name, owner);
            if (rc != CC_OK) {
                k->ops->release(k->be, name, owner, NULL);
                sto_fail(err, rc, "storage: out of memory taking lock '%s'", name);
            }
            pthread_mutex_unlock(&k->mu);
            return rc;
        }
        if (rc < 0) {
            pthread_mutex_unlock(&k->mu);
            return rc;
        }
        int64_t now = mono_ns();
        if (now >= deadline) {
            pthread_mutex_unlock(&k->mu);
            return sto_fail(err, CC_ETIMEDOUT, "storage: timed out waiting for lock '%s'", name);
        }
        int64_t wake = now + k->poll_ns;
        struct timespec ts = abs_mono(wake < deadline ? wake : deadline);
        pthread_cond_timedwait(&k->cv, &k->mu, &ts);
    }
}

int sto_keeper_unlock(sto_keeper *k, const char *name, cc_err *err)
{
    if (!name || !*name)
        return sto_fail(err, CC_EINVAL, "storage: lock name is empty");
    pthread_mutex_lock(&k->mu);
    size_t i = 0;
    while (i < k->nheld && strcmp(k->held[i].name, name) != 0)
        i++;
    if (i == k->nheld) {
        pthread_mutex_unlock(&k->mu);
        return sto_fail(err, CC_ENOTFOUND, "storage: lock '%s' is not held", name);
    }
    sto_held h = k->held[i];
    k->held[i] = k->held[--k->nheld];
    int rc = k->ops->release(k->be, h.name, h.owner, err);
    free(h.name);
    free(h.owner);
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
    return rc;
}

void sto_keeper_fini(sto_keeper *k)
{
    pthread_mutex_lock(&k->mu);
    k->stopping = true;
    for (size_t i = 0; i < k->nheld; i++) {
        k->ops->release(k->be, k->held[i].name, k->held[i].owner, NULL);
        free(k->held[i].name);
        free(k->held[i].owner);
    }
    free(k->held);
    k->held = NULL;
    k->nheld = k->capheld = 0;
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
    if (k->running)
        pthread_join(k->thr, NULL);
    pthread_cond_destroy(&k->cv);
    pthread_mutex_destroy(&k->mu);
}

int cc_storage_set_lock_timing(cc_storage *s, int64_t refresh_ns, int64_t stale_ns, int64_t poll_ns)
{
    static const char *const ours[] = {"sqlite", "file_system", "memory"};
    bool known = false;
    for (size_t i = 0; s && i < sizeof(ours) / sizeof(*ours); i++)
        known |= strcmp(s->ops->name, ours[i]) == 0;
    if (!known || refresh_ns <= 0 || stale_ns <= 0 || poll_ns <= 0)
        return CC_EINVAL;
    sto_keeper *k = &((sto_base *)s)->keep;
    pthread_mutex_lock(&k->mu);
    k->refresh_ns = refresh_ns;
    k->stale_ns = stale_ns;
    k->poll_ns = poll_ns;
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
    return CC_OK;
}
