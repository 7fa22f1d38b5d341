/* SPDX-License-Identifier: Apache-2.0
 * JSON text for log entries, written straight into the request arena (no tree, no
 * malloc): strings escaped as Go's encoder does (invalid UTF-8 becomes U+FFFD), floats
 * in strconv's shortest form. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log_priv.h"

/* ---- JSON text into an arena buffer ---- */

void cc_jb_putn(cc_jb *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 1024;
        while (nc < b->n + n + 1)
            nc *= 2;
        b->p = cc_arena_grow(b->a, b->p, b->cap, nc);
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

void cc_jb_puts(cc_jb *b, const char *s)
{
    cc_jb_putn(b, s, strlen(s));
}

/* Valid UTF-8 sequence length at s, 0 when invalid. */
static size_t utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n;
    unsigned min;
    if ((s[0] & 0xe0) == 0xc0)
        n = 2, min = 0x80;
    else if ((s[0] & 0xf0) == 0xe0)
        n = 3, min = 0x800;
    else if ((s[0] & 0xf8) == 0xf0)
        n = 4, min = 0x10000;
    else
        return 0;
    unsigned v = s[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    return n;
}

void cc_jb_str(cc_jb *b, const char *s)
{
    cc_jb_putn(b, "\"", 1);
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    const unsigned char *run = p;
    while (*p) {
        unsigned char c = *p;
        const char *esc = NULL;
        char ubuf[8];
        size_t adv = 1;
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c < 0x20) {
            snprintf(ubuf, sizeof(ubuf), "\\u%04x", c);
            esc = ubuf;
        } else if (c >= 0x80) {
            adv = utf8_len(p);
            if (adv == 0) {
                esc = "\\ufffd";
                adv = 1;
            }
        }
        if (esc) {
            cc_jb_putn(b, (const char *)run, (size_t)(p - run));
            cc_jb_puts(b, esc);
            p += adv;
            run = p;
        } else {
            p += adv;
        }
    }
    cc_jb_putn(b, (const char *)run, (size_t)(p - run));
    cc_jb_putn(b, "\"", 1);
}

void cc_jb_key(cc_jb *b, const char *k)
{
    if (b->n && b->p[b->n - 1] != '{' && b->p[b->n - 1] != '[')
        cc_jb_putn(b, ",", 1);
    cc_jb_str(b, k);
    cc_jb_putn(b, ":", 1);
}

/* strconv.FormatFloat(v, 'f', -1, 64): shortest decimal that reads back. */
void cc_jb_float(cc_jb *b, double v)
{
    char buf[64];
    for (int d = 0; d < 18; d++) {
        snprintf(buf, sizeof(buf), "%.*f", d, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    cc_jb_puts(b, buf);
}

void cc_jb_int(cc_jb *b, long long v)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%lld", v);
    cc_jb_puts(b, buf);
}
