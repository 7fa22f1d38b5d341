/* SPDX-License-Identifier: Apache-2.0
 * File bodies for MHD. MHD 0.9.75 sends a file response as a head packet of its own
 * followed by sendfile calls of 128 KiB, with TCP_NODELAY/TCP_CORK toggled around
 * them (engine-notes P6); a buffer response goes out as head and body in one sendmsg.
 * So a regular file up to ENG_MAP_MAX is handed to MHD as a buffer: measured on the
 * 1 MiB static bench, one sendmsg instead of a head packet and eight sendfile calls
 * cut the server's CPU per request by about a third. Up to ENG_READ_MAX the buffer is
 * a copy read into the request's arena (cheaper than mapping a page); above, it is a
 * read-only mapping, and from ENG_MAPSEND_MIN up the mapping is registered with
 * mapsend.c, whose socket paths send its bytes by sendfile from the file, so the
 * mapping is never read. Larger files (and anything that cannot be mapped) keep MHD's
 * sendfile path, so a multi-gigabyte download never maps more than ENG_MAP_MAX per
 * response. MHD does not notice a file that shrinks under sendfile (a short count
 * reads to it as a full socket, and it waits for an edge that never comes), so such a
 * response is watched: once a second the file must still reach the end being sent, or
 * the connection is shut down.
 *
 * A file truncated while it is being sent cannot hurt the process: MHD reads a buffer
 * response only through sendmsg (it copies body bytes in user space only for chunked
 * replies, and a buffer response always has a length), so a page gone past the new
 * end of file fails the kernel's copy with EFAULT and MHD closes the connection, as
 * a short sendfile would. */
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/log.h"
#include "internal.h"
#include "mapsend.h"

#define FILE_WATCH_NS 1000000000ull

typedef struct mapping {
    void *base;
    size_t len;
    bool by_sendfile; /* registered with mapsend.c */
} mapping;

static void unmap(void *cls)
{
    mapping *m = cls;
    if (m->by_sendfile)
        eng_mapsend_remove(m->base);
    munmap(m->base, m->len);
    free(m);
}

/* A small file is read into the request's arena: one pread costs less than mapping,
 * faulting in and unmapping a page. NULL when the file no longer holds the range (it
 * changed under the request): the mapped and sendfile paths deal with that. */
char *eng_file_read(eng_req *q, int fd, int64_t off, int64_t len)
{
    if (len <= 0 || len > ENG_READ_MAX || off < 0)
        return NULL;
    char *buf = cc_arena_alloc_raw(q->arena, (size_t)len);
    if (pread(fd, buf, (size_t)len, (off_t)off) != (ssize_t)len)
        return NULL;
    return buf;
}

static struct MHD_Response *read_file(eng_req *q, int fd, int64_t off, int64_t len)
{
    char *buf = eng_file_read(q, fd, off, len);
    return buf ? MHD_create_response_from_buffer((size_t)len, buf, MHD_RESPMEM_PERSISTENT) : NULL;
}

/* The mapped response for fd[off, off+len), or NULL when it should go by sendfile. */
static struct MHD_Response *map_file(int fd, int64_t off, int64_t len)
{
    if (len <= 0 || len > ENG_MAP_MAX || off < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || off + len > st.st_size)
        return NULL;
    long page = sysconf(_SC_PAGESIZE);
    int64_t lead = off % (page > 0 ? page : 4096);
    mapping *m = malloc(sizeof(*m));
    if (!m)
        return NULL;
    m->len = (size_t)(len + lead);
    m->base = mmap(NULL, m->len, PROT_READ, MAP_SHARED, fd, off - lead);
    if (m->base == MAP_FAILED) {
        free(m);
        return NULL;
    }
    m->by_sendfile = eng_mapsend_add(m->base, m->len, fd, (off_t)(off - lead));
    struct MHD_Response *mr = MHD_create_response_from_buffer_with_free_callback_cls(
        (size_t)len, (char *)m->base + lead, unmap, m);
    if (!mr)
        unmap(m);
    return mr;
}

struct MHD_Response *eng_file_response(eng_req *q, int fd, int64_t off, int64_t len, bool no_body)
{
    if (len < 0) {
        struct stat st;
        len = fstat(fd, &st) == 0 ? (int64_t)st.st_size - off : 0;
        if (len < 0)
            len = 0;
    }
    q->resp_size = len;
    struct MHD_Response *mr = NULL;
    if (!no_body && !(mr = read_file(q, fd, off, len)))
        mr = map_file(fd, off, len);
    if (mr)
        return mr; /* the fd stays with the body and is closed at release */
    mr = MHD_create_response_from_fd_at_offset64((uint64_t)len, fd, (uint64_t)off);
    if (!mr)
        return NULL;
    q->fd_to_mhd = true; /* MHD closes it with the response, after on_completed */
    if (q->c && !no_body && len > 0) {
        eng_worker *w = q->wl->w;
        q->c->fw_fd = fd;
        q->c->fw_end = off + len;
        eng_timer_arm(w, &q->c->fw, w->now + FILE_WATCH_NS);
    }
    return mr;
}

bool eng_file_watch_due(eng_worker *w, eng_conn *c)
{
    struct stat st;
    if (c->fw_fd < 0)
        return false;
    if (fstat(c->fw_fd, &st) == 0 && st.st_size >= c->fw_end) {
        eng_timer_arm(w, &c->fw, w->now + FILE_WATCH_NS);
        return false;
    }
    cc_log(CC_LOG_WARN, "http.engine", NULL,
           "closing %s:%d: the file being sent was truncated under the response",
           c->info.remote_ip ? c->info.remote_ip : "", c->info.remote_port);
    c->fw_fd = -1;
    return true;
}
