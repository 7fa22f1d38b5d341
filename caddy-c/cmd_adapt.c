/* SPDX-License-Identifier: Apache-2.0
 * `caddy-c adapt`: adapts a Caddyfile to Caddy's JSON and prints it (compact, or
 * tab-indented with --pretty), with the adapter's warnings on stderr, as Caddy's
 * cmdAdaptConfig does. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { F_CONFIG, F_ADAPTER, F_PRETTY, F_VALIDATE, F_ENVFILE, F_COUNT };

const cli_flag cmd_adapt_flags[F_COUNT] = {
    [F_CONFIG] = {"config", 'c', CLI_STRING, NULL, "Configuration file to adapt (required)"},
    [F_ADAPTER] = {"adapter", 'a', CLI_STRING, "caddyfile", "Name of config adapter"},
    [F_PRETTY] = {"pretty", 'p', CLI_BOOL, NULL, "Format the output for human readability"},
    [F_VALIDATE] = {"validate", 0, CLI_BOOL, NULL, "Validate the output"},
    [F_ENVFILE] = {"envfile", 0, CLI_STRINGS, NULL, "Environment file(s) to load"},
};
_Static_assert(F_COUNT == CMD_ADAPT_NFLAGS, "flag table size");

static int adapt(cli_val *v, char **pos, int npos)
{
    (void)pos;
    (void)npos;
    const char *config = cli_default_config(v[F_CONFIG].s);
    if (!*config)
        return cli_fail("input file required when there is no Caddyfile in current directory "
                        "(use --config flag)");

    cc_err err = {0};
    if (cli_load_envfiles(&v[F_ENVFILE], &err) != CC_OK)
        return cli_fail("%s", err.msg);

    const char *adapter = v[F_ADAPTER].s ? v[F_ADAPTER].s : "";
    if (!*adapter)
        return cli_fail(
            "adapter name is required (use --adapt flag or leave unspecified for default)");
    if (strcmp(adapter, "caddyfile") != 0)
        return cli_fail("unrecognized config adapter: %s", adapter);

    size_t len;
    char *src = cli_read_file(config, &len, &err);
    if (!src)
        return cli_fail("reading input file: %s", err.msg);

    cc_arena *a = cc_arena_new(0);
    cc_warns warns = {.a = a};
    cc_cfg *cfg = NULL;
    int rc = CLI_EXIT_OK;
    if (cli_adapt_caddyfile(a, config, src, len, &cfg, &warns, &err) != CC_OK) {
        rc = cli_fail("%s", err.msg);
        goto out;
    }

    size_t jn;
    char *json = cc_cfg_to_json(cfg, v[F_PRETTY].b, &jn);
    fwrite(json, 1, jn, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    free(json);
    cli_print_warnings(&warns);

    if (v[F_VALIDATE].b && cli_validate_cfg(cfg, &err) != CC_OK)
        rc = cli_fail("%s", err.msg);
out:
    cc_arena_free(a);
    free(src);
    return rc;
}

int cmd_adapt(const cli_command *self, int argc, char **argv)
{
    return cli_dispatch(self, argc, argv, adapt);
}
