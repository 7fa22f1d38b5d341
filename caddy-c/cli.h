/* SPDX-License-Identifier: Apache-2.0
 * Shared pieces of the caddy-c command line: the command table, pflag-style flag parsing
 * (--name, --name=value, -n value, -nvalue, combined short booleans), file and stdin
 * reading, --envfile loading, error printing and the Caddyfile adapt step every
 * config-taking command shares. Behaviour follows Caddy's cmd/ package. */
#ifndef CC_CLI_H
#define CC_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "../core/cfg.h"
#include "../core/err.h"

/* Exit codes (Caddy's). */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAILED_STARTUP = 1 };

enum { CLI_BOOL, CLI_STRING, CLI_STRINGS };

typedef struct cli_flag {
    const char *name;  /* long name, without "--" */
    char shorthand;    /* single-letter form, 0 for none */
    int kind;          /* CLI_BOOL / CLI_STRING / CLI_STRINGS (repeatable, comma-separated) */
    const char *deflt; /* default of a string flag, or NULL */
    const char *usage; /* one line for help */
} cli_flag;

/* Parsed value of one flag; vals[i] belongs to flags[i]. */
typedef struct cli_val {
    bool set;          /* given on the command line */
    bool b;            /* CLI_BOOL */
    const char *s;     /* CLI_STRING: the value (the default when not set) */
    const char **list; /* CLI_STRINGS: malloc'd array of n values */
    size_t n;
} cli_val;

typedef struct cli_command cli_command;
struct cli_command {
    const char *name;
    const char *usage;      /* arguments after "caddy-c NAME" */
    const char *short_desc; /* one line, no final period */
    const char *long_desc;  /* full help text */
    const cli_flag *flags;
    size_t nflags;
    /* argv[0] is the first argument after the command name. NULL: the command belongs to
     * the HTTP engine and is not in this build. */
    int (*run)(const cli_command *self, int argc, char **argv);
};

extern const cli_command cli_commands[];
extern const size_t cli_ncommands;
const cli_command *cli_command_find(const char *name);

/* Commands (one file each). */
int cmd_adapt(const cli_command *self, int argc, char **argv);
int cmd_validate(const cli_command *self, int argc, char **argv);
int cmd_fmt(const cli_command *self, int argc, char **argv);
int cmd_version(const cli_command *self, int argc, char **argv);
int cmd_help(const cli_command *self, int argc, char **argv);
int cmd_run(const cli_command *self, int argc, char **argv);
int cmd_reload(const cli_command *self, int argc, char **argv);
int cmd_stop(const cli_command *self, int argc, char **argv);
int cmd_file_server(const cli_command *self, int argc, char **argv);
int cmd_trust(const cli_command *self, int argc, char **argv);
int cmd_untrust(const cli_command *self, int argc, char **argv);
/* Flag tables, defined next to the code that reads them. */
#define CMD_ADAPT_NFLAGS 5
#define CMD_VALIDATE_NFLAGS 3
#define CMD_FMT_NFLAGS 3
extern const cli_flag cmd_adapt_flags[CMD_ADAPT_NFLAGS];
extern const cli_flag cmd_validate_flags[CMD_VALIDATE_NFLAGS];
extern const cli_flag cmd_fmt_flags[CMD_FMT_NFLAGS];
#define CMD_RUN_NFLAGS 7
#define CMD_RELOAD_NFLAGS 4
#define CMD_STOP_NFLAGS 3
#define CMD_FILE_SERVER_NFLAGS 10
extern const cli_flag cmd_run_flags[CMD_RUN_NFLAGS];
extern const cli_flag cmd_reload_flags[CMD_RELOAD_NFLAGS];
extern const cli_flag cmd_stop_flags[CMD_STOP_NFLAGS];
extern const cli_flag cmd_file_server_flags[CMD_FILE_SERVER_NFLAGS];
#define CMD_TRUST_NFLAGS 3
extern const cli_flag cmd_trust_flags[CMD_TRUST_NFLAGS];

/* Help output (cmd_help.c). */
void cli_print_root_help(FILE *f);
void cli_print_command_help(const cli_command *cmd, FILE *f);

enum { CLI_PARSE_OK = 0, CLI_PARSE_HELP = 1, CLI_PARSE_ERR = -1 };

/** Parses argv against cmd's flags into vals (cmd->nflags entries) and collects the
 * positional arguments into pos/npos (pos must hold argc entries). "--" ends the flags.
 * -h/--help gives CLI_PARSE_HELP; a bad flag prints pflag's message and gives
 * CLI_PARSE_ERR. */
int cli_parse(const cli_command *cmd, int argc, char **argv, cli_val *vals, char **pos, int *npos);
/** Frees the lists inside vals. */
void cli_vals_free(const cli_command *cmd, cli_val *vals);

/* The work of a command once its flags are parsed: vals follow self->flags. */
typedef int (*cli_body)(cli_val *vals, char **pos, int npos);
/** Parses flags, answers -h/--help, and runs body; returns the exit code. */
int cli_dispatch(const cli_command *self, int argc, char **argv, cli_body body);

/** Prints "Error: <message>" on stderr; returns CLI_EXIT_FAILED_STARTUP. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** Reads a whole file ("-" = stdin) into a malloc'd NUL-terminated buffer. On failure
 * returns NULL with a Go-style message ("open F: no such file or directory") in err. */
char *cli_read_file(const char *path, size_t *len, cc_err *err);
/** Writes data to path (created with mode 0600 if missing, truncated otherwise). */
int cli_write_file(const char *path, const char *data, size_t len, cc_err *err);

/** Loads KEY=VALUE lines from each --envfile into the environment without overriding
 * variables that are already set (Caddy's parseEnvFile rules). */
int cli_load_envfiles(const cli_val *envfile, cc_err *err);

/** "Caddyfile" when the config flag is empty and ./Caddyfile exists, else config. */
const char *cli_default_config(const char *config);

/** Adapts a Caddyfile and adds Caddy's "input is not formatted" lint warning. */
int cli_adapt_caddyfile(cc_arena *a, const char *filename, const char *src, size_t len,
                        cc_cfg **out, cc_warns *warns, cc_err *err);
/** Prints every warning as "WARN <message>" on stderr. */
void cli_print_warnings(const cc_warns *warns);
/** Serves cfg (owned by arena a, which is taken in every case; NULL = empty config) in
 * the foreground until stopped, as `run` and `file-server` do: file/adapter are the
 * source for SIGUSR1 and --watch, pidfile (may be NULL) gets the process ID, started_msg
 * (may be NULL) is logged once serving. Returns the exit code (cmd_run.c). */
int cli_serve(cc_arena *a, cc_cfg *cfg, const char *file, const char *adapter, bool watch,
              const char *pidfile, const char *started_msg);
/** The admin address to talk to: flag if given, else cfg's admin listener, else the
 * default (cmd_reload.c). */
const char *cli_admin_address(const char *flag, const cc_cfg *cfg);

/** Checks an adapted configuration the way `validate` and `adapt --validate` do. */
int cli_validate_cfg(const cc_cfg *cfg, cc_err *err);

#endif
