/* SPDX-License-Identifier: Apache-2.0
 * libFuzzer target for the whole Caddyfile pipeline: lexer, parser, adapter (with every
 * handler module registered), JSON writer and formatter. Any input must produce either a
 * result or an error, never a crash, a leak or a hang. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "caddyfile/adapter.h"
#include "caddyfile/format.h"
#include "caddyfile/lexer.h"
#include "caddyfile/parser.h"
#include "core/cfg.h"
#include "core/module.h"
#include "handlers/handlers.h"

/* The adapter's parser reads imported files relative to the working directory; an
 * empty private directory leaves fuzz inputs nothing to read. */
static void setup_once(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    cc_modules_set(cc_handler_modules);
    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/cc-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    char fallback[] = "/tmp/cc-fuzz-XXXXXX";
    const char *d = mkdtemp(dir);
    if (!d)
        d = mkdtemp(fallback);
    if (!d || chdir(d) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup_once();
    const char *src = (const char *)data;
    cc_arena *a = cc_arena_new(0);

    cc_tokvec toks = {0};
    cc_err err = {0};
    cc_cf_lex(a, "Caddyfile", src, size, &toks, &err);

    cc_sblocks blocks = {0};
    cc_err perr = {0};
    cc_warns pwarns = {.a = a};
    cc_cf_parse_opts opts = {
        .is_directive = cc_cf_is_directive,
        .warns = &pwarns,
        .no_file_imports = true,
    };
    cc_cf_parse(a, "Caddyfile", src, size, &opts, &blocks, &perr);

    cc_cfg *cfg = NULL;
    cc_err aerr = {0};
    cc_warns awarns = {.a = a};
    if (cc_cf_adapt(a, "Caddyfile", src, size, &cfg, &awarns, &aerr) == CC_OK && cfg) {
        size_t n = 0;
        free(cc_cfg_to_json(cfg, false, &n));
        free(cc_cfg_to_json(cfg, true, &n));
    }

    size_t flen = 0;
    free(cc_cf_format(src, size, &flen));

    cc_arena_free(a);
    return 0;
}
