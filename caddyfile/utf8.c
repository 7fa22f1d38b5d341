/* SPDX-License-Identifier: Apache-2.0
 * UTF-8 decoding and white space with Go's rules, shared by the lexer and the formatter:
 * Caddy reads Caddyfiles rune by rune, so both must agree on what a rune and a space is. */
#include "utf8.h"

int32_t cc_cf_utf8_decode(const unsigned char *s, size_t n, size_t *width)
{
    unsigned c = s[0];
    *width = 1;
    if (c < 0x80)
        return (int32_t)c;
    size_t need;
    unsigned lo = 0x80, hi = 0xBF;
    int32_t r;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
        r = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        r = c & 0x0F;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        r = c & 0x07;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return -1;
    }
    if (n < need || s[1] < lo || s[1] > hi)
        return -1;
    r = (r << 6) | (s[1] & 0x3F);
    for (size_t i = 2; i < need; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF)
            return -1;
        r = (r << 6) | (s[i] & 0x3F);
    }
    *width = need;
    return r;
}

bool cc_cf_is_space(int32_t r)
{
    switch (r) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
        return true;
    default:
        return r >= 0x2000 && r <= 0x200A;
    }
}
