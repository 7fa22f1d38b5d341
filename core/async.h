/* SPDX-License-Identifier: Apache-2.0
 * Handlers that finish later. A worker thread must never block, so a handler with slow
 * work (a bcrypt check, an upstream round trip) saves its continuation, starts the work
 * and returns CC_ASYNC; everything up the chain returns at once. When the work is done,
 * the handler continues the chain on the request's worker thread and reports the result
 * with cc_req_resume(); the server then finishes the request (error routes, defaults)
 * and the engine writes the response.
 *
 *     static void done(cc_req *r, void *arg) {           // on the worker thread
 *         job *j = arg;
 *         int rc = j->ok ? cc_next_run(j->next, r) : cc_req_fail(r, 401, "...");
 *         cc_req_resume(r, rc);
 *     }
 *     ... in handle():
 *         j->next = cc_next_save(r, next);
 *         if (cc_req_offload(r, work, done, j) != CC_OK) return cc_req_fail(r, 503, ...);
 *         return CC_ASYNC;
 *
 * Middleware that would work after cc_next_run() returns must pass CC_ASYNC up
 * unchanged (which the usual `return cc_next_run(next, r);` does). */
#ifndef CC_ASYNC_H
#define CC_ASYNC_H

#include "handler.h"
#include "http.h"

/* Returned by handle() (and passed up by middleware): the handler finishes later. */
#define CC_ASYNC 1

/** Copies the continuation next (and the chains it continues into) into r's arena, so
 * it can be run after handle() has returned. */
cc_next *cc_next_save(cc_req *r, const cc_next *next);

/** Reports that the asynchronous part of r's chain ended with rc (CC_OK, CC_ERR or
 * CC_ASYNC again). Must run on r's worker thread. */
void cc_req_resume(cc_req *r, int rc);

/* Offloading CPU-heavy work to a small shared thread pool. work(arg) runs on a pool
 * thread (it must not touch r); done(r, arg) then runs on r's worker thread. */
typedef void (*cc_offload_fn)(void *arg);
typedef void (*cc_offload_done_fn)(cc_req *r, void *arg);
/** CC_OK when queued; CC_EAGAIN when the queue is full (answer 503); CC_ERR when there
 * is no pool (no engine running, e.g. handlers driven directly by tests). At most one
 * offload may be in flight per request. */
int cc_req_offload(cc_req *r, cc_offload_fn work, cc_offload_done_fn done, void *arg);

/* The engine installs how to run a function on a request's worker thread (from any
 * thread, e.g. push to the worker's queue and wake its epoll loop). */
typedef void (*cc_post_fn)(cc_req *r, cc_offload_done_fn fn, void *arg);
void cc_async_set_poster(cc_post_fn post);
/** Starts the pool (n threads, 0 = number of CPUs); idempotent. Stop with
 * cc_async_pool_stop() at exit (joins the threads after the queued work ran). */
void cc_async_pool_start(int n);
void cc_async_pool_stop(void);

#endif
