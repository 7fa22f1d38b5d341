/* SPDX-License-Identifier: Apache-2.0
 * The command table with every command's help text, and `caddy-c help [command]`. The
 * commands that need the HTTP engine (run, reload, stop, file-server) are listed with
 * their usage; their table entry gets a run function when the engine lands. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "version.h"

#define DOCS_FOOTER                                                                                \
    "Full documentation is available at:\n"                                                        \
    "https://caddyserver.com/docs/command-line\n"

const cli_command cli_commands[] = {
    {
        .name = "adapt",
        .usage = "--config <path> [--adapter <name>] [--pretty] [--validate] [--envfile <path>]",
        .short_desc = "Adapts a configuration to Caddy's native JSON",
        .long_desc =
            "Adapts a configuration (a Caddyfile) to Caddy's native JSON and prints it on\n"
            "stdout. Warnings, such as a Caddyfile that is not formatted, go to stderr.\n"
            "\n"
            "Without --config, the Caddyfile in the current directory is used. The only\n"
            "adapter is \"caddyfile\" (the default).\n"
            "\n"
            "--pretty indents the JSON for reading. --validate also checks the adapted\n"
            "configuration and fails with a non-zero exit status if it is not valid.\n"
            "\n"
            "--envfile loads KEY=VALUE lines into the environment first (variables that\n"
            "are already set keep their value), for {$VAR} placeholders.\n"
            "\n"
            "Use - as the path to read the configuration from stdin.",
        .flags = cmd_adapt_flags,
        .nflags = CMD_ADAPT_NFLAGS,
        .run = cmd_adapt,
    },
    {
        .name = "file-server",
        .usage = "[--domain <example.com>] [--root <path>] [--listen <addr>] [--browse] "
                 "[--access-log]",
        .short_desc = "Spins up a production-ready file server",
        .long_desc = "Serves a directory of static files with a configuration built from the\n"
                     "command line, without a config file.",
    },
    {
        .name = "fmt",
        .usage = "[--overwrite] [--diff] [<path>]",
        .short_desc = "Formats a Caddyfile",
        .long_desc =
            "Formats a Caddyfile: one tab of indentation per block, single spaces between\n"
            "tokens, opening braces at the end of their line and closing braces on their\n"
            "own line. Comments, quoted strings, backticks and heredocs are kept as they\n"
            "are. The result is printed on stdout; the path defaults to ./Caddyfile.\n"
            "\n"
            "If the file was not formatted already, the exit status is 1 (after printing),\n"
            "so fmt can be used as a check.\n"
            "\n"
            "--overwrite writes the result back to the file instead of printing it.\n"
            "\n"
            "--diff prints the input and the output line by line: removed lines start\n"
            "with '-', added ones with '+' and unchanged ones with two spaces (this is\n"
            "for reading, not a patch).\n"
            "\n"
            "Use - as the path to format stdin; the result is always printed then.",
        .flags = cmd_fmt_flags,
        .nflags = CMD_FMT_NFLAGS,
        .run = cmd_fmt,
    },
    {
        .name = "help",
        .usage = "[command]",
        .short_desc = "Help about any command",
        .long_desc = "Shows the help of a command, or the overview without one.",
        .run = cmd_help,
    },
    {
        .name = "reload",
        .usage = "--config <path> [--adapter <name>] [--address <interface>] [--force]",
        .short_desc = "Changes the config of the running server",
        .long_desc = "Sends a new configuration to a running caddy-c through its admin API;\n"
                     "the new configuration replaces the old one without dropping requests.",
    },
    {
        .name = "run",
        .usage = "[--config <path> [--adapter <name>]] [--envfile <path>] [--environ] "
                 "[--resume] [--watch] [--pidfile <file>]",
        .short_desc = "Starts the server and blocks until it is stopped",
        .long_desc =
            "Starts the server in the foreground with the given configuration (by default\n"
            "./Caddyfile) and serves until it is stopped.",
    },
    {
        .name = "stop",
        .usage = "[--config <path> [--adapter <name>]] [--address <interface>]",
        .short_desc = "Gracefully stops a running server",
        .long_desc = "Asks a running caddy-c to stop through its admin API; requests in\n"
                     "flight are finished first.",
    },
    {
        .name = "validate",
        .usage = "--config <path> [--adapter <name>] [--envfile <path>]",
        .short_desc = "Tests whether a configuration file is valid",
        .long_desc =
            "Loads a configuration without running it and reports whether it is valid:\n"
            "a Caddyfile (a file named Caddyfile* or *.caddyfile, or any file with\n"
            "--adapter caddyfile) is adapted, anything else must be JSON. Errors name the\n"
            "file and line.\n"
            "\n"
            "--envfile loads KEY=VALUE lines into the environment first.",
        .flags = cmd_validate_flags,
        .nflags = CMD_VALIDATE_NFLAGS,
        .run = cmd_validate,
    },
    {
        .name = "version",
        .usage = "",
        .short_desc = "Prints the version",
        .long_desc = "Prints the name and version of this binary.",
        .run = cmd_version,
    },
};
const size_t cli_ncommands = sizeof(cli_commands) / sizeof(cli_commands[0]);

void cli_print_root_help(FILE *f)
{
    fputs(CC_PROGRAM " is a web server written in C that is configured like Caddy: it\n"
                     "reads the same Caddyfile and adapts it to the same JSON "
                     "configuration.\n"
                     "\n"
                     "Use '" CC_PROGRAM " adapt' to see how a Caddyfile translates to "
                     "JSON,\n'" CC_PROGRAM " validate' to check a configuration and '" CC_PROGRAM
                     " fmt'\nto format a Caddyfile.\n",
          f);
    bool missing = false;
    for (size_t i = 0; i < cli_ncommands; i++)
        missing |= cli_commands[i].run == NULL;
    if (missing) {
        fputs("\nNot in this build yet (they come with the HTTP engine):", f);
        const char *sep = " ";
        for (size_t i = 0; i < cli_ncommands; i++) {
            if (!cli_commands[i].run) {
                fprintf(f, "%s%s", sep, cli_commands[i].name);
                sep = ", ";
            }
        }
        fputs(".\n", f);
    }
    fputs("\nUsage:\n  " CC_PROGRAM " [command]\n\n"
          "Examples:\n"
          "  $ " CC_PROGRAM " adapt --config Caddyfile --pretty\n"
          "  $ " CC_PROGRAM " validate --config Caddyfile\n"
          "  $ " CC_PROGRAM " fmt --overwrite\n\n"
          "Available Commands:\n",
          f);
    for (size_t i = 0; i < cli_ncommands; i++)
        fprintf(f, "  %-12s %s\n", cli_commands[i].name, cli_commands[i].short_desc);
    fputs("\nFlags:\n"
          "  -h, --help      help for " CC_PROGRAM "\n"
          "  -v, --version   version for " CC_PROGRAM "\n\n"
          "Use \"" CC_PROGRAM
          " [command] --help\" for more information about a command.\n\n" DOCS_FOOTER,
          f);
}

/* One pflag-style flag column: "  -c, --config string". */
static void flag_left(const cli_flag *fl, char *buf, size_t n)
{
    const char *name = fl->name;
    char sh = fl->shorthand;
    int kind = fl->kind;
    const char *type = kind == CLI_STRING ? " string" : kind == CLI_STRINGS ? " strings" : "";
    if (sh)
        snprintf(buf, n, "  -%c, --%s%s", sh, name, type);
    else
        snprintf(buf, n, "      --%s%s", name, type);
}

