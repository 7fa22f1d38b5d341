/* SPDX-License-Identifier: Apache-2.0
 * Error values and warnings (see err.h). */
#include "err.h"

#include <stdio.h>
#include <string.h>

int cc_err_vsetat(cc_err *err, const char *file, int line, const char *fmt, va_list ap)
{
    if (!err || err->code)
        return CC_ERR;
    size_t off = 0;
    if (file && line > 0) {
        int n = snprintf(err->msg, sizeof(err->msg), "%s:%d: ", file, line);
        off = n > 0 ? (size_t)n : 0;
        if (off >= sizeof(err->msg))
            off = sizeof(err->msg) - 1;
    }
    vsnprintf(err->msg + off, sizeof(err->msg) - off, fmt, ap);
    err->code = CC_ECONFIG;
    return CC_ERR;
}

int cc_err_setat(cc_err *err, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cc_err_vsetat(err, file, line, fmt, ap);
    va_end(ap);
    return CC_ERR;
}

int cc_err_vset(cc_err *err, const char *fmt, va_list ap)
{
    return cc_err_vsetat(err, NULL, 0, fmt, ap);
}

int cc_err_set(cc_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cc_err_vsetat(err, NULL, 0, fmt, ap);
    va_end(ap);
    return CC_ERR;
}

void cc_err_clear(cc_err *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = 0;
    }
}

void cc_warn_add(cc_warns *w, const char *file, int line, const char *fmt, ...)
{
    if (!w || !w->a)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *m = cc_arena_vprintf(w->a, fmt, ap);
    va_end(ap);
    const char *s = file && line > 0 ? cc_arena_printf(w->a, "%s:%d: %s", file, line, m) : m;
    CC_VEC_PUSH(w->a, &w->list, s);
}
