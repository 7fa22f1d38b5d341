/* SPDX-License-Identifier: Apache-2.0
 * The TLS front, engine-private (engine-notes.md 3.2): a server's connection policies
 * compiled for wolfSSL (tls_policy.c), the wolfSSL contexts built from them and the
 * handshake callbacks that pick a certificate by SNI and answer ALPN (tls_ctx.c),
 * session-ticket keys (tls_ticket.c), the per-worker accept loop and its hooks into the
 * engine (tls_listen.c), and the pump that carries each connection's bytes between the
 * client's TCP socket and a socketpair to the listener's MHD daemon (tls_conn.c). */
#ifndef CC_ENGINE_TLS_H
#define CC_ENGINE_TLS_H

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "../certmagic/certmagic.h"
#include "../core/loop.h"
#include "../core/server.h"
#include "tls_hooks.h"

struct eng_wl;
struct eng_conn;
struct eng_req;

/* Client authentication modes (Go's tls.ClientAuthType). */
typedef enum {
    ENG_CA_NONE,
    ENG_CA_REQUEST,
    ENG_CA_REQUIRE,
    ENG_CA_VERIFY_IF_GIVEN,
    ENG_CA_REQUIRE_AND_VERIFY
} eng_ca_mode;

/* A trust anchor source of a client_auth trust pool, loaded into every context. */
typedef struct eng_trust {
    int kind; /* 0 = PEM buffer, 1 = DER buffer, 2 = the system store */
    unsigned char *data;
    size_t len;
} eng_trust;

/* One (policy, certificate) context, built on first use. */
typedef struct eng_tls_ctxent {
    uint64_t id;
    cc_cert *cert;
    WOLFSSL_CTX *ctx;
    struct eng_tls_ctxent *next;
} eng_tls_ctxent;

typedef struct eng_tls_pol {
    char **sni; /* match.sni, lower-case; nsni 0 = any ClientHello */
    size_t nsni;
    bool has_match; /* "match" holds matchers other than sni: never matches (refused) */
    int vmin, vmax; /* TLS1_2_VERSION / TLS1_3_VERSION */
    char *ciphers;  /* wolfSSL cipher list (TLS 1.3 suites, then the TLS 1.2 ones) */
    int groups[8];
    int ngroups;
    eng_ca_mode ca_mode;
    eng_trust *trust;
    size_t ntrust;
    unsigned char **leaves; /* pinned client leaf certificates (DER) */
    size_t *leaf_len;
    size_t nleaves;
    bool h1; /* ALPN http/1.1 offered */
    char *default_sni, *fallback_sni;
    bool drop;
    pthread_mutex_t mu; /* guards ctxs and gen */
    eng_tls_ctxent **ctxs;
    size_t nbuckets, nctxs;
    uint64_t gen;
} eng_tls_pol;

/* The compiled tls_connection_policies of one server (immutable but for the context
 * caches); shared by its listeners on every worker and by live connections. */
typedef struct eng_tls_cfg {
    atomic_int refs;
    const char *server; /* name, for logs */
    eng_tls_pol *pols;
    size_t npols;
    int vmin, vmax;    /* the union over policies: what a ClientHello may negotiate */
    WOLFSSL_CTX *base; /* no certificate: wolfSSL_new() takes it, SNI switches away */
    bool strict_sni;
    int64_t hs_timeout; /* ns; 0 = none */
} eng_tls_cfg;

/* tls_policy.c (main thread builds; eng_tls_cfg_build is in tls_hooks.h) */
void eng_tls_cfg_ref(eng_tls_cfg *c);
/* The first policy whose matchers accept sni ("" = none sent), or NULL. */
eng_tls_pol *eng_tls_pol_match(eng_tls_cfg *c, const char *sni);

/* tls_ctx.c */
/* Applies settings common to every context (versions, ALPN, SNI and ticket callbacks,
 * hardening); false on failure. */
bool eng_tls_ctx_setup(WOLFSSL_CTX *ctx, eng_tls_cfg *cfg, eng_tls_pol *p);
/* Loads p's trust pool into ctx; CC_ERR with err on bad anchors. */
int eng_tls_trust_load(WOLFSSL_CTX *ctx, const eng_tls_pol *p, cc_err *err);
void eng_tls_pol_free_ctxs(eng_tls_pol *p);
/* The policy's per-connection settings: suites, client authentication, and (before
 * the handshake starts only) key-exchange groups. */
void eng_tls_apply_policy(WOLFSSL *ssl, const eng_tls_pol *p, bool groups);

/* tls_ticket.c */
int eng_tls_ticket_cb(WOLFSSL *ssl, unsigned char key_name[WOLFSSL_TICKET_NAME_SZ],
                      unsigned char iv[WOLFSSL_TICKET_IV_SZ],
                      unsigned char mac[WOLFSSL_TICKET_MAC_SZ], int enc, unsigned char *ticket,
                      int in_len, int *out_len, void *ctx);

/* One TLS listener of one worker. */
typedef struct eng_tls_conn eng_tls_conn;
typedef struct eng_tls_wl {
    struct eng_wl *wl;
    int lfd;
    cc_loop *loop;
    cc_loop_io *lio;
    cc_loop_timer *pause; /* accept paused after EMFILE */
    eng_tls_cfg *cfg;     /* of the server the listener serves now */
    eng_tls_conn *conns;
    size_t nconns;
    eng_tls_conn *adding; /* during MHD_add_connection: whose pair MHD is taking */
    bool draining;
} eng_tls_wl;

/* tls_conn.c */
void eng_tls_accepted(eng_tls_wl *tl, int fd);
void eng_tls_conn_close_all(eng_tls_wl *tl);
/* Closes tc now (or at the end of the callback running for it). */
void eng_tls_conn_destroy(eng_tls_conn *tc);
/* The facts conn_started copies: SNI, version, cipher, ALPN, local address. */
void eng_tls_conn_info(eng_tls_conn *tc, struct eng_conn *c);
eng_tls_conn *eng_tls_conn_next(const eng_tls_conn *tc);

#endif
