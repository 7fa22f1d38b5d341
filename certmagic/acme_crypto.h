/* SPDX-License-Identifier: Apache-2.0
 * The cryptography the ACME client needs, on wolfSSL (keys come from certmagic/crypto.h):
 * base64url, JWK and its RFC 7638 thumbprint,
 * flattened JWS (RFC 7515/8555), the HS256 external account binding, CSRs with DNS and
 * IP SANs, and the tls-alpn-01 certificate (RFC 8737) whose acmeIdentifier extension is
 * spliced into the TBS because wolfSSL has no API for custom extensions. */
#ifndef CC_CERTMAGIC_ACME_CRYPTO_H
#define CC_CERTMAGIC_ACME_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/err.h"

struct cc_key; /* certmagic/crypto.h */

/** The JWS "alg" for this key as an account key ("ES256", "ES384", "RS256"), or NULL
 * when the key cannot sign JWS for ACME (Ed25519: RFC 8555 CAs do not take EdDSA). */
const char *cc_acme_key_alg(const struct cc_key *k);

/** base64url without padding of data[0..n), malloc'd (NULL only on OOM). */
char *cc_acme_b64url(const void *data, size_t n);
/** Decodes base64url (padding optional) into a malloc'd buffer; CC_OK or CC_ERR. */
int cc_acme_b64url_decode(const char *s, unsigned char **out, size_t *n);

/** The public JWK of k with members in lexicographic order (RFC 7638's input), as
 * compact JSON text, malloc'd. */
char *cc_acme_jwk(const struct cc_key *k, cc_err *err);
/** base64url(SHA-256(JWK)): the thumbprint of the key authorization, malloc'd. */
char *cc_acme_thumbprint(const struct cc_key *k, cc_err *err);

/** A flattened JSON JWS for an ACME POST: protected {alg, jwk (kid NULL) or kid, nonce,
 * url}, payload (""=POST-as-GET), malloc'd JSON text. */
char *cc_acme_jws(const struct cc_key *k, const char *kid, const char *nonce, const char *url,
                  const char *payload, cc_err *err);
/** The externalAccountBinding object (RFC 8555 7.3.4) binding account key acct to the
 * CA's key id with the base64url HMAC key, as JSON text for newAccount, malloc'd. */
char *cc_acme_eab(const struct cc_key *acct, const char *key_id, const char *mac_key_b64,
                  const char *url, cc_err *err);

/** A DER CSR signed by k listing names (DNS names, or IP addresses as iPAddress SANs);
 * CN is the first name when it fits. *der malloc'd. */
int cc_acme_csr(const struct cc_key *k, const char *const *names, size_t n, unsigned char **der,
                size_t *der_len, cc_err *err);

/** The tls-alpn-01 certificate for identifier (a DNS name or an IP): self-signed P-256,
 * one SAN, and the critical acmeIdentifier extension = SHA-256(key_auth). PEM chain and
 * key, malloc'd. */
int cc_acme_alpn_cert(const char *identifier, const char *key_auth, char **cert_pem, char **key_pem,
                      cc_err *err);

/** True when s is an IPv4 or IPv6 literal (IPv6 may be in brackets). */
bool cc_acme_is_ip(const char *s);

/** The ARI certificate identifier of a PEM leaf: base64url(AKI keyIdentifier) "."
 * base64url(serial DER content), malloc'd. */
char *cc_acme_ari_cert_id(const char *cert_pem, size_t n, cc_err *err);

#endif
