/* SPDX-License-Identifier: Apache-2.0
 * A provisioned HTTP server (one apps.http.servers entry) and the loaded runtime
 * config that holds them. The engine maps each listener to a cc_server and calls
 * cc_server_handle() for every request; a reload provisions a complete new cc_runtime
 * and swaps one pointer, and the old one is freed when its last request finishes. */
#ifndef CC_SERVER_H
#define CC_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cfg.h"
#include "err.h"
#include "handler.h"
#include "http.h"

struct cc_logsys;

typedef struct cc_listen_addr {
    const char *host; /* "" = all interfaces */
    int port;
    const char *text; /* as written in "listen" */
} cc_listen_addr;

typedef struct cc_server {
    const char *name; /* "srv0" */
    cc_listen_addr *listen;
    size_t nlisten;
    cc_routes routes;
    cc_routes errors; /* handle_errors routes; n == 0 when none */
    bool tls;         /* listens for TLS (HTTPS sites): needs the TLS front */
    /* Limits (0 = engine default). Durations in ns. */
    int64_t read_header_timeout, read_body_timeout, write_timeout, idle_timeout;
    int64_t max_header_bytes;
    const cc_cfg *logs; /* the server's "logs" object, NULL = no access log */
    const cc_cfg *json; /* the whole server object */
    const void *priv;   /* core-private state (trusted proxies); NULL is fine */
} cc_server;

typedef struct cc_runtime {
    cc_arena *arena; /* owns config, servers and handlers */
    cc_cfg *config;  /* the JSON tree this was built from */
    cc_server *servers;
    size_t nservers;
    cc_prov prov;
    struct cc_logsys *logs; /* access/runtime log writers, NULL = defaults */
    int64_t grace_period;   /* ns, 0 = wait for in-flight requests without limit */
    atomic_int refs;
} cc_runtime;

/** Provisions every server of config (apps.http.servers). Takes ownership of arena (it
 * must own config). Returns NULL with err set on failure (arena freed). */
cc_runtime *cc_runtime_load(cc_arena *arena, cc_cfg *config, cc_err *err);
/** The same, with the storage handlers may use (cc_prov.storage; borrowed: it must
 * outlive the runtime). */
struct cc_storage;
cc_runtime *cc_runtime_load_with(cc_arena *arena, cc_cfg *config, struct cc_storage *storage,
                                 cc_err *err);
void cc_runtime_ref(cc_runtime *rt);
/** Drops a reference; the last one runs handler cleanups and frees the arena. */
void cc_runtime_unref(cc_runtime *rt);

/** Runs the server's routes for r; on an error runs its errors routes (with {err.*}),
 * and falls back to the bare status with an empty body; when nothing answered, 200 with
 * an empty body (Caddy's default). On return r->resp is ready to be written (filters
 * not yet run: the engine runs them at commit). */
void cc_server_handle(const cc_server *s, cc_req *r);

/** Runs r's response filters (innermost first) once; on a filter error the response
 * becomes a bare 500. The engine calls this right before writing the head. */
void cc_resp_commit(cc_req *r);

#endif
