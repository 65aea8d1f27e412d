/*
 * Event-type patterns: compile and match one pattern.
 *
 * A type is split on every '.', so "a..b" has an empty middle segment and
 * "" has one empty segment.  A pattern is split the same way, but its
 * segments may not be empty.  Segment kinds:
 *   literal   bytes compared exactly;
 *   `*`       exactly one segment (any bytes, including an empty segment);
 *   `**`      zero or more segments (a run of `**` collapses into one);
 *   glob      a segment with `*`, `?` or `[...]`: `*` any run of characters
 *             inside the segment, `?` one UTF-8 character, `[abc]`, `[a-z]`,
 *             `[!x]`/`[^x]` one character from / not from a set.  There is
 *             no backslash escape: write `[*]` for a literal star.
 * A pattern "re:<regex>" is a PCRE2 regex searched (not anchored: write ^
 * and $) over the whole type, with the limits of match_regex.c.
 *
 * Matching a segment pattern against a type is the classic wildcard
 * algorithm with `**` in the role of `*` and one segment in the role of one
 * character: it backtracks only to the most recent `**`, so it is
 * O(segments x pattern) whatever the number of `**`.  Nothing allocates.
 */
#include "base/alloc.h"
#include "match/match_internal.h"

#include <stdio.h>
#include <string.h>

/* Decode one UTF-8 character; malformed input counts as one byte. */
static size_t u8_next(const char *s, size_t n, uint32_t *cp)
{
    unsigned char c = (unsigned char)s[0];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    uint32_t v = len == 1 ? c : len == 2 ? (c & 0x1fu) : len == 3 ? (c & 0x0fu) : (c & 0x07u);

    if (len > n)
        len = 1;
    for (size_t i = 1; i < len; i++) {
        unsigned char d = (unsigned char)s[i];
        if ((d & 0xc0) != 0x80) {
            *cp = c;
            return 1;
        }
        v = (v << 6) | (d & 0x3fu);
    }
    *cp = len == 1 ? c : v;
    return len;
}

/* Scan a bracket expression at g[i] == '['.  Sets *end past the closing ']'
 * and *hit to whether cp is in the set.  Returns 0, -1 when unterminated or
 * -2 for a reversed range. */
static int bracket(const char *g, size_t gl, size_t i, uint32_t cp, size_t *end, bool *hit)
{
    bool neg = false, in = false, first = true;

    i++;
    if (i < gl && (g[i] == '!' || g[i] == '^')) {
        neg = true;
        i++;
    }
    while (i < gl && (first || g[i] != ']')) {
        uint32_t lo, hi;
        i += u8_next(g + i, gl - i, &lo);
        hi = lo;
        if (i + 1 < gl && g[i] == '-' && g[i + 1] != ']') {
            i++;
            i += u8_next(g + i, gl - i, &hi);
            if (hi < lo)
                return -2;
        }
        if (cp >= lo && cp <= hi)
            in = true;
        first = false;
    }
    if (i >= gl)
        return -1;
    *end = i + 1;
    *hit = in != neg;
    return 0;
}

/* Bytes in the UTF-8 character at s[0]; ASCII without a call. */
static inline size_t u8_len(const char *s, size_t n)
{
    uint32_t cp;

    return (unsigned char)s[0] < 0x80 ? 1 : u8_next(s, n, &cp);
}

bool act_match_glob(const char *g, size_t gl, const char *s, size_t sl)
{
    size_t gi = 0, si = 0, star_g = SIZE_MAX, star_s = 0;

    while (si < sl) {
        if (gi < gl) {
            char c = g[gi];
            if (c == '*') {
                star_g = ++gi;
                star_s = si;
                continue;
            }
            if (c == '?') {
                gi++;
                si += u8_len(s + si, sl - si);
                continue;
            }
            if (c == '[') {
                uint32_t cp;
                size_t k = u8_next(s + si, sl - si, &cp), end = 0;
                bool hit = false;
                if (bracket(g, gl, gi, cp, &end, &hit) == 0 && hit) {
                    gi = end;
                    si += k;
                    continue;
                }
            } else if (c == s[si]) {
                gi++;
                si++;
                continue;
            }
        }
        if (star_g == SIZE_MAX)
            return false;
        /* let the last '*' swallow one more character and retry */
        star_s += u8_len(s + star_s, sl - star_s);
        si = star_s;
        gi = star_g;
    }
    while (gi < gl && g[gi] == '*')
        gi++;
    return gi == gl;
}

