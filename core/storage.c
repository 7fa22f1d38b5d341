/* SPDX-License-Identifier: Apache-2.0
 * The storage interface's one shared function (see storage.h); backends live in
 * storage/. */
#include "storage.h"

#include <stdlib.h>

void cc_storage_list_free(char **keys, size_t n)
{
    if (!keys)
        return;
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
}
