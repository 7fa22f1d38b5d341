/* SPDX-License-Identifier: Apache-2.0
 * The "file" request matcher (Caddy's http.matchers.file), used by try_files and by
 * `file` named matchers. Install it once at start-up, before a config is loaded:
 * cc_matcher_register(&cc_matcher_file). */
#ifndef CC_MATCH_FILE_H
#define CC_MATCH_FILE_H

#include "match.h"

extern const cc_matcher_impl cc_matcher_file;

/** The variable a matcher sets, to the status as text ("404"), when it raises an error
 * instead of answering (a try_files item "=404"), Caddy's MatcherErrorVarKey. The route
 * runner is to check it after matching a route, clear it, and fail the request with
 * that status (message: the same text), as Caddy's MatchWithError does. */
#define CC_MATCHER_ERROR_VAR "matchers.error"

#endif
