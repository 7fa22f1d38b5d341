/* SPDX-License-Identifier: Apache-2.0
 * Unit tests for the Caddyfile parser and imports, modelled on the cases of Caddy's
 * parse_test.go (our own inputs and fixtures in tests/unit/testdata/parser/). Run from
 * the repository root. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../t.h"
#include "caddyfile/parse_internal.h"
#include "caddyfile/parser.h"

#define TD "tests/unit/testdata/parser"
#define MAINFILE TD "/Testfile"

static cc_arena *A;
static cc_warns W;
static cc_err E;
static cc_sblocks B;

static int parse_opts(const char *src, const cc_cf_parse_opts *o)
{
    cc_err_clear(&E);
    W.list.n = 0;
    return cc_cf_parse(A, MAINFILE, src, strlen(src), o, &B, &E);
}

static int parse(const char *src)
{
    cc_cf_parse_opts o = {.warns = &W};
    return parse_opts(src, &o);
}

/* "a|b" style list of the keys of block i */
static const char *keys_of(size_t i)
{
    static char buf[512];
    buf[0] = 0;
    if (i >= B.n)
        return "(no block)";
    for (size_t k = 0; k < B.v[i].nkeys; k++) {
        if (k)
            strcat(buf, "|");
        strncat(buf, B.v[i].keys[k].text, 100);
    }
    return buf;
}

/* "2,3,1" style list of the segment sizes of block i */
static const char *segs_of(size_t i)
{
    static char buf[512];
    buf[0] = 0;
    if (i >= B.n)
        return "";
    for (size_t k = 0; k < B.v[i].nsegs; k++)
        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%zu", k ? "," : "",
                 B.v[i].segs[k].n);
    return buf;
}

/* One TestParseOneAndImport-style case: first block's keys and segment sizes. */
static void one(int line, const char *src, int want_err, const char *keys, const char *segs)
{
    int rc = parse(src);
    if (want_err) {
        T_OK(rc != CC_OK, "line %d: expected an error for %s", line, src);
        return;
    }
    T_OK(rc == CC_OK, "line %d: unexpected error %s", line, E.msg);
    if (rc != CC_OK)
        return;
    const char *k = B.n ? keys_of(0) : "";
    const char *s = B.n ? segs_of(0) : "";
    T_OK(strcmp(k, keys) == 0, "line %d: keys %s, want %s", line, k, keys);
    T_OK(strcmp(s, segs) == 0, "line %d: segs %s, want %s", line, s, segs);
}

#define ONE(src, err, keys, segs) one(__LINE__, src, err, keys, segs)

