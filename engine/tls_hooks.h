/* SPDX-License-Identifier: Apache-2.0
 * The few calls the rest of the engine makes into the TLS front, without wolfSSL
 * types, so that files built around libmicrohttpd need not include wolfSSL (whose
 * options.h must come first). */
#ifndef CC_ENGINE_TLS_HOOKS_H
#define CC_ENGINE_TLS_HOOKS_H

#include <stdbool.h>
#include <sys/types.h>

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
/* MHD is about to close c's socket (NOTIFY_CONNECTION CLOSED): the front takes over the
 * orderly TLS close (tls_conn.c). No-op for plain connections. */
void eng_tls_conn_closed(struct eng_wl *wl, struct eng_conn *c);
/* MHD hands over an upgraded socket: the fd the handler must use (a socketpair end the
 * front pumps, for TLS; fd itself otherwise), or -1 on failure. */
int eng_tls_upgrade_fd(struct eng_wl *wl, int fd);
/* The interposers' table (tls_direct.c), set up with the engine. */
int eng_tls_direct_init(void);
/* For the recv interposer: *mine when fd is a TLS socket MHD serves directly; then the
 * plaintext read (or -1 with errno) is returned. */
ssize_t eng_tls_direct_recv_fd(int fd, void *buf, size_t len, bool *mine);
/* For a hang-up seen on a suspended connection: 1 when fd is a direct TLS socket with
 * request bytes still to read, 0 when it has none (only close_notify, or EOF), -1 when
 * fd is not one (peek at the socket instead). */
int eng_tls_direct_peek(int fd);

/* Before routing: the ACME http-01 answer on plain listeners, strict_sni_host on TLS
 * ones. true when q's response has been set and the routes must not run. */
bool eng_answer_early(struct eng_req *q);
bool eng_acme_http01(struct eng_req *q);

#endif
