/* SPDX-License-Identifier: Apache-2.0
 * Caddyfile parser (caddy-reference.md section 2.1): server blocks, snippets, imports. */
#ifndef CC_CF_PARSER_H
#define CC_CF_PARSER_H

#include <stdbool.h>

#include "../core/err.h"
#include "token.h"

/* One directive with its arguments and, if the line ends with "{", the whole nested
 * block including both braces. */
typedef struct cc_segment {
    cc_token *v;
    size_t n;
} cc_segment;

/* A server block: its keys (site addresses, "(snippet)", "&(route)"), and its segments.
 * The global options block is a block with nkeys == 0. */
typedef struct cc_sblock {
    cc_token *keys;
    size_t nkeys;
    cc_segment *segs;
    size_t nsegs;
    bool has_braces;     /* false for the single brace-less site */
    bool is_named_route; /* key was "&(name)" */
} cc_sblock;

typedef CC_VEC(cc_sblock) cc_sblocks;

typedef struct cc_cf_parse_opts {
    /* Reports whether name is a known directive: a site key equal to one is an error,
     * and hints about missing braces use it. May be NULL. */
    bool (*is_directive)(const char *name);
    /* Warnings (missing glob matches, empty imports, deprecated {args.N}). May be NULL. */
    cc_warns *warns;
    /* When set, `import` resolves snippets only and treats any file import as an error
     * (the fuzzer uses this so random input cannot read the filesystem). */
    bool no_file_imports;
} cc_cf_parse_opts;

/** Parses a whole Caddyfile. filename is used for token positions and as the base
 * directory of relative imports. src is env-expanded here (and every imported file is
 * too). Snippets are resolved and removed; imports are expanded in place. Everything is
 * arena-owned. Returns CC_OK, or CC_ERR with err = "FILE:LINE: message". */
int cc_cf_parse(cc_arena *a, const char *filename, const char *src, size_t len,
                const cc_cf_parse_opts *opts, cc_sblocks *out, cc_err *err);

#endif
