/* SPDX-License-Identifier: Apache-2.0
 * `caddy-c version` (and `caddy-c --version`): one line with the program name and its
 * version from version.h. */
#include "cli.h"
#include "version.h"

static int version(cli_val *v, char **pos, int npos)
{
    (void)v;
    (void)pos;
    (void)npos;
    puts(CC_PROGRAM " " CC_VERSION);
    return CLI_EXIT_OK;
}

int cmd_version(const cli_command *self, int argc, char **argv)
{
    return cli_dispatch(self, argc, argv, version);
}
