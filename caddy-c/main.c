/* SPDX-License-Identifier: Apache-2.0
 * caddy-c entry point: installs the built-in directive modules, then dispatches argv[1]
 * to a command from the table in cmd_help.c, with cobra's root behaviour (no command or
 * --help prints the overview, --version the version, anything else is an error). */
#include <string.h>

#include "../core/match_file.h"
#include "../handlers/handlers.h"
#include "cli.h"
#include "version.h"

int main(int argc, char **argv)
{
    cc_modules_set(cc_handler_modules);
    cc_handler_types_set(cc_handler_types);
    cc_matcher_register(&cc_matcher_file);

    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        cli_print_root_help(stdout);
        return CLI_EXIT_OK;
    }
    const char *name = argv[1];
    if (strcmp(name, "-v") == 0 || strcmp(name, "--version") == 0) {
        puts(CC_PROGRAM " " CC_VERSION);
        return CLI_EXIT_OK;
    }
    if (name[0] == '-' && name[1] == '-')
        return cli_fail("unknown flag: %s", name);
    if (name[0] == '-' && name[1] != '\0')
        return cli_fail("unknown shorthand flag: '%c' in %s", name[1], name);

    const cli_command *cmd = cli_command_find(name);
    if (!cmd) {
        cli_fail("unknown command \"%s\" for \"%s\"", name, CC_PROGRAM);
        fputs("Run '" CC_PROGRAM " --help' for usage.\n", stderr);
        return CLI_EXIT_FAILED_STARTUP;
    }
    if (!cmd->run) {
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
                cli_print_command_help(cmd, stdout);
                return CLI_EXIT_OK;
            }
        }
        return cli_fail("'%s %s' comes with the HTTP engine, which this build does not have",
                        CC_PROGRAM, cmd->name);
    }
    return cmd->run(cmd, argc - 2, argv + 2);
}
