/* SPDX-License-Identifier: Apache-2.0
 * The publishing side of the challenge table (certmagic/challenge.c): the ACME client
 * puts a pending http-01 key authorization or tls-alpn-01 certificate here before it
 * tells the CA to validate, and takes it away when the authorization is settled. The
 * engine reads the table through certmagic.h (cc_challenge_http01/alpn01). */
#ifndef CC_CERTMAGIC_ACME_CHALLENGE_H
#define CC_CERTMAGIC_ACME_CHALLENGE_H

#include "certmagic.h"

/** Publishes an http-01 answer: GET /.well-known/acme-challenge/<token> on host
 * identifier gets key_auth. CC_OK, or CC_ENOMEM. */
int cc_challenge_put_http01(const char *identifier, const char *token, const char *key_auth);
void cc_challenge_del_http01(const char *identifier, const char *token);
/** Publishes the tls-alpn-01 certificate for identifier (a DNS name or an IP; the
 * table takes a reference). The newest one for an identifier answers. */
int cc_challenge_put_alpn01(const char *identifier, cc_cert *c);
void cc_challenge_del_alpn01(const char *identifier, cc_cert *c);
/** A cc_cert (refs = 1) of a tls-alpn-01 certificate and key for identifier, built
 * without cc_cert_from_pem, whose wolfSSL parser refuses the critical acmeIdentifier
 * extension. NULL on bad input or OOM. */
cc_cert *cc_challenge_cert(const char *identifier, const char *cert_pem, const char *key_pem,
                           time_t not_before, time_t not_after);
/** Number of pending challenges (tests, diagnostics). */
size_t cc_challenge_count(void);

#endif
