/* SPDX-License-Identifier: Apache-2.0
 * How a cc_cert is laid out in memory, shared by the parser (cert_pem.c) that builds
 * one and the cache (cache.c) that frees it: every string of a certificate lives in one
 * arena, so the last cc_cert_unref frees it in one go. */
#ifndef CC_CERTMAGIC_CERT_PRIV_H
#define CC_CERTMAGIC_CERT_PRIV_H

#include "certmagic.h"

typedef struct cm_cert_box {
    cc_cert c; /* first: a cc_cert pointer is a box pointer */
    cc_arena *a;
} cm_cert_box;

/** Lower-cases s in place (ASCII only: names are IDNA A-labels or IPs). */
void cm_lower(char *s);
/** Writes the canonical text of an IP address given as text into out (n bytes), for
 * comparing an IP SAN with a lookup key ("::0001" and "::1" are the same address).
 * Returns false when s is not an IP address. */
bool cm_ip_canon(const char *s, char *out, size_t n);

#endif
