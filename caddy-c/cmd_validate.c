/* SPDX-License-Identifier: Apache-2.0
 * `caddy-c validate`: loads a configuration the way Caddy's LoadConfig does (a Caddyfile
 * is adapted, anything else must be JSON), checks it, and prints "Valid configuration"
 * or the error. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

enum { F_CONFIG, F_ADAPTER, F_ENVFILE, F_COUNT };

const cli_flag cmd_validate_flags[F_COUNT] = {
    [F_CONFIG] = {"config", 'c', CLI_STRING, NULL, "Input configuration file"},
    [F_ADAPTER] = {"adapter", 'a', CLI_STRING, NULL, "Name of config adapter"},
    [F_ENVFILE] = {"envfile", 0, CLI_STRINGS, NULL, "Environment file(s) to load"},
};
_Static_assert(F_COUNT == CMD_VALIDATE_NFLAGS, "flag table size");

/* Caddy's isCaddyfile: the caddyfile adapter is implied by a file named Caddyfile* or
 * *.caddyfile, unless it ends in .json. */
static bool is_caddyfile(const char *config, const char *adapter)
{
    if (strcmp(adapter, "caddyfile") == 0)
        return true;
    const char *base = strrchr(config, '/');
    base = base ? base + 1 : config;
    size_t n = strlen(base);
    char *lower = malloc(n + 1);
    if (!lower)
        return false;
    for (size_t i = 0; i <= n; i++)
        lower[i] = (char)tolower((unsigned char)base[i]);
    const char *dot = strrchr(lower, '.');
    bool json = dot && strcmp(dot, ".json") == 0;
    bool named = strncmp(lower, "caddyfile", 9) == 0 ||
                 (n >= 10 && strcmp(lower + n - 10, ".caddyfile") == 0);
    free(lower);
    return !json && !*adapter && named;
}

static const char *json_kind(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "bool";
    default:
        return "value";
    }
}

/* A config that is already JSON: it must parse and be an object (or null, which Caddy
 * accepts as an empty config). */
static int validate_json(const char *src, size_t len)
{
    if (len == 0)
        return cli_fail("decoding config: unexpected end of JSON input");
    json_error_t jerr;
    json_t *root = json_loadb(src, len, 0, &jerr);
    if (!root)
        return cli_fail("config is not valid JSON: %s, at offset %d; did you mean to use a "
                        "config adapter (the --adapter flag)?",
                        jerr.text, jerr.position);
    int rc = CLI_EXIT_OK;
    if (!json_is_object(root))
        rc = cli_fail("decoding config: json: cannot unmarshal %s into Go value of type "
                      "caddy.Config",
                      json_kind(root));
    json_decref(root);
    return rc;
}

static int validate(cli_val *v, char **pos, int npos)
{
    (void)pos;
    (void)npos;
    cc_err err = {0};
    if (cli_load_envfiles(&v[F_ENVFILE], &err) != CC_OK)
        return cli_fail("%s", err.msg);

    const char *config = cli_default_config(v[F_CONFIG].s);
    if (!*config)
        return cli_fail("input file required when there is no Caddyfile in current directory "
                        "(use --config flag)");
    const char *adapter = v[F_ADAPTER].s ? v[F_ADAPTER].s : "";

    size_t len;
    char *src = cli_read_file(config, &len, &err);
    if (!src)
        return strcmp(config, "-") == 0 ? cli_fail("reading config from stdin: %s", err.msg)
                                        : cli_fail("reading config from file: %s", err.msg);

    int rc;
    if (is_caddyfile(config, adapter)) {
        cc_arena *a = cc_arena_new(0);
        cc_warns warns = {.a = a};
        cc_cfg *cfg = NULL;
        if (cli_adapt_caddyfile(a, config, src, len, &cfg, &warns, &err) != CC_OK) {
            rc = cli_fail("adapting config using caddyfile: %s", err.msg);
        } else {
            cli_print_warnings(&warns);
            rc = cli_validate_cfg(cfg, &err) == CC_OK ? CLI_EXIT_OK : cli_fail("%s", err.msg);
        }
        cc_arena_free(a);
    } else if (*adapter) {
        rc = cli_fail("unrecognized config adapter: %s", adapter);
    } else {
        rc = validate_json(src, len);
    }
    free(src);
    if (rc == CLI_EXIT_OK)
        puts("Valid configuration");
    return rc;
}

int cmd_validate(const cli_command *self, int argc, char **argv)
{
    return cli_dispatch(self, argc, argv, validate);
}
