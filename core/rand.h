/* SPDX-License-Identifier: Apache-2.0
 * Fast non-cryptographic random numbers for ids (error ids, request uuids): one
 * generator per thread, seeded from the kernel, so the hot path takes no lock. Not for
 * secrets. */
#ifndef CC_RAND_H
#define CC_RAND_H

#include <stddef.h>
#include <stdint.h>

uint64_t cc_rand64(void);
void cc_rand_bytes(void *buf, size_t n);

#endif
