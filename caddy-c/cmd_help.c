/* SPDX-License-Identifier: Apache-2.0
 * The command table with every command's help text, and `caddy-c help [command]`. A
 * command without a run function is listed as not in this build. */
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
        .usage = "[--root <path>] [--listen <addr>] [--browse] [--reveal-symlinks] "
                 "[--access-log] [--precompressed <formats>] [--no-compress] [--debug]",
        .short_desc = "Spins up a production-ready file server",
        .long_desc =
            "A simple but production-ready file server. Useful for quick deployments,\n"
            "demos, and development.\n"
            "\n"
            "The files of --root (default: the current directory) are served on the\n"
            "--listen address (default :80). --browse lists directories that have no\n"
            "index file; --reveal-symlinks shows symlink targets in those listings.\n"
            "\n"
            "Responses are compressed with Zstandard or Gzip when the client accepts it;\n"
            "--no-compress turns that off. --precompressed br,zstd,gzip serves file.br,\n"
            "file.zst or file.gz next to a file instead, in the given order of preference.\n"
            "\n"
            "--access-log logs every request; --debug enables debug logs. There is no admin\n"
            "endpoint. --domain (HTTPS) needs TLS, which this build does not have yet.",
        .flags = cmd_file_server_flags,
        .nflags = CMD_FILE_SERVER_NFLAGS,
        .run = cmd_file_server,
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
        .long_desc = "Gives the running caddy-c a new configuration through its admin API. The\n"
                     "config file is read and adapted here, so mistakes are reported with their\n"
                     "file and line before anything is sent. The running server provisions the\n"
                     "new configuration completely before switching to it, without dropping\n"
                     "requests; if it fails, the old configuration keeps serving and the error is\n"
                     "printed here (exit status 1).\n"
                     "\n"
                     "The admin address is --address, else the \"admin\" setting of the new\n"
                     "configuration, else localhost:2019 ($CADDY_ADMIN when set).\n"
                     "\n"
                     "An unchanged configuration is not reloaded unless --force is given.",
        .flags = cmd_reload_flags,
        .nflags = CMD_RELOAD_NFLAGS,
        .run = cmd_reload,
    },
    {
        .name = "run",
        .usage = "[--config <path> [--adapter <name>]] [--envfile <path>] [--environ] "
                 "[--watch] [--pidfile <file>] [--workers <n>]",
        .short_desc = "Starts the server and blocks until it is stopped",
        .long_desc =
            "Starts the server in the foreground and serves until it is stopped.\n"
            "\n"
            "The configuration is --config (a Caddyfile when its name starts with\n"
            "Caddyfile or ends in .caddyfile, or with --adapter caddyfile; otherwise\n"
            "JSON), by default ./Caddyfile. Without any config file, only the admin\n"
            "endpoint runs, waiting for a configuration (POST /load).\n"
            "\n"
            "If the configuration cannot be loaded, the error is printed and the exit\n"
            "status is 1.\n"
            "\n"
            "SIGINT and SIGTERM stop gracefully: listeners close, and requests in flight\n"
            "finish (for up to the grace_period option, if set). A second SIGINT or a\n"
            "SIGQUIT exits at once (status 2). SIGUSR1 reloads the config file.\n"
            "\n"
            "--watch reloads the config file whenever it changes (for development).\n"
            "--envfile loads KEY=VALUE lines into the environment first; --environ prints\n"
            "the environment; --pidfile writes the process ID to a file.\n"
            "--workers sets the number of worker threads serving HTTP (each runs its own\n"
            "event loop); without it $CADDYC_WORKERS is used, else one per CPU (0 also\n"
            "means one per CPU).",
        .flags = cmd_run_flags,
        .nflags = CMD_RUN_NFLAGS,
        .run = cmd_run,
    },
    {
        .name = "stop",
        .usage = "[--config <path> [--adapter <name>]] [--address <interface>]",
        .short_desc = "Gracefully stops a running server",
        .long_desc = "Asks a running caddy-c to stop through its admin API (POST /stop); requests\n"
                     "in flight are finished first.\n"
                     "\n"
                     "The admin address is --address, else the \"admin\" setting of --config,\n"
                     "else localhost:2019 ($CADDY_ADMIN when set).",
        .flags = cmd_stop_flags,
        .nflags = CMD_STOP_NFLAGS,
        .run = cmd_stop,
    },
    {
        .name = "trust",
        .usage = "[--ca <id>] [--config <path> [--adapter <name>]]",
        .short_desc = "Installs a CA certificate into local trust stores",
        .long_desc = "Adds the root certificate of caddy-c's internal CA (the one that signs\n"
                     "certificates for localhost, IP addresses, *.internal, *.local and sites\n"
                     "with 'tls internal') to the system trust store, so that local clients\n"
                     "accept those certificates. On Debian the root is written to\n"
                     "/usr/local/share/ca-certificates/caddy-c-<ca>-root.crt and\n"
                     "update-ca-certificates is run: this needs root (use sudo).\n"
                     "\n"
                     "The root is read from the storage of --config (by default the data\n"
                     "directory); when the CA does not exist yet, it is created there first.\n"
                     "--ca picks a CA of the pki app (default: local).\n"
                     "\n"
                     "$CADDYC_TRUST_DIR and $CADDYC_TRUST_UPDATE replace the directory and the\n"
                     "update command (for tests and for other distributions).",
        .flags = cmd_trust_flags,
        .nflags = CMD_TRUST_NFLAGS,
        .run = cmd_trust,
    },
    {
        .name = "untrust",
        .usage = "[--ca <id>]",
        .short_desc = "Untrusts a locally-trusted CA certificate",
        .long_desc = "Removes the root certificate of caddy-c's internal CA from the system trust\n"
                     "store, undoing 'caddy-c trust': the file\n"
                     "/usr/local/share/ca-certificates/caddy-c-<ca>-root.crt is deleted and\n"
                     "update-ca-certificates is run (needs root). --ca picks the CA (default:\n"
                     "local). $CADDYC_TRUST_DIR and $CADDYC_TRUST_UPDATE apply as for 'trust'.",
        .flags = cmd_trust_flags,
        .nflags = CMD_TRUST_NFLAGS,
        .run = cmd_untrust,
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
                     "Use '" CC_PROGRAM " run' to serve a Caddyfile, '" CC_PROGRAM
                     " adapt' to see how\na Caddyfile translates to JSON, '" CC_PROGRAM
                     " validate' to check a configuration\nand '" CC_PROGRAM
                     " fmt' to format a Caddyfile.\n",
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
          "  $ " CC_PROGRAM " run\n"
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
