/* SPDX-License-Identifier: Apache-2.0
 * RE2 -> POSIX ERE translation and Caddy's regexp captures (core/regex.h). The output
 * is deliberately plain ERE: Perl classes become bracket expressions, classes are
 * rebuilt from a byte set (POSIX brackets have no escapes), '.' excludes newline as in
 * RE2, and every group becomes a POSIX group with a map back to RE2's numbering so
 * that (?:...) does not shift {re.name.1}. */
#include "regex.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MAX_POSIX_GROUPS 99

typedef struct sb {
    cc_arena *a;
    char *p;
    size_t n, cap;
} sb;

static void sb_putn(sb *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 64;
        while (nc < b->n + n + 1)
            nc *= 2;
        b->p = cc_arena_grow(b->a, b->p, b->cap, nc);
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_putc(sb *b, char c)
{
    sb_putn(b, &c, 1);
}

static void sb_puts(sb *b, const char *s)
{
    sb_putn(b, s, strlen(s));
}

typedef struct bset {
    uint8_t bits[32];
} bset;

static void bs_add(bset *s, int c)
{
    s->bits[(unsigned)c >> 3] |= (uint8_t)(1u << (c & 7));
}

static bool bs_has(const bset *s, int c)
{
    return s->bits[(unsigned)c >> 3] & (1u << (c & 7));
}

static void bs_range(bset *s, int lo, int hi)
{
    for (int c = lo; c <= hi; c++)
        bs_add(s, c);
}

static bool is_ere_special(int c)
{
    return strchr(".[]()*+?{}|^$\\", c) != NULL && c != 0;
}

static void put_literal(sb *b, int c)
{
    if (is_ere_special(c))
        sb_putc(b, '\\');
    sb_putc(b, (char)c);
}

static int hexv(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Perl classes as byte sets. */
static void perl_class(bset *s, char c)
{
    switch (c) {
    case 'd':
        bs_range(s, '0', '9');
        break;
    case 'w':
        bs_range(s, '0', '9');
        bs_range(s, 'A', 'Z');
        bs_range(s, 'a', 'z');
        bs_add(s, '_');
        break;
    case 's':
        bs_add(s, '\t');
        bs_add(s, '\n');
        bs_add(s, '\f');
        bs_add(s, '\r');
        bs_add(s, ' ');
        break;
    }
}

static bool posix_named(bset *s, const char *name, size_t n)
{
    static const char *const names[] = {"alnum", "alpha", "ascii", "blank", "cntrl",
                                        "digit", "graph", "lower", "print", "punct",
                                        "space", "upper", "word",  "xdigit"};
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        if (strlen(names[k]) != n || strncmp(names[k], name, n) != 0)
            continue;
        for (int c = 1; c < 128; c++) {
            bool in;
            switch (k) {
            case 0:
                in = isalnum(c);
                break;
            case 1:
                in = isalpha(c);
                break;
            case 2:
                in = true;
                break;
            case 3:
                in = c == ' ' || c == '\t';
                break;
            case 4:
                in = iscntrl(c);
                break;
            case 5:
                in = isdigit(c);
                break;
            case 6:
                in = isgraph(c);
                break;
            case 7:
                in = islower(c);
                break;
            case 8:
                in = isprint(c);
                break;
            case 9:
                in = ispunct(c);
                break;
            case 10:
                in = isspace(c);
                break;
            case 11:
                in = isupper(c);
                break;
            case 12:
                in = isalnum(c) || c == '_';
                break;
            default:
                in = isxdigit(c);
                break;
            }
            if (in)
                bs_add(s, c);
        }
        return true;
    }
    return false;
}

/* Emits a bracket expression for set s (negated when neg). */
static void emit_set(sb *b, const bset *s, bool neg)
{
    bool rb = bs_has(s, ']'), caret = bs_has(s, '^'), dash = bs_has(s, '-');
    size_t mark = b->n;
    sb_putc(b, '[');
    if (neg)
        sb_putc(b, '^');
    if (rb)
        sb_putc(b, ']');
    bool any = rb;
    for (int c = 1; c < 256; c++) {
        if (!bs_has(s, c) || c == ']' || c == '^' || c == '-')
            continue;
        int e = c;
        while (e + 1 < 256 && bs_has(s, e + 1) && e + 1 != ']' && e + 1 != '^' && e + 1 != '-')
            e++;
        sb_putc(b, (char)c);
        if (e > c + 1) {
            sb_putc(b, '-');
            sb_putc(b, (char)e);
        } else if (e == c + 1) {
            sb_putc(b, (char)e);
        }
        any = true;
        c = e;
    }
    if (caret && !any && !neg) {
        /* "[^]" would read as a negation: put the dash first or leave the bracket */
        if (dash) {
            sb_puts(b, "-^]");
            return;
        }
        b->n = mark;
        b->p[b->n] = '\0';
        sb_puts(b, "\\^");
        return;
    }
    if (caret)
        sb_putc(b, '^');
    if (dash)
        sb_putc(b, '-');
    if (!any && !caret && !dash) {
        /* an empty class matches nothing (negated: any byte) */
        b->n = mark;
        b->p[b->n] = '\0';
        sb_puts(b, neg ? "[\x01-\xff]" : "[^\x01-\xff]");
        return;
    }
    sb_putc(b, ']');
}

/* Reads one escaped character (after the backslash) usable as a literal: \n, \x41,
 * \x{41}, \. ... Returns the byte or -1 (and *consumed stays 0) when not a literal. */
static int escaped_literal(const char *p, size_t *consumed)
{
    *consumed = 1;
    switch (*p) {
    case 'n':
        return '\n';
    case 't':
        return '\t';
    case 'r':
        return '\r';
    case 'f':
        return '\f';
    case 'v':
        return '\v';
    case 'a':
        return '\a';
    case '0':
        /* \0 followed by octal digits (RE2 accepts \0, \012 style octal) */
        {
            int v = 0;
            size_t k = 1;
            while (k < 4 && p[k] >= '0' && p[k] <= '7')
                v = v * 8 + (p[k++] - '0');
            *consumed = k;
            return v;
        }
    case 'x':
        if (p[1] == '{') {
            const char *e = strchr(p + 2, '}');
            if (!e || e == p + 2 || e - p > 10)
                return -1;
            int v = 0;
            for (const char *q = p + 2; q < e; q++) {
                int h = hexv(*q);
                if (h < 0)
                    return -1;
                v = v * 16 + h;
            }
            if (v > 255)
                return -1; /* non-ASCII code points: would need UTF-8 sequences */
            *consumed = (size_t)(e - p + 1);
            return v;
        }
        if (hexv(p[1]) >= 0 && hexv(p[2]) >= 0) {
            *consumed = 3;
            return hexv(p[1]) * 16 + hexv(p[2]);
        }
        return -1;
    default:
        if (*p && !isalnum((unsigned char)*p) && (unsigned char)*p < 128)
            return *p;
        return -1;
    }
}

static int fail(cc_err *err, const char *pattern, const char *what)
{
    return cc_err_set(err, "compiling matcher regexp %s: %s", pattern, what);
}

/* Parses a class starting at p (just after '['); returns the position after ']'. */
static const char *translate_class(const char *p, sb *b, const char *pattern, cc_err *err)
{
    bset s;
    memset(&s, 0, sizeof(s));
    bool neg = false;
    if (*p == '^') {
        neg = true;
        p++;
    }
    bool first = true;
    for (;;) {
        if (!*p) {
            fail(err, pattern, "error parsing regexp: missing closing ]");
            return NULL;
        }
        if (*p == ']' && !first) {
            p++;
            break;
        }
        first = false;
        if (p[0] == '[' && p[1] == ':') {
            const char *e = strstr(p + 2, ":]");
            if (!e) {
                fail(err, pattern, "error parsing regexp: missing closing ]");
                return NULL;
            }
            const char *nm = p + 2;
            bool negnm = *nm == '^';
            if (negnm) {
                fail(err, pattern,
                     "negated named classes inside a class are not supported by caddy-c");
                return NULL;
            }
            if (!posix_named(&s, nm, (size_t)(e - nm))) {
                fail(err, pattern, "error parsing regexp: invalid character class range");
                return NULL;
            }
            p = e + 2;
            continue;
        }
        int lo;
        if (*p == '\\') {
            char c = p[1];
            if (c == 'd' || c == 'w' || c == 's') {
                perl_class(&s, c);
                p += 2;
                continue;
            }
            if (c == 'D' || c == 'W' || c == 'S' || c == 'p' || c == 'P') {
                fail(err, pattern,
                     "negated or Unicode classes inside a character class are not supported "
                     "by caddy-c");
                return NULL;
            }
            size_t used;
            lo = escaped_literal(p + 1, &used);
            if (lo < 0) {
                fail(err, pattern, "error parsing regexp: invalid escape sequence");
                return NULL;
            }
            p += 1 + used;
        } else {
            lo = (unsigned char)*p++;
        }
        int hi = lo;
        if (p[0] == '-' && p[1] && p[1] != ']') {
            p++;
            if (*p == '\\') {
                size_t used;
                hi = escaped_literal(p + 1, &used);
                if (hi < 0) {
                    fail(err, pattern, "error parsing regexp: invalid character class range");
                    return NULL;
                }
                p += 1 + used;
            } else {
                hi = (unsigned char)*p++;
            }
            if (hi < lo) {
                fail(err, pattern, "error parsing regexp: invalid character class range");
                return NULL;
            }
        }
        if (lo == 0)
            lo = 1;
        if (hi >= lo)
            bs_range(&s, lo, hi);
    }
    emit_set(b, &s, neg);
    return p;
}

/* Is p (at '{') a valid repetition {n}, {n,}, {n,m}? Returns its length or 0. */
static size_t repetition_len(const char *p)
{
    const char *q = p + 1;
    if (!isdigit((unsigned char)*q))
        return 0;
    while (isdigit((unsigned char)*q))
        q++;
    if (*q == ',') {
        q++;
        while (isdigit((unsigned char)*q))
            q++;
    }
    if (*q != '}')
        return 0;
    return (size_t)(q - p + 1);
}

char *cc_regex_translate(cc_arena *a, const char *re2, size_t *ngroups, int **posix_of,
                         const char ***names, size_t *nposix, bool *icase, bool *newline,
                         cc_err *err)
{
    sb b = {.a = a};
    sb_puts(&b, "");
    size_t ng = 0, np = 0, depth = 0;
    bool dotnl = false;
    *icase = *newline = false;
    CC_VEC(int) map = {0};
    CC_VEC(const char *) nms = {0};
    CC_VEC(int) nil_i = {0};
    (void)nil_i;
    int zero = 0;
    const char *nul = NULL;
    CC_VEC_PUSH(a, &map, zero);
    CC_VEC_PUSH(a, &nms, nul);
    const char *p = re2;
    /* leading flag groups: (?i) (?s) (?m) (?is) ... */
    while (p[0] == '(' && p[1] == '?') {
        const char *q = p + 2;
        bool ok = true, fi = false, fs = false, fm = false;
        while (*q && *q != ')') {
            if (*q == 'i')
                fi = true;
            else if (*q == 's')
                fs = true;
            else if (*q == 'm')
                fm = true;
            else {
                ok = false;
                break;
            }
            q++;
        }
        if (!ok || *q != ')' || q == p + 2)
            break;
        *icase |= fi;
        dotnl |= fs;
        *newline |= fm;
        p = q + 1;
    }
    bool atom = false; /* something a quantifier can apply to precedes */
    while (*p) {
        char c = *p;
        if (c == '\\') {
            char e = p[1];
            if (!e) {
                fail(err, re2, "error parsing regexp: trailing backslash at end of expression");
                return NULL;
            }
            if (e == 'd' || e == 'w' || e == 's' || e == 'D' || e == 'W' || e == 'S') {
                bset s;
                memset(&s, 0, sizeof(s));
                perl_class(&s, (char)tolower((unsigned char)e));
                emit_set(&b, &s, isupper((unsigned char)e));
                p += 2;
                atom = true;
                continue;
            }
            if (e == 'b' || e == 'B') {
                sb_putc(&b, '\\');
                sb_putc(&b, e);
                p += 2;
                atom = false;
                continue;
            }
            if (e == 'A') {
                sb_putc(&b, '^');
                p += 2;
                atom = false;
                continue;
            }
            if (e == 'z') {
                sb_putc(&b, '$');
                p += 2;
                atom = false;
                continue;
            }
            if (e >= '1' && e <= '9') {
                fail(err, re2, "backreferences (\\1 ...) are not supported (RE2 syntax has none)");
                return NULL;
            }
            if (e == 'p' || e == 'P') {
                fail(err, re2, "Unicode classes (\\p, \\P) are not supported by caddy-c");
                return NULL;
            }
            if (e == 'Q') {
                const char *end = strstr(p + 2, "\\E");
                const char *stop = end ? end : p + strlen(p);
                for (const char *q = p + 2; q < stop; q++)
                    put_literal(&b, (unsigned char)*q);
                p = end ? end + 2 : stop;
                atom = true;
                continue;
            }
            size_t used;
            int lit = escaped_literal(p + 1, &used);
            if (lit < 0) {
                fail(err, re2, "error parsing regexp: invalid escape sequence");
                return NULL;
            }
            if (lit == 0) {
                fail(err, re2, "NUL bytes in patterns are not supported by caddy-c");
                return NULL;
            }
            put_literal(&b, lit);
            p += 1 + used;
            atom = true;
            continue;
        }
        if (c == '[') {
            p = translate_class(p + 1, &b, re2, err);
            if (!p)
                return NULL;
            atom = true;
            continue;
        }
        if (c == '(') {
            if (p[1] == '?') {
                const char *q = p + 2;
                if (*q == '=' || *q == '!' || (q[0] == '<' && (q[1] == '=' || q[1] == '!'))) {
                    fail(err, re2, "lookaround assertions are not supported (RE2 syntax has none)");
                    return NULL;
                }
                const char *name = NULL;
                if (*q == ':') {
                    p = q + 1;
                } else if ((q[0] == 'P' && q[1] == '<') || q[0] == '<') {
                    const char *ns = q[0] == 'P' ? q + 2 : q + 1;
                    const char *ne = strchr(ns, '>');
                    if (!ne || ne == ns) {
                        fail(err, re2, "error parsing regexp: invalid named capture");
                        return NULL;
                    }
                    for (const char *k = ns; k < ne; k++) {
                        if (!isalnum((unsigned char)*k) && *k != '_') {
                            fail(err, re2, "error parsing regexp: invalid named capture");
                            return NULL;
                        }
                    }
                    name = cc_arena_strndup(a, ns, (size_t)(ne - ns));
                    p = ne + 1;
                    ng++;
                    int idx = (int)np + 1;
                    CC_VEC_PUSH(a, &map, idx);
                    CC_VEC_PUSH(a, &nms, name);
                } else {
                    fail(err, re2,
                         "inline flags are only supported at the start of the pattern by "
                         "caddy-c, e.g. (?i)");
                    return NULL;
                }
                np++;
                depth++;
                sb_putc(&b, '(');
                atom = false;
                continue;
            }
            ng++;
            np++;
            int idx = (int)np;
            CC_VEC_PUSH(a, &map, idx);
            CC_VEC_PUSH(a, &nms, nul);
            depth++;
            sb_putc(&b, '(');
            p++;
            atom = false;
            continue;
        }
        if (c == ')') {
            if (depth == 0) {
                fail(err, re2, "error parsing regexp: unexpected )");
                return NULL;
            }
            depth--;
            sb_putc(&b, ')');
            p++;
            atom = true;
            continue;
        }
        if (c == '*' || c == '+' || c == '?' || (c == '{' && repetition_len(p))) {
            if (!atom) {
                fail(err, re2, "error parsing regexp: missing argument to repetition operator");
                return NULL;
            }
            size_t n = c == '{' ? repetition_len(p) : 1;
            sb_putn(&b, p, n);
            p += n;
            if (*p == '?') {
                fail(err, re2,
                     "non-greedy quantifiers (*?, +?, ??, {n,m}?) are not supported by "
                     "caddy-c's POSIX regex engine");
                return NULL;
            }
            if (*p == '*' || *p == '+' || (*p == '{' && repetition_len(p))) {
                fail(err, re2, "error parsing regexp: invalid nested repetition operator");
                return NULL;
            }
            continue;
        }
        if (c == '.') {
            sb_puts(&b, dotnl ? "." : "[^\n]");
            p++;
            atom = true;
            continue;
        }
        if (c == '^' || c == '$') {
            sb_putc(&b, c);
            p++;
            atom = false;
            continue;
        }
        if (c == '|') {
            sb_putc(&b, c);
            p++;
            atom = false;
            continue;
        }
        /* plain literal ('{' that is no repetition, '}' and ']' included) */
        put_literal(&b, (unsigned char)c);
        p++;
        atom = true;
    }
    if (depth != 0) {
        fail(err, re2, "error parsing regexp: missing closing )");
        return NULL;
    }
    if (np > MAX_POSIX_GROUPS) {
        fail(err, re2, "too many groups (caddy-c allows 99)");
        return NULL;
    }
    *ngroups = ng;
    *nposix = np;
    *posix_of = map.v;
    *names = nms.v;
    return b.p;
}

static void regex_free(void *p)
{
    regfree(p);
}

cc_regex *cc_regex_compile(cc_arena *a, const char *pattern, cc_err *err)
{
    cc_regex *re = cc_arena_alloc(a, sizeof(*re));
    bool icase, nl;
    char *t = cc_regex_translate(a, pattern, &re->ngroups, &re->posix_of, &re->names, &re->nposix,
                                 &icase, &nl, err);
    if (!t)
        return NULL;
    int flags = REG_EXTENDED | (icase ? REG_ICASE : 0) | (nl ? REG_NEWLINE : 0);
    int rc = regcomp(&re->re, t, flags);
    if (rc != 0) {
        char msg[256];
        regerror(rc, &re->re, msg, sizeof(msg));
        fail(err, pattern, msg);
        return NULL;
    }
    cc_arena_defer(a, regex_free, &re->re);
    re->pattern = pattern;
    re->translated = t;
    return re;
}

bool cc_regex_test(const cc_regex *re, const char *s)
{
    return regexec(&re->re, s ? s : "", 0, NULL, 0) == 0;
}

bool cc_regex_exec(const cc_regex *re, const char *s, regoff_t (*spans)[2])
{
    regmatch_t pm[MAX_POSIX_GROUPS + 1];
    if (regexec(&re->re, s ? s : "", re->nposix + 1, pm, 0) != 0)
        return false;
    spans[0][0] = pm[0].rm_so;
    spans[0][1] = pm[0].rm_eo;
    for (size_t i = 1; i <= re->ngroups; i++) {
        regmatch_t *m = &pm[re->posix_of[i]];
        spans[i][0] = m->rm_so;
        spans[i][1] = m->rm_eo;
    }
    return true;
}

cc_rematch *cc_rematch_compile(cc_arena *a, const char *name, const char *pattern, cc_err *err)
{
    if (!pattern) {
        cc_err_set(err, "regexp matcher: missing pattern");
        return NULL;
    }
    if (name && *name) {
        bool word = false;
        for (const char *c = name; *c; c++)
            word |= isalnum((unsigned char)*c) || *c == '_';
        if (!word) {
            cc_err_set(err, "invalid regexp name (must contain only word characters): %s", name);
            return NULL;
        }
    }
    cc_rematch *m = cc_arena_alloc(a, sizeof(*m));
    m->re = cc_regex_compile(a, pattern, err);
    if (!m->re)
        return NULL;
    m->name = name && *name ? name : NULL;
    size_t n = m->re->ngroups + 1;
    m->keys_plain = cc_arena_alloc(a, n * sizeof(char *));
    m->keys_named = cc_arena_alloc(a, n * sizeof(char *));
    m->gkeys_plain = cc_arena_alloc(a, n * sizeof(char *));
    m->gkeys_named = cc_arena_alloc(a, n * sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        m->keys_plain[i] = cc_arena_printf(a, "http.regexp.%zu", i);
        if (m->name)
            m->keys_named[i] = cc_arena_printf(a, "http.regexp.%s.%zu", m->name, i);
        const char *g = m->re->names[i];
        if (i > 0 && g) {
            m->gkeys_plain[i] = cc_arena_printf(a, "http.regexp.%s", g);
            if (m->name)
                m->gkeys_named[i] = cc_arena_printf(a, "http.regexp.%s.%s", m->name, g);
        }
    }
    return m;
}

bool cc_rematch_match(const cc_rematch *m, cc_req *r, const char *input)
{
    regoff_t spans[MAX_POSIX_GROUPS + 1][2];
    if (!input)
        input = "";
    if (!cc_regex_exec(m->re, input, spans))
        return false;
    for (size_t i = 0; i <= m->re->ngroups; i++) {
        const char *v = "";
        if (spans[i][0] >= 0 && spans[i][1] >= spans[i][0])
            v = cc_arena_strndup(r->arena, input + spans[i][0],
                                 (size_t)(spans[i][1] - spans[i][0]));
        if (m->name)
            cc_vars_set(r->arena, &r->vars, m->keys_named[i], v);
        cc_vars_set(r->arena, &r->vars, m->keys_plain[i], v);
        if (m->gkeys_plain[i]) {
            if (m->name)
                cc_vars_set(r->arena, &r->vars, m->gkeys_named[i], v);
            cc_vars_set(r->arena, &r->vars, m->gkeys_plain[i], v);
        }
    }
    return true;
}
