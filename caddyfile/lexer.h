/* SPDX-License-Identifier: Apache-2.0
 * Caddyfile lexer (caddy-reference.md section 1): env substitution and tokenizing. */
#ifndef CC_CF_LEXER_H
#define CC_CF_LEXER_H

#include "../core/err.h"
#include "token.h"

/** Replaces {$VAR} and {$VAR:default} in src[0..len) with environment values, textually
 * and without recursion (section 1.1). Returns an arena-owned NUL-terminated copy and its
 * length in *out_len. */
char *cc_cf_env_expand(cc_arena *a, const char *src, size_t len, size_t *out_len);

/** Tokenizes src[0..len) (already env-expanded) and appends the tokens to out. A leading
 * UTF-8 BOM is skipped. file names the tokens' origin and is stored as given (the caller
 * keeps it alive, normally arena-owned). Returns CC_OK, or CC_ERR with err set to one of
 * Caddy's lexer messages (heredoc errors) prefixed by "FILE:LINE: ". */
int cc_cf_lex(cc_arena *a, const char *file, const char *src, size_t len, cc_tokvec *out,
              cc_err *err);

#endif