static bool seg_match(const struct act_seg *sg, const char *s, size_t n)
{
    switch (sg->kind) {
    case ACT_SEG_LIT:
        return sg->len == n && memcmp(sg->s, s, n) == 0;
    case ACT_SEG_STAR:
        return true;
    case ACT_SEG_GLOB:
        return act_match_glob(sg->s, sg->len, s, n);
    case ACT_SEG_DSTAR:
        break;
    }
    return false;
}

/* End of the type segment starting at ts (index of the '.' or tl). */
static size_t seg_end(const char *t, size_t tl, size_t ts)
{
    const char *dot = memchr(t + ts, '.', tl - ts);
    return dot ? (size_t)(dot - t) : tl;
}

static bool segs_match(const struct act_pattern *p, const char *t, size_t tl)
{
    size_t pi = 0, ts = 0, star_pi = SIZE_MAX, star_ts = 0;

    while (ts <= tl) { /* ts == tl + 1 once the last segment is consumed */
        size_t te = seg_end(t, tl, ts);
        if (pi < p->n_segs && p->segs[pi].kind == ACT_SEG_DSTAR) {
            star_pi = pi++;
            star_ts = ts;
            continue;
        }
        if (pi < p->n_segs && seg_match(&p->segs[pi], t + ts, te - ts)) {
            pi++;
            ts = te + 1;
            continue;
        }
        if (star_pi == SIZE_MAX)
            return false;
        star_ts = seg_end(t, tl, star_ts) + 1; /* `**` takes one more segment */
        ts = star_ts;
        pi = star_pi + 1;
    }
    while (pi < p->n_segs && p->segs[pi].kind == ACT_SEG_DSTAR)
        pi++;
    return pi == p->n_segs;
}

bool act_pattern_match(const struct act_pattern *p, const char *type, size_t type_len)
{
    if (p->re) {
        if (p->req_len && !act_match_contains(type, type_len, p->req, p->req_len))
            return false; /* cheap reject before PCRE2 */
        return act_match_re_exec(p->re, type, type_len) == 1;
    }
    return segs_match(p, type, type_len);
}

/* A short printable copy of a pattern for error messages. */
static const char *shown(const char *text, char *buf, size_t len)
{
    size_t n = 0, max = len - 4;

    for (; text[n] && n < max; n++)
        buf[n] = ((unsigned char)text[n] < 0x20 || text[n] == 0x7f) ? '?' : text[n];
    if (text[n])
        memcpy(buf + n, "...", 3), n += 3;
    buf[n] = '\0';
    return buf;
}

/* Classify and validate one segment [s, s+n); seg index i is 0-based. */
static int classify(const char *text, const char *s, size_t n, size_t i, struct act_seg *out,
                    struct act_err *err)
{
    char sh[72];
    bool glob = false;

    out->s = s;
    out->len = (uint32_t)n;
    if (n == 0)
        return act_err_set(err, ACT_EINVAL, "pattern '%s': empty segment %zu",
                           shown(text, sh, sizeof(sh)), i + 1);
    for (size_t k = 0; k < n; k++) {
        size_t end = 0;
        bool hit;
        int rc;
        if (s[k] == '*' || s[k] == '?')
            glob = true;
        if (s[k] != '[')
            continue;
        glob = true;
        if ((rc = bracket(s, n, k, 0, &end, &hit)) < 0)
            return act_err_set(err, ACT_EINVAL, "pattern '%s': %s in segment %zu",
                               shown(text, sh, sizeof(sh)),
                               rc == -1 ? "unterminated '['" : "reversed range in '[...]'", i + 1);
        k = end - 1;
    }
    if (n == 1 && s[0] == '*')
        out->kind = ACT_SEG_STAR;
    else if (n == 2 && s[0] == '*' && s[1] == '*')
        out->kind = ACT_SEG_DSTAR;
    else
        out->kind = glob ? ACT_SEG_GLOB : ACT_SEG_LIT;
    return ACT_OK;
}

