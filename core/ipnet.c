/* SPDX-License-Identifier: Apache-2.0
 * IP address and CIDR helpers (core/ipnet.h). IPv4-mapped IPv6 addresses are unmapped,
 * as Go's listeners report them, so a dual-stack socket matches IPv4 ranges. */
#include "ipnet.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

const char *const cc_private_ranges[] = {
    "192.168.0.0/16", "172.16.0.0/12", "10.0.0.0/8", "127.0.0.1/8", "fd00::/8", "::1",
};
const size_t cc_nprivate_ranges = sizeof(cc_private_ranges) / sizeof(cc_private_ranges[0]);

bool cc_ip_parse(const char *s, cc_ip *out)
{
    char buf[64];
    size_t n = 0;
    if (!s)
        return false;
    while (s[n] && s[n] != '%') {
        if (n + 1 >= sizeof(buf))
            return false;
        buf[n] = s[n];
        n++;
    }
    buf[n] = '\0';
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, buf, out->b) == 1)
        return true;
    if (inet_pton(AF_INET6, buf, out->b) != 1)
        return false;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(out->b, mapped, 12) == 0) {
        memmove(out->b, out->b + 12, 4);
        memset(out->b + 4, 0, 12);
        return true;
    }
    out->v6 = true;
    return true;
}

void cc_ip_mask(cc_ip *ip, int bits)
{
    int total = ip->v6 ? 128 : 32;
    if (bits < 0)
        bits = 0;
    for (int i = 0; i < total / 8; i++) {
        int keep = bits - i * 8;
        if (keep >= 8)
            continue;
        ip->b[i] &= keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
    }
}

bool cc_ipnet_parse(const char *s, cc_ipnet *out)
{
    const char *slash = s ? strchr(s, '/') : NULL;
    if (!slash) {
        if (!cc_ip_parse(s, &out->ip))
            return false;
        out->bits = out->ip.v6 ? 128 : 32;
        return true;
    }
    char buf[64];
    size_t n = (size_t)(slash - s);
    if (n == 0 || n >= sizeof(buf))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (strchr(buf, '%'))
        return false; /* Go's ParsePrefix refuses zones */
    if (!cc_ip_parse(buf, &out->ip))
        return false;
    /* "::ffff:1.2.3.4/104" would unmap to IPv4 with a v6 length: keep it simple and strict */
    char *end;
    const char *bits = slash + 1;
    if (*bits < '0' || *bits > '9')
        return false;
    long b = strtol(bits, &end, 10);
    int max = out->ip.v6 ? 128 : 32;
    if (*end || b < 0 || b > max || (bits[0] == '0' && bits[1]))
        return false;
    out->bits = (int)b;
    cc_ip_mask(&out->ip, out->bits);
    return true;
}

bool cc_ipnet_contains(const cc_ipnet *n, const cc_ip *ip)
{
    if (n->ip.v6 != ip->v6)
        return false;
    int full = n->bits / 8, rem = n->bits % 8;
    if (memcmp(n->ip.b, ip->b, (size_t)full) != 0)
        return false;
    if (rem == 0)
        return true;
    uint8_t m = (uint8_t)(0xff << (8 - rem));
    return (ip->b[full] & m) == n->ip.b[full];
}

const char *cc_ip_format(const cc_ip *ip, char *buf, size_t cap)
{
    if (!inet_ntop(ip->v6 ? AF_INET6 : AF_INET, ip->b, buf, (socklen_t)cap)) {
        if (cap)
            buf[0] = '\0';
    }
    return buf;
}
