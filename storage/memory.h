/* SPDX-License-Identifier: Apache-2.0
 * The in-memory storage backend, for tests: nothing persists past close. */
#ifndef CC_STORAGE_MEMORY_H
#define CC_STORAGE_MEMORY_H

#include "../core/err.h"
#include "../core/storage.h"

/* A new empty storage (close with s->ops->close), or NULL with err set. */
cc_storage *cc_storage_memory_open(cc_err *err);

#endif