static int compile_segs(struct act_pattern *p, struct act_err *err)
{
    size_t len = strlen(p->text), n = 1, start = 0, k = 0;
    char sh[72];
    int rc;

    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)p->text[i] < 0x20 || p->text[i] == 0x7f)
            return act_err_set(err, ACT_EINVAL, "pattern '%s': control character at offset %zu",
                               shown(p->text, sh, sizeof(sh)), i);
        n += p->text[i] == '.';
    }
    p->store = act_xstrdup(p->text);
    p->segs = act_xcalloc(n, sizeof(*p->segs));
    for (size_t i = 0; i <= len; i++) {
        if (i < len && p->store[i] != '.')
            continue;
        p->store[i] = '\0';
        if ((rc = classify(p->text, p->store + start, i - start, k, &p->segs[p->n_segs], err)) < 0)
            return rc;
        k++;
        start = i + 1;
        /* `**.**` means the same as `**`: keep one, so the index sees at most
         * one per run and matching never stacks them. */
        if (p->segs[p->n_segs].kind == ACT_SEG_DSTAR && p->n_segs &&
            p->segs[p->n_segs - 1].kind == ACT_SEG_DSTAR)
            continue;
        p->n_dstar += p->segs[p->n_segs].kind == ACT_SEG_DSTAR;
        p->n_segs++;
    }
    return ACT_OK;
}

static int compile_regex(struct act_pattern *p, struct act_err *err)
{
    const char *body = p->text + 3;
    size_t blen = strlen(body), plen, start = 0;
    char msg[200], sh[72];

    if (blen == 0)
        return act_err_set(err, ACT_EINVAL, "pattern '%s': empty regex",
                           shown(p->text, sh, sizeof(sh)));
    if (act_match_re_compile(body, blen, &p->re, msg, sizeof(msg)) < 0)
        return act_err_set(err, ACT_EINVAL, "pattern '%s': %s", shown(p->text, sh, sizeof(sh)),
                           msg);
    p->req = act_xmalloc(blen + 1);
    p->req_len = act_match_re_required(body, blen, p->req, blen + 1);
    /* File the regex under the complete literal segments it must start with. */
    p->store = act_xmalloc(blen + 1);
    plen = act_match_re_prefix(body, blen, p->store, blen + 1);
    p->segs = act_xcalloc(plen + 1, sizeof(*p->segs));
    for (size_t i = 0; i < plen; i++) {
        if (p->store[i] != '.')
            continue;
        if (i == start)
            break; /* empty segment: stop at what we have */
        p->store[i] = '\0';
        p->segs[p->n_segs++] = (struct act_seg){
            .kind = ACT_SEG_LIT, .s = p->store + start, .len = (uint32_t)(i - start)};
        start = i + 1;
    }
    return ACT_OK;
}

int act_pattern_compile(const char *text, struct act_pattern **out, struct act_err *err)
{
    struct act_pattern *p = NULL;
    char sh[72];
    size_t len;
    int rc;

    *out = NULL;
    if (!text)
        return act_err_set(err, ACT_EINVAL, "pattern: missing");
    len = strlen(text);
    if (len == 0)
        return act_err_set(err, ACT_EINVAL, "pattern '': empty");
    if (len > ACT_MATCH_MAX_PATTERN_LEN)
        return act_err_set(err, ACT_EINVAL, "pattern '%s': longer than %d bytes",
                           shown(text, sh, sizeof(sh)), ACT_MATCH_MAX_PATTERN_LEN);
    p = act_xcalloc(1, sizeof(*p));
    p->text = act_xstrdup(text);
    rc = strncmp(text, "re:", 3) == 0 ? compile_regex(p, err) : compile_segs(p, err);
    if (rc < 0)
        goto out;
    *out = p;
    p = NULL;
out:
    act_pattern_free(p);
    return rc;
}

void act_pattern_free(struct act_pattern *p)
{
    if (!p)
        return;
    pcre2_code_free(p->re);
    act_free(p->segs);
    act_free(p->store);
    act_free(p->req);
    act_free(p->text);
    act_free(p);
}
