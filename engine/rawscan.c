/* SPDX-License-Identifier: Apache-2.0
 * The raw request-stream scanner (see rawscan.h). It mirrors libmicrohttpd's line rules
 * (a line ends at LF, a CR before it is dropped, empty lines before a request line are
 * skipped) and follows only the framings caddy-c accepts: one Content-Length, or a
 * single `Transfer-Encoding: chunked`. Anything else is a request the framing checks
 * refuse (and close), or one the scanner cannot follow: it then stops ("lost") and the
 * engine closes the connection after the current response, so a desynchronised scanner
 * never lets a later pipelined request through unchecked. */
#include "rawscan.h"

#include <string.h>
#include <strings.h>

#include "framing.h"

enum {
    S_IDLE,      /* between requests */
    S_IDLE_CR,   /* CR seen between requests */
    S_LINE,      /* request line */
    S_HBOL,      /* start of a header line */
    S_HBOL_CR,   /* CR at the start of a header line */
    S_HLINE,     /* inside a header line */
    S_BODY,      /* Content-Length body */
    S_CSIZE,     /* chunk-size digits */
    S_CEXT,      /* rest of the chunk-size line */
    S_CDATA,     /* chunk data */
    S_CDATA_END, /* CRLF after chunk data */
    S_TBOL,      /* start of a trailer line */
    S_TBOL_CR,   /* CR at the start of a trailer line */
    S_TLINE,     /* inside a trailer line */
    S_OFF,       /* lost: no longer scanning */
};

void cc_rawscan_init(cc_rawscan *s, void (*event)(cc_rawscan *s, int ev))
{
    memset(s, 0, sizeof(*s));
    s->state = S_IDLE;
    s->event = event;
}

static void emit(cc_rawscan *s, int ev)
{
    if (s->event)
        s->event(s, ev);
}

static void record_defects(cc_rawscan *s)
{
    if (s->cur_flags && s->bad_req == 0) {
        s->bad_req = s->nreq;
        s->bad_flags = s->cur_flags;
    }
}

static void lose(cc_rawscan *s)
{
    record_defects(s);
    s->lost = true;
    s->state = S_OFF;
    emit(s, CC_RS_EV_LOST);
}

static void head_start(cc_rawscan *s)
{
    s->nreq++;
    s->cur_flags = 0;
    s->cl_seen = s->te_seen = s->te_chunked = s->framing_bad = false;
    s->remain = 0;
    s->state = S_LINE;
    emit(s, CC_RS_EV_HEAD_START);
}

/* A Content-Length or Transfer-Encoding line MHD would misread. MHD keeps trailing
 * whitespace in values, so it refuses "Content-Length: 5 " (with its error head written
 * twice) and reads "Transfer-Encoding: chunked " as a body that lasts until close. When
 * the whole line is in the chunk being received, trailing whitespace is cut out of the
 * stream (the request is fine), and a malformed Content-Length gets its name changed so
 * MHD ignores it while the framing checks refuse the request (CC_RAW_BADCL). Returns the
 * bytes removed before lf. */
static size_t header_line(cc_rawscan *s, char *ls, char *lf, char *end)
{
    const char *l = ls ? ls : s->lb;
    size_t n = ls ? (size_t)(lf - ls) : s->lbn;
    bool partial = !ls && s->lb_over;
    if (n > 0 && l[n - 1] == '\r' && !partial)
        n--;
    const char *colon = memchr(l, ':', n);
    if (!colon)
        return 0;
    size_t nl = (size_t)(colon - l);
    bool is_cl = nl == 14 && strncasecmp(l, "Content-Length", 14) == 0;
    bool is_te = nl == 17 && strncasecmp(l, "Transfer-Encoding", 17) == 0;
    if (!is_cl && !is_te)
        return 0;
    size_t v = nl + 1; /* value start, after MHD's leading-whitespace skip */
    while (v < n && (l[v] == ' ' || l[v] == '\t'))
        v++;
    size_t ve = n; /* value end without trailing whitespace */
    while (ve > v && (l[ve - 1] == ' ' || l[ve - 1] == '\t'))
        ve--;
    size_t trail = n - ve;
    if (is_te) {
        if (s->te_seen || partial || ve - v != 7 || strncasecmp(l + v, "chunked", 7) != 0)
            s->framing_bad = true; /* refused at the head (several TE, or not chunked) */
        s->te_seen = true;
        s->te_chunked = true;
    } else {
        bool digits = ve > v && ve - v <= 18 && !partial;
        uint64_t x = 0;
        for (size_t i = v; digits && i < ve; i++) {
            if (l[i] < '0' || l[i] > '9')
                digits = false;
            else
                x = x * 10 + (uint64_t)(l[i] - '0');
        }
        if (s->cl_seen)
            s->framing_bad = true; /* any duplicate is refused at the head */
        s->cl_seen = true;
        s->remain = x;
        if (!digits) {
            s->cur_flags |= CC_RAW_BADCL;
            s->framing_bad = true;
            if (ls)
                ls[0] = 'X';
            return 0;
        }
    }
    if (trail == 0 || s->framing_bad)
        return 0;
    if (!ls) {
        s->cur_flags |= is_cl ? CC_RAW_BADCL : CC_RAW_BADTE;
        s->framing_bad = true;
        return 0;
    }
    char *cut = ls + ve;
    memmove(cut, cut + trail, (size_t)(end - (cut + trail)));
    (void)lf;
    return trail;
}

