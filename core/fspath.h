/* SPDX-License-Identifier: Apache-2.0
 * File system paths from request paths (Go's path.Clean and path.Base, Caddy's
 * SanitizedPathJoin), for the file matcher and the file_server handler. */
#ifndef CC_FSPATH_H
#define CC_FSPATH_H

#include "arena.h"

/** Go's path.Clean for slash paths. */
char *cc_fs_clean(cc_arena *a, const char *p);
/** Go's path.Base ("" -> ".", all slashes -> "/"). */
const char *cc_fs_base(cc_arena *a, const char *p);
/** Caddy's SanitizedPathJoin: root + the cleaned request path, never above root; a
 * request path ending in '/' keeps the slash. */
char *cc_fs_join(cc_arena *a, const char *root, const char *req_path);

#endif