static void test_parse_one_and_import(void)
{
    ONE("localhost", 0, "localhost", "");
    ONE("localhost\n  dir1", 0, "localhost", "1");
    ONE("localhost:1234\n  dir1 foo bar", 0, "localhost:1234", "3");
    ONE("localhost {\n    dir1\n  }", 0, "localhost", "1");
    ONE("localhost:1234 {\n dir1 foo bar\n dir2\n}", 0, "localhost:1234", "3,1");
    ONE("http://localhost https://localhost\n  dir1 foo bar", 0,
        "http://localhost|https://localhost", "3");
    ONE("http://localhost https://localhost {\n dir1 foo bar\n}", 0,
        "http://localhost|https://localhost", "3");
    ONE("http://localhost, https://localhost {\n dir1 foo bar\n}", 0,
        "http://localhost|https://localhost", "3");
    ONE("http://localhost, {\n}", 1, "", "");
    ONE("host1:80, http://host2.com\n dir1 foo bar\n dir2 baz", 0, "host1:80|http://host2.com",
        "3,2");
    ONE("http://host1.com,\n http://host2.com,\n https://host3.com", 0,
        "http://host1.com|http://host2.com|https://host3.com", "");
    ONE("http://host1.com:1234, https://host2.com\n dir1 foo {\n bar baz\n }\n dir2", 0,
        "http://host1.com:1234|https://host2.com", "6,1");
    ONE("127.0.0.1\n dir1 {\n bar baz\n }\n dir2 {\n foo bar\n }", 0, "127.0.0.1", "5,5");
    ONE("localhost\n dir1 {\n foo", 1, "", "");
    ONE("localhost\n dir1 {\n }", 0, "localhost", "3");
    ONE("localhost\n dir1 {\n } }", 1, "", "");
    ONE("localhost{\n dir1\n}", 1, "", "");
    ONE("localhost\n dir1 {\n nested {\n foo\n }\n }\n dir2 foo bar", 0, "localhost", "7,3");
    ONE("", 0, "", "");
    ONE("localhost\n dir1 arg1\n import part.caddy", 0, "localhost", "2,3,1");
    ONE("import site_one.caddy", 0, "site1.test", "1,3");
    ONE("import not_there.caddy", 1, "", "");
    ONE("import empty.caddy", 0, "", "");
    ONE("import blank.caddy", 0, "", "");
    ONE("localhost\n dir1 arg1\n import dir/*", 0, "localhost", "2,3,1");
    ONE("import dir/.*", 0, "site1.test", "1,3");
    ONE("\"\"", 0, "", "");
    ONE("localhost\n dir1 { a b }", 1, "", "");
    ONE("localhost\ndir1\n{\n a b\n}", 1, "", "");
    ONE("localhost\n dir1 \"{\" a b \"}\"", 0, "localhost", "5");
    ONE("localhost\n dir1 {}", 1, "", "");
    ONE("localhost\n dir1 \"{}\"", 0, "localhost", "2");
    ONE("localhost {\n dir1 \"{\" `}`\n dir2 \"}\"\n dir3 \"{\"\n}", 0, "localhost", "3,2,2");
    ONE("localhost {\n dir1 \"{\" {\n a b\n }\n dir2 foo\n}", 0, "localhost", "6,2");
    ONE("import arg_one.caddy a", 0, "a", "");
    ONE("import arg_two.caddy a b", 0, "a|b", "");
    ONE("import arg_*.caddy a b", 0, "a", "2");
    /* inputs found by Caddy's fuzzing */
    ONE("import }{$\"", 1, "", "");
    ONE("import /*/*.txt", 1, "", "");
    ONE("import /\?\?\?/\?*\?o", 1, "", "");
    ONE("import /??", 1, "", "");
    ONE("import /[a-z]", 1, "", "");
    ONE("import {$}", 1, "", "");
    ONE("import {%}", 1, "", "");
    ONE("import {$$}", 1, "", "");
    ONE("import {%%}", 1, "", "");
}

/* keys of every block, blocks separated by ";" */
static const char *all_keys(void)
{
    static char buf[1024];
    buf[0] = 0;
    for (size_t i = 0; i < B.n; i++) {
        if (i)
            strcat(buf, ";");
        strcat(buf, keys_of(i));
    }
    return buf;
}

static void all(int line, const char *src, int want_err, const char *keys)
{
    int rc = parse(src);
    if (want_err) {
        T_OK(rc != CC_OK, "line %d: expected an error for %s", line, src);
        return;
    }
    T_OK(rc == CC_OK, "line %d: unexpected error %s", line, E.msg);
    if (rc == CC_OK)
        T_OK(strcmp(all_keys(), keys) == 0, "line %d: blocks %s, want %s", line, all_keys(), keys);
}

#define ALL(src, err, keys) all(__LINE__, src, err, keys)

static void test_parse_all(void)
{
    ALL("localhost", 0, "localhost");
    ALL("localhost:1234", 0, "localhost:1234");
    ALL("localhost:1234 {\n}\nlocalhost:2015 {\n}", 0, "localhost:1234;localhost:2015");
    ALL("localhost:1234, http://host2", 0, "localhost:1234|http://host2");
    ALL("foo.example.com   ,   example.com", 0, "foo.example.com|example.com");
    ALL("localhost:1234, http://host2,", 1, "");
    ALL("http://host1.com, http://host2.com {\n}\nhttps://host3.com, https://host4.com {\n}", 0,
        "http://host1.com|http://host2.com;https://host3.com|https://host4.com");
    ALL("import multi_*.caddy", 0, "a0.test;a1.test;b0.test;c0.test");
    ALL("import nowhere/*", 0, "");
    ALL("import nowhere/file.conf", 1, "");
    ALL("import cycle_self.caddy", 1, "");
    ALL("import cycle_3.caddy\nimport cycle_1.caddy", 1, "");
    ALL("(A) {\n\timport A\n}\n:80\nimport A\n", 1, "");
    ALL("(A) {\n\timport B\n}\n(B) {\n\timport A\n}\n:80\nimport A\n", 1, "");
}

