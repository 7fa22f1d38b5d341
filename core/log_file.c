/* SPDX-License-Identifier: Apache-2.0
 * Log writers: one line is one write(2) under the writer's lock. File writers append,
 * and roll like Caddy's (lumberjack): when a line would take the file past roll_size,
 * it is renamed to <name>-<UTC timestamp>.<ext> and a new file is opened; backups
 * beyond roll_keep or older than roll_keep_days are removed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log_priv.h"

int cc_logw_open_file(const char *path, mode_t mode)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, mode);
}

int cc_logw_mkdir_parents(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", path);
    char *slash = strrchr(buf, '/');
    if (!slash || slash == buf)
        return 0;
    *slash = '\0';
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, 0700) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* "access.log" -> prefix "access", ext ".log". */
static void split_ext(const char *base, char *prefix, size_t pcap, const char **ext)
{
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base)
        dot = base + strlen(base);
    snprintf(prefix, pcap, "%.*s", (int)(dot - base), base);
    *ext = dot;
}

typedef struct backup {
    char name[512];
} backup;

static int cmp_backup(const void *x, const void *y)
{
    /* timestamps sort lexically: newest first */
    return -strcmp(((const backup *)x)->name, ((const backup *)y)->name);
}

/* Removes backups beyond keep (newest kept) and older than keep_days. */
static void prune_backups(struct cc_logw *w)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", w->path);
    char *slash = strrchr(dir, '/');
    const char *base;
    if (slash) {
        *slash = '\0';
        base = w->path + (slash - dir) + 1;
        if (!*dir)
            snprintf(dir, sizeof(dir), "/");
    } else {
        snprintf(dir, sizeof(dir), ".");
        base = w->path;
    }
    char prefix[512];
    const char *ext;
    split_ext(base, prefix, sizeof(prefix), &ext);
    DIR *d = opendir(dir);
    if (!d)
        return;
    size_t n = 0, cap = 16;
    backup *list = cc_xmalloc(cap * sizeof(*list));
    struct dirent *de;
    size_t pl = strlen(prefix), el = strlen(ext);
    while ((de = readdir(d))) {
        size_t nl = strlen(de->d_name);
        if (nl <= pl + 1 + el || strncmp(de->d_name, prefix, pl) != 0 || de->d_name[pl] != '-' ||
            strcmp(de->d_name + nl - el, ext) != 0 || nl >= sizeof(list[0].name))
            continue;
        /* the part between must look like a timestamp: 2006-01-02T15-04-05.000 */
        if (nl - el - pl - 1 != 23 || de->d_name[pl + 11] != 'T')
            continue;
        if (n == cap) {
            cap *= 2;
            list = cc_xrealloc(list, cap * sizeof(*list));
        }
        snprintf(list[n++].name, sizeof(list[0].name), "%s", de->d_name);
    }
    closedir(d);
    qsort(list, n, sizeof(*list), cmp_backup);
    time_t now = time(NULL);
    for (size_t i = 0; i < n; i++) {
        char full[4700];
        snprintf(full, sizeof(full), "%s/%s", dir, list[i].name);
        bool drop = w->keep > 0 && i >= (size_t)w->keep;
        struct stat st;
        if (!drop && w->keep_days > 0 && stat(full, &st) == 0 &&
            now - st.st_mtime > (time_t)w->keep_days * 86400)
            drop = true;
        if (drop)
            unlink(full);
    }
    free(list);
}

/* lumberjack's rotation: file -> file-<timestamp>.ext, then a fresh file. */
static void rotate(struct cc_logw *w)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    if (w->local_time)
        localtime_r(&ts.tv_sec, &tm);
    else
        gmtime_r(&ts.tv_sec, &tm);
    char stamp[64];
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H-%M-%S", &tm);
    char dir_prefix[4096];
    const char *ext;
    split_ext(w->path, dir_prefix, sizeof(dir_prefix), &ext);
    if (strchr(ext, '/')) /* a dot in a directory name, none in the file name */
        snprintf(dir_prefix, sizeof(dir_prefix), "%s", w->path), ext = "";
    char backup_name[4200];
    long ms = ts.tv_nsec / 1000000;
    struct stat st;
    /* two rolls within one millisecond must not overwrite a backup */
    for (int tries = 0; tries < 1000; tries++, ms++) {
        snprintf(backup_name, sizeof(backup_name), "%s-%s.%03ld%s", dir_prefix, stamp, ms % 1000,
                 ext);
        if (stat(backup_name, &st) != 0)
            break;
    }
    close(w->fd);
    rename(w->path, backup_name);
    w->fd = cc_logw_open_file(w->path, w->mode);
    w->size = 0;
    prune_backups(w);
}

void cc_logw_write(struct cc_logw *w, const char *line, size_t n)
{
    if (!w || w->fd < 0)
        return;
    pthread_mutex_lock(&w->mu);
    if (w->roll && w->max > 0 && w->size > 0 && w->size + (int64_t)n > w->max)
        rotate(w);
    if (w->fd >= 0) {
        size_t off = 0;
        while (off < n) {
            ssize_t k = write(w->fd, line + off, n - off);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                break;
            off += (size_t)k;
        }
        w->size += (int64_t)off;
    }
    pthread_mutex_unlock(&w->mu);
}

void cc_logw_free(struct cc_logw *w)
{
    if (w->own_fd && w->fd >= 0)
        close(w->fd);
    pthread_mutex_destroy(&w->mu);
}