static void head_end(cc_rawscan *s)
{
    record_defects(s);
    if (s->framing_bad || (s->cl_seen && s->te_seen)) {
        /* refused by the framing checks (the connection closes), or not ours to follow */
        emit(s, CC_RS_EV_HEAD_END);
        lose(s);
        return;
    }
    if (s->te_chunked) {
        s->chunk = 0;
        s->lbn = 0;
        s->state = S_CSIZE;
        emit(s, CC_RS_EV_BODY_START);
    } else if (s->remain > 0) {
        s->state = S_BODY;
        emit(s, CC_RS_EV_BODY_START);
    } else {
        s->state = S_IDLE;
        emit(s, CC_RS_EV_HEAD_END);
    }
}

static void body_end(cc_rawscan *s)
{
    s->state = S_IDLE;
    emit(s, CC_RS_EV_BODY_END);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void size_line_done(cc_rawscan *s)
{
    if (s->chunk == 0) {
        s->state = S_TBOL;
    } else {
        s->remain = s->chunk;
        s->state = S_CDATA;
    }
}

/* Consumes up to the end of a line; returns bytes used, sets *eol when LF was found. */
static size_t to_eol(cc_rawscan *s, const char *p, size_t n, bool *eol)
{
    const char *lf = memchr(p, '\n', n);
    size_t used = lf ? (size_t)(lf - p) + 1 : n;
    if (s->state != S_TLINE && s->state != S_CEXT && memchr(p, 0, used))
        s->cur_flags |= CC_RAW_NUL;
    *eol = lf != NULL;
    return used;
}

size_t cc_rawscan_feed(cc_rawscan *s, char *p, size_t n)
{
    char *const start = p;
    char *end = p + n;
    char *ls = NULL; /* start of the current header line, when it is in this chunk */
    while (p < end && s->state != S_OFF) {
        n = (size_t)(end - p);
        size_t used = 1;
        bool eol;
        char c = *p;
        switch (s->state) {
        case S_IDLE:
            if (c == '\r')
                s->state = S_IDLE_CR;
            else if (c != '\n') {
                head_start(s);
                used = 0;
            }
            break;
        case S_IDLE_CR:
            if (c == '\n') {
                s->state = S_IDLE;
            } else {
                head_start(s);
                used = 0;
            }
            break;
        case S_LINE:
            used = to_eol(s, p, n, &eol);
            if (eol)
                s->state = S_HBOL;
            break;
        case S_HBOL:
            s->lbn = 0;
            s->lb_over = false;
            if (c == '\n') {
                head_end(s);
            } else if (c == '\r') {
                s->state = S_HBOL_CR;
            } else {
                if (c == ' ' || c == '\t')
                    s->cur_flags |= CC_RAW_FOLD;
                s->state = S_HLINE;
                ls = p;
                used = 0;
            }
            break;
        case S_HBOL_CR:
            if (c == '\n') {
                head_end(s);
            } else {
                s->lb[0] = '\r';
                s->lbn = 1;
                s->state = S_HLINE;
                used = 0;
            }
            break;
        case S_HLINE: {
            used = to_eol(s, p, n, &eol);
            size_t keep = eol ? used - 1 : used;
            size_t room = sizeof(s->lb) - s->lbn;
            if (keep > room) {
                s->lb_over = true;
                keep = room;
            }
            memcpy(s->lb + s->lbn, p, keep);
            s->lbn = (uint8_t)(s->lbn + keep);
            if (eol) {
                size_t cut = header_line(s, ls, p + used - 1, end);
                end -= cut;
                used -= cut;
                ls = NULL;
                s->state = S_HBOL;
            }
            break;
        }
        case S_BODY:
            used = n < s->remain ? n : (size_t)s->remain;
            s->remain -= used;
            if (s->remain == 0)
                body_end(s);
            break;
        case S_CSIZE: {
            int h = hexval(c);
            if (h >= 0) {
                if (s->chunk >> 56) {
                    lose(s);
                    break;
                }
                s->chunk = s->chunk * 16 + (uint64_t)h;
                s->lbn = 1; /* a digit was seen */
            } else if (s->lbn == 0) {
                lose(s);
            } else if (c == '\n') {
                size_line_done(s);
            } else if (c == ';' || c == ' ' || c == '\t' || c == '\r') {
                s->state = S_CEXT;
            } else {
                lose(s);
            }
            break;
        }
        case S_CEXT:
            used = to_eol(s, p, n, &eol);
            if (eol)
                size_line_done(s);
            break;
        case S_CDATA:
            used = n < s->remain ? n : (size_t)s->remain;
            s->remain -= used;
            if (s->remain == 0) {
                s->state = S_CDATA_END;
                s->line_cr = false;
            }
            break;
        case S_CDATA_END:
            if (c == '\r' && !s->line_cr) {
                s->line_cr = true;
            } else if (c == '\n') {
                s->chunk = 0;
                s->lbn = 0;
                s->state = S_CSIZE;
            } else {
                lose(s);
            }
            break;
        case S_TBOL:
            if (c == '\n')
                body_end(s);
            else if (c == '\r')
                s->state = S_TBOL_CR;
            else
                s->state = S_TLINE;
            break;
        case S_TBOL_CR:
            if (c == '\n')
                body_end(s);
            else
                s->state = S_TLINE;
            break;
        case S_TLINE:
            used = to_eol(s, p, n, &eol);
            if (eol)
                s->state = S_TBOL;
            break;
        default:
            return (size_t)(end - start);
        }
        p += used;
    }
    return (size_t)(end - start);
}

unsigned cc_rawscan_flags(const cc_rawscan *s, uint32_t req)
{
    return s->bad_req != 0 && s->bad_req == req ? s->bad_flags : 0;
}
