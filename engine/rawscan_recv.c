/* SPDX-License-Identifier: Apache-2.0
 * The recv() interposer that feeds the raw-stream scanner. libmicrohttpd 0.9.75 has no
 * strictness option that rejects obs-fold (process_broken_line() in connection.c folds
 * the continuation into the header name whatever MHD_OPTION_STRICT_FOR_CLIENT says), it
 * truncates values at NUL, and it has no read hook. It does read client bytes with plain
 * recv(fd, buf, len, 0) (MHD_recv_ in mhd_sockets.h; `nm -D` shows `U recv`), so the
 * executable's recv() below takes that call (ELF symbol interposition), reads with
 * recvfrom(), and shows the bytes to the scanner attached to that fd (which may cut
 * trailing whitespace MHD would misread out of a Content-Length or Transfer-Encoding
 * line). Every other
 * recv() in the process (fds with no scanner) passes straight through. The alternative,
 * accepting connections ourselves and feeding MHD through a socketpair, costs about 30%
 * of plain-HTTP throughput (engine-notes.md 3.1); this costs one table load per read. */
#undef _FORTIFY_SOURCE
#include "rawscan.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "../core/err.h"
#include "tls_hooks.h"

/* fd -> scanner; a slot is set while the engine owns that fd (MHD's NOTIFY_CONNECTION
 * STARTED .. CLOSED, which brackets the fd's accept and close), so a number reused by
 * another thread after close always finds NULL. */
static _Atomic(cc_rawscan *) *table;
static size_t table_n;
static bool interposed;

int cc_rawscan_registry_init(void)
{
    if (table)
        return CC_OK;
    struct rlimit rl;
    size_t n = 65536;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur > n)
        n = rl.rlim_cur > (1u << 21) ? (1u << 21) : (size_t)rl.rlim_cur;
    table = calloc(n, sizeof(*table));
    if (!table)
        return CC_ERR;
    table_n = n;
    /* the global scope resolves recv to the executable's definition only when the link
     * exported it, which is what makes libmicrohttpd's calls land here */
    interposed = dlsym(RTLD_DEFAULT, "recv") == (void *)&recv;
    return CC_OK;
}

void cc_rawscan_attach(int fd, cc_rawscan *s)
{
    if (fd >= 0 && (size_t)fd < table_n)
        atomic_store_explicit(&table[fd], s, memory_order_release);
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    /* a TLS socket MHD serves directly reads plaintext through wolfSSL (tls_direct.c);
     * the scanner then sees what MHD sees */
    bool tls = false;
    ssize_t n = flags & MSG_PEEK ? 0 : eng_tls_direct_recv_fd(fd, buf, len, &tls);
    if (!tls)
        n = recvfrom(fd, buf, len, flags, NULL, NULL);
    if (n > 0 && !(flags & MSG_PEEK) && fd >= 0 && (size_t)fd < table_n) {
        cc_rawscan *s = atomic_load_explicit(&table[fd], memory_order_acquire);
        if (s)
            n = (ssize_t)cc_rawscan_feed(s, buf, (size_t)n);
    }
    return n;
}

size_t cc_rawscan_table_len(void)
{
    return table_n;
}

bool cc_rawscan_interposed(void)
{
    return interposed;
}
