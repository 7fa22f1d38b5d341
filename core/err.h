/* SPDX-License-Identifier: Apache-2.0
 * Error values and warnings. A cc_err carries one human-readable message; config
 * errors always start with "FILE:LINE: " so a user can jump to the place. */
#ifndef CC_ERR_H
#define CC_ERR_H

#include <stdarg.h>
#include <stddef.h>

#include "arena.h"

enum {
    CC_OK = 0,
    CC_ERR = -1,
    CC_ENOMEM = -2,
    CC_EINVAL = -3,
    CC_EIO = -4,
    CC_ENOTFOUND = -5,
    CC_EAGAIN = -6,
    CC_ETIMEDOUT = -7,
    CC_ECONFIG = -8,
    CC_EUPSTREAM = -9,
};

typedef struct cc_err {
    int code;       /* CC_E*, 0 when no error was set */
    char msg[1024]; /* NUL-terminated; truncated if longer */
} cc_err;

/** Sets err (if not NULL and not already set) and returns CC_ERR. The first error wins:
 * the innermost failure usually knows the position best. */
int cc_err_set(cc_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cc_err_vset(cc_err *err, const char *fmt, va_list ap);
/** Like cc_err_set with a "FILE:LINE: " prefix (file NULL or line <= 0 omits it). */
int cc_err_setat(cc_err *err, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int cc_err_vsetat(cc_err *err, const char *file, int line, const char *fmt, va_list ap);
/** Forgets a set error. */
void cc_err_clear(cc_err *err);

/* Warnings collected while adapting a config: arena-owned "FILE:LINE: message" strings. */
typedef struct cc_warns {
    cc_arena *a;
    CC_VEC(const char *) list;
} cc_warns;

void cc_warn_add(cc_warns *w, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
