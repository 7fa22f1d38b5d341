/* SPDX-License-Identifier: Apache-2.0
 * Unit tests for the Caddyfile lexer: {$ENV} substitution and tokenizing (token texts,
 * line numbers, quote kinds, heredocs and the exact error messages of Caddy's lexer). */
#include <stdlib.h>

#include "caddyfile/lexer.h"
#include "tests/t.h"

typedef struct exp_tok {
    int line; /* 0 ends the list */
    const char *text;
    char quote;
} exp_tok;

static cc_arena *A;

static const char *show(const char *s, size_t n)
{
    char *o = cc_arena_alloc(A, n * 4 + 1), *p = o;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n')
            p += sprintf(p, "\\n");
        else if (c == '\t')
            p += sprintf(p, "\\t");
        else if (c < 0x20 || c >= 0x7f)
            p += sprintf(p, "\\x%02x", c);
        else
            *p++ = (char)c;
    }
    *p = 0;
    return o;
}

/* One check per input: every token's text, line and quote kind must match. */
static void check_lex(int at, const char *src, size_t len, const exp_tok *want)
{
    cc_tokvec v = {0};
    cc_err err = {0};
    int rc = cc_cf_lex(A, "Caddyfile", src, len, &v, &err);
    size_t nwant = 0;
    while (want[nwant].line)
        nwant++;
    const char *why = NULL;
    if (rc != CC_OK)
        why = cc_arena_printf(A, "error: %s", err.msg);
    else if (v.n != nwant)
        why = cc_arena_printf(A, "got %zu tokens, want %zu", v.n, nwant);
    for (size_t i = 0; !why && i < nwant; i++) {
        const cc_token *t = &v.v[i];
        size_t wl = strlen(want[i].text);
        if (t->len != wl || memcmp(t->text, want[i].text, wl) != 0 || t->text[t->len] != 0)
            why = cc_arena_printf(A, "token %zu text \"%s\", want \"%s\"", i, show(t->text, t->len),
                                  show(want[i].text, wl));
        else if (t->line != want[i].line)
            why = cc_arena_printf(A, "token %zu \"%s\" line %d, want %d", i, show(t->text, t->len),
                                  t->line, want[i].line);
        else if (t->quote != want[i].quote)
            why = cc_arena_printf(A, "token %zu \"%s\" quote '%c', want '%c'", i,
                                  show(t->text, t->len), t->quote ? t->quote : '0',
                                  want[i].quote ? want[i].quote : '0');
        else if (strcmp(t->file, "Caddyfile") != 0)
            why = "file not set";
    }
    if (why) {
        fprintf(stderr, "  input: \"%s\"\n  tokens:", show(src, len));
        for (size_t i = 0; i < v.n; i++)
            fprintf(stderr, " [%d:%c:\"%s\"]", v.v[i].line, v.v[i].quote ? v.v[i].quote : '0',
                    show(v.v[i].text, v.v[i].len));
        fputc('\n', stderr);
    }
    T_OK(!why, "line %d: %s", at, why ? why : "");
}

#define LEX(src, ...) check_lex(__LINE__, src, sizeof(src) - 1, (const exp_tok[]){__VA_ARGS__{0}})
#define B CC_TOK_BARE
#define Q CC_TOK_DQUOTE
#define BT CC_TOK_BACKTICK
#define H CC_TOK_HEREDOC

static void check_err(int at, const char *src, size_t len, const char *want)
{
    cc_tokvec v = {0};
    cc_err err = {0};
    int rc = cc_cf_lex(A, "Caddyfile", src, len, &v, &err);
    T_OK(rc == CC_ERR && strcmp(err.msg, want) == 0, "line %d: rc %d, got \"%s\", want \"%s\"", at,
         rc, show(err.msg, strlen(err.msg)), show(want, strlen(want)));
}

#define ERR(src, want) check_err(__LINE__, src, sizeof(src) - 1, want)

