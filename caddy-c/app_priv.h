/* SPDX-License-Identifier: Apache-2.0
 * The app's state, shared by app.c (loading and swapping configs), app_config.c (the
 * config tree under the admin API) and app_serve.c (signals, --watch, stopping). */
#ifndef CC_APP_PRIV_H
#define CC_APP_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "../core/log.h"
#include "../core/server.h"
#include "../engine/engine.h"
#include "admin.h"
#include "app.h"

/* Events for the serving loop (bits of cc_app.events). */
enum { APP_EV_STOP = 1, APP_EV_RELOAD = 2, APP_EV_RETIRED = 4 };

struct cc_app {
    pthread_mutex_t lock; /* serialises loads, config reads and the stop */
    cc_engine_opts opts;
    cc_engine *engine;
    cc_runtime *rt;   /* running config, one reference held; NULL before the first load */
    bool config_null; /* the running config is Caddy's empty (null) config */
    bool stopping;
    cc_admin *admin;
    cc_admin **retired; /* endpoints replaced by a reload, stopped by the serving loop */
    size_t nretired;
    char *src_file, *src_adapter; /* where the config came from (SIGUSR1, --watch) */
    int evfd;                     /* eventfd that wakes the serving loop */
    atomic_int events;
    /* The config's storage, opened at the first load and reopened when the "storage"
     * config changes; earlier ones stay open until exit because a retiring runtime may
     * still use them. */
    struct cc_storage *storage;
    char *storage_key; /* JSON of the config's "storage" object ("" = default) */
    struct cc_storage **old_storages;
    size_t nold_storages;
    /* The running config's automatic HTTPS plan (owned by rt's arena), given back to the
     * certificate manager when a later load fails after handing it a new one. */
    const struct cc_autohttps *plan;
    struct cc_storage *plan_storage;
};

/* Loads with app->lock held. */
int app_load_locked(cc_app *app, cc_arena *a, cc_cfg *cfg, bool force, cc_err *err);
/* Posts events to the serving loop. */
void app_post(cc_app *app, int events);

/* One runtime log line with string fields: pairs of key, value, ended by NULL. */
void app_log(cc_log_level lvl, const char *logger, const char *msg, ...);

#endif
