/* SPDX-License-Identifier: Apache-2.0
 * `caddy-c fmt`: prints a Caddyfile formatted (or a line diff against the input with
 * --diff), or rewrites it in place with --overwrite; as Caddy's cmdFmt, a file that is not
 * already formatted makes the preview exit with status 1. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../caddyfile/format.h"
#include "cli.h"

enum { F_CONFIG, F_OVERWRITE, F_DIFF, F_COUNT };

const cli_flag cmd_fmt_flags[F_COUNT] = {
    [F_CONFIG] = {"config", 'c', CLI_STRING, NULL, "Configuration file"},
    [F_OVERWRITE] = {"overwrite", 'w', CLI_BOOL, NULL, "Overwrite the input file with the results"},
    [F_DIFF] = {"diff", 'd', CLI_BOOL, NULL,
                "Print the differences between the input file and the formatted output"},
};
_Static_assert(F_COUNT == CMD_FMT_NFLAGS, "flag table size");

/* The diff works on lines as strings.Split(text, "\n") gives them, so text ending in a
 * newline has a final empty line. */
typedef struct {
    const char *p;
    size_t n;
} line;

static line *split_lines(const char *s, size_t n, size_t *count)
{
    size_t k = 1;
    for (size_t i = 0; i < n; i++)
        k += s[i] == '\n';
    line *v = calloc(k, sizeof(*v));
    if (!v)
        return NULL;
    size_t j = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '\n') {
            v[j++] = (line){s + start, i - start};
            start = i + 1;
        }
    }
    *count = k;
    return v;
}

static bool line_eq(line a, line b)
{
    return a.n == b.n && memcmp(a.p, b.p, a.n) == 0;
}

static void emit(const char *prefix, line l)
{
    fputs(prefix, stdout);
    fwrite(l.p, 1, l.n, stdout);
    fputc('\n', stdout);
}

/* Beyond this many LCS cells the middle part is shown as all removed, then all added,
 * instead of allocating gigabytes. */
#define DIFF_MAX_CELLS ((size_t)1 << 26)

/* The middle (after trimming equal ends) of aryann/difflib's Diff: a longest common
 * subsequence table built from the ends, walked from the front, preferring removals,
 * then additions, then common lines. */
static void diff_middle(const line *a, size_t na, const line *b, size_t nb)
{
    size_t cells = (na + 1) * (nb + 1);
    uint32_t *m = cells <= DIFF_MAX_CELLS ? calloc(cells, sizeof(*m)) : NULL;
    if (!m) {
        for (size_t i = 0; i < na; i++)
            emit("- ", a[i]);
        for (size_t j = 0; j < nb; j++)
            emit("+ ", b[j]);
        return;
    }
#define M(i, j) m[(i) * (nb + 1) + (j)]
    for (size_t i = 1; i <= na; i++) {
        for (size_t j = 1; j <= nb; j++) {
            if (line_eq(a[na - i], b[nb - j]))
                M(i, j) = M(i - 1, j - 1) + 1;
            else
                M(i, j) = M(i - 1, j) > M(i, j - 1) ? M(i - 1, j) : M(i, j - 1);
        }
    }
    size_t i = na, j = nb;
    while (i > 0 || j > 0) {
        if (i > 0 && M(i, j) == M(i - 1, j)) {
            emit("- ", a[na - i]);
            i--;
        } else if (j > 0 && M(i, j) == M(i, j - 1)) {
            emit("+ ", b[nb - j]);
            j--;
        } else {
            emit("  ", a[na - i]);
            i--;
            j--;
        }
    }
#undef M
    free(m);
}

static int print_diff(const char *in, size_t in_n, const char *out, size_t out_n)
{
    size_t na, nb;
    line *a = split_lines(in, in_n, &na);
    line *b = split_lines(out, out_n, &nb);
    if (!a || !b) {
        free(a);
        free(b);
        return cli_fail("out of memory");
    }
    /* Equal heads and tails are trimmed first; like difflib, the tail never reaches
     * into the head. */
    size_t start = 0, end = 0;
    while (start < na && start < nb && line_eq(a[start], b[start]))
        start++;
    while (na - 1 - end > start && nb - 1 - end > start &&
           line_eq(a[na - 1 - end], b[nb - 1 - end]))
        end++;
    for (size_t i = 0; i < start; i++)
        emit("  ", a[i]);
    if (start <= na - end && start <= nb - end)
        diff_middle(a + start, na - end - start, b + start, nb - end - start);
    for (size_t i = na - end; i < na; i++)
        emit("  ", a[i]);
    free(a);
    free(b);
    return CLI_EXIT_OK;
}

static int fmt(cli_val *v, char **pos, int npos)
{
    const char *file = npos > 0 ? pos[0] : "";
    const char *flag = v[F_CONFIG].s ? v[F_CONFIG].s : "";
    if (npos > 1 || (*flag && *file)) {
        /* Caddy's message: the --config value, then the arguments */
        size_t cap = strlen(flag) + 2;
        for (int i = 0; i < npos; i++)
            cap += strlen(pos[i]) + 1;
        char *args = calloc(cap, 1);
        if (!args)
            return cli_fail("out of memory");
        for (int i = 0; i < npos; i++) {
            if (i)
                strcat(args, " ");
            strcat(args, pos[i]);
        }
        int rc = cli_fail("fmt does not support multiple files %s %s", flag, args);
        free(args);
        return rc;
    }
    if (!*file)
        file = *flag ? flag : "Caddyfile";

    cc_err err = {0};
    size_t len, out_n;
    char *src = cli_read_file(file, &len, &err);
    if (strcmp(file, "-") == 0) {
        /* stdin: always just the formatted text */
        if (!src)
            return cli_fail("reading stdin: %s", err.msg);
        char *out = cc_cf_format(src, len, &out_n);
        fwrite(out, 1, out_n, stdout);
        free(out);
        free(src);
        return CLI_EXIT_OK;
    }
    if (!src)
        return cli_fail("reading input file: %s", err.msg);

    char *out = cc_cf_format(src, len, &out_n);
    int rc = CLI_EXIT_OK;
    int line_no;
    if (v[F_OVERWRITE].b) {
        if (cli_write_file(file, out, out_n, &err) != CC_OK)
            rc = cli_fail("overwriting formatted file: %s", err.msg);
    } else {
        if (v[F_DIFF].b)
            rc = print_diff(src, len, out, out_n);
        else
            fwrite(out, 1, out_n, stdout);
        fflush(stdout);
        if (rc == CLI_EXIT_OK && cc_cf_format_differs(src, len, &line_no))
            rc = cli_fail("%s:%d: Caddyfile input is not formatted; Tip: use '--overwrite' to "
                          "update your Caddyfile in-place instead of previewing it. Consult "
                          "'--help' for more options",
                          file, line_no);
    }
    free(out);
    free(src);
    return rc;
}

int cmd_fmt(const cli_command *self, int argc, char **argv)
{
    return cli_dispatch(self, argc, argv, fmt);
}
