/* SPDX-License-Identifier: Apache-2.0
 * The dispenser: a cursor over a directive's tokens, Caddy's Dispenser in C. Directive
 * parsers walk their tokens with it and report errors that carry FILE:LINE.
 *
 * Typical use, for "name arg { sub a b }":
 *
 *     cc_disp_next(d);                          // the directive name
 *     if (!cc_disp_next_arg(d)) return cc_disp_arg_err(d);
 *     for (int nest = cc_disp_nesting(d); cc_disp_next_block(d, nest);) {
 *         const char *sub = cc_disp_val(d);     // "sub"
 *         while (cc_disp_next_arg(d)) ...       // "a", "b"
 *     }
 */
#ifndef CC_CF_DISPENSER_H
#define CC_CF_DISPENSER_H

#include <stdbool.h>

#include "../core/err.h"
#include "parser.h"
#include "token.h"

typedef struct cc_disp {
    cc_arena *a;
    cc_token *t; /* owned copy (cc_disp_delete edits it) */
    size_t n;
    long cur; /* -1 before the first token */
    int nesting;
    cc_err *err; /* where cc_disp_*err* write */
} cc_disp;

/** A dispenser over a copy of tokens t[0..n). err receives errors (may be NULL). */
cc_disp *cc_disp_new(cc_arena *a, const cc_token *t, size_t n, cc_err *err);
/** Moves to the next token; false at the end. */
bool cc_disp_next(cc_disp *d);
/** Moves back one token; false when the cursor ends before the first token. */
bool cc_disp_prev(cc_disp *d);
/** Moves to the next token if it is on the same line and is not an opening brace. */
bool cc_disp_next_arg(cc_disp *d);
/** Moves to the next token only if it starts a new line. */
bool cc_disp_next_line(cc_disp *d);
/** Loop condition walking all tokens of the block opened at the end of the current
 * line (see the header comment); the outer braces are consumed and not shown. */
bool cc_disp_next_block(cc_disp *d, int initial_nesting);
int cc_disp_nesting(const cc_disp *d);
/** Current token text ("" when there is none). */
const char *cc_disp_val(const cc_disp *d);
/** Current token, or NULL. */
const cc_token *cc_disp_tok(const cc_disp *d);
int cc_disp_line(const cc_disp *d);
const char *cc_disp_file(const cc_disp *d);
/** Fills *t1, *t2, ... (NULL-terminated list of const char ** targets) from the next
 * arguments; false (cursor unchanged after the first missing one) if there are fewer. */
bool cc_disp_args(cc_disp *d, ...);
/** Number of arguments left on this line (cursor unchanged). */
int cc_disp_count_remaining_args(cc_disp *d);
/** Consumes the rest of the line's arguments; returns an arena array (NULL-terminated)
 * and their count in *n (n may be NULL). */
const char **cc_disp_remaining_args(cc_disp *d, size_t *n);
/** Consumes the rest of the line's arguments as tokens (arena array), count in *n. */
cc_token *cc_disp_remaining_args_tokens(cc_disp *d, size_t *n);
/** Returns the segment starting at the current token (to the end of its line, or of the
 * block that the line opens, braces included) and moves the cursor to its last token. */
cc_segment cc_disp_next_segment(cc_disp *d);
/** A new dispenser over cc_disp_next_segment(d). */
cc_disp *cc_disp_new_from_next_segment(cc_disp *d);
/** Rewinds to the start (cursor -1, nesting 0). */
void cc_disp_reset(cc_disp *d);
/** Deletes the current token; the cursor moves back one. */
void cc_disp_delete(cc_disp *d);

/* Errors: each sets d->err (first error wins) to "FILE:LINE: message" (plus the import
 * chain for imported tokens) and returns CC_ERR. */
int cc_disp_arg_err(cc_disp *d); /* wrong argument count ... after 'X' */
int cc_disp_syntax_err(cc_disp *d, const char *expected);
int cc_disp_eof_err(cc_disp *d); /* unexpected EOF */
int cc_disp_errf(cc_disp *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Like cc_disp_errf but at token t's position. */
int cc_disp_errf_tok(cc_err *err, const cc_token *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
