/* SPDX-License-Identifier: Apache-2.0
 * IP addresses and CIDR prefixes for matchers (remote_ip, client_ip), trusted proxies
 * and {remote.host/<bits>} placeholders: parsed once at provision into fixed-size
 * values, compared per request without allocation. */
#ifndef CC_IPNET_H
#define CC_IPNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cc_ip {
    uint8_t b[16]; /* IPv4 in the first 4 bytes */
    bool v6;
} cc_ip;

typedef struct cc_ipnet {
    cc_ip ip; /* masked */
    int bits;
} cc_ipnet;

/** Parses a textual IPv4 or IPv6 address (a "%zone" suffix is ignored). */
bool cc_ip_parse(const char *s, cc_ip *out);
/** Parses "a.b.c.d/n", "v6/n", or a plain address (full-length prefix). */
bool cc_ipnet_parse(const char *s, cc_ipnet *out);
bool cc_ipnet_contains(const cc_ipnet *n, const cc_ip *ip);
/** Masks ip to bits. */
void cc_ip_mask(cc_ip *ip, int bits);
/** Canonical text of ip into buf (at least 46 bytes). */
const char *cc_ip_format(const cc_ip *ip, char *buf, size_t cap);

/* Caddy's private_ranges shorthand (IPv4 and IPv6 private, loopback, ULA). */
extern const char *const cc_private_ranges[];
extern const size_t cc_nprivate_ranges;

#endif
