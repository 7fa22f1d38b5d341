/* SPDX-License-Identifier: Apache-2.0
 * The golden test runner: every tests/caddyfile/NAME.caddyfiletest is a Caddyfile, a line
 * "----------", then the JSON Caddy adapts it to (compared as JSON values) or a substring
 * of the expected error. For files that adapt, the formatter is checked too: formatting
 * is idempotent and the formatted Caddyfile adapts to the same JSON. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "../../caddyfile/adapter.h"
#include "../../caddyfile/format.h"
#include "../../handlers/handlers.h"
#include "../t.h"

#define SEPARATOR "----------"
#define SUFFIX ".caddyfiletest"

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0, r;
    char *buf = malloc(cap);
    while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n < 2) {
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

/* Splits at the first line that is exactly the separator; false if there is none. */
static bool split_test(const char *text, size_t len, size_t *cf_len, const char **expect)
{
    size_t seplen = strlen(SEPARATOR);
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t l = end - i;
        if (l > 0 && text[i + l - 1] == '\r')
            l--;
        if (l == seplen && memcmp(text + i, SEPARATOR, seplen) == 0) {
            *cf_len = i;
            *expect = nl ? nl + 1 : text + len;
            return true;
        }
        i = end + 1;
    }
    return false;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* Adapts src as "Caddyfile"; returns the config as a jansson value, or NULL with err
 * set. */
static json_t *adapt_json(const char *src, size_t len, cc_err *err)
{
    cc_arena *a = cc_arena_new(0);
    cc_warns warns = {.a = a};
    cc_cfg *cfg = NULL;
    json_t *res = NULL;
    if (cc_cf_adapt(a, "Caddyfile", src, len, &cfg, &warns, err) == CC_OK) {
        size_t n;
        char *js = cc_cfg_to_json(cfg, false, &n);
        json_error_t jerr;
        res = json_loadb(js, n, 0, &jerr);
        if (!res)
            cc_err_set(err, "adapter output is not JSON: %s", jerr.text);
        free(js);
    }
    cc_arena_free(a);
    return res;
}

static void print_json(const char *label, const json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
    fprintf(stderr, "--- %s ---\n%s\n", label, s ? s : "(unprintable)");
    free(s);
}

/* The two formatter checks for a Caddyfile that adapts to got. */
static void check_format(const char *name, const char *src, size_t len, const json_t *got)
{
    size_t n1, n2;
    char *once = cc_cf_format(src, len, &n1);
    char *twice = cc_cf_format(once, n1, &n2);
    T_OK(n1 == n2 && memcmp(once, twice, n1) == 0,
         "%s: fmt is not idempotent:\n%s--- formatted again ---\n%s", name, once, twice);

    cc_err err = {0};
    json_t *again = adapt_json(once, n1, &err);
    bool same = again && json_equal(again, got);
    T_OK(same, "%s: the formatted Caddyfile adapts differently%s%s", name, again ? "" : ": ",
         again ? "" : err.msg);
    if (again && !same) {
        fprintf(stderr, "--- formatted Caddyfile ---\n%s", once);
        print_json("original", got);
        print_json("formatted", again);
    }
    json_decref(again);
    free(once);
    free(twice);
}

static void run_file(const char *name)
{
    size_t len;
    char *text = read_all(name, &len);
    if (!text) {
        T_OK(false, "%s: cannot read", name);
        return;
    }
    size_t cf_len;
    const char *expect_raw;
    if (!split_test(text, len, &cf_len, &expect_raw)) {
        T_OK(false, "%s: no %s line", name, SEPARATOR);
        free(text);
        return;
    }
    char *expect_copy = strdup(expect_raw);
    char *expect = trim(expect_copy);
    /* like Caddy's runner: the Caddyfile part is trimmed and ends with one newline */
    text[cf_len] = '\0';
    char *cf = trim(text);
    cf_len = strlen(cf);
    cf[cf_len++] = '\n';
    cf[cf_len] = '\0';

    cc_err err = {0};
    json_t *got = adapt_json(cf, cf_len, &err);
    if (expect[0] == '{') {
        json_error_t jerr;
        json_t *want = json_loads(expect, 0, &jerr);
        if (!want) {
            T_OK(false, "%s: expected part is not JSON: %s (line %d)", name, jerr.text, jerr.line);
        } else if (!got) {
            T_OK(false, "%s: adapt failed: %s", name, err.msg);
        } else {
            bool eq = json_equal(got, want);
            T_OK(eq, "%s: adapted JSON differs", name);
            if (!eq) {
                print_json("expected", want);
                print_json("actual", got);
            }
        }
        json_decref(want);
    } else if (got) {
        char *s = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
        T_OK(false, "%s: adapt succeeded, expected error containing \"%s\"; got %s", name, expect,
             s ? s : "");
        free(s);
    } else {
        T_OK(strstr(err.msg, expect) != NULL, "%s: error \"%s\" does not contain \"%s\"", name,
             err.msg, expect);
    }
    if (got)
        check_format(name, cf, cf_len, got);
    json_decref(got);
    free(expect_copy);
    free(text);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
    cc_modules_set(cc_handler_modules);
    const char *dir = getenv("CC_GOLDEN_DIR");
    if (!dir)
        dir = "tests/caddyfile";
    DIR *d = chdir(dir) == 0 ? opendir(".") : NULL;
    T_OK(d != NULL, "cannot open %s (run from the repository root)", dir);
    if (!d)
        return t_done();

    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    size_t slen = strlen(SUFFIX);
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l <= slen || strcmp(e->d_name + l - slen, SUFFIX) != 0)
            continue;
        char **nn = realloc(names, (n + 1) * sizeof(*names));
        if (!nn)
            break;
        names = nn;
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), by_name);
    T_OK(n > 0, "no *%s files in %s", SUFFIX, dir);
    for (size_t i = 0; i < n; i++) {
        run_file(names[i]);
        free(names[i]);
    }
    free(names);
    return t_done();
}
