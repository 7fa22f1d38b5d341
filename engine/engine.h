/* SPDX-License-Identifier: Apache-2.0
 * The HTTP engine: one worker thread per core, each with its own epoll loop,
 * SO_REUSEPORT listeners and libmicrohttpd daemons in external-epoll mode
 * (engine-notes.md 3.1, 3.3). It validates framing before anything runs, turns each
 * request into a cc_req, calls cc_server_handle() and writes the cc_resp. Requests
 * never block a worker. */
#ifndef CC_ENGINE_H
#define CC_ENGINE_H

#include <stdint.h>

#include "../core/err.h"
#include "../core/server.h"

typedef struct cc_engine cc_engine;

typedef struct cc_engine_opts {
    int workers; /* 0 = one per online CPU */
} cc_engine_opts;

/** Opens every listener of rt's servers and starts the workers (takes a reference on
 * rt). NULL with err set when a listener cannot be opened or a server's TLS connection
 * policies are invalid. */
cc_engine *cc_engine_start(cc_runtime *rt, const cc_engine_opts *opts, cc_err *err);
/** Switches to rt (takes a reference): new requests use it, in-flight ones finish on
 * the old one; listeners are opened/closed to match. On failure (a new listener cannot
 * be bound) nothing changes and CC_ERR is returned. Not thread-safe against itself. */
int cc_engine_swap(cc_engine *e, cc_runtime *rt, cc_err *err);
/** Graceful stop: stops accepting, lets in-flight requests finish for up to grace_ns
 * (0 = no limit), closes everything, joins the workers, frees e. */
void cc_engine_stop(cc_engine *e, int64_t grace_ns);

#endif