void cli_print_command_help(const cli_command *cmd, FILE *f)
{
    fprintf(f, "%s\n", cmd->long_desc);
    if (!cmd->run)
        fprintf(f, "\nThis command comes with the HTTP engine and is not in this build yet.\n");
    fprintf(f, "\nUsage:\n  %s %s%s%s\n\nFlags:\n", CC_PROGRAM, cmd->name, *cmd->usage ? " " : "",
            cmd->usage);
    char left[96];
    size_t width = strlen("  -h, --help");
    for (size_t i = 0; i < cmd->nflags; i++) {
        const cli_flag *fl = &cmd->flags[i];
        flag_left(fl, left, sizeof(left));
        if (strlen(left) > width)
            width = strlen(left);
    }
    /* sorted by name like pflag, with -h/--help in its place */
    bool help_done = false;
    size_t n = cmd->nflags;
    const cli_flag **order = calloc(n + 1, sizeof(*order));
    if (!order)
        n = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        while (j > 0 && strcmp(order[j - 1]->name, cmd->flags[i].name) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = &cmd->flags[i];
    }
    for (size_t i = 0; i <= n; i++) {
        if (!help_done && (i == n || strcmp(order[i]->name, "help") > 0)) {
            fprintf(f, "%-*s   help for %s\n", (int)width, "  -h, --help", cmd->name);
            help_done = true;
        }
        if (i == n)
            break;
        const cli_flag *fl = order[i];
        flag_left(fl, left, sizeof(left));
        fprintf(f, "%-*s   %s", (int)width, left, fl->usage);
        if (fl->deflt)
            fprintf(f, " (default \"%s\")", fl->deflt);
        fputc('\n', f);
    }
    free(order);
    fputs("\n" DOCS_FOOTER, f);
}

int cmd_help(const cli_command *self, int argc, char **argv)
{
    if (argc == 0) {
        cli_print_root_help(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0) {
        cli_print_command_help(self, stdout);
        return CLI_EXIT_OK;
    }
    const cli_command *cmd = cli_command_find(argv[0]);
    if (!cmd) {
        /* cobra's answer, on stderr, exit status 0 */
        fprintf(stderr, "Unknown help topic [`%s`]\n", argv[0]);
        cli_print_root_help(stderr);
        return CLI_EXIT_OK;
    }
    cli_print_command_help(cmd, stdout);
    return CLI_EXIT_OK;
}
