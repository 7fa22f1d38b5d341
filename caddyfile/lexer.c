/* SPDX-License-Identifier: Apache-2.0
 * The Caddyfile lexer (caddy-reference.md section 1): parse-time {$ENV} substitution and
 * the tokenizer, a character-by-character state machine that mirrors Caddy's so token
 * texts, line numbers, quoting and heredoc errors come out the same. */
#include "lexer.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "utf8.h"

/* Growable byte buffer in the arena (old blocks stay in the arena until it is freed). */
typedef struct buf {
    cc_arena *a;
    char *p;
    size_t n, cap;
} buf;

static void buf_reserve(buf *b, size_t extra)
{
    if (b->n + extra <= b->cap)
        return;
    size_t nc = b->cap ? b->cap : 64;
    while (nc < b->n + extra)
        nc *= 2;
    b->p = cc_arena_grow(b->a, b->p, b->n, nc);
    b->cap = nc;
}

static void buf_put(buf *b, const void *s, size_t n)
{
    buf_reserve(b, n + 1);
    if (n == 0)
        return;
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void buf_putc(buf *b, char c)
{
    buf_reserve(b, 2);
    b->p[b->n++] = c;
}

/* --- environment substitution ------------------------------------------------------ */

/* Looks name up the way Go's os.LookupEnv does: the first environ entry whose key (the
 * text before the first '=') equals name. A name holding '=' or NUL never matches. */
static const char *env_lookup(const char *name, size_t n)
{
    extern char **environ;
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (eq && (size_t)(eq - *e) == n && memcmp(*e, name, n) == 0)
            return eq + 1;
    }
    return NULL;
}

char *cc_cf_env_expand(cc_arena *a, const char *src, size_t len, size_t *out_len)
{
    buf out = {.a = a};
    buf_reserve(&out, len + 1);
    size_t pos = 0;
    for (;;) {
        const char *open = len - pos >= 2 ? memmem(src + pos, len - pos, "{$", 2) : NULL;
        if (!open)
            break;
        size_t begin = (size_t)(open - src);
        const char *close = memchr(src + begin + 2, '}', len - begin - 2);
        if (!close)
            break;
        size_t end = (size_t)(close - src);
        const char *name = src + begin + 2;
        size_t nlen = end - begin - 2;
        if (nlen == 0) {
            buf_put(&out, src + pos, end + 1 - pos);
            pos = end + 1;
            continue;
        }
        /* Split on the first ':' only: the default may itself contain ':'. */
        const char *colon = memchr(name, ':', nlen);
        size_t klen = colon ? (size_t)(colon - name) : nlen;
        const char *val = env_lookup(name, klen);
        size_t vlen = 0;
        if (val)
            vlen = strlen(val);
        else if (colon) {
            val = colon + 1;
            vlen = nlen - klen - 1;
        }
        buf_put(&out, src + pos, begin - pos);
        buf_put(&out, val, vlen);
        /* Scanning resumes after the closing brace in the source, which is exactly
         * "after the inserted value": substituted text is never expanded again. */
        pos = end + 1;
    }
    buf_put(&out, src + pos, len - pos);
    out.p[out.n] = 0;
    if (out_len)
        *out_len = out.n;
    return out.p;
}

/* --- tokenizer ------------------------------------------------------------------- */

typedef struct lexer {
    cc_arena *a;
    const char *file;
    const unsigned char *s;
    size_t n, pos;
    int line;    /* current line */
    int skipped; /* newlines consumed by escapes and heredocs, not yet added to line */
    buf val;     /* text of the token being read */
    cc_err *err;
} lexer;

/* Appends the rune just read (raw bytes at p, width w; r < 0 means invalid). */
static void put_rune(buf *b, int32_t r, const unsigned char *p, size_t w)
{
    if (r < 0)
        buf_put(b, "\xEF\xBF\xBD", 3);
    else
        buf_put(b, p, w);
}

