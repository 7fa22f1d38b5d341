/* SPDX-License-Identifier: Apache-2.0
 * Tests of the Caddyfile formatter: a table of inputs with the exact output Caddy's
 * `caddy fmt` rules give (spacing, nesting, blank lines, braces, comments, quotes,
 * backticks, heredocs, placeholders, imports before the global block), idempotence of
 * every case, and robustness on arbitrary bytes. */
#include <stdlib.h>
#include <string.h>

#include "../../caddyfile/format.h"
#include "../t.h"

typedef struct {
    const char *name;
    const char *in;
    const char *want;
} fmt_case;

static const fmt_case cases[] = {
    {"spacing",
     "example.com    respond   hi\n"
     "\t root  /srv\n"
     "foo\n",
     "example.com respond hi\n"
     "root /srv\n"
     "foo\n"},
    {"nested blocks",
     "  site {\n"
     "route {\n"
     "respond 1\n"
     "}\n"
     "\tfile_server\n"
     "}\n",
     "site {\n"
     "\troute {\n"
     "\t\trespond 1\n"
     "\t}\n"
     "\tfile_server\n"
     "}\n"},
    {"blank lines",
     "a\n"
     "\n"
     "\n"
     "\n"
     "\n"
     "b {\n"
     "\n"
     "\n"
     "\tc\n"
     "\n"
     "\n"
     "\td\n"
     "}\n"
     "\n"
     "\n"
     "\n"
     "z",
     "a\n"
     "\n"
     "b {\n"
     "\tc\n"
     "\n"
     "\td\n"
     "}\n"
     "\n"
     "z\n"},
    {"brace on same line as first directive",
     "x { y\n"
     "}\n"
     "w { v {\n"
     "u\n"
     "}\n"
     "}",
     "x {\n"
     "\ty\n"
     "}\n"
     "w {\n"
     "\tv {\n"
     "\t\tu\n"
     "\t}\n"
     "}\n"},
    {"one-line blocks", "a { b c d }",
     "a {\n"
     "\tb c d\n"
     "}\n"},
    {"glued open brace",
     "site{\n"
     "\tfile_server\n"
     "}",
     "site {\n"
     "\tfile_server\n"
     "}\n"},
    {"glued open brace with token",
     "site{ respond ok\n"
     "}",
     "site {\n"
     "\trespond ok\n"
     "}\n"},
    {"token after close brace",
     "a {\n"
     "\tb\n"
     "}c{\n"
     "d e\n"
     "f}",
     "a {\n"
     "\tb\n"
     "}\n"
     "\n"
     "c {\n"
     "\td e\n"
     "\tf\n"
     "}\n"},
    {"standalone brace lines",
     "{\n"
     "{ t\n"
     "\t\tu\n"
     "\n"
     "v\n"
     "}\n"
     "}",
     "{\n"
     "\t{\n"
     "\t\tt\n"
     "\t\tu\n"
     "\n"
     "\t\tv\n"
     "\t}\n"
     "}\n"},
    {"env placeholders",
     "{$SITE}\n"
     "\n"
     "x {\n"
     "{$BODY}\n"
     "}\n"
     "\n"
     "y { {$Z}\n"
     "}",
     "{$SITE}\n"
     "\n"
     "x {\n"
     "\t{$BODY}\n"
     "}\n"
     "\n"
     "y {\n"
     "\t{$Z}\n"
     "}\n"},
    {"env placeholder port", "localhost:{$PORT:8080}", "localhost:{$PORT:8080}\n"},
    {"env placeholder ends indented line",
     "{\n"
     "\tdebug\n"
     "\n"
     "\t{$EXTRA}\n"
     "}",
     "{\n"
     "\tdebug\n"
     "\n"
     "\t{$EXTRA}\n"
     "}\n"},
    {"comments",
     "# top   comment  kept\n"
     "\n"
     "   #  indented {\n"
     "site {\n"
     "respond#not-comment\n"
     "   # inner\n"
     "}\n"
     "other { # after brace\n"
     "}",
     "# top   comment  kept\n"
     "\n"
     "#  indented {\n"
     "site {\n"
     "\trespond#not-comment\n"
     "\t# inner\n"
     "}\n"
     "other {\n"
     "\t# after brace\n"
     "}\n"},
    {"quotes",
     "\"one \\\"two\\\" \"#x\n"
     "  y\n"
     "\n"
     "z {\n"
     "\"q\"\n"
     "}\n"
     "\n"
     "w { \"r s\"\n"
     "}\n"
     "\n"
     "m {\n"
     "\t\"multi\n"
     "line\"\n"
     "}",
     "\"one \\\"two\\\" \"#x\n"
     "y\n"
     "\n"
     "z {\n"
     "\t\"q\"\n"
     "}\n"
     "\n"
     "w {\n"
     "\t\"r s\"\n"
     "}\n"
     "\n"
     "m {\n"
     "\t\"multi\n"
     "line\"\n"
     "}\n"},
    {"too many open",
     "a\n"
     "{\n"
     "\tb {\n"
     "\tc\n",
     "a {\n"
     "\tb {\n"
     "\t\tc\n"},
    {"too many close",
     "a {\n"
     "b\n"
     "}}}\n",
     "a {\n"
     "\tb\n"
     "}\n"
     "}\n"
     "}\n"},
    {"json argument", "header   X-Json    \"{\\\"a\\\":[1,2]}\"\n",
     "header X-Json \"{\\\"a\\\":[1,2]}\"\n"},
    {"escaped quotes after space", "respond  \\\"hi\\\"   200", "respond \\\"hi\\\" 200\n"},
    {"placeholder arguments", "rewrite * {path}  {query}", "rewrite * {path} {query}\n"},
    {"placeholders inside tokens", "root {vars.dir}/x a{b}c", "root {vars.dir}/x a{b}c\n"},
    {"placeholder with space after brace", "a{b} c{ d}e",
     "a{b} c {\n"
     "\td\n"
     "}\n"
     "\n"
     "e\n"},
    {"hash mid token", "redir /a#b /c/#/d 301", "redir /a#b /c/#/d 301\n"},
    {"comment then global block",
     "# settings\n"
     "{\n"
     "\tdebug\n"
     "}",
     "# settings\n"
     "{\n"
     "\tdebug\n"
     "}\n"},
    {"global block with comments",
     "{\n"
     "  admin off\n"
     "\t#  debug\n"
     "}\n"
     "\n"
     ":80 {\n"
     "}\n",
     "{\n"
     "\tadmin off\n"
     "\t#  debug\n"
     "}\n"
     "\n"
     ":80 {\n"
     "}\n"},
    {"misindented global block",
     "  {\n"
     "\tadmin off\n"
     "\t}\n"
     "\n"
     "\t:80 {\n"
     "\t}\n",
     "{\n"
     "\tadmin off\n"
     "}\n"
     "\n"
     ":80 {\n"
     "}\n"},
    {"heredoc verbatim",
     "s {\n"
     "\trespond <<HTML\n"
     "\t<p>a    b</p>\n"
     "\t   x\n"
     "\tHTML 200\n"
     "}",
     "s {\n"
     "\trespond <<HTML\n"
     "\t<p>a    b</p>\n"
     "\t   x\n"
     "\tHTML 200\n"
     "}\n"},
    {"heredoc then directives",
     "s {\n"
     "\trespond <<END\n"
     "  two  spaces\n"
     "  END\n"
     "\theader    X   y\n"
     "}",
     "s {\n"
     "\trespond <<END\n"
     "  two  spaces\n"
     "  END\n"
     "\theader X y\n"
     "}\n"},
    {"heredoc marker followed by space",
     "s {\n"
     "\trespond <<NOTDOC     \"a\"\n"
     "}",
     "s {\n"
     "\trespond <<NOTDOC \"a\"\n"
     "}\n"},
    {"escaped heredoc",
     "s {\n"
     "\trespond \\<<EOF\n"
     "\theader   a   b\n"
     "}",
     "s {\n"
     "\trespond \\<<EOF\n"
     "\theader a b\n"
     "}\n"},
    {"backtick braces", "s {respond `{{.Host}} {x}`}", "s {respond `{{.Host}} {x}`}\n"},
    {"double-quoted template braces", "s {respond \"{{if `a`}}{{end}}\"}",
     "s {respond \"{{if `a`}}{{end}}\"}\n"},
    {"quoted brace arguments",
     "s {\n"
     "\trespond \"{\"\n"
     "\trespond \"}\"\n"
     "\trespond \"{}\"\n"
     "}",
     "s {\n"
     "\trespond \"{\"\n"
     "\trespond \"}\"\n"
     "\trespond \"{}\"\n"
     "}\n"},
    {"quote characters inside other quotes", "a { respond \"`\" } b { respond `\"`}",
     "a {\n"
     "\trespond \"`\"\n"
     "}\n"
     "\n"
     "b {\n"
     "\trespond `\"`\n"
     "}\n"},
    {"multi-line backtick string",
     "h {\n"
     "      respond `line one\n"
     "\n"
     "   {{.X}}\n"
     "end`\n"
     "}",
     "h {\n"
     "\trespond `line one\n"
     "\n"
     "   {{.X}}\n"
     "end`\n"
     "}\n"},
    {"imports then global block",
     "import snippets.caddy\n"
     "import sites/*\n"
     "{\n"
     "\tdebug\n"
     "}",
     "import snippets.caddy\n"
     "import sites/*\n"
     "{\n"
     "\tdebug\n"
     "}\n"},
    {"import not top-level",
     "a {\n"
     "\timport x\n"
     "}\n"
     "{\n"
     "\tdebug\n"
     "}",
     "a {\n"
     "\timport x\n"
     "}\n"
     "\n"
     "{\n"
     "\tdebug\n"
     "}\n"},
    {"crlf",
     "a {\r\n"
     "  b\r\n"
     "}\r\n",
     "a {\n"
     "\tb\n"
     "}\n"},
    {"empty", "", "\n"},
    {"only whitespace",
     " \n"
     "\t\r\n"
     " ",
     "\n"},
    {"nbsp trimmed",
     "\xc2\xa0"
     "a\xc2\xa0",
     "a\n"},
    {"line-leading backslash token",
     "a {\n"
     "\\{x\\} y\n"
     "}",
     "a {\n"
     "\t\\{x\\} y\n"
     "}\n"},
    {"line-leading backtick token",
     "a {\n"
     "\tb\n"
     "\t`c d` e\n"
     "}",
     "a {\n"
     "\tb\n"
     "\t`c d` e\n"
     "}\n"},
    {"line continuation",
     "reverse_proxy a \\\n"
     "  b",
     "reverse_proxy a \\\n"
     " b\n"},
};

