/* SPDX-License-Identifier: Apache-2.0
 * The file-system storage backend (Caddy's `file_system` storage module): one file per
 * key under a root directory, in certmagic's layout, shareable with other processes. */
#ifndef CC_STORAGE_FILESYSTEM_H
#define CC_STORAGE_FILESYSTEM_H

#include "../core/err.h"
#include "../core/storage.h"

/* Opens the storage rooted at root (created with mode 0700 when missing). NULL with err
 * set on failure; close with s->ops->close. */
cc_storage *cc_storage_fs_open(const char *root, cc_err *err);

#endif
