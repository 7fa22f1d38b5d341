/* SPDX-License-Identifier: Apache-2.0
 * Internals shared by the file_server handler's files: path helpers with Go's path and
 * filepath semantics (fs_path.c), the extension -> Content-Type table (fs_mime.c),
 * Go's http.ServeContent for an open file (fs_content.c) and directory listings
 * (fs_browse.c). Not a public interface: only handlers/file_server.c and its fs_*.c
 * siblings include it. */
#ifndef CC_HANDLERS_FS_H
#define CC_HANDLERS_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "../core/fspath.h"
#include "../core/handler.h"
#include "../core/http.h"

/* ---- paths (fs_path.c) ---- */

/** filepath.Abs with a cached working directory. */
const char *cc_fs_abs(cc_arena *a, const char *cwd, const char *p);
/** Caddy's fileHidden: hide entries without '/' match any path component, entries with
 * one match that path and everything below it, and every entry is also a glob over the
 * whole absolute path. hide entries must already be absolute when they hold a '/'. */
bool cc_fs_hidden(cc_arena *a, const char *cwd, const char *filename, const char *const *hide,
                  size_t nhide);

/* ---- content types (fs_mime.c) ---- */

/** Content-Type for the file name's extension (text types with charset=utf-8), or NULL
 * when unknown (then no Content-Type is sent: Caddy never sniffs). */
const char *cc_fs_mime(const char *filename);

/* ---- serving an open file (fs_content.c) ---- */

/** Whether a modification time says anything (Caddy treats 0 and 1 as unknown). */
bool cc_fs_useful_mtime(time_t t);
/** Caddy's strong ETag: "<mtime ns base36>-<size base36>"; NULL if mtime not useful. */
const char *cc_fs_etag(cc_arena *a, const struct stat *st);
/** 308 to path (query kept), with Go's http.Redirect headers and body. */
void cc_fs_redirect(cc_req *r, const char *to_path);

typedef struct cc_fs_content {
    int fd;       /* open regular file; always taken over (closed or handed to the body) */
    int64_t size; /* bytes of fd to serve */
    time_t mtime; /* 0 when unknown: no Last-Modified, date validators ignored */
    int status;   /* status override (error pages, `status`), 0 = none */
} cc_fs_content;

/* Files (or single ranges) up to this size are read into memory, so the engine sends
 * them with the head in one write; larger ones go by sendfile. */
#define CC_FS_SMALL_MEM_MAX (16 * 1024)

/* Bodies of multipart/byteranges up to this size are built in memory; larger ones are
 * streamed from the file. */
#define CC_FS_MULTIPART_MEM_MAX (1 << 20)

/** Go's http.ServeContent: Last-Modified, If-Match / If-Unmodified-Since (412),
 * If-None-Match / If-Modified-Since (304), If-Range, Range (206, multipart/byteranges,
 * 416), Accept-Ranges. The ETag and Content-Type are read from r->resp.headers. */
int cc_fs_serve_content(cc_req *r, const cc_fs_content *c);

/* ---- directory listings (fs_browse.c) ---- */

typedef struct cc_fs_browse {
    bool reveal_symlinks;
    const char *sort, *order; /* configured defaults, NULL when unset */
    int64_t file_limit;       /* 0 = Caddy's default of 10000 */
} cc_fs_browse;

typedef struct cc_fs_listing_req {
    const cc_fs_browse *cfg;
    const char *root;        /* expanded site root */
    const char *dir;         /* file system path of the directory */
    const char *cwd;         /* for hide matching */
    const char *const *hide; /* expanded hide list */
    size_t nhide;
} cc_fs_listing_req;

/** Serves the listing of lr->dir (HTML, or JSON / text when the Accept header asks),
 * after Caddy's trailing-slash redirect. Returns CC_OK, or CC_ERR with r->err set. */
int cc_fs_serve_browse(cc_req *r, const cc_fs_listing_req *lr);

#endif
