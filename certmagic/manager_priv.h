/* SPDX-License-Identifier: Apache-2.0
 * The manager's timing rules, separate so unit tests can check them: when a certificate
 * is due for renewal (a third of its lifetime left, or the CA's ARI window, with
 * certmagic's 1/20 emergency rule) and how long to wait after failed attempts. */
#ifndef CC_CERTMAGIC_MANAGER_PRIV_H
#define CC_CERTMAGIC_MANAGER_PRIV_H

#include <stdbool.h>
#include <time.h>

#include "autohttps.h"

typedef struct mname_view {
    bool have;        /* a certificate exists */
    time_t nb, na;    /* its validity */
    double ratio;     /* renewal window ratio (0 = 1/3) */
    bool acme;        /* ARI applies */
    time_t ari_start; /* the CA's suggested window start, 0 = unknown */
} mname_view;

/** When to renew (now when there is no certificate). */
time_t cm_due(const mname_view *v, time_t now);
/** Seconds to wait after the n-th consecutive failure (certmagic's schedule: 1 minute
 * first, growing to 6 hours). */
int cm_backoff(int failures);

#endif
