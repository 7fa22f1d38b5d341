/* SPDX-License-Identifier: Apache-2.0
 * caddy-c entry point (placeholder until the CLI lands). */
#include <stdio.h>

int main(void)
{
    puts("caddy-c");
    return 0;
}
