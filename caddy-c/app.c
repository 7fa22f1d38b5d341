/* SPDX-License-Identifier: Apache-2.0
 * Loading configurations into the running process, Caddy's way: the new config is
 * provisioned completely (admin endpoint, runtime, listeners) before it replaces the old
 * one, and any failure leaves the old one serving. The first load starts the engine;
 * later ones swap the runtime pointer, so in-flight requests finish on the old config. */
#include "app_priv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../certmagic/certmagic.h"
#include "../core/storage.h"
#include "../storage/default.h"

void app_log(cc_log_level lvl, const char *logger, const char *msg, ...)
{
    cc_arena *a = cc_arena_new(1024);
    cc_cfg *extra = cc_cfg_obj(a);
    va_list ap;
    va_start(ap, msg);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k)
            break;
        const char *v = va_arg(ap, const char *);
        cc_cfg_set_str(a, extra, k, v ? v : "");
    }
    va_end(ap);
    cc_log(lvl, logger, extra->obj.n ? extra : NULL, "%s", msg);
    cc_arena_free(a);
}

cc_app *cc_app_new(int workers)
{
    cc_app *app = cc_xcalloc(1, sizeof(*app));
    pthread_mutex_init(&app->lock, NULL);
    app->opts.workers = workers;
    app->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    atomic_init(&app->events, 0);
    return app;
}

/* The storage for cfg: the open one when its "storage" config is unchanged. A storage
 * that cannot be opened (an unwritable data directory) does not stop a site that needs
 * none: it is logged, and a handler that needs storage fails at provision instead. */
static struct cc_storage *app_storage_for(cc_app *app, const cc_cfg *cfg)
{
    const cc_cfg *scfg = cc_cfg_get(cfg, "storage");
    char *key = scfg ? cc_cfg_to_json(scfg, false, NULL) : cc_xstrdup("");
    if (app->storage_key && strcmp(app->storage_key, key) == 0) {
        free(key);
        return app->storage;
    }
    cc_err e = {0};
    struct cc_storage *st = cc_storage_open(scfg, &e);
    if (!st) {
        app_log(CC_LOG_WARN, "storage", "cannot open storage", "error", e.msg, NULL);
        free(key);
        return NULL;
    }
    if (app->storage) {
        app->old_storages =
            cc_xrealloc(app->old_storages, (app->nold_storages + 1) * sizeof(*app->old_storages));
        app->old_storages[app->nold_storages++] = app->storage;
    }
    free(app->storage_key);
    app->storage = st;
    app->storage_key = key;
    return st;
}

void cc_app_free(cc_app *app)
{
    if (!app)
        return;
    for (size_t i = 0; i < app->nretired; i++)
        cc_admin_stop(app->retired[i]);
    free(app->retired);
    if (app->admin)
        cc_admin_stop(app->admin);
    if (app->engine)
        cc_engine_stop(app->engine, app->rt ? app->rt->grace_period : 0);
    cc_certmagic_stop();
    cc_runtime_unref(app->rt);
    for (size_t i = 0; i < app->nold_storages; i++)
        app->old_storages[i]->ops->close(app->old_storages[i]);
    free(app->old_storages);
    if (app->storage)
        app->storage->ops->close(app->storage);
    free(app->storage_key);
    if (app->evfd >= 0)
        close(app->evfd);
    free(app->src_file);
    free(app->src_adapter);
    pthread_mutex_destroy(&app->lock);
    free(app);
}

void app_post(cc_app *app, int events)
{
    atomic_fetch_or(&app->events, events);
    uint64_t one = 1;
    if (app->evfd >= 0 && write(app->evfd, &one, sizeof(one)) < 0) {
        /* the counter is saturated: the loop is already due to wake up */
    }
}

void cc_app_request_stop(cc_app *app)
{
    app_post(app, APP_EV_STOP);
}

void cc_app_wake(cc_app *app)
{
    app_post(app, APP_EV_RETIRED);
}

void cc_app_set_source(cc_app *app, const char *file, const char *adapter)
{
    pthread_mutex_lock(&app->lock);
    free(app->src_file);
    free(app->src_adapter);
    app->src_file = file && *file ? cc_xstrdup(file) : NULL;
    app->src_adapter = cc_xstrdup(adapter ? adapter : "");
    pthread_mutex_unlock(&app->lock);
}

/* A load failed after the manager took its plan: give it the running config's back. */
static void app_certmagic_restore(cc_app *app)
{
    cc_err e = {0};
    if (!app->plan)
        cc_certmagic_stop();
    else if (cc_certmagic_start(app->plan, app->plan_storage, &e) != CC_OK)
        app_log(CC_LOG_ERROR, "tls", "restoring certificate management", "error", e.msg, NULL);
}

