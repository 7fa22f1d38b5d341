/* SPDX-License-Identifier: Apache-2.0
 * `caddy-c reload`: adapts the config file here (so errors name FILE:LINE on this
 * terminal), then POSTs the JSON to the running instance's admin /load, as Caddy's
 * cmdReload. The instance keeps its old config when the new one fails. */
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "app.h"
#include "cli.h"

enum { F_CONFIG, F_ADAPTER, F_ADDRESS, F_FORCE, F_COUNT };

const cli_flag cmd_reload_flags[F_COUNT] = {
    [F_CONFIG] = {"config", 'c', CLI_STRING, NULL, "Configuration file (required)"},
    [F_ADAPTER] = {"adapter", 'a', CLI_STRING, NULL, "Name of config adapter to apply"},
    [F_ADDRESS] = {"address", 0, CLI_STRING, NULL,
                   "Address of the administration listener, if different from config"},
    [F_FORCE] = {"force", 'f', CLI_BOOL, NULL, "Force config reload, even if it is the same"},
};
_Static_assert(F_COUNT == CMD_RELOAD_NFLAGS, "flag table size");

const char *cli_admin_address(const char *flag, const cc_cfg *cfg)
{
    if (flag && *flag)
        return flag;
    const char *listen = cc_cfg_get_str(cc_cfg_get(cfg, "admin"), "listen");
    return listen && *listen ? listen : cc_admin_default_listen();
}

static int reload(cli_val *v, char **pos, int npos)
{
    (void)pos;
    (void)npos;
    cc_err err = {0};
    cc_arena *a = cc_arena_new(0);
    cc_cfg *cfg;
    const char *file, *adapter;
    int rc = CLI_EXIT_OK;
    if (cc_app_read_config(a, v[F_CONFIG].s, v[F_ADAPTER].s, &cfg, &file, &adapter, &err) !=
        CC_OK) {
        rc = cli_fail("%s", err.msg);
        goto out;
    }
    if (!*file) {
        rc = cli_fail("no config file to load");
        goto out;
    }
    size_t len;
    char *json = cfg ? cc_cfg_to_json(cfg, false, &len) : cc_xstrdup("null");
    if (!cfg)
        len = 4;
    const char *addr = cli_admin_address(v[F_ADDRESS].s, cfg);
    const char *headers[3];
    size_t nh = 0;
    if (v[F_FORCE].b)
        headers[nh++] = "Cache-Control: must-revalidate";
    headers[nh++] = cc_arena_printf(a, "Caddy-Config-Source-File: %s", file);
    headers[nh++] = cc_arena_printf(a, "Caddy-Config-Source-Adapter: %s", adapter);
    if (cc_admin_request(addr, "POST", "/load", headers, nh, json, len, &err) != CC_OK)
        rc = cli_fail("sending configuration to instance: %s", err.msg);
    free(json);
out:
    cc_arena_free(a);
    return rc;
}

int cmd_reload(const cli_command *self, int argc, char **argv)
{
    return cli_dispatch(self, argc, argv, reload);
}