static void test_errors(void)
{
    T_INT(parse("a.com,b.com {\n}"), CC_ERR);
    T_STR(E.msg, "tests/unit/testdata/parser/Testfile:1: Site addresses cannot contain a comma "
                 "',': 'a.com,b.com' - put a space after the comma to separate site addresses");
    T_INT(parse("\nlocalhost{\n}"), CC_ERR);
    T_STR(E.msg, MAINFILE ":2: Site addresses cannot end with a curly brace: 'localhost{' - put "
                          "a space between the token and the brace");
    T_INT(parse("a.com, {\n}"), CC_ERR);
    T_STR(E.msg, MAINFILE ":1: Expected another address but had '{' - check for extra comma");
    T_INT(parse("a.com {\n\tdir1 { a\n\t}\n}"), CC_ERR);
    T_STR(E.msg, MAINFILE ":2: Unexpected next token after '{' on same line");
    T_INT(parse("a.com {\n\tdir1\n\t{\n\t\ta\n\t}\n}"), CC_ERR);
    T_STR(E.msg, MAINFILE ":3: Unexpected '{' on a new line; did you mean to place the '{' on "
                          "the previous line?");
    T_INT(parse("a.com {\n\tdir1 {}\n}"), CC_ERR);
    T_STR(E.msg, MAINFILE ":2: Unexpected '{}' at end of line");
    T_INT(parse("a.com\n\tdir1 {\n\t} }"), CC_ERR);
    T_STR(E.msg, MAINFILE ":3: Unexpected '}' because no matching opening brace");
    T_INT(parse("a.com {\n\tdir1 {\n\t\tfoo"), CC_ERR);
    T_STR(E.msg, MAINFILE ":3: unexpected EOF");
    T_INT(parse("a.com {\n\tdir1"), CC_ERR);
    T_STR(E.msg, MAINFILE ":2: syntax error: unexpected token 'dir1', expecting '}'");
    T_INT(parse("(s) {\n\tfoo\n}\n(s) {\n\tbar\n}"), CC_ERR);
    T_STR(E.msg, MAINFILE ":4: redeclaration of previously declared snippet s");
    T_INT(parse("a.com {\n}\n{\n\tdebug\n}"), CC_ERR);
    T_STR(E.msg, MAINFILE ":3: server block without any key is global configuration, and if "
                          "used, it must be first");
    T_INT(parse("{\n\tdebug\n}\na.com {\n}"), CC_OK);
    T_INT(B.n, 2);
    T_INT(B.v[0].nkeys, 0);
    T_INT(B.v[0].nsegs, 1);
    T_INT(parse("a.com {\n\timport\n}"), CC_ERR);
    T_STR(E.msg, MAINFILE ":2: wrong argument count or unexpected line ending after 'import'");
    T_INT(parse("a.com {\n\timport \"\"\n}"), CC_ERR);
    T_STR(E.msg, MAINFILE ":2: Import requires a non-empty filepath");
    T_INT(parse("a.com {\n\timport x*y*.caddy\n}"), CC_ERR);
    T_HAS(E.msg, ":2: Glob pattern may only contain one wildcard (*), but has others: /");
    T_INT(parse("import missing.caddy"), CC_ERR);
    T_STR(E.msg, MAINFILE ":1: File to import not found: missing.caddy");
    T_INT(parse("import dir"), CC_ERR);
    T_HAS(E.msg, "Could not import /");
    T_HAS(E.msg, "/tests/unit/testdata/parser/dir: is a directory");
    T_INT(parse("import /dev/null"), CC_ERR);
    T_STR(E.msg, MAINFILE ":1: Could not import /dev/null: not a regular file");
    T_INT(parse("import bad_heredoc.caddy"), CC_ERR);
    T_HAS(E.msg, MAINFILE ":1: Could not read tokens while importing /");
    T_HAS(E.msg, "incomplete heredoc <<EOF");
    T_INT(parse("import x[ab].caddy"), CC_ERR);
    T_HAS(E.msg, "Glob pattern may only contain one wildcard");
    T_INT(parse("import x[.caddy"), CC_ERR);
    T_STR(E.msg, MAINFILE ":1: Failed to use import pattern x[.caddy: syntax error in pattern");
}

