/* SPDX-License-Identifier: Apache-2.0
 * The `import` directive (Caddy's doImport/doSingleImport): resolves a snippet or a
 * file/glob relative to the importing file, substitutes arguments and {block} /
 * {blocks.key}, records the import chain on every token and splices the result into the
 * parser's token stream in place of the import line. */
#include "parse_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dispenser.h"
#include "lexer.h"

typedef struct block_map {
    const char *key;
    size_t klen;
    cc_tokvec toks;
} block_map;

typedef CC_VEC(block_map) block_maps;

static cc_warns *warns(cc_cf_parser *p)
{
    return p->opts ? p->opts->warns : NULL;
}

/* strerror text the way Go prints syscall errors ("no such file or directory"). */
static const char *errno_text(cc_arena *a, int e)
{
    char *s = cc_arena_strdup(a, strerror(e));
    if (s[0] >= 'A' && s[0] <= 'Z' && !(s[1] >= 'A' && s[1] <= 'Z'))
        s[0] = (char)(s[0] - 'A' + 'a');
    return s;
}

/* Go's strings.TrimSpace(s) == "": only Unicode white space. */
static bool blank(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c == ' ' || (c >= '\t' && c <= '\r')) {
            i++;
            continue;
        }
        uint32_t r;
        size_t w;
        if (c == 0xC2 && i + 1 < n) {
            r = s[i + 1];
            w = 2;
            if (r == 0x85 || r == 0xA0) {
                i += w;
                continue;
            }
            return false;
        }
        if (c >= 0xE1 && c <= 0xE3 && i + 2 < n) {
            r = ((c & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6) | (s[i + 2] & 0x3Fu);
            if ((s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80)
                return false;
            if (r == 0x1680 || (r >= 0x2000 && r <= 0x200A) || r == 0x2028 || r == 0x2029 ||
                r == 0x202F || r == 0x205F || r == 0x3000) {
                i += 3;
                continue;
            }
        }
        return false;
    }
    return true;
}

