/* SPDX-License-Identifier: Apache-2.0
 * A tiny unit-test harness: checks count passes and failures, failures print their
 * place, and t_done() prints the closing "N passed, N failed" line. */
#ifndef CC_TEST_T_H
#define CC_TEST_T_H

#include <stdio.h>
#include <string.h>

static int t_pass, t_fail;

#define T_OK(cond, ...)                                                                            \
    do {                                                                                           \
        if (cond) {                                                                                \
            t_pass++;                                                                              \
        } else {                                                                                   \
            t_fail++;                                                                              \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

#define T_STR(got, want)                                                                           \
    do {                                                                                           \
        const char *g_ = (got), *w_ = (want);                                                      \
        T_OK(g_ &&w_ &&strcmp(g_, w_) == 0, "%s: got \"%s\", want \"%s\"", #got,                   \
             g_ ? g_ : "(null)", w_ ? w_ : "(null)");                                              \
    } while (0)

#define T_INT(got, want)                                                                           \
    do {                                                                                           \
        long long g_ = (long long)(got), w_ = (long long)(want);                                   \
        T_OK(g_ == w_, "%s: got %lld, want %lld", #got, g_, w_);                                   \
    } while (0)

/* got contains want as a substring */
#define T_HAS(got, want)                                                                           \
    do {                                                                                           \
        const char *g_ = (got), *w_ = (want);                                                      \
        T_OK(g_ &&w_ &&strstr(g_, w_), "%s: \"%s\" does not contain \"%s\"", #got,                 \
             g_ ? g_ : "(null)", w_ ? w_ : "(null)");                                              \
    } while (0)

static inline int t_done(void)
{
    printf("%d passed, %d failed\n", t_pass, t_fail);
    return t_fail ? 1 : 0;
}

#endif
