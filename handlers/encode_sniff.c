/* SPDX-License-Identifier: Apache-2.0
 * Content sniffing (the WHATWG MIME sniffing rules as Go's http.DetectContentType
 * applies them). Caddy's encode fills in a missing Content-Type this way before it
 * matches the response against its content-type list, so a body without one (an
 * upstream that sent none, a file with an unknown extension) is judged by its bytes. */
#include <string.h>
#include <strings.h>

#include "encode_priv.h"

#define SNIFF_LEN 512

static bool ws_byte(unsigned char c)
{
    return c == '\t' || c == '\n' || c == '\x0c' || c == '\r' || c == ' ';
}

/* HTML: a tag name (case-insensitive) after optional white space, then ' ' or '>'. */
static bool html_sig(const unsigned char *p, size_t n)
{
    static const char *const tags[] = {
        "<!DOCTYPE HTML", "<HTML", "<HEAD",  "<SCRIPT", "<IFRAME", "<H1",   "<DIV", "<FONT",
        "<TABLE",         "<A",    "<STYLE", "<TITLE",  "<B",      "<BODY", "<BR",  "<P",
        "<!--",
    };
    size_t i = 0;
    while (i < n && ws_byte(p[i]))
        i++;
    for (size_t t = 0; t < sizeof(tags) / sizeof(tags[0]); t++) {
        size_t k = strlen(tags[t]);
        if (n - i < k + 1 || strncasecmp((const char *)p + i, tags[t], k) != 0)
            continue;
        if (p[i + k] == ' ' || p[i + k] == '>')
            return true;
    }
    return false;
}

typedef struct exact {
    const char *sig;
    size_t len;
    const char *type;
} exact;

#define E(s, t)                                                                                    \
    {                                                                                              \
        s, sizeof(s) - 1, t                                                                        \
    }
static const exact exacts[] = {
    E("%PDF-", "application/pdf"),
    E("%!PS-Adobe-", "application/postscript"),
    E("\xFE\xFF", "text/plain; charset=utf-16be"),
    E("\xFF\xFE", "text/plain; charset=utf-16le"),
    E("\xEF\xBB\xBF", "text/plain; charset=utf-8"),
    E("\x00\x00\x01\x00", "image/x-icon"),
    E("\x00\x00\x02\x00", "image/x-icon"),
    E("BM", "image/bmp"),
    E("GIF87a", "image/gif"),
    E("GIF89a", "image/gif"),
    E("\x89PNG\x0D\x0A\x1A\x0A", "image/png"),
    E("\xFF\xD8\xFF", "image/jpeg"),
    E("ID3", "audio/mpeg"),
    E("OggS\x00", "application/ogg"),
    E("MThd\x00\x00\x00\x06", "audio/midi"),
    E("\x1A\x45\xDF\xA3", "video/webm"),
    E("\x00\x01\x00\x00", "font/ttf"),
    E("OTTO", "font/otf"),
    E("ttcf", "font/collection"),
    E("wOFF", "font/woff"),
    E("wOF2", "font/woff2"),
    E("\x1F\x8B\x08", "application/x-gzip"),
    E("PK\x03\x04", "application/zip"),
    E("Rar!\x1A\x07\x00", "application/x-rar-compressed"),
    E("Rar!\x1A\x07\x01\x00", "application/x-rar-compressed"),
    E("\x00\x61\x73\x6D", "application/wasm"),
};
#undef E

/* "RIFF" or "FORM", four size bytes, then a format tag */
static const char *container(const unsigned char *p, size_t n)
{
    if (n < 12)
        return NULL;
    if (memcmp(p, "FORM", 4) == 0 && memcmp(p + 8, "AIFF", 4) == 0)
        return "audio/aiff";
    if (memcmp(p, "RIFF", 4) != 0)
        return NULL;
    if (n >= 14 && memcmp(p + 8, "WEBPVP", 6) == 0)
        return "image/webp";
    if (memcmp(p + 8, "AVI ", 4) == 0)
        return "video/avi";
    if (memcmp(p + 8, "WAVE", 4) == 0)
        return "audio/wave";
    return NULL;
}

/* An ISO base media file whose major or a compatible brand starts with "mp4". */
static bool mp4_sig(const unsigned char *p, size_t n)
{
    if (n < 12)
        return false;
    size_t box = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
    if (n < box || box % 4 != 0 || memcmp(p + 4, "ftyp", 4) != 0)
        return false;
    for (size_t st = 8; st < box; st += 4) {
        if (st == 12)
            continue; /* the minor version, not a brand */
        if (st + 3 <= n && memcmp(p + st, "mp4", 3) == 0)
            return true;
    }
    return false;
}

static bool binary_byte(unsigned char c)
{
    return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1A) || (c >= 0x1C && c <= 0x1F);
}

const char *cc_enc_sniff(const unsigned char *p, size_t n)
{
    if (n > SNIFF_LEN)
        n = SNIFF_LEN;
    if (html_sig(p, n))
        return "text/html; charset=utf-8";
    size_t i = 0;
    while (i < n && ws_byte(p[i]))
        i++;
    if (n - i >= 5 && memcmp(p + i, "<?xml", 5) == 0)
        return "text/xml; charset=utf-8";
    /* no two signatures overlap, so their order past html/xml does not matter */
    for (size_t k = 0; k < sizeof(exacts) / sizeof(exacts[0]); k++)
        if (n >= exacts[k].len && memcmp(p, exacts[k].sig, exacts[k].len) == 0)
            return exacts[k].type;
    const char *c = container(p, n);
    if (c)
        return c;
    if (mp4_sig(p, n))
        return "video/mp4";
    /* embedded OpenType (EOT): "LP" at offset 34 */
    if (n >= 36 && p[34] == 'L' && p[35] == 'P')
        return "application/vnd.ms-fontobject";
    for (size_t k = 0; k < n; k++)
        if (binary_byte(p[k]))
            return "application/octet-stream";
    return "text/plain; charset=utf-8";
}