static void test_basic(void)
{
    LEX("localhost:8080", {1, "localhost:8080", B}, );
    LEX("example.com:443\n\n\tfile_server", {1, "example.com:443", B}, {3, "file_server", B}, );
    LEX("example.com {\n\treverse_proxy app:80\n}", {1, "example.com", B}, {1, "{", B},
        {2, "reverse_proxy", B}, {2, "app:80", B}, {3, "}", B}, );
    LEX("a.test { respond hi }", {1, "a.test", B}, {1, "{", B}, {1, "respond", B}, {1, "hi", B},
        {1, "}", B}, );
    LEX("", );
    LEX(" \t\n\n  ", );
    LEX("a\tb\vc\fd", {1, "a", B}, {1, "b", B}, {1, "c", B}, {1, "d", B}, );
}

static void test_comments(void)
{
    LEX("site {\n\t# first\n\tencode gzip # trailing\n#x\n\tlog\n}", {1, "site", B}, {1, "{", B},
        {3, "encode", B}, {3, "gzip", B}, {5, "log", B}, {6, "}", B}, );
    LEX("rewrite /a#b /c/#/d", {1, "rewrite", B}, {1, "/a#b", B}, {1, "/c/#/d", B}, );
    LEX("# one\n# two\nhost", {3, "host", B}, );
    LEX("a\n# comment at EOF", {1, "a", B}, );
    LEX("a #b c\nd", {1, "a", B}, {2, "d", B}, );
    LEX("\"#not a comment\" x", {1, "#not a comment", Q}, {1, "x", B}, );
    /* A backslash inside a comment escapes the comment's newline, as in Caddy. */
    LEX("# c \\\nx\ny", {1, "x", B}, {3, "y", B}, );
}

static void test_quotes(void)
{
    LEX("respond \"hello world\" 200\nnext", {1, "respond", B}, {1, "hello world", Q},
        {1, "200", B}, {2, "next", B}, );
    LEX("X \"say \\\"hi\\\" now\" Y", {1, "X", B}, {1, "say \"hi\" now", Q}, {1, "Y", B}, );
    LEX("x \"ab\\\ncd\" y", {1, "x", B}, {1, "ab\\\ncd", Q}, {2, "y", B}, );
    LEX("\"keep\\ backslash\"", {1, "keep\\ backslash", Q}, );
    LEX("\"no\\tescape\"", {1, "no\\tescape", Q}, );
    LEX("\"two\\\\here\"", {1, "two\\\\here", Q}, );
    LEX("\"\\\\\"", {1, "\\\\", Q}, );
    LEX("\"D:\\caddy\\bin\\x.exe\"", {1, "D:\\caddy\\bin\\x.exe", Q}, );
    LEX("A \"line one\n\tline two\" {\n\tdir\n}", {1, "A", B}, {1, "line one\n\tline two", Q},
        {2, "{", B}, {3, "dir", B}, {4, "}", B}, );
    LEX("a \"\" b", {1, "a", B}, {1, "", Q}, {1, "b", B}, );
    LEX("\"a\r\nb\" c", {1, "a\r\nb", Q}, {2, "c", B}, );
    LEX("a\"b c\"", {1, "a\"b", B}, {1, "c\"", B}, );
    LEX("\"{\" \"}\" {", {1, "{", Q}, {1, "}", Q}, {1, "{", B}, );
    /* An unterminated quote yields its text as a bare token at EOF. */
    LEX("a \"bc d", {1, "a", B}, {1, "bc d", B}, );
    LEX("a \"", {1, "a", B}, );
}

static void test_backticks(void)
{
    LEX("x `a b` y", {1, "x", B}, {1, "a b", BT}, {1, "y", B}, );
    LEX("x `a\nb\n` y", {1, "x", B}, {1, "a\nb\n", BT}, {3, "y", B}, );
    LEX("`say \"hi\" now` z", {1, "say \"hi\" now", BT}, {1, "z", B}, );
    LEX("\"`x` y\" z", {1, "`x` y", Q}, {1, "z", B}, );
    LEX("`a\\\"b`", {1, "a\\\"b", BT}, );
    LEX("``", {1, "", BT}, );
}

static void test_backslashes(void)
{
    LEX("one two\\\nthree four", {1, "one", B}, {1, "two", B}, {1, "three", B}, {1, "four", B}, );
    LEX("first\\\ncont\nsecond\nthird", {1, "first", B}, {1, "cont", B}, {3, "second", B},
        {4, "third", B}, );
    LEX("a\\\nb\\\nc\nd\ne", {1, "a", B}, {1, "b", B}, {1, "c", B}, {4, "d", B}, {5, "e", B}, );
    LEX("a \\\n b\nc", {1, "a", B}, {1, "b", B}, {3, "c", B}, );
    LEX("a\\b", {1, "a\\b", B}, );
    LEX("D:\\dir\\file.txt", {1, "D:\\dir\\file.txt", B}, );
    LEX("foo \\ bar", {1, "foo", B}, {1, "\\bar", B}, );
    LEX("a\\\r\nb\r\nc", {1, "a", B}, {1, "b", B}, {3, "c", B}, );
}

