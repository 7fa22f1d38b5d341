/* SPDX-License-Identifier: Apache-2.0
 * Mapped file bodies sent by sendfile (mapsend.c): the registry of mappings, and the
 * send paths the socket interposers take for bytes that lie in one. */
#ifndef CC_ENGINE_MAPSEND_H
#define CC_ENGINE_MAPSEND_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Mappings shorter than this are sent as memory: the copy costs less than the calls. */
#define ENG_MAPSEND_MIN ((size_t)64 << 10)

/* Registers [base, base+len) as file fd from offset foff (fd is duplicated); false when
 * it was not (too short, or out of memory), which only means it is sent as memory. */
bool eng_mapsend_add(const void *base, size_t len, int fd, off_t foff);
/* Forgets the mapping at base; call before it is unmapped. */
void eng_mapsend_remove(const void *base);
/* sendmsg / send for a plain socket: *mine is false (and nothing was sent) when the
 * bytes are not in a registered mapping, so the caller sends them itself. */
ssize_t eng_mapsend_msg(int sock, const struct msghdr *msg, int flags, bool *mine);
ssize_t eng_mapsend_buf(int sock, const void *buf, size_t len, bool *mine);

#endif