static bool is_dir_stub(const char *name)
{
    return strcmp(name, "respond") == 0 || strcmp(name, "handle") == 0 ||
           strcmp(name, "file_server") == 0;
}

static void test_site_checks(void)
{
    cc_cf_parse_opts o = {.is_directive = is_dir_stub, .warns = &W};
    T_INT(parse_opts("handle\n\nrespond \"no\"\n", &o), CC_ERR);
    T_STR(E.msg, MAINFILE ":1: parsed 'handle' as a site address, but it is a known directive; "
                          "directives must appear in a site block");
    T_INT(parse_opts("example.com\nhandle {\n\trespond one\n}\n\nexample.com\nhandle {\n}\n", &o),
          CC_ERR);
    T_STR(E.msg, MAINFILE ":6: unrecognized directive: example.com\nDid you mean to define a "
                          "second site? If so, you must use curly braces around each site to "
                          "separate their configurations.");
    /* with braces the adapter reports unknown directives, not the parser */
    T_INT(parse_opts("example.com {\n\tbogus\n}\n", &o), CC_OK);
    T_INT(parse_opts("example.com\n@m path /x\nrespond @m hi\n", &o), CC_OK);
    T_INT(parse("\n@rejected path /foo\n\n(common) {\n\tgzip foo\n}\n"), CC_ERR);
    T_STR(E.msg, MAINFILE ":2: request matchers may not be defined globally, they must be in a "
                          "site block; found @rejected");
}

static void test_snippets(void)
{
    T_INT(parse("\n(common) {\n\tgzip foo\n\terrors stderr\n}\nhttp://example.com {\n\timport "
                "common\n}\n"),
          CC_OK);
    T_INT(B.n, 1);
    T_STR(keys_of(0), "http://example.com");
    T_STR(segs_of(0), "2,2");
    T_STR(B.v[0].segs[0].v[0].text, "gzip");
    T_STR(B.v[0].segs[1].v[1].text, "stderr");
    T_STR(B.v[0].segs[0].v[0].snippet, "common");
    T_INT(B.v[0].segs[0].v[0].line, 3); /* tokens keep the line of their definition */
    T_STR(B.v[0].segs[0].v[0].imports, MAINFILE ":7 (import common)");

    /* quoted braces inside a snippet are plain arguments */
    T_INT(parse("(q) {\n\tdir1 \"}\"\n\tdir2 \"{\"\n}\nexample.com {\n\timport q\n\tdir3 foo\n}"),
          CC_OK);
    T_STR(segs_of(0), "2,2,2");
    T_STR(B.v[0].segs[0].v[1].text, "}");
    T_STR(B.v[0].segs[1].v[1].text, "{");
    T_STR(B.v[0].segs[2].v[1].text, "foo");

    /* a snippet defined in the main file, used by an imported file */
    T_INT(parse("(common) {\n\tgzip foo\n}\nimport site_uses_common.caddy\n"), CC_OK);
    T_INT(B.n, 1);
    T_STR(keys_of(0), "http://example.test");
    T_STR(B.v[0].segs[0].v[0].text, "gzip");

    /* "import" as an argument in an imported file stays an argument */
    T_INT(parse("import auth_site.caddy"), CC_OK);
    T_STR(segs_of(0), "4");
    T_STR(B.v[0].segs[0].v[2].text, "import");
    T_STR(B.v[0].segs[0].v[3].text, "secret");

    /* an error in imported tokens carries the import chain */
    T_INT(parse("(s) {\n\tdir1 { a }\n}\nx.test {\n\timport s\n}\n"), CC_ERR);
    T_STR(E.msg, MAINFILE ":2: Unexpected next token after '{' on same line (import chain: "
                          "['" MAINFILE ":5 (import s)'])");

    /* named route */
    T_INT(parse("&(app) {\n\trespond hi\n}\n"), CC_OK);
    T_INT(B.n, 1);
    T_OK(B.v[0].is_named_route, "named route flag");
    T_STR(keys_of(0), "app");
    T_STR(segs_of(0), "5");
    T_STR(B.v[0].segs[0].v[1].text, "{");
    T_OK(B.v[0].has_braces, "named route has braces");
}