static void test_bytes(void)
{
    LEX("one two\r\nthree\r\n", {1, "one", B}, {1, "two", B}, {2, "three", B}, );
    LEX("\xEF\xBB\xBF:80", {1, ":80", B}, );
    LEX("\xEF\xBB\xBF", );
    LEX("a \xEF\xBB\xBF", {1, "a", B}, {1, "\xEF\xBB\xBF", B}, );
    LEX("a\xC2\xA0"
        "b\xE3\x80\x80"
        "c",
        {1, "a", B}, {1, "b", B}, {1, "c", B}, );
    LEX("\xC3\xA9t\xC3\xA9", {1, "\xC3\xA9t\xC3\xA9", B}, );
    /* Invalid UTF-8 becomes U+FFFD, as Caddy's rune reader produces. */
    LEX("a\xFF"
        "b \xC3",
        {1,
         "a\xEF\xBF\xBD"
         "b",
         B},
        {1, "\xEF\xBF\xBD", B}, );

    cc_tokvec v = {0};
    cc_err err = {0};
    int rc = cc_cf_lex(A, "Caddyfile", "a\0b c", 5, &v, &err);
    T_OK(rc == CC_OK && v.n == 2 && v.v[0].len == 3 && memcmp(v.v[0].text, "a\0b", 4) == 0,
         "NUL inside a token");
    v = (cc_tokvec){0};
    rc = cc_cf_lex(A, "Caddyfile", "r <<s\n\0x\ns", 10, &v, &err);
    T_OK(rc == CC_OK && v.n == 2 && v.v[1].len == 2 && memcmp(v.v[1].text, "\0x", 3) == 0,
         "NUL inside a heredoc");
}

static void test_heredocs(void)
{
    LEX("respond <<EOF\nhello\nEOF 200\n", {1, "respond", B}, {1, "hello", H}, {3, "200", B}, );
    LEX("respond <<MY-LONG_MARKER-123\nbody\nMY-LONG_MARKER-123\nnext", {1, "respond", B},
        {1, "body", H}, {4, "next", B}, );
    LEX("r <<X\nbody\n\nX z", {1, "r", B}, {1, "body\n", H}, {4, "z", B}, );
    LEX("r <<EOF\nEOF\n\tafter arg\n", {1, "r", B}, {1, "", H}, {3, "after", B}, {3, "arg", B}, );
    LEX("r <<EOF\n\t\tEOF arg\n", {1, "r", B}, {1, "", H}, {2, "arg", B}, );
    LEX("r <<EOF\n\tline\n\tEOF x", {1, "r", B}, {1, "line", H}, {3, "x", B}, );
    LEX("a\n\tr <<EOF\n\t\tone\n\t\t  two\n\t\tthree\n\tEOF z\n\tnext\n", {1, "a", B}, {2, "r", B},
        {2, "\tone\n\t  two\n\tthree", H}, {6, "z", B}, {7, "next", B}, );
    LEX("r <<EOF\n    a\n\n    b\n    EOF", {1, "r", B}, {1, "a\n\nb", H}, );
    LEX("r <<EOF\nfirst\n\nlast\nEOF", {1, "r", B}, {1, "first\n\nlast", H}, );
    LEX("r <<EOF\n\tx\n\n\ty\n\tEOF", {1, "r", B}, {1, "x\n\ny", H}, );
    LEX("r <<EOF\nx\n\t\ny\nEOF", {1, "r", B}, {1, "x\n\t\ny", H}, );
    LEX("r <<EOF\r\n\tx\r\n\r\n\ty\r\n\tEOF\r\nz", {1, "r", B}, {1, "x\n\ny", H}, {6, "z", B}, );
    /* The body ends wherever it ends with the marker, even mid-line. */
    LEX("r <<END\nfoo ENDbar\n", {1, "r", B}, {1, "", H}, {2, "bar", B}, );
    LEX("r <<s\n\xFF\ns", {1, "r", B}, {1, "\xEF\xBF\xBD", H}, );
    LEX("\nr <<ab\n{x\nab\nq", {2, "r", B}, {2, "{x", H}, {5, "q", B}, );
    /* Caddy ends quietly when the input stops right after the opening line. */
    LEX("r <<EOF\n", {1, "r", B}, );
    LEX("r <<EOF", {1, "r", B}, {1, "<<EOF", B}, );
    LEX("r <<", {1, "r", B}, {1, "<<", B}, );

    cc_tokvec v = {0};
    cc_err err = {0};
    int rc = cc_cf_lex(A, "Caddyfile", "r <<EOF\nx\nEOF", 13, &v, &err);
    T_OK(rc == CC_OK && v.n == 2 && v.v[1].heredoc_marker &&
             strcmp(v.v[1].heredoc_marker, "EOF") == 0 && !v.v[0].heredoc_marker,
         "heredoc_marker set only on the heredoc token");
    T_INT(rc == CC_OK && v.n == 2 ? cc_tok_line_breaks(&v.v[1]) : -1, 2);
}

