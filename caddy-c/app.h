/* SPDX-License-Identifier: Apache-2.0
 * The program lifecycle behind `caddy-c run` and `file-server`: load a configuration
 * (Caddyfile or JSON), provision it into a runtime, start the engine on the first load,
 * swap runtimes on reloads (the old config keeps serving when the new one fails), run
 * the admin endpoint, and wait for signals, admin /stop and --watch changes. */
#ifndef CC_APP_H
#define CC_APP_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/cfg.h"
#include "../core/err.h"

typedef struct cc_app cc_app;

/** cc_app_load's answer when the config equals the running one (nothing done). */
enum { CC_APP_UNCHANGED = 1 };

/** Caddy's LoadConfig: reads config (or ./Caddyfile when config is empty and it exists)
 * and adapts it: the caddyfile adapter for adapter "caddyfile" or a file named
 * Caddyfile* / *.caddyfile, else the file must be JSON ("json" or no adapter). *cfg is
 * NULL when there is no config at all. *file and *adapter (arena strings, "" when none)
 * say what was used. Adapter warnings are logged. */
int cc_app_read_config(cc_arena *a, const char *config, const char *adapter, cc_cfg **cfg,
                       const char **file, const char **adapter_used, cc_err *err);

/** Turns an admin request body into a config by its Content-Type (Caddy's
 * adaptByContentType): "*\/json" or none = JSON, "text/caddyfile" = the caddyfile
 * adapter (file name "Caddyfile"). warnings gets the adapter's warnings. */
int cc_app_adapt_body(cc_arena *a, const char *content_type, const char *body, size_t len,
                      cc_cfg **cfg, cc_warns *warnings, cc_err *err);

/** A new, idle app. workers: engine worker threads (0 = one per CPU). */
cc_app *cc_app_new(int workers);
void cc_app_free(cc_app *app);

/** Loads cfg (owned by arena a, which the app takes in every case; cfg NULL = the empty
 * config): the first load starts the admin endpoint and the engine, later ones build
 * and provision the complete new runtime, then swap it in. On failure nothing changes
 * and err says "loading new config: ...". Unless force, a config equal to the running
 * one is a no-op (CC_APP_UNCHANGED). Thread-safe. */
int cc_app_load(cc_app *app, cc_arena *a, cc_cfg *cfg, bool force, cc_err *err);

/** Remembers the file a config came from, for SIGUSR1 and --watch. */
void cc_app_set_source(cc_app *app, const char *file, const char *adapter);

/** The running config (or the value at path "/config/a/b/0"), compact JSON plus a
 * newline, malloc'd; NULL with *status (400/404) and err when the path is bad. */
char *cc_app_config_json(cc_app *app, const char *path, int *status, size_t *len, cc_err *err);

/** Changes the running config at path ("/config/...") the way Caddy's admin API does
 * (POST appends to arrays or sets, PUT inserts or creates, PATCH replaces, DELETE
 * removes; body is JSON) and loads the result. *status is the HTTP status on error. */
int cc_app_config_change(cc_app *app, const char *method, const char *path, const char *body,
                         size_t len, bool force, int *status, cc_err *err);

/** Asks the serving loop to stop gracefully (admin POST /stop). Thread-safe. */
void cc_app_request_stop(cc_app *app);
/** Asks the serving loop to stop the retired admin endpoints. Thread-safe. */
void cc_app_wake(cc_app *app);

/** Blocks the signals the app handles; call before any thread starts. */
void cc_app_signals_block(void);
/** Serves until a stop (SIGINT/SIGTERM/admin), handling SIGUSR1 (reload from the source
 * file) and, with watch, reloading when the source file changes. Stops everything
 * gracefully (the config's grace_period) and returns the exit code. */
int cc_app_serve(cc_app *app, bool watch);

#endif