static void test_import_args(void)
{
    /* variadic expansion into several tokens, single and deprecated placeholders */
    T_INT(parse("(s) {\n\trespond {args[:]}\n\theader {args[0]}-{args[1]}\n\tdir {args.1}\n}\n"
                "x.test {\n\timport s one two three\n}\n"),
          CC_OK);
    T_STR(segs_of(0), "4,2,2");
    T_STR(B.v[0].segs[0].v[1].text, "one");
    T_STR(B.v[0].segs[0].v[3].text, "three");
    T_STR(B.v[0].segs[1].v[1].text, "one-two");
    T_STR(B.v[0].segs[2].v[1].text, "two");
    bool dep = false;
    for (size_t i = 0; i < W.list.n; i++)
        if (strstr(W.list.v[i], "Placeholder {args.1} deprecated, use {args[1]} instead"))
            dep = true;
    T_OK(dep, "deprecation warning for {args.1}");

    T_INT(parse("(s) {\n\trespond {args[1:]}\n\tdir {args[5]} {args[0:9]}\n}\n"
                "x.test {\n\timport s a b c\n}\n"),
          CC_OK);
    T_STR(segs_of(0), "3,3");
    T_STR(B.v[0].segs[0].v[1].text, "b");
    T_STR(B.v[0].segs[1].v[1].text, "{args[5]}"); /* out of range: left as is */
    T_STR(B.v[0].segs[1].v[2].text, "{args[0:9]}");
    T_OK(W.list.n >= 2, "out-of-range warnings, got %zu", W.list.n);

    /* JSON-ish text keeps its braces */
    T_INT(parse("(s) {\n\trespond {\"key\":[{args[0]},{args[1]}]}\n}\nx.test {\n\timport s 1 2\n}"),
          CC_OK);
    T_STR(B.v[0].segs[0].v[1].text, "{\"key\":[1,2]}");

    /* parseVariadic table */
    static const struct {
        const char *in;
        bool ok;
    } vt[] = {
        {"", false},
        {"{args[1", false},
        {"1]}", false},
        {"{args[:]}aaaaa", false},
        {"aaaaa{args[:]}", false},
        {"{args.}", false},
        {"{args.1}", false},
        {"{args[]}", false},
        {"{args[:]}", true},
        {"{args[0:]}", true},
        {"{args[:0]}", true},
        {"{args[-1:]}", false},
        {"{args[:11]}", false},
        {"{args[10:0]}", false},
        {"{args[0:10]}", true},
        {"{args[0]}:{args[1]}:{args[2]}", false},
    };
    for (size_t i = 0; i < sizeof(vt) / sizeof(vt[0]); i++) {
        cc_token t = {.file = "test", .line = 1, .text = vt[i].in, .len = strlen(vt[i].in)};
        size_t s, e;
        T_OK(cc_cf_args_variadic(&t, 10, &s, &e, NULL) == vt[i].ok, "variadic %s", vt[i].in);
    }
}

static void test_import_blocks(void)
{
    /* {block} */
    T_INT(parse("(site) {\n\thttp://{args[0]} https://{args[0]} {\n\t\t{block}\n\t}\n}\n"
                "import site test.domain {\n\treverse_proxy http://10.0.0.1:8080 {\n"
                "\t\theader_up Host {host}\n\t}\n}\n"),
          CC_OK);
    T_INT(B.n, 1);
    T_STR(keys_of(0), "http://test.domain|https://test.domain");
    T_STR(segs_of(0), "7");
    /* {blocks.key} */
    T_INT(parse("(s) {\n\tx.test {\n\t\t{blocks.first}\n\t\trespond mid\n\t\t{blocks.second}\n"
                "\t}\n}\nimport s {\n\tfirst {\n\t\theader A b\n\t}\n\tsecond {\n\t\tencode\n"
                "\t}\n}\n"),
          CC_OK);
    T_STR(segs_of(0), "3,2,1");
    T_STR(B.v[0].segs[0].v[0].text, "header");
    T_STR(B.v[0].segs[2].v[0].text, "encode");
    /* anonymous block */
    T_INT(parse("(site) {\n\thttp://{args[0]} {\n\t\t{block}\n\t}\n}\n\nimport site test.domain "
                "{\n\t{\n\t\theader_up Host {host}\n\t}\n}\n"),
          CC_ERR);
    T_HAS(E.msg, "anonymous blocks are not supported");
    /* snippet defined in an imported file keeps {block} for its own import */
    T_INT(parse("import snippet_defs.caddy\n\nimport site example.com {\n\tredir "
                "https://example.net\n}\n"),
          CC_OK);
    T_STR(keys_of(0), "http://example.com");
    T_STR(segs_of(0), "2,2,2");
    T_STR(B.v[0].segs[1].v[0].text, "redir");
    T_INT(parse("import snippet_defs.caddy\n\nimport site example.com\n"), CC_OK);
    T_STR(segs_of(0), "2,2");
}

