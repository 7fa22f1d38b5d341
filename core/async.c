/* SPDX-License-Identifier: Apache-2.0
 * Asynchronous handlers (see async.h): saved continuations, and a small shared pool of
 * threads for CPU-heavy work such as bcrypt, whose results are posted back to the
 * request's worker thread by the engine. */
#include "async.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

cc_next *cc_next_save(cc_req *r, const cc_next *next)
{
    if (!next)
        return NULL;
    cc_next *c = cc_arena_alloc(r->arena, sizeof(*c));
    *c = *next;
    c->outer = cc_next_save(r, next->outer);
    return c;
}

typedef struct job {
    cc_req *r;
    cc_offload_fn work;
    cc_offload_done_fn done;
    void *arg;
} job;

/* Bounded so that a flood of expensive requests queues up to a limit and then fails
 * fast (503) instead of growing memory without end. */
#define QUEUE_CAP 4096

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job q[QUEUE_CAP];
    size_t head, n;
    pthread_t *threads;
    int nthreads;
    bool stopping;
    cc_post_fn post;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

void cc_async_set_poster(cc_post_fn post)
{
    pthread_mutex_lock(&pool.mu);
    pool.post = post;
    pthread_mutex_unlock(&pool.mu);
}

static void *pool_main(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&pool.mu);
    for (;;) {
        while (pool.n == 0 && !pool.stopping)
            pthread_cond_wait(&pool.cv, &pool.mu);
        if (pool.n == 0 && pool.stopping)
            break;
        job j = pool.q[pool.head];
        pool.head = (pool.head + 1) % QUEUE_CAP;
        pool.n--;
        cc_post_fn post = pool.post;
        pthread_mutex_unlock(&pool.mu);
        j.work(j.arg);
        post(j.r, j.done, j.arg);
        pthread_mutex_lock(&pool.mu);
    }
    pthread_mutex_unlock(&pool.mu);
    return NULL;
}

void cc_async_pool_start(int n)
{
    pthread_mutex_lock(&pool.mu);
    if (pool.threads) {
        pthread_mutex_unlock(&pool.mu);
        return;
    }
    if (n <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)c : 2;
    }
    pool.stopping = false;
    pool.threads = cc_xcalloc((size_t)n, sizeof(pthread_t));
    for (int i = 0; i < n; i++)
        if (pthread_create(&pool.threads[pool.nthreads], NULL, pool_main, NULL) == 0)
            pool.nthreads++;
    pthread_mutex_unlock(&pool.mu);
}

void cc_async_pool_stop(void)
{
    pthread_mutex_lock(&pool.mu);
    if (!pool.threads) {
        pthread_mutex_unlock(&pool.mu);
        return;
    }
    pool.stopping = true;
    pthread_cond_broadcast(&pool.cv);
    pthread_t *t = pool.threads;
    int n = pool.nthreads;
    pool.threads = NULL;
    pool.nthreads = 0;
    pthread_mutex_unlock(&pool.mu);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    free(t);
}

int cc_req_offload(cc_req *r, cc_offload_fn work, cc_offload_done_fn done, void *arg)
{
    pthread_mutex_lock(&pool.mu);
    if (!pool.post || !pool.threads || pool.stopping) {
        pthread_mutex_unlock(&pool.mu);
        return CC_ERR;
    }
    if (pool.n == QUEUE_CAP) {
        pthread_mutex_unlock(&pool.mu);
        return CC_EAGAIN;
    }
    pool.q[(pool.head + pool.n) % QUEUE_CAP] = (job){r, work, done, arg};
    pool.n++;
    pthread_cond_signal(&pool.cv);
    pthread_mutex_unlock(&pool.mu);
    return CC_OK;
}
