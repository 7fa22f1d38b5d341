/* SPDX-License-Identifier: Apache-2.0
 * Parser internals shared by parser.c, parse_cursor.c, import*.c and importgraph.c. Not a
 * public interface: everything outside caddyfile/ uses parser.h. */
#ifndef CC_CF_PARSE_INTERNAL_H
#define CC_CF_PARSE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "parser.h"

/* Imports may splice in at most this many tokens (plus one per import) per parse. Caddy
 * has no limit; without one, a few nested snippets that each import the next one twice
 * expand exponentially and a small input could exhaust memory or time. Reaching the
 * limit costs about 0.15 s (release build): 1 << 20 cost 0.65 s, over 10 s under ASan,
 * which the fuzzer reports as a slow unit. A large real config (2,000 sites that each
 * import 100 tokens) stays under it. */
#define CC_CF_IMPORT_BUDGET (1u << 18)

/* Imported files larger than this are refused (Caddy reads any size). */
#define CC_CF_IMPORT_MAX_BYTES (16u << 20)

typedef struct cc_cf_edge {
    const char *from, *to;
} cc_cf_edge;

/* Import graph over "file" and "file:snippet" nodes (Caddy's importgraph.go). */
typedef struct cc_cf_graph {
    cc_arena *a;
    CC_VEC(cc_cf_edge) edges;
} cc_cf_graph;

typedef struct cc_cf_snippet {
    const char *name;
    size_t name_len;
    cc_token *v; /* body without the outer braces */
    size_t n;
} cc_cf_snippet;

typedef CC_VEC(const char *) cc_cf_strvec;

/* The token stream is a gap buffer: `done` holds the tokens up to and including the
 * cursor, `todo` the tokens still to come in reverse order (next one last). An import
 * then replaces its own tokens at the end of `done` and pushes what it brings onto
 * `todo`, in time proportional to what it imports. */
typedef struct cc_cf_parser {
    cc_arena *a;
    const cc_cf_parse_opts *opts;
    cc_err *err;
    cc_tokvec done;
    cc_tokvec todo;
    bool past_end; /* cursor one past the last token (an import at EOF brought nothing) */
    int nesting;   /* brace depth inside the current segment */
    bool eof;      /* the addresses ran into EOF */
    size_t budget; /* left of CC_CF_IMPORT_BUDGET */

    /* the server block being parsed */
    cc_tokvec keys;
    CC_VEC(cc_segment) segs;
    bool has_braces;
    bool is_named_route;

    CC_VEC(cc_cf_snippet) snippets;
    cc_cf_graph graph;
} cc_cf_parser;

/* --- cursor (parse_cursor.c), Caddy's Dispenser moves on the gap buffer ------------- */

/** The current token, or NULL before the first / after the last one. */
const cc_token *cc_cf_p_tok(const cc_cf_parser *p);
/** Text of the current token, "" when there is none. */
const char *cc_cf_p_val(const cc_cf_parser *p);
size_t cc_cf_p_len(const cc_cf_parser *p);
bool cc_cf_p_val_is(const cc_cf_parser *p, const char *s);
bool cc_cf_p_next(cc_cf_parser *p);
/** Moves the cursor back one token (Caddy's p.cursor--). */
void cc_cf_p_back(cc_cf_parser *p);
bool cc_cf_p_next_same_line(cc_cf_parser *p);
bool cc_cf_p_next_arg(cc_cf_parser *p);
/** Caddy's NextBlock with the nesting counter passed in. */
bool cc_cf_p_next_block(cc_cf_parser *p, int *nesting, int initial);
/** True if the current token starts a line (Caddy's isNewLine). */
bool cc_cf_p_is_new_line(const cc_cf_parser *p);
/** True if the next token is on a later line (Caddy's isNextOnNewLine). */
bool cc_cf_p_is_next_on_new_line(const cc_cf_parser *p);
/** Error at the current token (with its import chain); returns CC_ERR. */
int cc_cf_p_errf(cc_cf_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** "syntax error: unexpected token 'X', expecting 'E'" at the current token. */
int cc_cf_p_syntax_err(cc_cf_parser *p, const char *expected);

/* --- import (import.c) ------------------------------------------------------------- */

/** Expands the `import` at the cursor in place (Caddy's doImport). Afterwards the cursor
 * is on the first imported token (or on what followed the import). nesting is 0 for an
 * import among site addresses, 1 inside a block. */
int cc_cf_do_import(cc_cf_parser *p, int nesting);

/* --- import arguments (importargs.c) ------------------------------------------------ */

/** Caddy's parseVariadic: whether tok is exactly "{args[a:b]}" with a valid range for
 * nargs arguments; the range is returned in [*start, *end). Invalid ranges warn. */
bool cc_cf_args_variadic(const cc_token *tok, size_t nargs, size_t *start, size_t *end,
                         cc_warns *w);
/** Replaces {args[N]} / {args.N} placeholders in text[0..len) the way Caddy's
 * ReplaceKnown does (unknown placeholders stay, \{ \} lose their backslash). Returns an
 * arena string, its length in *out_len. tok is used for warning positions. */
char *cc_cf_args_replace(cc_arena *a, const char *text, size_t len, const cc_token **args,
                         size_t nargs, const cc_token *tok, cc_warns *w, size_t *out_len);

/* --- paths and globbing (importglob.c), Go's path/filepath semantics ---------------- */

char *cc_cf_path_clean(cc_arena *a, const char *path);
/** Absolute, cleaned path (relative paths are joined to the working directory); NULL if
 * the working directory cannot be determined. */
char *cc_cf_path_abs(cc_arena *a, const char *path);
char *cc_cf_path_dir(cc_arena *a, const char *path);
char *cc_cf_path_join(cc_arena *a, const char *dir, const char *name);
/** Go's filepath.Glob: sorted matches appended to out; CC_ERR for a malformed pattern. */
int cc_cf_glob(cc_arena *a, const char *pattern, cc_cf_strvec *out);

/* --- import graph (importgraph.c) ---------------------------------------------------- */

/** Adds the edge from -> to unless it closes a cycle; returns false on a cycle. */
bool cc_cf_graph_add_edge(cc_cf_graph *g, const char *from, const char *to);

#endif
