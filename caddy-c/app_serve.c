/* SPDX-License-Identifier: Apache-2.0
 * The serving loop of `caddy-c run`: Caddy's POSIX signal handling (SIGINT/SIGTERM
 * graceful stop, a second SIGINT or SIGQUIT quits at once with exit code 2, SIGUSR1
 * reloads from the config file, SIGHUP/SIGUSR2 are logged and ignored), admin /stop,
 * --watch polling of the config file, and the graceful stop at the end. Signals are
 * taken by one thread with sigwaitinfo, so no handler runs on an engine worker. */
#include "app_priv.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static sigset_t handled_set(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGQUIT);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGHUP);
    return set;
}

void cc_app_signals_block(void)
{
    signal(SIGPIPE, SIG_IGN);
    sigset_t set = handled_set();
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* The app the signal thread reports to; cleared when serving ends, so a late signal
 * never reaches a freed app (the thread itself lives until the process exits). */
static _Atomic(cc_app *) sig_app;

static void post_signal(int events)
{
    cc_app *app = atomic_load(&sig_app);
    if (app)
        app_post(app, events);
}

static void *signal_thread(void *arg)
{
    (void)arg;
    sigset_t set = handled_set();
    bool stopping = false;
    for (;;) {
        siginfo_t info;
        int sig = sigwaitinfo(&set, &info);
        if (sig < 0)
            continue;
        switch (sig) {
        case SIGQUIT:
            app_log(CC_LOG_INFO, NULL, "quitting process immediately", "signal", "SIGQUIT", NULL);
            _exit(2);
        case SIGINT:
            if (stopping) {
                app_log(CC_LOG_WARN, NULL, "force quit", "signal", "SIGINT", NULL);
                _exit(2);
            }
            stopping = true;
            app_log(CC_LOG_INFO, NULL, "shutting down", "signal", "SIGINT", NULL);
            post_signal(APP_EV_STOP);
            break;
        case SIGTERM:
            stopping = true;
            app_log(CC_LOG_INFO, NULL, "shutting down apps, then terminating", "signal", "SIGTERM",
                    NULL);
            post_signal(APP_EV_STOP);
            break;
        case SIGUSR1:
            post_signal(APP_EV_RELOAD);
            break;
        default:
            app_log(CC_LOG_INFO, NULL, "not implemented", "signal",
                    sig == SIGHUP ? "SIGHUP" : "SIGUSR2", NULL);
        }
    }
    return NULL;
}

/* Reads the source file again and loads it (SIGUSR1: forced, --watch: only if it
 * changed). */
static void reload_source(cc_app *app, bool force, const char *logger)
{
    pthread_mutex_lock(&app->lock);
    char *file = app->src_file ? cc_xstrdup(app->src_file) : NULL;
    char *adapter = cc_xstrdup(app->src_adapter ? app->src_adapter : "");
    pthread_mutex_unlock(&app->lock);
    if (!file) {
        app_log(CC_LOG_INFO, NULL, "last config unknown, ignored SIGUSR1", "signal", "SIGUSR1",
                NULL);
        free(adapter);
        return;
    }
    if (force)
        app_log(CC_LOG_INFO, logger, "reloading config from last-known source", "file", file,
                "adapter", adapter, NULL);
    cc_arena *a = cc_arena_new(0);
    cc_cfg *cfg;
    const char *used_file, *used_adapter;
    cc_err err = {0};
    int rc = cc_app_read_config(a, file, adapter, &cfg, &used_file, &used_adapter, &err);
    if (rc != CC_OK)
        cc_arena_free(a);
    else
        rc = cc_app_load(app, a, cfg, force, &err);
    if (rc == CC_ERR)
        app_log(CC_LOG_ERROR, logger,
                force ? "failed to reload config from file" : "applying latest config", "file",
                file, "error", err.msg, NULL);
    else if (rc == CC_OK)
        app_log(CC_LOG_INFO, logger,
                force ? "successfully reloaded config from file" : "config reloaded", "file", file,
                NULL);
    free(file);
    free(adapter);
}

typedef struct {
    bool ok;
    struct timespec mtime;
    off_t size;
    ino_t ino;
} file_stamp;

static file_stamp stamp_of(const char *path)
{
    file_stamp s = {0};
    struct stat st;
    if (path && stat(path, &st) == 0) {
        s.ok = true;
        s.mtime = st.st_mtim;
        s.size = st.st_size;
        s.ino = st.st_ino;
    }
    return s;
}

static bool stamp_differs(const file_stamp *x, const file_stamp *y)
{
    return x->ok != y->ok || x->mtime.tv_sec != y->mtime.tv_sec ||
           x->mtime.tv_nsec != y->mtime.tv_nsec || x->size != y->size || x->ino != y->ino;
}

static void stop_retired(cc_app *app)
{
    pthread_mutex_lock(&app->lock);
    cc_admin **list = app->retired;
    size_t n = app->nretired;
    app->retired = NULL;
    app->nretired = 0;
    pthread_mutex_unlock(&app->lock);
    /* outside the lock: an admin thread may be waiting for it */
    for (size_t i = 0; i < n; i++) {
        const char *addr = cc_admin_addr(list[i]);
        app_log(CC_LOG_INFO, "admin", "stopped previous server", "address", addr, NULL);
        cc_admin_stop(list[i]);
    }
    free(list);
}

static void shutdown_all(cc_app *app)
{
    app_log(CC_LOG_WARN, NULL, "exiting; byeee!! 👋", NULL);
    pthread_mutex_lock(&app->lock);
    app->stopping = true;
    cc_admin *admin = app->admin;
    app->admin = NULL;
    pthread_mutex_unlock(&app->lock);
    stop_retired(app);
    if (admin)
        cc_admin_stop(admin);

    pthread_mutex_lock(&app->lock);
    cc_engine *e = app->engine;
    cc_runtime *rt = app->rt;
    app->engine = NULL;
    app->rt = NULL;
    pthread_mutex_unlock(&app->lock);
    if (e)
        cc_engine_stop(e, rt ? rt->grace_period : 0);
    cc_runtime_unref(rt);
    cc_arena *a = cc_arena_new(256);
    cc_cfg *extra = cc_cfg_obj(a);
    cc_cfg_set_int(a, extra, "exit_code", 0);
    cc_log(CC_LOG_INFO, NULL, extra, "shutdown complete");
    cc_arena_free(a);
}

int cc_app_serve(cc_app *app, bool watch)
{
    pthread_t tid;
    atomic_store(&sig_app, app);
    if (pthread_create(&tid, NULL, signal_thread, NULL) == 0)
        pthread_detach(tid);
    else
        app_log(CC_LOG_ERROR, NULL, "cannot start the signal thread", NULL);

    pthread_mutex_lock(&app->lock);
    char *watched = watch && app->src_file ? cc_xstrdup(app->src_file) : NULL;
    pthread_mutex_unlock(&app->lock);
    if (watch && !watched)
        app_log(CC_LOG_WARN, "watcher", "no config file to watch", NULL);
    else if (watched)
        app_log(CC_LOG_INFO, "watcher", "watching config file for changes", "config_file", watched,
                NULL);
    file_stamp last = stamp_of(watched);

    for (;;) {
        struct pollfd pfd = {.fd = app->evfd, .events = POLLIN};
        int pr = poll(&pfd, 1, watched ? 1000 : -1);
        if (pr < 0 && errno != EINTR)
            break;
        if (pr > 0) {
            uint64_t cnt;
            if (read(app->evfd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
                break;
        }
        int ev = atomic_exchange(&app->events, 0);
        if (ev & APP_EV_RETIRED)
            stop_retired(app);
        if (ev & APP_EV_STOP)
            break;
        if (ev & APP_EV_RELOAD)
            reload_source(app, true, NULL);
        if (watched) {
            file_stamp now = stamp_of(watched);
            if (stamp_differs(&now, &last)) {
                last = now;
                app_log(CC_LOG_INFO, "watcher", "config file changed; reloading", "config_file",
                        watched, NULL);
                reload_source(app, false, "watcher");
            }
        }
    }
    free(watched);
    shutdown_all(app);
    atomic_store(&sig_app, NULL);
    return 0;
}