static void test_cycles(void)
{
    T_INT(parse("(import1) {\n\timport import2\n}\n\n(import2) {\n\timport import1\n}\n\nimport "
                "import1\n"),
          CC_ERR);
    T_HAS(E.msg, "a cycle of imports exists between " MAINFILE ":import2 and " MAINFILE ":import1");
    T_INT(parse("import cycle_self.caddy"), CC_ERR);
    T_HAS(E.msg, "a cycle of imports exists between /");
    T_HAS(E.msg, "cycle_self.caddy and /");
    /* importing the same snippet twice is not a cycle */
    T_INT(parse("(s) {\n\trespond hi\n}\na.test {\n\timport s\n\timport s\n}"), CC_OK);
    T_STR(segs_of(0), "2,2");
}

static void test_global_after_snippets(void)
{
    T_INT(parse("import snip_m1.caddy\nimport snip_m2.caddy\n{\n\tdebug\n}"), CC_ERR);
    T_STR(E.msg, MAINFILE ":2: global options block must appear before import directives; move "
                          "the global options block to the top of the Caddyfile");
}

static char tmpdir[64];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_recursive_and_directive_imports(void)
{
    /* relative + relative */
    T_INT(parse("import rec_outer.caddy"), CC_OK);
    T_STR(keys_of(0), "localhost");
    T_STR(segs_of(0), "1,2");
    /* absolute paths, generated at run time */
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/ccparseXXXXXX");
    T_OK(mkdtemp(tmpdir) != NULL, "mkdtemp");
    char outer[128], inner[128], src[300], body[300];
    snprintf(outer, sizeof(outer), "%s/outer", tmpdir);
    snprintf(inner, sizeof(inner), "%s/inner", tmpdir);
    write_file(inner, "dir2 1");
    snprintf(body, sizeof(body), "localhost\ndir1\nimport inner\n");
    write_file(outer, body);
    snprintf(src, sizeof(src), "import %s", outer);
    T_INT(parse(src), CC_OK);
    T_STR(segs_of(0), "1,2");
    snprintf(body, sizeof(body), "localhost\ndir1\nimport %s\n", inner);
    write_file(outer, body);
    T_INT(parse(src), CC_OK);
    T_STR(segs_of(0), "1,2");
    T_STR(B.v[0].segs[1].v[0].file, inner);
    T_INT(B.v[0].segs[1].v[0].line, 1);
    unlink(outer);
    unlink(inner);
    rmdir(tmpdir);

    /* import as a directive line inside a nested block */
    T_INT(parse("localhost\ndir1\nproxy {\n\timport props.caddy\n\ttransparent\n}"), CC_OK);
    T_STR(segs_of(0), "1,8");
    T_INT(parse("localhost\ndir1\nproxy {\n\timport nonexistent\n\ttransparent\n}"), CC_ERR);
    T_STR(E.msg, MAINFILE ":4: File to import not found: nonexistent");
}

