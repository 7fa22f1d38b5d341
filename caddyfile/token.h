/* SPDX-License-Identifier: Apache-2.0
 * Caddyfile tokens, shared by the lexer, the parser, the dispenser and the adapter. */
#ifndef CC_CF_TOKEN_H
#define CC_CF_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/arena.h"

/* How a token was written: bare, "double-quoted", `backticks` or a <<HEREDOC. Quoted
 * tokens are never structural: a quoted "{" is an ordinary argument. */
enum { CC_TOK_BARE = 0, CC_TOK_DQUOTE = '"', CC_TOK_BACKTICK = '`', CC_TOK_HEREDOC = '<' };

typedef struct cc_token {
    const char *file;           /* arena-owned; the file it was read from */
    int line;                   /* 1-based line where the token starts */
    const char *text;           /* NUL-terminated, escapes/quotes already processed */
    size_t len;                 /* length of text (text may hold NUL bytes) */
    char quote;                 /* CC_TOK_* */
    const char *heredoc_marker; /* the marker for CC_TOK_HEREDOC, else NULL */
    const char *imports;        /* import chain, "FILE:LINE (import NAME)" entries joined
                                 * by "','"; NULL for tokens not brought in by import */
    const char *snippet;        /* snippet the token came from, or NULL */
} cc_token;

typedef CC_VEC(cc_token) cc_tokvec;

/* True for an unquoted "{" / "}" (structural braces). */
static inline bool cc_tok_is_open(const cc_token *t)
{
    return t && !t->quote && t->len == 1 && t->text[0] == '{';
}
static inline bool cc_tok_is_close(const cc_token *t)
{
    return t && !t->quote && t->len == 1 && t->text[0] == '}';
}

/** Number of line breaks inside the token's text (for quoted tokens), plus 2 for a
 * heredoc's opening and closing lines: the "is the next token on a new line" rule. */
int cc_tok_line_breaks(const cc_token *t);
/** True when t2 starts on a later line than t1 ends (different file or import chain
 * counts as a new line). */
bool cc_tok_next_on_new_line(const cc_token *t1, const cc_token *t2);

#endif