static char *fmt_str(const char *s, size_t *n)
{
    return cc_cf_format(s, strlen(s), n);
}

static void check_case(const fmt_case *c)
{
    size_t n1, n2;
    char *once = fmt_str(c->in, &n1);
    T_OK(strcmp(once, c->want) == 0, "%s:\n--- got ---\n%s--- want ---\n%s", c->name, once,
         c->want);
    T_INT(n1, strlen(once));
    char *twice = cc_cf_format(once, n1, &n2);
    T_OK(n1 == n2 && memcmp(once, twice, n1) == 0, "%s: not idempotent:\n%s--- then ---\n%s",
         c->name, once, twice);
    free(once);
    free(twice);
}

/* Indentation stops growing at ten levels (absurd nesting stays bounded), closing braces
 * still step back one level each. */
static void test_nesting_cap(void)
{
    char in[256] = "", want[512] = "";
    for (int i = 0; i < 12; i++)
        strcat(in, "a{\n");
    strcat(in, "x\n");
    for (int i = 0; i < 12; i++)
        strcat(in, "}\n");
    for (int i = 0; i < 12; i++) {
        for (int t = 0; t < (i < 10 ? i : 10); t++)
            strcat(want, "\t");
        strcat(want, "a {\n");
    }
    strcat(want, "\t\t\t\t\t\t\t\t\t\tx\n");
    for (int i = 9; i >= -2; i--) {
        for (int t = 0; t < i; t++)
            strcat(want, "\t");
        strcat(want, "}\n");
    }
    size_t n;
    char *got = fmt_str(in, &n);
    T_STR(got, want);
    free(got);
}

