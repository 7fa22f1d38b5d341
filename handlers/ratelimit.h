/* SPDX-License-Identifier: Apache-2.0
 * Internal interfaces of the rate_limit runtime (rate_limit_rt.c): the clock, the
 * process-wide registry that keeps zones across config reloads (ratelimit_reg.c), and
 * distributed rate limiting through the storage (ratelimit_dist.c). Tests use the clock
 * and instance hooks to run several simulated processes in one. */
#ifndef CC_HANDLERS_RATELIMIT_H
#define CC_HANDLERS_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/err.h"
#include "../core/storage.h"
#include "ratelimit_ring.h"

/* ---- clock ---- */

/** Nanoseconds of the rate-limit clock: CLOCK_MONOTONIC, or the test clock. */
int64_t cc_rl_now(void);
/** Unix nanoseconds minus cc_rl_now() (0 under a test clock), to write timestamps other
 * processes can read. */
int64_t cc_rl_wall_offset(void);
/** Tests: replaces the clock (NULL restores the real one). */
void cc_rl_clock_set(int64_t (*now)(void));

/* ---- instances and the zone registry ---- */

/* One process's rate-limit state: its instance id and its zones by name. */
typedef struct cc_rl_inst cc_rl_inst;

/** The instance new handlers provision into (the process's own unless a test chose). */
cc_rl_inst *cc_rl_inst_current(void);
/** Tests: makes the instance with this id current (created on first use), as if the
 * following handlers ran in another process; NULL returns to the process's own. */
void cc_rl_inst_select(const char *id);
const char *cc_rl_inst_id(const cc_rl_inst *in);
/** The zone named name with these parameters: the registered one when name, max_events
 * and window are the same (a reload keeps its counts), else a fresh one that replaces it
 * in the registry. Counted: release each one. NULL when out of memory. */
cc_rl_zone *cc_rl_inst_acquire(cc_rl_inst *in, const char *name, uint32_t max_events,
                               int64_t window);
void cc_rl_inst_release(cc_rl_inst *in, cc_rl_zone *z);
/** Calls fn for every registered zone, under the registry lock. */
void cc_rl_inst_each(cc_rl_inst *in, void (*fn)(void *ctx, const char *name, cc_rl_zone *z),
                     void *ctx);

/* ---- distributed rate limiting ---- */

typedef struct cc_rl_dist cc_rl_dist;

/** Reads the other instances' states once, then starts the thread that writes this
 * instance's state every write_ns and reads the others' every read_ns (purge_ns > 0:
 * deletes states older than that). NULL with err on failure. */
cc_rl_dist *cc_rl_dist_start(cc_rl_inst *in, cc_storage *st, int64_t read_ns, int64_t write_ns,
                             int64_t purge_ns, cc_err *err);
/** Stops and joins the thread and frees everything. */
void cc_rl_dist_stop(cc_rl_dist *d);

/* The others' counts for one zone, as a cc_rl_others_fn context. */
typedef struct cc_rl_dist_zone {
    cc_rl_dist *d;
    const char *name;
} cc_rl_dist_zone;
bool cc_rl_dist_others(void *zone_ctx, const char *key, size_t keylen, int64_t now, int64_t window,
                       uint32_t *count, int64_t *oldest);

/** Storage key prefix of the instance states. */
#define CC_RL_STATE_PREFIX "rate_limit/instances"

#endif
