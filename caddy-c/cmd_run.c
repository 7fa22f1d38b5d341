/* SPDX-License-Identifier: Apache-2.0
 * `caddy-c run`: loads the configuration (by default ./Caddyfile; none at all gives the
 * empty config with only the admin endpoint, as Caddy does), starts serving in the
 * foreground and blocks until a signal or admin /stop, as Caddy's cmdRun. A failed
 * start prints "Error: ..." and exits 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/log.h"
#include "app.h"
#include "cli.h"

enum { F_CONFIG, F_ADAPTER, F_ENVFILE, F_ENVIRON, F_WATCH, F_PIDFILE, F_WORKERS, F_COUNT };

const cli_flag cmd_run_flags[F_COUNT] = {
    [F_CONFIG] = {"config", 'c', CLI_STRING, NULL, "Configuration file"},
    [F_ADAPTER] = {"adapter", 'a', CLI_STRING, NULL, "Name of config adapter to apply"},
    [F_ENVFILE] = {"envfile", 0, CLI_STRINGS, NULL, "Environment file(s) to load"},
    [F_ENVIRON] = {"environ", 'e', CLI_BOOL, NULL, "Print environment"},
    [F_WATCH] = {"watch", 'w', CLI_BOOL, NULL, "Reload changed config file automatically"},
    [F_PIDFILE] = {"pidfile", 0, CLI_STRING, NULL, "Path of file to which to write process ID"},
    [F_WORKERS] = {"workers", 0, CLI_STRING, NULL,
                   "Number of worker threads (default: $CADDYC_WORKERS, else one per CPU)"},
};
_Static_assert(F_COUNT == CMD_RUN_NFLAGS, "flag table size");

/* --workers of `run`; -1 = not given (cli_serve then reads $CADDYC_WORKERS). */
static int run_workers = -1;

/* A worker count: 1..1024, or 0 for one per CPU. -1 when text is not such a number. */
static int parse_workers(const char *text)
{
    if (!text || !*text)
        return -1;
    long n = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9' || n > 1024)
            return -1;
        n = n * 10 + (*p - '0');
    }
    return n > 1024 ? -1 : (int)n;
}

static int write_pidfile(const char *path)
{
    cc_err err = {0};
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%ld", (long)getpid());
    if (cli_write_file(path, buf, (size_t)n, &err) != CC_OK) {
        fprintf(stderr, "unable to write PID file %s: %s\n", path, err.msg);
        return CC_ERR;
    }
    return CC_OK;
}

int cli_serve(cc_arena *a, cc_cfg *cfg, const char *file, const char *adapter, bool watch,
              const char *pidfile, const char *started_msg)
{
    int workers = run_workers;
    if (workers < 0) {
        const char *env = getenv("CADDYC_WORKERS");
        workers = env && *env ? parse_workers(env) : 0;
        if (workers < 0) {
            cc_arena_free(a);
            return cli_fail("invalid CADDYC_WORKERS %s: want a number from 0 to 1024", env);
        }
    }
    cc_app_signals_block();
    cc_app *app = cc_app_new(workers);
    if (file && *file && strcmp(file, "-") != 0)
        cc_app_set_source(app, file, adapter);
    cc_err err = {0};
    if (cc_app_load(app, a, cfg, true, &err) == CC_ERR) {
        cc_app_free(app);
        return cli_fail("loading initial config: %s", err.msg);
    }
    if (pidfile && *pidfile)
        write_pidfile(pidfile);
    cc_log(CC_LOG_INFO, NULL, NULL, "serving initial configuration");
    if (started_msg)
        cc_log(CC_LOG_INFO, NULL, NULL, "%s", started_msg);
    int rc = cc_app_serve(app, watch);
    cc_app_free(app);
    if (pidfile && *pidfile)
        unlink(pidfile);
    return rc;
}

static int run(cli_val *v, char **pos, int npos)
{
    (void)pos;
    (void)npos;
    cc_err err = {0};
    if (v[F_WORKERS].set) {
        run_workers = parse_workers(v[F_WORKERS].s);
        if (run_workers < 0)
            return cli_fail("invalid --workers %s: want a number from 0 to 1024 (0 = one per CPU)",
                            v[F_WORKERS].s ? v[F_WORKERS].s : "");
    }
    if (cli_load_envfiles(&v[F_ENVFILE], &err) != CC_OK)
        return cli_fail("%s", err.msg);
    if (v[F_ENVIRON].b) {
        extern char **environ;
        for (char **e = environ; *e; e++)
            puts(*e);
        fflush(stdout);
    }
    cc_arena *a = cc_arena_new(0);
    cc_cfg *cfg;
    const char *file, *adapter;
    if (cc_app_read_config(a, v[F_CONFIG].s, v[F_ADAPTER].s, &cfg, &file, &adapter, &err) !=
        CC_OK) {
        cc_arena_free(a);
        return cli_fail("%s", err.msg);
    }
    /* the app owns the arena from here on; file and adapter are copied first */
    char *file_copy = cc_xstrdup(file), *adapter_copy = cc_xstrdup(adapter);
    int rc = cli_serve(a, cfg, file_copy, adapter_copy, v[F_WATCH].b, v[F_PIDFILE].s, NULL);
    free(file_copy);
    free(adapter_copy);
    return rc;
}

int cmd_run(const cli_command *self, int argc, char **argv)
{
    return cli_dispatch(self, argc, argv, run);
}