static void test_not_heredocs(void)
{
    LEX("x \\<< >>", {1, "x", B}, {1, "<<", B}, {1, ">>", B}, );
    LEX("x \\<<EOF\ny", {1, "x", B}, {1, "<<EOF", B}, {2, "y", B}, );
    LEX("x <EOF\n\tcontent\n", {1, "x", B}, {1, "<EOF", B}, {2, "content", B}, );
    LEX("x <<<EOF content", {1, "x", B}, {1, "<<<EOF", B}, {1, "content", B}, );
    LEX("x \"<<\" \"<<EOF\"\ny", {1, "x", B}, {1, "<<", Q}, {1, "<<EOF", Q}, {2, "y", B}, );
    LEX("x << >>", {1, "x", B}, {1, "<<", B}, {1, ">>", B}, );
    LEX("x <<HERE SAME LINE\n\tcontent\n\tHERE arg\n", {1, "x", B}, {1, "<<HERE", B},
        {1, "SAME", B}, {1, "LINE", B}, {2, "content", B}, {3, "HERE", B}, {3, "arg", B}, );
    LEX("a<<EOF b", {1, "a<<EOF", B}, {1, "b", B}, );
}

static void test_errors(void)
{
    ERR("x <<\n", "Caddyfile:1: missing opening heredoc marker on line #1; must contain only "
                  "alphanumeric characters, dashes and underscores; got empty string");
    ERR("\nx <<<END\n\tbody\n\tEND\n",
        "Caddyfile:2: too many '<' for heredoc on line #2; only use two, for example <<END");
    ERR("x <<E.F\n", "Caddyfile:1: heredoc marker on line #1 must contain only alphanumeric "
                     "characters, dashes and underscores; got 'E.F'");
    ERR("x <<A\tB\n", "Caddyfile:1: heredoc marker on line #1 must contain only alphanumeric "
                      "characters, dashes and underscores; got 'A\tB'");
    ERR("a\nx <<END\n\tbody\n\n",
        "Caddyfile:5: incomplete heredoc <<END on line #5, expected ending marker END");
    ERR("x <<END\nbody",
        "Caddyfile:2: incomplete heredoc <<END on line #2, expected ending marker END");
    ERR("r <<EOF\n\tx\n\t\tEOF\n",
        "Caddyfile:2: mismatched leading whitespace in heredoc <<EOF on line #2 [\tx], "
        "expected whitespace [\t\t] to match the closing marker");
    ERR("r <<EOF\n  x\n\tEOF", "Caddyfile:2: mismatched leading whitespace in heredoc <<EOF on "
                               "line #2 [  x], expected whitespace [\t] to match the closing "
                               "marker");
    ERR("r <<EOF\n\t\ta\n\t\n\t\tb\n\t\tEOF",
        "Caddyfile:3: mismatched leading whitespace in heredoc <<EOF on line #3 [\t], "
        "expected whitespace [\t\t] to match the closing marker");
    ERR("a\nr <<EOF\r\n x\r\n\tEOF",
        "Caddyfile:3: mismatched leading whitespace in heredoc <<EOF on line #3 [ x], "
        "expected whitespace [\t] to match the closing marker");
    ERR("r <<END\nhello\nabcEND",
        "Caddyfile:2: mismatched leading whitespace in heredoc <<END on line #2 [hello], "
        "expected whitespace [abc] to match the closing marker");

    cc_tokvec v = {0};
    cc_err err = {0};
    cc_cf_lex(A, NULL, "x <<\n", 5, &v, &err);
    T_STR(err.msg, "missing opening heredoc marker on line #1; must contain only alphanumeric "
                   "characters, dashes and underscores; got empty string");
}

