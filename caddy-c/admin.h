/* SPDX-License-Identifier: Apache-2.0
 * The admin endpoint (default localhost:2019, config key "admin"): a small
 * libmicrohttpd daemon with its own threads, off the hot path, serving POST /load,
 * POST /adapt, GET/POST/PUT/PATCH/DELETE /config/[path], POST /stop, with Caddy's
 * Host/Origin checks against DNS rebinding. Also the client side that `reload` and
 * `stop` use to talk to a running instance. */
#ifndef CC_ADMIN_H
#define CC_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/cfg.h"
#include "../core/err.h"

struct cc_app;
typedef struct cc_admin cc_admin;

/** A parsed admin address ("localhost:2019", "tcp4/:2019", "unix//run/caddy.sock"). */
typedef struct cc_admin_netaddr {
    char network[8]; /* "tcp", "tcp4", "tcp6" or "unix" */
    char host[256];  /* host ("" = every interface) or the unix socket path */
    int port;
} cc_admin_netaddr;

/** Parses an admin address, with Caddy's ParseNetworkAddress messages. */
int cc_admin_parse_addr(const char *addr, cc_admin_netaddr *out, cc_err *err);

/** Caddy's DefaultAdminListen: $CADDY_ADMIN when set, else "localhost:2019". */
const char *cc_admin_default_listen(void);

/** Prepares the endpoint that config's "admin" object asks for. *next is NULL when the
 * endpoint is disabled, cur when cur already listens on that address (the new settings
 * wait for cc_admin_commit), or a newly bound and started endpoint. Errors (bad address,
 * bind failure) leave cur untouched. */
int cc_admin_prepare(struct cc_app *app, cc_admin *cur, const cc_cfg *config, cc_admin **next,
                     cc_err *err);
/** The load succeeded: cur takes its new settings when next == cur. */
void cc_admin_commit(cc_admin *cur, cc_admin *next);
/** The load failed: cur forgets the settings waiting for commit (a newly started next
 * is the caller's to stop). */
void cc_admin_abort(cc_admin *cur, cc_admin *next);
/** Lets requests in progress finish (5 s at most), stops the daemon (waiting for its
 * threads) and frees a. Never from an admin thread, nor while holding a lock that admin
 * requests take. */
void cc_admin_stop(cc_admin *a);
/** The address it listens on, as configured. */
const char *cc_admin_addr(const cc_admin *a);

/* ---- client ---- */

/** Sends one request to the admin endpoint at addr ("host:port", "unix//path", ...),
 * as Caddy's AdminAPIRequest: Origin set for TCP, Content-Type application/json when
 * there is a body, extra headers ("Name: value") added. A transport failure or a status
 * >= 400 gives CC_ERR with Caddy's message texts. */
int cc_admin_request(const char *addr, const char *method, const char *uri,
                     const char *const *headers, size_t nheaders, const char *body, size_t len,
                     cc_err *err);

#endif
