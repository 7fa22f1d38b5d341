/* SPDX-License-Identifier: Apache-2.0
 * Caddyfile formatter (`caddy-c fmt`): one pass over the runes of the input that takes
 * control of braces, indentation and spacing, while words, comments, quoted strings,
 * heredocs and escapes are copied as written. It reproduces Caddy's Format() rune for
 * rune, except that a token starting with a backslash or a backtick gets the same layout
 * as any other token (Caddy glues such a token onto the previous line, which changes the
 * meaning of the file). */
#include "format.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../core/arena.h"
#include "utf8.h"

#define RUNE_ERROR 0xFFFDu
#define MAX_NESTING 10 /* Caddy caps indentation so absurd inputs stay bounded */

enum {
    Q_NONE,
    Q_BT,
    Q_DQ,
    Q_DQ_BT,
    Q_BT_DQ
}; /* Caddy's quote states "", "`", "\"", "\"`", "`\"" */
enum { HD_CLOSED, HD_OPENING, HD_OPENED };

typedef struct {
    uint32_t *v;
    size_t start, n, cap; /* live runes are v[start .. start+n) */
} runes;

typedef struct {
    char *out;
    size_t len, cap;
    uint32_t last; /* last rune written */

    bool space; /* current/previous rune was whitespace (start of input counts) */
    bool bol;   /* at the beginning of an output line */

    bool open_brace;         /* a "{" was read and its layout is still pending */
    bool open_brace_written; /* ...and has already been written */
    bool open_brace_space;   /* ...and had a space (not a newline) before it */
    bool open_brace_own_line;

    int newlines; /* newlines read since the last token, capped at 3 */
    bool comment;
    int quotes;
    bool escaped;

    int heredoc;
    bool heredoc_escaped;
    runes marker;
    runes closing; /* sliding window over the heredoc body, marker length + 1 */

    int nesting;

    /* Only "is the first token of this line `import`" matters, so a token is kept as its
     * length and first bytes. */
    size_t tok_len;
    char tok[8];
    bool first_set;
    bool first_is_import;
    bool prev_import; /* previous line was a top-level import */
} fmt_state;

static bool is_space(uint32_t r)
{
    return r <= INT32_MAX && cc_cf_is_space((int32_t)r);
}

/* Go's utf8.DecodeRune: an invalid sequence is U+FFFD and consumes one byte. */
static size_t decode(const unsigned char *s, size_t n, uint32_t *r)
{
    size_t w;
    int32_t v = cc_cf_utf8_decode(s, n, &w);
    *r = v < 0 ? RUNE_ERROR : (uint32_t)v;
    return w;
}

static size_t encode(uint32_t r, char *b)
{
    if (r < 0x80) {
        b[0] = (char)r;
        return 1;
    }
    if (r < 0x800) {
        b[0] = (char)(0xC0 | (r >> 6));
        b[1] = (char)(0x80 | (r & 0x3F));
        return 2;
    }
    if (r < 0x10000) {
        b[0] = (char)(0xE0 | (r >> 12));
        b[1] = (char)(0x80 | ((r >> 6) & 0x3F));
        b[2] = (char)(0x80 | (r & 0x3F));
        return 3;
    }
    b[0] = (char)(0xF0 | (r >> 18));
    b[1] = (char)(0x80 | ((r >> 12) & 0x3F));
    b[2] = (char)(0x80 | ((r >> 6) & 0x3F));
    b[3] = (char)(0x80 | (r & 0x3F));
    return 4;
}

/* Byte length of a whitespace rune at the start / end of s[0..n), or 0. Every space rune's
 * first byte is a lead byte, so matching suffixes is what utf8.DecodeLastRune would see. */
static size_t space_prefix(const char *s, size_t n)
{
    uint32_t r;
    size_t w = decode((const unsigned char *)s, n, &r);
    return is_space(r) ? w : 0;
}

static size_t space_suffix(const char *s, size_t n)
{
    for (size_t w = 1; w <= 3 && w <= n; w++) {
        uint32_t r;
        if (decode((const unsigned char *)s + n - w, w, &r) == w && r != RUNE_ERROR && is_space(r))
            return w;
    }
    return 0;
}

static void runes_push(runes *rs, uint32_t r)
{
    if (rs->start + rs->n == rs->cap) {
        if (rs->start > 0) {
            memmove(rs->v, rs->v + rs->start, rs->n * sizeof(*rs->v));
            rs->start = 0;
        }
        if (rs->n == rs->cap) {
            rs->cap = rs->cap ? rs->cap * 2 : 16;
            rs->v = cc_xrealloc(rs->v, rs->cap * sizeof(*rs->v));
        }
    }
    rs->v[rs->start + rs->n++] = r;
}

static void runes_clear(runes *rs)
{
    rs->start = 0;
    rs->n = 0;
}

static void write_rune(fmt_state *st, uint32_t r)
{
    if (st->cap - st->len < 8) {
        st->cap = st->cap ? st->cap * 2 : 256;
        st->out = cc_xrealloc(st->out, st->cap);
    }
    st->len += encode(r, st->out + st->len);
    st->last = r;
}