static void log_servers(const cc_runtime *rt)
{
    cc_arena *a = cc_arena_new(1024);
    for (size_t i = 0; i < rt->nservers; i++) {
        const cc_server *s = &rt->servers[i];
        cc_cfg *extra = cc_cfg_obj(a);
        cc_cfg_set_str(a, extra, "name", s->name);
        cc_cfg *listen = cc_cfg_child_arr(a, extra, "listen");
        for (size_t j = 0; j < s->nlisten; j++)
            cc_cfg_push_str(a, listen, s->listen[j].text);
        cc_log(CC_LOG_INFO, "http", extra, "server running");
    }
    cc_arena_free(a);
}

/* Hands an admin endpoint to the serving loop, which stops it outside the lock (its
 * request threads may be waiting for the lock we hold). */
static void retire_admin(cc_app *app, cc_admin *ad)
{
    app->retired = cc_xrealloc(app->retired, (app->nretired + 1) * sizeof(*app->retired));
    app->retired[app->nretired++] = ad;
    cc_app_wake(app);
}

/* The load failed after the admin step: undo it. */
static void abort_admin(cc_app *app, cc_admin *next)
{
    cc_admin_abort(app->admin, next);
    if (next && next != app->admin)
        retire_admin(app, next);
}

int app_load_locked(cc_app *app, cc_arena *a, cc_cfg *cfg, bool force, cc_err *err)
{
    cc_err e = {0};
    if (app->stopping) {
        cc_arena_free(a);
        return cc_err_set(err, "loading new config: the server is shutting down");
    }
    bool is_null = cfg == NULL;
    if (is_null)
        cfg = cc_cfg_obj(a);
    if (app->rt && !force && is_null == app->config_null && cc_cfg_equal(cfg, app->rt->config)) {
        app_log(CC_LOG_INFO, NULL, "config is unchanged", NULL);
        cc_arena_free(a);
        return CC_APP_UNCHANGED;
    }

    cc_admin *next = NULL;
    if (cc_admin_prepare(app, app->admin, cfg, &next, &e) != CC_OK) {
        cc_arena_free(a);
        return cc_err_set(err, "loading new config: starting caddy-c administration endpoint: %s",
                          e.msg);
    }
    /* Automatic HTTPS rewrites a private copy: the config as given stays what the admin
     * API shows and what the next load is compared with, as in Caddy. */
    cc_cfg *run_cfg = cc_cfg_clone(a, cfg);
    const cc_autohttps *plan = cc_autohttps_apply(a, run_cfg, &e);
    if (!plan) {
        abort_admin(app, next);
        cc_arena_free(a);
        return cc_err_set(err, "loading new config: %s", e.msg);
    }
    struct cc_storage *storage = app_storage_for(app, cfg);
    cc_runtime *rt = cc_runtime_load_with(a, run_cfg, storage, &e);
    if (!rt) {
        abort_admin(app, next);
        return cc_err_set(err, "loading new config: %s", e.msg);
    }
    rt->config = cfg;
    /* certificates already in storage are in the cache before the listeners open */
    if (cc_certmagic_start(plan, storage, &e) != CC_OK) {
        abort_admin(app, next);
        cc_runtime_unref(rt);
        app_certmagic_restore(app);
        return cc_err_set(err, "loading new config: tls app module: start: %s", e.msg);
    }
    if (!app->engine) {
        app->engine = cc_engine_start(rt, &app->opts, &e);
        if (!app->engine) {
            abort_admin(app, next);
            cc_runtime_unref(rt);
            app_certmagic_restore(app);
            return cc_err_set(err, "loading new config: http app module: start: %s", e.msg);
        }
    } else if (cc_engine_swap(app->engine, rt, &e) != CC_OK) {
        abort_admin(app, next);
        cc_runtime_unref(rt);
        app_certmagic_restore(app);
        return cc_err_set(err, "loading new config: http app module: start: %s", e.msg);
    }
    app->plan = plan;
    app->plan_storage = storage;

    cc_admin_commit(app->admin, next);
    if (app->admin && next != app->admin)
        retire_admin(app, app->admin);
    if (!next)
        app_log(CC_LOG_WARN, "admin", "admin endpoint disabled", NULL);
    app->admin = next;
    cc_runtime *old = app->rt;
    app->rt = rt;
    app->config_null = is_null;
    cc_runtime_unref(old);
    log_servers(rt);
    return CC_OK;
}

int cc_app_load(cc_app *app, cc_arena *a, cc_cfg *cfg, bool force, cc_err *err)
{
    pthread_mutex_lock(&app->lock);
    int rc = app_load_locked(app, a, cfg, force, err);
    pthread_mutex_unlock(&app->lock);
    return rc;
}
