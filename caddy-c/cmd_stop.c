/* SPDX-License-Identifier: Apache-2.0
 * `caddy-c stop`: asks a running instance to stop gracefully through its admin POST
 * /stop. The address is --address, else the config's admin listener, else the default,
 * as Caddy's cmdStop. */
#include "admin.h"
#include "app.h"
#include "cli.h"

enum { F_CONFIG, F_ADAPTER, F_ADDRESS, F_COUNT };

const cli_flag cmd_stop_flags[F_COUNT] = {
    [F_CONFIG] = {"config", 'c', CLI_STRING, NULL,
                  "Configuration file to use to parse the admin address, if --address is not used"},
    [F_ADAPTER] = {"adapter", 'a', CLI_STRING, NULL,
                   "Name of config adapter to apply (when --config is used)"},
    [F_ADDRESS] = {"address", 0, CLI_STRING, NULL,
                   "The address to use to reach the admin API endpoint, if not the default"},
};
_Static_assert(F_COUNT == CMD_STOP_NFLAGS, "flag table size");

static int stop(cli_val *v, char **pos, int npos)
{
    (void)pos;
    (void)npos;
    cc_err err = {0};
    cc_arena *a = cc_arena_new(0);
    cc_cfg *cfg = NULL;
    int rc = CLI_EXIT_OK;
    const char *addr = v[F_ADDRESS].s;
    if (!addr || !*addr) {
        const char *config = v[F_CONFIG].s;
        if (config && *config) {
            const char *file, *adapter;
            if (cc_app_read_config(a, config, v[F_ADAPTER].s, &cfg, &file, &adapter, &err) !=
                CC_OK) {
                rc = cli_fail("couldn't determine admin API address: %s", err.msg);
                goto out;
            }
        }
        addr = cli_admin_address(NULL, cfg);
    }
    if (cc_admin_request(addr, "POST", "/stop", NULL, 0, NULL, 0, &err) != CC_OK)
        rc = cli_fail("%s", err.msg);
out:
    cc_arena_free(a);
    return rc;
}

int cmd_stop(const cli_command *self, int argc, char **argv)
{
    return cli_dispatch(self, argc, argv, stop);
}
