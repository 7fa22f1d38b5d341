/* SPDX-License-Identifier: Apache-2.0
 * Logging: runtime messages (JSON lines to stderr, like Caddy's non-TTY default) and
 * access logs configured by the "logging" app and each server's "logs" object
 * (caddy-reference.md 4.4: fields, outputs stdout/stderr/discard/file with roll_size and
 * roll_keep). Writers are shared by all workers; one line is one write(2) under a
 * writer's lock. Secrets (Authorization, Cookie values) are never written. */
#ifndef CC_LOG_H
#define CC_LOG_H

#include <stdarg.h>

#include "cfg.h"
#include "err.h"
#include "http.h"

typedef enum { CC_LOG_DEBUG, CC_LOG_INFO, CC_LOG_WARN, CC_LOG_ERROR } cc_log_level;

/** Minimum level of runtime messages (default INFO; `debug` option lowers it). */
void cc_log_set_level(cc_log_level lvl);
/** One runtime log line: {"level","ts","logger","msg"} plus optional extra JSON members
 * (extra may be NULL, else an object whose members are appended). */
void cc_log(cc_log_level lvl, const char *logger, const cc_cfg *extra, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

struct cc_server;
typedef struct cc_logsys cc_logsys;

/** Builds the writers of config's "logging" app; NULL with err on a bad config. */
cc_logsys *cc_logsys_new(const cc_cfg *config, cc_err *err);
void cc_logsys_free(cc_logsys *ls);
/** Writes the access log entry for a finished request (no-op when the server has no
 * logs, the host is skipped, or the request was marked log_skip). bytes_written is the
 * response body size actually sent. */
void cc_logsys_access(cc_logsys *ls, const struct cc_server *s, cc_req *r, int64_t bytes_read,
                      int64_t bytes_written);

#endif
