/* SPDX-License-Identifier: Apache-2.0
 * certmagic: every certificate a TLS listener serves, and the machinery that gets and
 * renews them (architecture.md "Certificates"). Three users see this header:
 *
 *  - the TLS front (engine/tls_*.c) looks certificates up by SNI and answers the
 *    tls-alpn-01 challenge; the engine answers http-01 on plain listeners. Lookups are
 *    thread-safe and cheap (a read lock and a refcount), and never block on issuance.
 *  - the app (caddy-c/app*.c) applies the automatic HTTPS rules to a config before it is
 *    provisioned, and hands the result to the manager after a successful load/swap.
 *  - the manager's own thread (certmagic/manager.c) loads, issues (internal CA or ACME,
 *    certmagic/acme.h) and renews, and publishes certificates into the cache.
 *
 * Certificates and keys are PEM text here; the TLS front builds (and caches, per
 * certificate id) its own wolfSSL contexts from them. */
#ifndef CC_CERTMAGIC_H
#define CC_CERTMAGIC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../core/arena.h"
#include "../core/cfg.h"
#include "../core/err.h"

struct cc_storage;

/* ---- the certificate cache (certmagic/cache.c) ---- */

typedef struct cc_cert {
    atomic_int refs;
    uint64_t id;        /* unique per loaded certificate; a renewal gets a new id */
    const char **names; /* SAN DNS names (lower-case, may start with "*.") and IPs */
    size_t nnames;
    const char *chain_pem; /* leaf first, then intermediates */
    size_t chain_len;
    const char *key_pem; /* the leaf's private key */
    size_t key_len;
    time_t not_before, not_after;
    const char *issuer_key; /* "internal", "acme-<ca host>", "file" */
    bool managed;           /* obtained and renewed by certmagic (false: loaded files) */
} cc_cert;

/** The certificate for a ClientHello's server name: an exact name match, then a
 * wildcard one label deep ("a.example.com" -> "*.example.com"); an IP address matches
 * IP SANs. sni NULL or "" (no SNI) -> the default_sni certificate when configured, else
 * the first IP/loaded certificate that has no DNS name restriction, else NULL. Returns a
 * reference (release with cc_cert_unref) or NULL. Thread-safe. */
cc_cert *cc_certcache_get(const char *sni);
void cc_cert_ref(cc_cert *c);
void cc_cert_unref(cc_cert *c);
/** Incremented every time the cache changes (a certificate added, renewed, removed):
 * the TLS front may use it to drop contexts of certificates no longer cached. */
uint64_t cc_certcache_generation(void);

/* Building and publishing (the manager's side of the cache). */

/** Parses a PEM chain (leaf first) and its PEM private key into a new certificate
 * (refs = 1): names from the leaf's SANs (CN when there are none), validity dates, and a
 * check that the key matches the leaf. NULL with err set on bad input. */
cc_cert *cc_cert_from_pem(const char *chain_pem, size_t chain_len, const char *key_pem,
                          size_t key_len, const char *issuer_key, bool managed, cc_err *err);
/** Adds c (the cache takes a reference) under each of its names, replacing whatever
 * certificate served those names before (an in-place renewal swap: connections that
 * hold the old one keep it until they let go). */
void cc_certcache_put(cc_cert *c);
/** Removes every certificate that serves none of names (a reload dropped them); loaded
 * (unmanaged) certificates are removed when keep_unmanaged is false. */
void cc_certcache_retain(const char *const *names, size_t n, bool keep_unmanaged);
/** Sets the name whose certificate answers ClientHellos without SNI (global
 * default_sni), NULL for none. */
void cc_certcache_set_default_sni(const char *name);
/** Empties the cache (shutdown, tests). */
void cc_certcache_clear(void);

/* ---- challenges answered by the engine (certmagic/challenge.c) ---- */

/** http-01: the key authorization to answer GET /.well-known/acme-challenge/<token>
 * with (200, text/plain), or NULL when no challenge with that token is pending. host is
 * the request's Host without port (challenges are per identifier). Returns malloc'd
 * text (free it). Thread-safe. */
char *cc_challenge_http01(const char *host, const char *token);
/** tls-alpn-01: the challenge certificate for a ClientHello that offered ALPN
 * "acme-tls/1" with this SNI, or NULL. A reference, as cc_certcache_get. */
cc_cert *cc_challenge_alpn01(const char *sni);

/* ---- automatic HTTPS (certmagic/autohttps.c): Caddy's autohttps.go ---- */

typedef struct cc_autohttps cc_autohttps; /* the plan: names and how each is managed */

/** Applies the automatic HTTPS rules of caddy-reference.md section 5 to config (the
 * apps.http servers and apps.tls automation policies): which hosts get ACME
 * certificates, internal ones or none; the HTTP->HTTPS redirect routes (added to a
 * server on http_port, or a new server) unless disabled; the tls_connection_policies a
 * TLS server needs. Modifies config in place (arena a owns it). Returns the plan, or
 * NULL with err set (FILE:LINE of the offending node where there is one). */
cc_autohttps *cc_autohttps_apply(cc_arena *a, cc_cfg *config, cc_err *err);

/* ---- the manager (certmagic/manager.c) ---- */

/** Starts managing what plan says with storage st (borrowed; it must outlive the
 * manager until cc_certmagic_stop): loads certificate files and stored certificates into
 * the cache at once (so a site whose certificate is stored serves HTTPS immediately),
 * then obtains missing ones and renews on a background thread. A second call (a reload)
 * replaces the plan; certificates of names no longer configured leave the cache.
 * Returns CC_OK, or CC_ERR with err (bad certificate files, unusable CA config). plan
 * may be freed with its arena after this returns. */
int cc_certmagic_start(const cc_autohttps *plan, struct cc_storage *st, cc_err *err);
/** Stops the background thread (an issuance in flight is abandoned) and empties the
 * cache. Idempotent. */
void cc_certmagic_stop(void);

#endif