static void indent(fmt_state *st)
{
    for (int i = 0; i < st->nesting; i++)
        write_rune(st, '\t');
}

static void next_line(fmt_state *st)
{
    write_rune(st, '\n');
    st->bol = true;
}

static void finish_token(fmt_state *st)
{
    if (st->tok_len == 0)
        return;
    if (!st->first_set) {
        st->first_set = true;
        st->first_is_import = st->tok_len == 6 && memcmp(st->tok, "import", 6) == 0;
    }
    st->tok_len = 0;
}

static void token_add(fmt_state *st, uint32_t r)
{
    char b[4];
    size_t w = encode(r, b);
    for (size_t i = 0; i < w; i++, st->tok_len++)
        if (st->tok_len < sizeof(st->tok))
            st->tok[st->tok_len] = b[i];
}

static void finish_line(fmt_state *st)
{
    finish_token(st);
    if (st->first_set)
        st->prev_import = st->nesting == 0 && st->first_is_import;
    else if (!st->open_brace || !st->open_brace_own_line || st->open_brace_written)
        st->prev_import = false;
    st->first_set = false;
}

/* A "{" was read and now a token follows after whitespace: the brace opens a block, so it
 * goes at the end of the opening line (or on its own line after top-level imports, where
 * it is the global options block). */
static void open_pending_brace(fmt_state *st, bool space_prior)
{
    if (!st->open_brace || !space_prior || st->open_brace_written)
        return;
    if (st->nesting == 0 && st->last == '}') {
        next_line(st);
        next_line(st);
    }
    st->open_brace = false;
    if (st->open_brace_own_line && st->prev_import) {
        if (st->last != '\n')
            next_line(st);
        indent(st);
    } else if (st->bol) {
        indent(st);
    } else if (!st->open_brace_space || !is_space(st->last)) {
        write_rune(st, ' ');
    }
    write_rune(st, '{');
    st->open_brace_written = true;
    st->open_brace_own_line = false;
    next_line(st);
    st->newlines = 0;
    if (st->nesting < MAX_NESTING)
        st->nesting++;
}

/* Line breaks, indentation and separating space before the first rune of a token. */
static void token_layout(fmt_state *st, bool space_prior)
{
    int nl = st->newlines > 2 ? 2 : st->newlines;
    for (int i = 0; i < nl; i++)
        next_line(st);
    st->newlines = 0;
    if (st->bol)
        indent(st);
    if (st->nesting == 0 && st->last == '}' && st->bol) {
        next_line(st);
        next_line(st);
    }
    if (!st->bol && space_prior)
        write_rune(st, ' ');
    if (st->open_brace && !st->open_brace_written) {
        /* "{" glued to a word, like a placeholder: written as is, no block */
        write_rune(st, '{');
        st->open_brace_written = true;
    }
}

/* First rune of a token that is not a brace: a word, a quote, a backslash escape. */
static void token_start(fmt_state *st, uint32_t ch)
{
    open_pending_brace(st, true);
    token_layout(st, true);
    token_add(st, ch);
    write_rune(st, ch);
    st->bol = false;
}