/* Reads, env-expands and lexes one imported file into out. */
static int single_import(cc_cf_parser *p, const char *path, cc_tokvec *out)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return cc_cf_p_errf(p, "Could not import %s: open %s: %s", path, path,
                            errno_text(p->a, errno));
    if (S_ISDIR(st.st_mode))
        return cc_cf_p_errf(p, "Could not import %s: is a directory", path);
    /* FIFOs and devices could block or never end: only regular files are read */
    if (!S_ISREG(st.st_mode))
        return cc_cf_p_errf(p, "Could not import %s: not a regular file", path);
    if ((uintmax_t)st.st_size > CC_CF_IMPORT_MAX_BYTES)
        return cc_cf_p_errf(p, "Could not import %s: file is larger than 16 MiB", path);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return cc_cf_p_errf(p, "Could not import %s: open %s: %s", path, path,
                            errno_text(p->a, errno));
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = cc_arena_alloc(p->a, cap + 1);
    for (;;) {
        if (n == cap) {
            if (cap > CC_CF_IMPORT_MAX_BYTES)
                break;
            buf = cc_arena_grow(p->a, buf, n, cap * 2 + 1);
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            return cc_cf_p_errf(p, "Could not read imported file %s: read %s: %s", path, path,
                                errno_text(p->a, e));
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (n > CC_CF_IMPORT_MAX_BYTES)
        return cc_cf_p_errf(p, "Could not import %s: file is larger than 16 MiB", path);

    if (blank((const unsigned char *)buf, n)) {
        const cc_token *t = cc_cf_p_tok(p);
        cc_warn_add(warns(p), t ? t->file : NULL, t ? t->line : 0, "Import file is empty: %s",
                    path);
        return CC_OK;
    }
    size_t elen = 0;
    char *src = cc_cf_env_expand(p->a, buf, n, &elen);
    /* tokens carry the absolute path, so messages name the file unambiguously */
    const char *abs = cc_cf_path_abs(p->a, path);
    if (!abs)
        return cc_cf_p_errf(p, "Failed to get absolute path of file: %s: %s", path,
                            errno_text(p->a, errno));
    cc_err lerr = {0};
    if (cc_cf_lex(p->a, abs, src, elen, out, &lerr) != CC_OK)
        return cc_cf_p_errf(p, "Could not read tokens while importing %s: %s", path, lerr.msg);
    return CC_OK;
}

static size_t count_char(const char *s, char c)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

static bool starts_with_star_element(const char *pattern)
{
    const char *slash = strrchr(pattern, '/');
    return (slash ? slash[1] : pattern[0]) == '*';
}

static bool dotfile(const char *path)
{
    const char *slash = strrchr(path, '/');
    return (slash ? slash[1] : path[0]) == '.';
}

/* Resolves a file or glob import into tokens; nodes gets the files for the graph. */
static int import_files(cc_cf_parser *p, const cc_token *pat, const cc_token *cur,
                        cc_tokvec *imported, cc_cf_strvec *nodes)
{
    const char *pattern = pat->text;
    if (p->opts && p->opts->no_file_imports)
        return cc_cf_p_errf(p, "file imports are disabled: %s", pattern);
    if (memchr(pattern, 0, pat->len))
        return cc_cf_p_errf(p, "File to import not found: %s", pattern);
    const char *file = cur->file ? cur->file : "";
    const char *abs = cc_cf_path_abs(p->a, file);
    if (!abs)
        return cc_cf_p_errf(p, "Failed to get absolute path of file: %s: %s", file,
                            errno_text(p->a, errno));
    const char *glob =
        pattern[0] == '/' ? pattern : cc_cf_path_join(p->a, cc_cf_path_dir(p->a, abs), pattern);
    /* many wildcards can make globbing take very long (Caddy issue #2096) */
    if (count_char(glob, '*') > 1 || count_char(glob, '?') > 1 ||
        (strchr(glob, '[') && strchr(glob, ']')))
        return cc_cf_p_errf(p, "Glob pattern may only contain one wildcard (*), but has others: %s",
                            glob);
    cc_cf_strvec matches = {0};
    if (cc_cf_glob(p->a, glob, &matches) != CC_OK)
        return cc_cf_p_errf(p, "Failed to use import pattern %s: syntax error in pattern", pattern);
    if (matches.n == 0) {
        if (!strpbrk(glob, "*?[]"))
            return cc_cf_p_errf(p, "File to import not found: %s", pattern);
        cc_warn_add(warns(p), cur->file, cur->line, "No files matching import glob pattern: %s",
                    pattern);
    } else if (starts_with_star_element(glob)) {
        /* a last element starting with "*" skips dotfiles (Caddy issue #5295), ".*" not */
        size_t k = 0;
        for (size_t i = 0; i < matches.n; i++)
            if (!dotfile(matches.v[i]))
                matches.v[k++] = matches.v[i];
        matches.n = k;
    }
    for (size_t i = 0; i < matches.n; i++)
        if (single_import(p, matches.v[i], imported) != CC_OK)
            return CC_ERR;
    *nodes = matches;
    return CC_OK;
}

static const cc_cf_snippet *find_snippet(const cc_cf_parser *p, const cc_token *name)
{
    for (size_t i = 0; i < p->snippets.n; i++)
        if (p->snippets.v[i].name_len == name->len &&
            memcmp(p->snippets.v[i].name, name->text, name->len) == 0)
            return &p->snippets.v[i];
    return NULL;
}

/* The tokens of the import's block, grouped by their first token for {blocks.key}. */
static int map_blocks(cc_cf_parser *p, const cc_tokvec *bt, block_maps *out)
{
    if (bt->n == 0)
        return CC_OK;
    cc_disp *bd = cc_disp_new(p->a, bt->v, bt->n, NULL);
    while (cc_disp_next(bd)) {
        const cc_token *key = cc_disp_tok(bd);
        if (cc_tok_is_open(key))
            return cc_cf_p_errf(p, "anonymous blocks are not supported");
        block_map m = {.key = key->text, .klen = key->len};
        size_t na = 0;
        cc_token *argt = cc_disp_remaining_args_tokens(bd, &na);
        for (size_t i = 0; i < na; i++)
            CC_VEC_PUSH(p->a, &m.toks, argt[i]);
        for (int nest = cc_disp_nesting(bd); cc_disp_next_block(bd, nest);)
            CC_VEC_PUSH(p->a, &m.toks, *cc_disp_tok(bd));
        CC_VEC_PUSH(p->a, out, m);
    }
    return CC_OK;
}

static const cc_tokvec *find_block(const block_maps *m, const char *key, size_t n)
{
    for (size_t i = m->n; i-- > 0;) /* a repeated key: the last one wins */
        if (m->v[i].klen == n && memcmp(m->v[i].key, key, n) == 0)
            return &m->v[i].toks;
    return NULL;
}

/* Appends entry to a token's import chain, sharing the result between tokens that had
 * the same chain before. */
typedef struct chain_cache {
    const char *prev, *snippet, *result;
    bool valid;
} chain_cache;

static const char *extend_chain(cc_arena *a, chain_cache *c, const cc_token *imp_at,
                                const cc_token *t)
{
    if (c->valid && c->prev == t->imports && c->snippet == t->snippet)
        return c->result;
    const char *file = imp_at->file ? imp_at->file : "";
    const char *entry =
        t->snippet ? cc_arena_printf(a, "%s:%d (import %s)", file, imp_at->line, t->snippet)
                   : cc_arena_printf(a, "%s:%d (import)", file, imp_at->line);
    const char *r = t->imports ? cc_arena_printf(a, "%s','%s", t->imports, entry) : entry;
    *c = (chain_cache){.prev = t->imports, .snippet = t->snippet, .result = r, .valid = true};
    return r;
}

static bool text_is(const cc_token *t, const char *s)
{
    size_t n = strlen(s);
    return t->len == n && memcmp(t->text, s, n) == 0;
}

/* Caddy's token rewriting loop: import chains, {block}/{blocks.x}, variadic and plain
 * argument placeholders. Snippet definitions found inside the imported tokens (a
 * "(name) {" line at the top level) are copied untouched so their own placeholders
 * survive until they are imported themselves. */
static int rewrite(cc_cf_parser *p, const cc_token *imp, size_t nimp, int nesting,
                   const cc_token *imp_at, const cc_token **args, size_t nargs, const cc_tokvec *bt,
                   const block_maps *bm, cc_tokvec *out)
{
    bool maybe_snippet = false, maybe_snippet_id = false;
    size_t index = 0;
    chain_cache cache = {0};
    for (size_t i = 0; i < nimp; i++) {
        if (out->n > p->budget)
            return cc_cf_p_errf(p, "import expansion is too large: more than %u tokens",
                                CC_CF_IMPORT_BUDGET);
        cc_token t = imp[i];
        t.imports = extend_chain(p->a, &cache, imp_at, &t);

        if (!maybe_snippet && nesting == 0) {
            if (i == 0 || out->n == 0 || cc_tok_next_on_new_line(&out->v[out->n - 1], &t))
                index = 0;
            else
                index++;
            if (index == 0 && t.len >= 3 && t.text[0] == '(' && t.text[t.len - 1] == ')')
                maybe_snippet_id = true;
        }
        if (cc_tok_is_open(&t)) {
            nesting++;
            if (index == 1 && maybe_snippet_id && nesting == 1) {
                maybe_snippet = true;
                maybe_snippet_id = false;
            }
        } else if (cc_tok_is_close(&t)) {
            nesting--;
            if (nesting == 0 && maybe_snippet)
                maybe_snippet = false;
        }

        const cc_tokvec *add = NULL;
        bool block_placeholder = false;
        if (text_is(&t, "{block}")) {
            block_placeholder = true;
            add = bt;
        } else if (t.len >= 9 && memcmp(t.text, "{blocks.", 8) == 0 && t.text[t.len - 1] == '}') {
            block_placeholder = true;
            add = find_block(bm, t.text + 8, t.len - 9);
        }
        if (block_placeholder) {
            if (maybe_snippet)
                CC_VEC_PUSH(p->a, out, t);
            else if (add)
                for (size_t j = 0; j < add->n; j++)
                    CC_VEC_PUSH(p->a, out, add->v[j]);
            continue;
        }
        if (maybe_snippet) {
            CC_VEC_PUSH(p->a, out, t);
            continue;
        }
        size_t from, to;
        if (cc_cf_args_variadic(&t, nargs, &from, &to, warns(p))) {
            for (size_t j = from; j < to; j++) {
                t.text = args[j]->text;
                t.len = args[j]->len;
                CC_VEC_PUSH(p->a, out, t);
            }
        } else {
            t.text = cc_cf_args_replace(p->a, t.text, t.len, args, nargs, &t, warns(p), &t.len);
            CC_VEC_PUSH(p->a, out, t);
        }
    }
    return CC_OK;
}

int cc_cf_do_import(cc_cf_parser *p, int nesting)
{
    if (!cc_cf_p_next_arg(p))
        return cc_cf_p_errf(p, "wrong argument count or unexpected line ending after '%s'",
                            cc_cf_p_val(p));
    cc_token pat = *cc_cf_p_tok(p);
    if (pat.len == 0)
        return cc_cf_p_errf(p, "Import requires a non-empty filepath");

    cc_tokvec argv = {0};
    while (cc_cf_p_next_arg(p))
        CC_VEC_PUSH(p->a, &argv, *cc_cf_p_tok(p));
    const cc_token **args = cc_arena_alloc(p->a, (argv.n + 1) * sizeof(*args));
    for (size_t i = 0; i < argv.n; i++)
        args[i] = &argv.v[i];

    cc_tokvec bt = {0};
    for (int nest = 0; cc_cf_p_next_block(p, &nest, 0);)
        CC_VEC_PUSH(p->a, &bt, *cc_cf_p_tok(p));
    block_maps bm = {0};
    if (map_blocks(p, &bt, &bm) != CC_OK)
        return CC_ERR;

    /* the token the cursor is on now names the importing file and line (Caddy's p.File()
     * and p.Line() at this point) */
    const cc_token cur = *cc_cf_p_tok(p);
    /* Caddy's splice arithmetic: it does not count the block's braces, so for an import
     * with a block "import NAME" stays behind the cursor, where it is never read again */
    long before = (long)p->done.n - 2 - (long)argv.n - (long)bt.n;
    if (before < 0)
        before = 0;

    const cc_token *imp = NULL;
    size_t nimp = 0;
    cc_tokvec files = {0};
    cc_cf_strvec nodes = {0};
    const cc_cf_snippet *sn = find_snippet(p, &pat);
    if (sn) {
        imp = sn->v;
        nimp = sn->n;
        if (nimp) {
            const char *node = cc_arena_printf(p->a, "%s:%s", imp[0].file ? imp[0].file : "",
                                               imp[0].snippet ? imp[0].snippet : "");
            CC_VEC_PUSH(p->a, &nodes, node);
        }
    } else {
        if (import_files(p, &pat, &cur, &files, &nodes) != CC_OK)
            return CC_ERR;
        imp = files.v;
        nimp = files.n;
    }

    const char *file = cur.file ? cur.file : "";
    const char *node_name = cur.snippet ? cc_arena_printf(p->a, "%s:%s", file, cur.snippet) : file;
    for (size_t i = 0; i < nodes.n; i++)
        if (!cc_cf_graph_add_edge(&p->graph, node_name, nodes.v[i]))
            return cc_cf_p_errf(p, "a cycle of imports exists between %s and %s", node_name,
                                nodes.v[i]);

    cc_tokvec out = {0};
    if (rewrite(p, imp, nimp, nesting, &cur, args, argv.n, &bt, &bm, &out) != CC_OK)
        return CC_ERR;
    if (out.n + 1 > p->budget)
        return cc_cf_p_errf(p, "import expansion is too large: more than %u tokens",
                            CC_CF_IMPORT_BUDGET);
    p->budget -= out.n + 1;

    p->done.n = (size_t)before;
    for (size_t i = out.n; i-- > 0;)
        CC_VEC_PUSH(p->a, &p->todo, out.v[i]);
    p->past_end = false;
    if (!cc_cf_p_next(p))
        p->past_end = true;
    return CC_OK;
}