static void check_env(int at, const char *src, size_t len, const char *want, size_t wlen)
{
    size_t n = 12345;
    char *got = cc_cf_env_expand(A, src, len, &n);
    T_OK(got && n == wlen && memcmp(got, want, wlen) == 0 && got[n] == 0,
         "line %d: expand(\"%s\") = \"%s\", want \"%s\"", at, show(src, len),
         got ? show(got, n) : "(null)", show(want, wlen));
}

#define ENV(src, want) check_env(__LINE__, src, sizeof(src) - 1, want, sizeof(want) - 1)

static void test_env(void)
{
    setenv("CCLX_FOO", "foo-val", 1);
    setenv("CCLX_EMPTY", "", 1);
    setenv("CCLX_CHAIN", "{$CCLX_FOO}", 1);
    setenv("CCLX_MULTI", "a b\n\"c d\"", 1);
    unsetenv("CCLX_UNSET");

    ENV("", "");
    ENV("plain text", "plain text");
    ENV("{$CCLX_UNSET}", "");
    ENV("a{$CCLX_UNSET}b", "ab");
    ENV("{$CCLX_FOO}", "foo-val");
    ENV("x {$CCLX_FOO} y", "x foo-val y");
    ENV("x{$CCLX_FOO}y", "xfoo-valy");
    ENV("x\n{$CCLX_FOO}\ny", "x\nfoo-val\ny");
    ENV("{$CCLX_FOO} {$CCLX_FOO}", "foo-val foo-val");
    ENV("{$CCLX_FOO}{$CCLX_FOO}", "foo-valfoo-val");
    ENV("{$CCLX_CHAIN}", "{$CCLX_FOO}");
    ENV("{$CCLX_UNSET:dflt}", "dflt");
    ENV("a{$CCLX_UNSET:b:c}d", "ab:cd");
    ENV("a{$CCLX_UNSET:$CCLX_FOO}b", "a$CCLX_FOOb");
    ENV("{$CCLX_UNSET:{$CCLX_FOO}", "{$CCLX_FOO");
    ENV("{$CCLX_EMPTY:dflt}", "");
    ENV("{$CCLX_FOO:dflt}", "foo-val");
    ENV("{$:dflt}", "dflt");
    ENV("{$CCLX_FOO", "{$CCLX_FOO");
    ENV("{$CCLX_NAME WITH SPACE}", "");
    ENV("{$}", "{$}");
    ENV("{$}{$CCLX_FOO}", "{$}foo-val");
    ENV("{$$}", "");
    ENV("{$", "{$");
    ENV("}{$", "}{$");
    ENV("{$CCLX_FOO}}", "foo-val}");
    ENV("{{$CCLX_FOO}", "{foo-val");
    ENV("\"{$CCLX_FOO}\" <<X\n{$CCLX_FOO}\nX", "\"foo-val\" <<X\nfoo-val\nX");
    ENV("{$CCLX_FOO=x}", "");
    check_env(__LINE__, "a\0{$CCLX_FOO}\0b", 15, "a\0foo-val\0b", 11);

    /* Expanded text is lexed like any other: a value may become several tokens/lines. */
    size_t n;
    const char *s = cc_cf_env_expand(A, "x {$CCLX_MULTI} y", 17, &n);
    check_lex(
        __LINE__, s, n,
        (const exp_tok[]){{1, "x", B}, {1, "a", B}, {1, "b", B}, {2, "c d", Q}, {2, "y", B}, {0}});
}

int main(void)
{
    A = cc_arena_new(0);
    test_basic();
    test_comments();
    test_quotes();
    test_backticks();
    test_backslashes();
    test_bytes();
    test_heredocs();
    test_not_heredocs();
    test_errors();
    test_env();
    cc_arena_free(A);
    return t_done();
}
