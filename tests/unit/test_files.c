/* SPDX-License-Identifier: Apache-2.0
 * Unit tests for the helpers behind the file_server, encode and rate_limit parsers: Go
 * strconv-compatible numbers (goconv), and file_server's path cleaning, WeakString JSON
 * and the "is this Caddyfile already hidden" check (statics, reached by including the
 * .c). Whole-directive behaviour is covered by tests/caddyfile/files_*.caddyfiletest. */
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "handlers/file_server.c"
#include "tests/t.h"

static cc_arena *A;

static void test_atoi(void)
{
    int64_t v = -1;
    T_OK(cc_goconv_atoi("42", &v) == NULL && v == 42, "42");
    T_OK(cc_goconv_atoi("+7", &v) == NULL && v == 7, "+7");
    T_OK(cc_goconv_atoi("-007", &v) == NULL && v == -7, "-007");
    T_OK(cc_goconv_atoi("9223372036854775807", &v) == NULL && v == INT64_MAX, "max");
    T_OK(cc_goconv_atoi("-9223372036854775808", &v) == NULL && v == INT64_MIN, "min");
    T_STR(cc_goconv_atoi("9223372036854775808", &v), "value out of range");
    T_INT(v, INT64_MAX);
    T_STR(cc_goconv_atoi("-9223372036854775809", &v), "value out of range");
    T_INT(v, INT64_MIN);
    T_STR(cc_goconv_atoi("", &v), "invalid syntax");
    T_STR(cc_goconv_atoi("-", &v), "invalid syntax");
    T_STR(cc_goconv_atoi(" 1", &v), "invalid syntax");
    T_STR(cc_goconv_atoi("1KB", &v), "invalid syntax");
    T_STR(cc_goconv_atoi("1_000", &v), "invalid syntax");
    T_STR(cc_goconv_atoi("0x10", &v), "invalid syntax");
    T_STR(cc_goconv_atoi("99999999999999999999x", &v), "invalid syntax");
}

static void test_float(void)
{
    double d = -1;
    T_OK(cc_goconv_parse_float("0.25", &d) == NULL && d == 0.25, "0.25");
    T_OK(cc_goconv_parse_float("1e-2", &d) == NULL && d == 0.01, "1e-2");
    T_OK(cc_goconv_parse_float("-3", &d) == NULL && d == -3, "-3");
    T_STR(cc_goconv_parse_float("", &d), "invalid syntax");
    T_STR(cc_goconv_parse_float(" 1", &d), "invalid syntax");
    T_STR(cc_goconv_parse_float("1.5x", &d), "invalid syntax");
    T_STR(cc_goconv_parse_float("nan", &d), "invalid syntax");
    T_STR(cc_goconv_parse_float("1e999", &d), "value out of range");
}

static void test_clean(void)
{
    static const char *const cases[][2] = {
        {"", "."},
        {".", "."},
        {"Caddyfile", "Caddyfile"},
        {"./Caddyfile", "Caddyfile"},
        {"a//b/./c/", "a/b/c"},
        {"a/../b", "b"},
        {"../a", "../a"},
        {"a/../../b", "../b"},
        {"/../a", "/a"},
        {"/", "/"},
        {"//x//", "/x"},
        {"a/b/../..", "."},
        {"../../x/..", "../.."},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        T_STR(clean_path(A, cases[i][0]), cases[i][1]);
}

static cc_cfg *strs(const char *a, const char *b)
{
    const char *v[] = {a, b};
    return cc_cfg_str_arr(A, v, b ? 2 : 1);
}

static void test_hidden(void)
{
    char *cwd = getcwd(NULL, 0);
    T_OK(cwd != NULL, "getcwd");
    if (!cwd)
        return;
    const char *abs_cf = cc_arena_printf(A, "%s/Caddyfile", cwd);
    const char *abs_dir = cc_arena_printf(A, "%s/conf", cwd);
    T_OK(!file_hidden(A, "Caddyfile", cc_cfg_arr(A)), "nothing hidden");
    T_OK(file_hidden(A, "Caddyfile", strs("Caddyfile", NULL)), "bare name = component");
    T_OK(file_hidden(A, "conf/site.caddy", strs("*.caddy", NULL)), "glob on a component");
    T_OK(file_hidden(A, "Caddyfile", strs(".git", abs_cf)), "absolute path");
    T_OK(file_hidden(A, "conf/x", strs(abs_dir, NULL)), "directory prefix");
    T_OK(!file_hidden(A, "confx/y", strs(abs_dir, NULL)), "prefix must end at a slash");
    T_OK(!file_hidden(A, "Caddyfile", strs("./Caddyfile", NULL)), "relative with slash");
    T_OK(!file_hidden(A, "Caddyfile", strs("Caddy", ".env")), "no partial names");
    free(cwd);
}

static void test_weak(void)
{
    T_INT(weak_string(A, "404")->i, 404);
    T_INT(weak_string(A, "404")->type, CC_CFG_INT);
    T_INT(weak_string(A, "true")->type, CC_CFG_BOOL);
    T_INT(weak_string(A, "false")->b, 0);
    T_STR(weak_string(A, "{vars.code}")->s.p, "{vars.code}");
    T_INT(weak_string(A, "4o4")->type, CC_CFG_STR);
}

int main(void)
{
    A = cc_arena_new(0);
    test_atoi();
    test_float();
    test_clean();
    test_hidden();
    test_weak();
    cc_arena_free(A);
    return t_done();
}
