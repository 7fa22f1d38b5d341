/* SPDX-License-Identifier: Apache-2.0
 * The few calls the rest of the engine makes into the TLS front, without wolfSSL
 * types, so that files built around libmicrohttpd need not include wolfSSL (whose
 * options.h must come first). */
#ifndef CC_ENGINE_TLS_HOOKS_H
#define CC_ENGINE_TLS_HOOKS_H

#include <stdbool.h>

#include "../core/err.h"
#include "../core/server.h"

/* The low bit of a listener's pool size marks it as TLS (listen.c eng_pool_for);
 * eng_daemon_start strips it. */
#define ENG_POOL_TLS_BIT ((size_t)1)

struct eng_wl;
struct eng_conn;
struct eng_req;
struct eng_tls_wl;
struct eng_tls_cfg;

/* engine.c (main thread): compile a TLS server's policies (errors at load time) */
struct eng_tls_cfg *eng_tls_cfg_build(const cc_server *s, cc_err *err);
void eng_tls_cfg_unref(struct eng_tls_cfg *c);
void eng_tls_register(const cc_server *s, struct eng_tls_cfg *cfg);
void eng_tls_registry_keep(const cc_runtime *rt);
/* A TLS listener's state around its listening socket lfd (taken over). */
struct eng_tls_wl *eng_tls_wl_new(int lfd);

/* worker thread: the listener now serves s (first adoption registers the accept watch
 * on the worker's loop); it is being drained (stop accepting); it is being freed
 * (closes every TLS connection still open) */
void eng_tls_wl_set_server(struct eng_wl *wl, const cc_server *s);
void eng_tls_wl_drain(struct eng_wl *wl);
void eng_tls_wl_free(struct eng_wl *wl);
/* MHD started connection c on TLS listener wl: copy the TLS facts into c->info. */
void eng_tls_conn_started(struct eng_wl *wl, struct eng_conn *c);

/* Before routing: the ACME http-01 answer on plain listeners, strict_sni_host on TLS
 * ones. true when q's response has been set and the routes must not run. */
bool eng_answer_early(struct eng_req *q);
bool eng_acme_http01(struct eng_req *q);

#endif