static bool marker_ok(const char *m, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)m[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* Turns the raw heredoc body (ending with the closing marker) into the token text: the
 * text before the marker on its line is padding that every non-empty line must start
 * with; it is stripped, CRs are dropped and the last newline is removed. */
static int finalize_heredoc(lexer *l, const char *marker, size_t mlen, char **out, size_t *out_len)
{
    const char *v = l->val.p;
    size_t n = l->val.n;
    size_t content = 0; /* bytes up to and including the last '\n' */
    for (size_t i = n; i > 0; i--) {
        if (v[i - 1] == '\n') {
            content = i;
            break;
        }
    }
    const char *pad = v + content;
    size_t plen = n - mlen - content;
    char *o = cc_arena_alloc(l->a, content + 1);
    size_t on = 0;
    size_t start = 0;
    for (int ln = 0; start < content; ln++) {
        const char *nl = memchr(v + start, '\n', content - start);
        size_t end = (size_t)(nl - v);
        const char *t = v + start;
        size_t tlen = end - start;
        start = end + 1;
        if (tlen == 0 || (tlen == 1 && t[0] == '\r')) {
            o[on++] = '\n';
            continue;
        }
        if (tlen < plen || memcmp(t, pad, plen) != 0) {
            size_t clean = tlen;
            while (clean > 0 && t[clean - 1] == '\r')
                clean--;
            return cc_err_setat(l->err, l->file, l->line + ln + 1,
                                "mismatched leading whitespace in heredoc <<%.*s on line #%d "
                                "[%.*s], expected whitespace [%.*s] to match the closing marker",
                                (int)mlen, marker, l->line + ln + 1, (int)clean, t, (int)plen, pad);
        }
        for (size_t i = plen; i < tlen; i++)
            if (t[i] != '\r')
                o[on++] = t[i];
        o[on++] = '\n';
    }
    if (on > 0 && o[on - 1] == '\n')
        on--;
    o[on] = 0;
    *out = o;
    *out_len = on;
    return CC_OK;
}

static void make_token(lexer *l, cc_token *tok, int line, char quote, const char *marker)
{
    *tok = (cc_token){
        .file = l->file,
        .line = line,
        .text = cc_arena_strndup(l->a, l->val.p ? l->val.p : "", l->val.n),
        .len = l->val.n,
        .quote = quote,
        .heredoc_marker = marker,
    };
}

/* Reads the next token into *tok. Returns 1 for a token, 0 at the end, CC_ERR on error. */
static int lex_next(lexer *l, cc_token *tok)
{
    bool comment = false, quoted = false, btquoted = false, in_heredoc = false;
    bool heredoc_escaped = false, escaped = false;
    const char *marker = NULL;
    size_t mlen = 0;
    int line = l->line;
    buf *val = &l->val;
    val->n = 0;

    for (;;) {
        if (l->pos >= l->n) {
            if (val->n == 0)
                return 0;
            if (in_heredoc)
                return cc_err_setat(l->err, l->file, l->line + l->skipped,
                                    "incomplete heredoc <<%s on line #%d, expected ending "
                                    "marker %s",
                                    marker, l->line + l->skipped, marker);
            make_token(l, tok, line, CC_TOK_BARE, NULL);
            return 1;
        }
        const unsigned char *p = l->s + l->pos;
        size_t w;
        int32_t ch = cc_cf_utf8_decode(p, l->n - l->pos, &w);
        l->pos += w;

        /* An unquoted token starting with "<<" becomes a heredoc if it reaches the end of
         * its line without a space; the rest of the line is the marker. */
        if (!quoted && !btquoted && !in_heredoc && !heredoc_escaped && val->n > 1 &&
            val->p[0] == '<' && val->p[1] == '<') {
            if (ch == ' ') {
                make_token(l, tok, line, CC_TOK_BARE, NULL);
                return 1;
            }
            if (ch == '\r')
                continue;
            if (ch == '\n') {
                if (val->n == 2)
                    return cc_err_setat(l->err, l->file, l->line,
                                        "missing opening heredoc marker on line #%d; must "
                                        "contain only alphanumeric characters, dashes and "
                                        "underscores; got empty string",
                                        l->line);
                if (val->p[2] == '<')
                    return cc_err_setat(l->err, l->file, l->line,
                                        "too many '<' for heredoc on line #%d; only use two, "
                                        "for example <<END",
                                        l->line);
                mlen = val->n - 2;
                marker = cc_arena_strndup(l->a, val->p + 2, mlen);
                if (!marker_ok(marker, mlen))
                    return cc_err_setat(l->err, l->file, l->line,
                                        "heredoc marker on line #%d must contain only "
                                        "alphanumeric characters, dashes and underscores; "
                                        "got '%.*s'",
                                        l->line, (int)mlen, marker);
                in_heredoc = true;
                l->skipped++;
                val->n = 0;
                continue;
            }
            put_rune(val, ch, p, w);
            continue;
        }

        if (in_heredoc) {
            put_rune(val, ch, p, w);
            if (ch == '\n')
                l->skipped++;
            /* The body ends as soon as it ends with the marker, even mid-line. */
            if (val->n >= mlen && memcmp(val->p + val->n - mlen, marker, mlen) == 0) {
                char *text = NULL;
                size_t tlen = 0;
                if (finalize_heredoc(l, marker, mlen, &text, &tlen) != CC_OK)
                    return CC_ERR;
                l->line += l->skipped;
                l->skipped = 0;
                *tok = (cc_token){.file = l->file,
                                  .line = line,
                                  .text = text,
                                  .len = tlen,
                                  .quote = CC_TOK_HEREDOC,
                                  .heredoc_marker = marker};
                return 1;
            }
            continue;
        }

        if (!escaped && !btquoted && ch == '\\') {
            escaped = true;
            continue;
        }

        if (quoted || btquoted) {
            if (quoted && escaped) {
                /* Inside "...", only \" is an escape; other backslashes stay. */
                if (ch != '"')
                    buf_putc(val, '\\');
                escaped = false;
            } else if ((quoted && ch == '"') || (btquoted && ch == '`')) {
                make_token(l, tok, line, (char)ch, NULL);
                return 1;
            }
            if (ch == '\n') {
                l->line += 1 + l->skipped;
                l->skipped = 0;
            }
            put_rune(val, ch, p, w);
            continue;
        }

        if (ch >= 0 && cc_cf_is_space(ch)) {
            if (ch == '\r')
                continue;
            if (ch == '\n') {
                /* An escaped newline continues the line: later tokens keep its number. */
                if (escaped) {
                    l->skipped++;
                    escaped = false;
                } else {
                    l->line += 1 + l->skipped;
                    l->skipped = 0;
                }
                comment = false;
            }
            if (val->n > 0) {
                make_token(l, tok, line, CC_TOK_BARE, NULL);
                return 1;
            }
            continue;
        }

        if (ch == '#' && val->n == 0)
            comment = true;
        if (comment)
            continue;

        if (val->n == 0) {
            line = l->line;
            if (ch == '"') {
                quoted = true;
                continue;
            }
            if (ch == '`') {
                btquoted = true;
                continue;
            }
        }

        if (escaped) {
            /* \< turns off heredoc detection; any other \x keeps the backslash. */
            if (ch == '<')
                heredoc_escaped = true;
            else
                buf_putc(val, '\\');
            escaped = false;
        }
        put_rune(val, ch, p, w);
    }
}

int cc_cf_lex(cc_arena *a, const char *file, const char *src, size_t len, cc_tokvec *out,
              cc_err *err)
{
    lexer l = {
        .a = a,
        .file = file,
        .s = (const unsigned char *)src,
        .n = src ? len : 0,
        .line = 1,
        .val = {.a = a},
        .err = err,
    };
    if (l.n >= 3 && memcmp(l.s, "\xEF\xBB\xBF", 3) == 0)
        l.pos = 3;
    for (;;) {
        cc_token t;
        int rc = lex_next(&l, &t);
        if (rc < 0)
            return CC_ERR;
        if (rc == 0)
            return CC_OK;
        CC_VEC_PUSH(a, out, t);
    }
}
