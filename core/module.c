/* SPDX-License-Identifier: Apache-2.0
 * The directive module registry (see module.h). */
#include "module.h"

#include <string.h>

static const cc_module *const *modules;

void cc_modules_set(const cc_module *const *table)
{
    modules = table;
}

const cc_module *cc_module_find(const char *name)
{
    if (!modules || !name)
        return NULL;
    for (size_t i = 0; modules[i]; i++)
        if (strcmp(modules[i]->name, name) == 0)
            return modules[i];
    return NULL;
}