static void test_env_and_lines(void)
{
    setenv("CC_PARSER_TEST_HOST", "env.test", 1);
    unsetenv("CC_PARSER_TEST_BODY");
    T_INT(parse("{$CC_PARSER_TEST_HOST}:8080 {\n\trespond {$CC_PARSER_TEST_NONE:dflt}\n}"), CC_OK);
    T_STR(keys_of(0), "env.test:8080");
    T_STR(B.v[0].segs[0].v[1].text, "dflt");
    /* env replacement happens in imported files too */
    T_INT(parse("import env_site.caddy"), CC_OK);
    T_STR(keys_of(0), "env.test");
    T_STR(B.v[0].segs[0].v[1].text, "fallback");

    /* file and line numbers of imported tokens */
    T_INT(parse("\nimport lines.caddy\n"), CC_OK);
    T_STR(keys_of(0), "line3");
    T_INT(B.v[0].keys[0].line, 3);
    T_HAS(B.v[0].keys[0].file, "/tests/unit/testdata/parser/lines.caddy");
    T_INT(B.v[0].segs[0].v[0].line, 5);
    T_STR(B.v[0].segs[0].v[0].imports, MAINFILE ":2 (import)");
    /* main-file lines and file name */
    T_INT(parse("a.test {\n\n\trespond x\n}\nb.test {\n\tencode\n}"), CC_OK);
    T_INT(B.v[1].keys[0].line, 5);
    T_INT(B.v[1].segs[0].v[0].line, 6);
    T_STR(B.v[1].segs[0].v[0].file, MAINFILE);
    T_OK(B.v[1].segs[0].v[0].imports == NULL, "no import chain");
}

static void test_warnings_and_opts(void)
{
    T_INT(parse("import empty.caddy"), CC_OK);
    T_INT(W.list.n, 1);
    T_HAS(W.list.n ? W.list.v[0] : "", "Import file is empty:");
    T_INT(parse("import nowhere/*.caddy"), CC_OK);
    T_HAS(W.list.n ? W.list.v[0] : "", "No files matching import glob pattern: nowhere/*.caddy");

    cc_cf_parse_opts o = {.no_file_imports = true};
    T_INT(parse_opts("import part.caddy", &o), CC_ERR);
    T_HAS(E.msg, "file imports are disabled");
    T_INT(parse_opts("(s) {\n\tencode\n}\na.test {\n\timport s\n}", &o), CC_OK);
    T_STR(segs_of(0), "1");

    /* exponential expansion is stopped */
    T_INT(parse("(a) {\n\tx x x x x x x x\n}\n(b) {\n\timport a\n\timport a\n\timport a\n\timport "
                "a\n\timport a\n\timport a\n\timport a\n\timport a\n}\n(c) {\n\timport b\n\timport "
                "b\n\timport b\n\timport b\n\timport b\n\timport b\n\timport b\n\timport b\n}\n(d) "
                "{\n\timport c\n\timport c\n\timport c\n\timport c\n\timport c\n\timport "
                "c\n\timport c\n\timport c\n}\n(e) {\n\timport d\n\timport d\n\timport d\n\timport "
                "d\n\timport d\n\timport d\n\timport d\n\timport d\n}\n(f) {\n\timport e\n\timport "
                "e\n\timport e\n\timport e\n\timport e\n\timport e\n\timport e\n\timport e\n}\n"
                "(g) {\n\timport f\n\timport f\n\timport f\n\timport f\n\timport f\n"
                "\timport f\n\timport f\n\timport f\n}\n"
                "z.test {\n\timport g\n}\n"),
          CC_ERR);
    T_HAS(E.msg, "import expansion is too large");
}

static void test_paths(void)
{
    T_STR(cc_cf_path_clean(A, "/a/b/../c/./d//"), "/a/c/d");
    T_STR(cc_cf_path_clean(A, "../x/.."), "..");
    T_STR(cc_cf_path_clean(A, ""), ".");
    T_STR(cc_cf_path_dir(A, "/a/b/c"), "/a/b");
    T_STR(cc_cf_path_dir(A, "c"), ".");
    T_STR(cc_cf_path_join(A, "/a", "../b"), "/b");
}

int main(void)
{
    A = cc_arena_new(0);
    W.a = A;
    test_parse_one_and_import();
    test_parse_all();
    test_errors();
    test_site_checks();
    test_snippets();
    test_import_args();
    test_import_blocks();
    test_cycles();
    test_global_after_snippets();
    test_recursive_and_directive_imports();
    test_env_and_lines();
    test_warnings_and_opts();
    test_paths();
    cc_arena_free(A);
    return t_done();
}
