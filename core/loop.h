/* SPDX-License-Identifier: Apache-2.0
 * The worker's event loop, as handlers see it. Each engine worker runs one epoll loop;
 * a handler that talks to the network (reverse_proxy's libcurl multi, a WebSocket
 * splice) registers its file descriptors and timers on the loop of the worker its
 * request runs on, so that everything for a request stays on one thread (architecture.md
 * "data flow"). The engine implements this (engine/loop.c); nothing here is locked and
 * every function must be called on the loop's own thread.
 *
 * Per-loop state (one libcurl multi handle per worker) hangs off a slot: a handler
 * module reserves a key once (cc_loop_slot_key) and keeps its per-worker object in
 * cc_loop_slot(l, key), with a destructor the loop runs when the worker exits. */
#ifndef CC_LOOP_H
#define CC_LOOP_H

#include <stdbool.h>
#include <stdint.h>

typedef struct cc_loop cc_loop;

/** The loop of the calling thread: non-NULL on an engine worker thread (inside a
 * handler, a body callback, or a loop callback), NULL elsewhere (tests that run handlers
 * directly, the admin thread, pool threads). Handlers that need a loop fail the request
 * with 500 when there is none. */
cc_loop *cc_loop_current(void);

/** CLOCK_MONOTONIC in ns as of the start of the current loop turn (cheap). */
uint64_t cc_loop_now(cc_loop *l);

/* ---- file descriptors (level-triggered) ---- */

enum { CC_LOOP_IN = 1, CC_LOOP_OUT = 2 };
/* events passed to the callback: CC_LOOP_IN / CC_LOOP_OUT, plus CC_LOOP_ERR on
 * EPOLLERR/EPOLLHUP (the callback should then read/write to learn the error) */
enum { CC_LOOP_ERR = 4 };

typedef struct cc_loop_io cc_loop_io;
typedef void (*cc_loop_io_fn)(cc_loop_io *io, int fd, unsigned events, void *ctx);

/** Watches fd for events (CC_LOOP_IN|CC_LOOP_OUT, may be 0 to keep it registered but
 * quiet: a quiet watch is kept out of epoll, so it reports nothing, not even errors).
 * Returns a handle, or NULL with errno set. The loop does not own fd. Several watches
 * on one fd are allowed (the engine registers a duplicate descriptor for the others). */
cc_loop_io *cc_loop_io_add(cc_loop *l, int fd, unsigned events, cc_loop_io_fn fn, void *ctx);
/** Changes the watched events (no syscall when they are unchanged). */
int cc_loop_io_mod(cc_loop_io *io, unsigned events);
/** Stops watching and releases the handle; safe inside its own callback and while other
 * events of the same epoll batch are pending (those are dropped). Call it before
 * closing fd. NULL is ok. */
void cc_loop_io_del(cc_loop_io *io);

/* ---- one-shot timers ---- */

typedef struct cc_loop_timer cc_loop_timer;
typedef void (*cc_loop_timer_fn)(cc_loop_timer *t, void *ctx);

/** A timer handle (not armed). Freed by cc_loop_timer_free. */
cc_loop_timer *cc_loop_timer_new(cc_loop *l, cc_loop_timer_fn fn, void *ctx);
/** Arms (or re-arms) t to fire once, delay_ns from now (0 = on the next loop turn: a
 * timer armed during a turn never fires in that turn). Timers due together fire in the
 * order they were armed. */
void cc_loop_timer_start(cc_loop_timer *t, uint64_t delay_ns);
void cc_loop_timer_stop(cc_loop_timer *t);
/** Stops and frees; safe inside its own callback. NULL is ok. */
void cc_loop_timer_free(cc_loop_timer *t);

/* ---- deferred calls: run fn(ctx) on this loop after the current callback returns
 * (before the next epoll_wait), in the order queued. Used to leave a callback stack
 * before re-entering a library (for instance curl_multi_socket_action from inside a
 * curl callback). A loop turn: epoll_wait, fd callbacks, defers, MHD (handlers and
 * body callbacks), defers, timers, defers. ---- */
void cc_loop_defer(cc_loop *l, void (*fn)(void *ctx), void *ctx);

/* ---- per-loop slots ---- */

/** A process-wide key for cc_loop_slot (call once, e.g. from a module constructor or
 * under pthread_once). At most 16 keys. */
int cc_loop_slot_key(void);
/** The slot's value on l (NULL until set). */
void *cc_loop_slot(cc_loop *l, int key);
/** Sets the slot; dtor(value) runs on the loop's thread when the worker exits (after
 * every connection is closed). */
void cc_loop_slot_set(cc_loop *l, int key, void *value, void (*dtor)(void *value));

#endif