static bool marker_valid(const runes *m)
{
    if (m->n == 0)
        return false;
    for (size_t i = 0; i < m->n; i++) {
        uint32_t c = m->v[m->start + i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* True when the window minus its last rune equals the heredoc marker. */
static bool closing_matches(const fmt_state *st)
{
    const runes *w = &st->closing, *m = &st->marker;
    if (w->n != m->n + 1)
        return false;
    return memcmp(w->v + w->start, m->v + m->start, m->n * sizeof(*m->v)) == 0;
}

/* Returns true when ch was consumed by the heredoc machinery. */
static bool heredoc_rune(fmt_state *st, uint32_t ch)
{
    if (st->quotes == Q_NONE && st->heredoc == HD_CLOSED && !st->heredoc_escaped && st->space &&
        st->last == '<' && ch == '<') {
        write_rune(st, ch);
        st->heredoc = HD_OPENING;
        st->space = false;
        return true;
    }
    if (st->heredoc == HD_OPENING) {
        if (ch == '\n') {
            if (marker_valid(&st->marker)) {
                st->heredoc = HD_OPENED;
                write_rune(st, ch);
            } else {
                runes_clear(&st->marker);
                st->heredoc = HD_CLOSED;
                next_line(st);
            }
            return true;
        }
        if (!is_space(ch)) {
            runes_push(&st->marker, ch);
            write_rune(st, ch);
            return true;
        }
        /* "<<" followed by a space is an ordinary token */
        runes_clear(&st->marker);
        st->heredoc = HD_CLOSED;
    }
    if (st->heredoc == HD_OPENED) {
        runes_push(&st->closing, ch);
        if (st->closing.n > st->marker.n + 1) {
            st->closing.start++;
            st->closing.n--;
        }
        if (is_space(ch) && closing_matches(st)) {
            runes_clear(&st->marker);
            runes_clear(&st->closing);
            st->heredoc = HD_CLOSED;
            return false; /* the space after the marker is ordinary whitespace */
        }
        write_rune(st, ch);
        if (ch == '\n')
            runes_clear(&st->closing);
        return true;
    }
    return false;
}

static void format_rune(fmt_state *st, uint32_t ch)
{
    if (heredoc_rune(st, ch))
        return;

    if (st->last == '<' && st->space)
        st->space = false;

    if (st->comment) {
        if (ch == '\n') {
            st->comment = false;
            st->space = true;
            next_line(st);
        } else {
            write_rune(st, ch);
        }
        return;
    }

    if (!st->escaped && ch == '\\') {
        if (st->space) {
            st->space = false;
            token_start(st, ch);
        } else {
            write_rune(st, ch);
        }
        st->escaped = true;
        return;
    }
    if (st->escaped) {
        if (ch == '<')
            st->heredoc_escaped = true;
        write_rune(st, ch);
        st->escaped = false;
        return;
    }

    if (ch == '`') {
        switch (st->quotes) {
        case Q_DQ_BT:
            st->quotes = Q_DQ;
            break;
        case Q_BT:
            st->quotes = Q_NONE;
            break;
        case Q_DQ:
            st->quotes = Q_DQ_BT;
            break;
        default:
            st->quotes = Q_BT;
            break;
        }
    }
    if (st->quotes == Q_DQ) {
        if (ch == '"')
            st->quotes = Q_NONE;
        write_rune(st, ch);
        return;
    }
    if (ch == '"') {
        if (st->quotes == Q_NONE) {
            if (st->space)
                st->quotes = Q_DQ;
        } else if (st->quotes == Q_BT_DQ) {
            st->quotes = Q_BT;
        } else if (st->quotes == Q_DQ_BT) {
            st->quotes = Q_NONE;
        }
    }
    if (st->quotes == Q_BT || st->quotes == Q_DQ_BT || st->quotes == Q_BT_DQ) {
        if (ch == '`' && st->space) {
            st->space = false;
            token_start(st, ch);
        } else {
            write_rune(st, ch);
        }
        st->space = false;
        return;
    }

    if (is_space(ch)) {
        finish_token(st);
        st->space = true;
        st->heredoc_escaped = false;
        if (ch == '\n') {
            finish_line(st);
            if (st->newlines < 3)
                st->newlines++;
        }
        return;
    }
    bool space_prior = st->space;
    st->space = false;

    if (ch == '#')
        st->comment = true;

    open_pending_brace(st, space_prior);

    if (ch == '{') {
        finish_token(st);
        st->open_brace = true;
        st->open_brace_space = space_prior && !st->bol;
        st->open_brace_own_line = st->newlines > 0;
        if (st->open_brace_space && st->newlines == 0)
            write_rune(st, ' ');
        st->open_brace_written = false;
        return;
    }
    if (ch == '}' && (space_prior || !st->open_brace)) {
        finish_token(st);
        if (st->last != '\n')
            next_line(st);
        if (st->nesting > 0)
            st->nesting--;
        indent(st);
        write_rune(st, '}');
        st->newlines = 0;
        return;
    }

    token_layout(st, space_prior);
    if (space_prior && ch == '<')
        st->space = true; /* a following "<" may open a heredoc */
    token_add(st, ch);
    write_rune(st, ch);
    st->bol = false;
}

char *cc_cf_format(const char *src, size_t len, size_t *out_len)
{
    fmt_state st = {.space = true, .bol = true};
    if (!src)
        len = 0;
    size_t w;
    while (len > 0 && (w = space_prefix(src, len)) > 0) {
        src += w;
        len -= w;
    }
    while (len > 0 && (w = space_suffix(src, len)) > 0)
        len -= w;

    const unsigned char *p = (const unsigned char *)src;
    for (size_t i = 0; i < len;) {
        uint32_t ch;
        i += decode(p + i, len - i, &ch);
        format_rune(&st, ch);
    }
    free(st.marker.v);
    free(st.closing.v);

    /* No leading or trailing whitespace, but exactly one final newline: newlines are
     * significant in a Caddyfile. */
    size_t start = 0, end = st.len;
    while (start < end && (w = space_prefix(st.out + start, end - start)) > 0)
        start += w;
    while (end > start && (w = space_suffix(st.out + start, end - start)) > 0)
        end -= w;
    char *res = cc_xmalloc(end - start + 2);
    if (end > start)
        memcpy(res, st.out + start, end - start);
    res[end - start] = '\n';
    res[end - start + 1] = '\0';
    free(st.out);
    if (out_len)
        *out_len = end - start + 1;
    return res;
}

bool cc_cf_format_differs(const char *src, size_t len, int *line)
{
    char *norm = cc_xmalloc(len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '\r' && i + 1 < len && src[i + 1] == '\n')
            continue;
        norm[n++] = src[i];
    }
    size_t fn;
    char *formatted = cc_cf_format(norm, n, &fn);
    bool differs = fn != n || memcmp(formatted, norm, n) != 0;
    if (differs && line) {
        int l = 1;
        for (size_t i = 0; i < n && i < fn && norm[i] == formatted[i]; i++)
            if (norm[i] == '\n')
                l++;
        *line = l;
    }
    free(formatted);
    free(norm);
    return differs;
}
