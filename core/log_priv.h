/* SPDX-License-Identifier: Apache-2.0
 * Internal pieces of core/log.c shared with server.c: an arena-backed JSON text builder
 * and the error-log entry Caddy writes for handler errors. */
#ifndef CC_LOG_PRIV_H
#define CC_LOG_PRIV_H

#include <stddef.h>

#include "arena.h"
#include "http.h"
#include "log.h"

typedef struct cc_jb {
    cc_arena *a;
    char *p;
    size_t n, cap;
} cc_jb;

void cc_jb_putn(cc_jb *b, const char *s, size_t n);
void cc_jb_puts(cc_jb *b, const char *s);
/** A JSON string literal (invalid UTF-8 becomes \ufffd, as Go's encoder does). */
void cc_jb_str(cc_jb *b, const char *s);
/** "key": with a comma when needed. */
void cc_jb_key(cc_jb *b, const char *k);
void cc_jb_float(cc_jb *b, double v);
void cc_jb_int(cc_jb *b, long long v);

struct cc_server;
/** Caddy's "http.log.error" entry for a handler error (error level for 5xx, else
 * debug). */
void cc_logsys_error(cc_logsys *ls, const struct cc_server *s, cc_req *r);

/* ---- shared between log.c (config, runtime lines), log_file.c (writers) and
 * log_access.c (access and error entries) ---- */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* A log destination: a standard stream, nothing (discard), or a rolling file. */
struct cc_logw {
    char *key;
    int fd; /* -1 = discard */
    bool own_fd;
    bool console; /* default encoder: console when the fd is a terminal */
    pthread_mutex_t mu;
    /* rolling file */
    char *path;
    bool roll;
    int64_t size, max;
    int keep, keep_days;
    bool local_time;
    mode_t mode;
};

/** Appends one line (rolling the file first when it would grow past its limit). */
void cc_logw_write(struct cc_logw *w, const char *line, size_t n);
void cc_logw_free(struct cc_logw *w);
int cc_logw_open_file(const char *path, mode_t mode);
int cc_logw_mkdir_parents(const char *path);

/* A field filter of the "filter" encoder: the field path ("request>headers>Cookie")
 * and what to do with its value. */
typedef enum { F_DELETE, F_REPLACE, F_IP_MASK } ftype;
typedef struct lfilter {
    const char *path;
    ftype t;
    const char *value; /* replace */
    int v4bits, v6bits;
} lfilter;

typedef struct clog {
    const char *name;
    struct cc_logw *w;
    cc_log_level level;
    const char **include, **exclude;
    size_t ninclude, nexclude;
    int format;              /* 0 default, 1 json, 2 console */
    struct lfilter *filters; /* "filter" encoder fields */
    size_t nfilters;
} clog;

struct cc_logsys {
    cc_arena *a;
    clog *logs;
    size_t n;
    struct cc_logw **writers;
    size_t nwriters;
};

/** Minimum level of runtime lines. */
cc_log_level cc_log_min_level(void);
/** One entry: JSON ({"level","ts","logger","msg",fields}) or console text. */
void cc_log_format_entry(cc_jb *b, bool console, cc_log_level lvl, const struct timespec *ts,
                         const char *logger, const char *msg, const char *fields, size_t nfields);
/** Caddy's include/exclude rule for a logger name. */
bool cc_log_logger_allowed(const clog *l, const char *name);

#endif
