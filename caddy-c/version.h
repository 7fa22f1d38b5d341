/* SPDX-License-Identifier: Apache-2.0
 * The program name and version, defined once for `caddy-c version`, `--version` and the
 * help texts. */
#ifndef CC_VERSION_H
#define CC_VERSION_H

#define CC_PROGRAM "caddy-c"
#define CC_VERSION "v0.1.0"

#endif