/* Bytes that are not UTF-8 become U+FFFD (as Go's rune reader does); NUL bytes are kept. */
static void test_bytes(void)
{
    size_t n;
    char *got = cc_cf_format("a \xff b", 5, &n);
    T_STR(got, "a \xef\xbf\xbd b\n");
    free(got);

    got = cc_cf_format("x\0y  z", 6, &n);
    T_INT(n, 6);
    T_OK(memcmp(got, "x\0y z\n", 6) == 0, "NUL byte not kept");
    free(got);

    got = cc_cf_format(NULL, 0, &n);
    T_STR(got, "\n");
    T_INT(n, 1);
    free(got);

    got = cc_cf_format("\xe2\x80\x83site\xe3\x80\x80", 10, NULL);
    T_STR(got, "site\n");
    free(got);
}

/* Arbitrary bytes never crash and always give a newline-terminated result. */
static void test_random(void)
{
    static const char alpha[] = "ab{}{}  \n\n\t#\"`\\<<EOF$:-\r";
    unsigned seed = 12345;
    int bad = 0;
    for (int it = 0; it < 20000; it++) {
        char in[96];
        size_t n = (size_t)(rand_r(&seed) % sizeof(in));
        for (size_t i = 0; i < n; i++)
            in[i] = (it & 1) ? (char)rand_r(&seed) : alpha[rand_r(&seed) % (sizeof(alpha) - 1)];
        size_t out_n;
        char *out = cc_cf_format(in, n, &out_n);
        if (out_n == 0 || out[out_n - 1] != '\n' || out[out_n] != '\0')
            bad++;
        free(out);
    }
    T_INT(bad, 0);
}

int main(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_case(&cases[i]);
    test_nesting_cap();
    test_bytes();
    test_random();
    return t_done();
}
