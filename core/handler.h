/* SPDX-License-Identifier: Apache-2.0
 * Handlers, routes and the chain (Caddy's MiddlewareHandler and RouteList in C).
 *
 * A handler type is keyed by the JSON "handler" name the adapter emits
 * ("static_response", "file_server", "subroute", ...). provision() turns one JSON object
 * of the config into a ready instance once per config load (arena = config lifetime);
 * handle() runs per request on a worker thread and must not block. A handler either
 * answers (sets r->resp, returns CC_OK without calling next), or calls cc_next_run(next,
 * r) (middleware), or fails with cc_req_fail(). Middleware that must change the response
 * registers a response filter instead of working after next returns, so that a handler
 * that finishes later (reverse_proxy) composes the same way. */
#ifndef CC_HANDLER_H
#define CC_HANDLER_H

#include <stdbool.h>

#include "cfg.h"
#include "err.h"
#include "http.h"

typedef struct cc_handler cc_handler;
typedef struct cc_next cc_next;
typedef struct cc_prov cc_prov;

#define CC_HANDLER_ABI 1

typedef struct cc_handler_type {
    int abi;          /* CC_HANDLER_ABI */
    const char *name; /* JSON "handler" value */
    size_t size;      /* instance size; the core allocates it zeroed, embedding cc_handler
                       * as the first member ("super") */
    /* Reads cfg (this handler's JSON object) into the instance. Errors go to ctx->err,
     * with the config node's FILE:LINE when it has one. */
    int (*provision)(cc_handler *h, const cc_cfg *cfg, cc_prov *ctx);
    int (*handle)(cc_handler *h, cc_req *r, cc_next *next);
    /* Optional: frees what provision made outside the config arena (threads, fds). */
    void (*cleanup)(cc_handler *h);
} cc_handler_type;

struct cc_handler {
    const cc_handler_type *type;
    const cc_cfg *cfg;
};

/** Installs the NULL-terminated table of handler types (handlers/handlers.c). */
void cc_handler_types_set(const cc_handler_type *const *table);
const cc_handler_type *cc_handler_type_find(const char *name);

/* ---- matchers ---- */

typedef struct cc_matchset cc_matchset; /* core/match.h */

/* ---- routes ---- */

typedef struct cc_route {
    cc_matchset **sets; /* OR of sets; none = always */
    size_t nsets;
    cc_handler **handlers;
    size_t nhandlers;
    int group; /* -1 = none; else index into the route list's group names */
    bool terminal;
} cc_route;

typedef struct cc_routes {
    cc_route *v;
    size_t n;
    size_t ngroups; /* groups are per route list */
} cc_routes;

/* What provision gets: the config arena, where errors go, and hooks for handlers that
 * nest routes (subroute) or need server-wide facts. */
struct cc_prov {
    cc_arena *a; /* lives as long as the loaded config */
    cc_err *err;
    const cc_cfg *root; /* the whole config (for invoke / named routes) */
    void *app;          /* caddy-c/app.c state, opaque to handlers */
    cc_handler **all;   /* every provisioned handler, for cleanup */
    size_t nall, capall;
    struct cc_storage *storage; /* the config's storage (core/storage.h); NULL when the
                                 * runtime was loaded without one (validate, tests) */
};

/** Provisions one handler object ({"handler": name, ...}). */
cc_handler *cc_handler_provision(const cc_cfg *cfg, cc_prov *ctx);
/** Provisions a JSON array of routes. */
int cc_routes_provision(cc_routes *out, const cc_cfg *routes, cc_prov *ctx);
/** Runs every provisioned handler's cleanup. */
void cc_prov_cleanup(cc_prov *ctx);

/* The continuation of a chain: the rest of the current route's handlers, then the rest
 * of the route list, then the enclosing chain (for subroutes). Stack-allocated by the
 * runner; handlers only pass it to cc_next_run. */
struct cc_next {
    const cc_routes *routes;
    size_t route;               /* index of the current route */
    size_t handler;             /* next handler within it */
    unsigned char *groups_done; /* per route-list group flags (arena) */
    cc_next *outer;             /* chain to continue when this list is exhausted (NULL: end) */
    bool terminal;              /* current route is terminal: do not continue past it */
};

/** Runs routes against r, continuing with outer when they fall through (outer may be
 * NULL). Returns CC_OK or CC_ERR (r->err set). */
int cc_routes_run(const cc_routes *routes, cc_req *r, cc_next *outer);
/** Continues the chain. */
int cc_next_run(cc_next *next, cc_req *r);

#endif
