/*
 * PCRE2 for `re:` patterns and the `regex` condition op.
 *
 * Every regex is compiled as UTF-8 with `\C` forbidden and a parenthesis
 * nesting limit, and every match runs through one shared, read-only
 * pcre2_match_context carrying a match limit, a depth limit and a heap limit,
 * so a hostile pattern costs a bounded amount of work per event.  JIT is not
 * used on purpose: JIT ignores the depth limit.
 *
 * pcre2_match needs a pcre2_match_data block, and from 10.41 that block also
 * keeps the backtracking frames, so allocating one per call would allocate on
 * every event.  Each thread instead keeps one block (a pthread key whose
 * destructor frees it), which keeps matching reentrant and allocation-free
 * after a thread's first regex.
 *
 * act_match_re_prefix finds the literal text a regex forces at the start of
 * the subject, so the index can file the regex under literal trie segments
 * instead of the per-event fallback list; act_match_re_required finds a
 * literal run every match contains, which a memmem checks before PCRE2 runs
 * (most events are rejected there, at a fraction of pcre2_match's set-up
 * cost).  Both are deliberately conservative: any construct the small
 * scanner does not fully understand yields "nothing", which is always
 * correct, only slower.
 */
#include "base/err.h"
#include "match/match_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_once_t re_once = PTHREAD_ONCE_INIT;
static pcre2_match_context *re_mctx;
static pcre2_compile_context *re_cctx;
static pthread_key_t re_md_key;

static void md_free(void *p)
{
    pcre2_match_data_free(p);
}

static void re_init(void)
{
    re_mctx = pcre2_match_context_create(NULL);
    re_cctx = pcre2_compile_context_create(NULL);
    if (!re_mctx || !re_cctx || pthread_key_create(&re_md_key, md_free) != 0)
        ACT_BUG("cannot set up PCRE2 contexts");
    pcre2_set_match_limit(re_mctx, ACT_MATCH_RE_MATCH_LIMIT);
    pcre2_set_depth_limit(re_mctx, ACT_MATCH_RE_DEPTH_LIMIT);
    pcre2_set_heap_limit(re_mctx, ACT_MATCH_RE_HEAP_LIMIT_KIB);
    pcre2_set_parens_nest_limit(re_cctx, 50);
    pcre2_set_max_pattern_length(re_cctx, ACT_MATCH_MAX_PATTERN_LEN);
}

int act_match_re_compile(const char *re, size_t len, pcre2_code **out, char *msg,
                         size_t msg_len)
{
    int ec = 0;
    PCRE2_SIZE off = 0;
    pcre2_code *code;

    pthread_once(&re_once, re_init);
    *out = NULL;
    code = pcre2_compile((PCRE2_SPTR)re, len, PCRE2_UTF | PCRE2_NEVER_BACKSLASH_C, &ec, &off,
                         re_cctx);
    if (!code) {
        PCRE2_UCHAR text[160];
        if (pcre2_get_error_message(ec, text, sizeof(text)) < 0)
            snprintf((char *)text, sizeof(text), "error %d", ec);
        snprintf(msg, msg_len, "%s at offset %zu", (const char *)text, (size_t)off);
        return ACT_EINVAL;
    }
    *out = code;
    return ACT_OK;
}

int act_match_re_exec(const pcre2_code *re, const char *s, size_t len)
{
    pcre2_match_data *md;
    int rc;

    pthread_once(&re_once, re_init);
    md = pthread_getspecific(re_md_key);
    if (!md) {
        /* One ovector pair: we only need match / no match. */
        md = pcre2_match_data_create(1, NULL);
        if (!md || pthread_setspecific(re_md_key, md) != 0)
            ACT_BUG("cannot allocate PCRE2 match data");
    }
    rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, md, re_mctx);
    if (rc >= 0)
        return 1;
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
        rc == PCRE2_ERROR_HEAPLIMIT)
        return ACT_ETOOBIG;
    return ACT_EINVAL;
}

/* Skip a character class starting at re[i] == '['; returns the index just
 * past its closing ']' or 0 when unterminated. */
static size_t skip_class(const char *re, size_t len, size_t i)
{
    i++;
    if (i < len && re[i] == '^')
        i++;
    if (i < len && re[i] == ']')
        i++; /* a leading ']' is a member */
    while (i < len) {
        if (re[i] == '\\')
            i += 2;
        else if (re[i] == '[' && i + 1 < len && re[i + 1] == ':') {
            /* a POSIX class "[:alpha:]" may hold ']' only as its end */
            for (i += 2; i + 1 < len && !(re[i] == ':' && re[i + 1] == ']'); i++)
                ;
            if (i + 1 >= len)
                return 0;
            i += 2;
        } else if (re[i] == ']')
            return i + 1;
        else
            i++;
    }
    return 0;
}

/* True when the scanner can vouch that `re` has no top-level alternation.
 * Bails out (false) on constructs that would let '|' or parentheses hide
 * from a simple scan: \Q...\E, \c, comments, verbs and extended mode. */
static bool no_top_alternation(const char *re, size_t len)
{
    int depth = 0;

    for (size_t i = 0; i < len;) {
        char c = re[i];
        if (c == '\\') {
            if (i + 1 >= len || re[i + 1] == 'Q' || re[i + 1] == 'c')
                return false;
            i += 2;
        } else if (c == '[') {
            if (!(i = skip_class(re, len, i)))
                return false;
        } else if (c == '(') {
            if (i + 1 < len && re[i + 1] == '*')
                return false;
            if (i + 1 < len && re[i + 1] == '?') {
                size_t j = i + 2;
                if (j < len && re[j] == '#')
                    return false;
                /* option letters, as in (?i) or (?x-s:...); 'x' allows comments */
                for (; j < len && (re[j] == '^' || re[j] == '-' || (re[j] >= 'a' && re[j] <= 'z') ||
                                   (re[j] >= 'A' && re[j] <= 'Z'));
                     j++)
                    if (re[j] == 'x')
                        return false;
            }
            depth++;
            i++;
        } else if (c == ')') {
            if (--depth < 0)
                return false;
            i++;
        } else if (c == '|') {
            if (depth == 0)
                return false;
            i++;
        } else
            i++;
    }
    return depth == 0;
}

static bool plain_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == ':' || c == '/' || c == '@' || c == '~' || c == '%';
}

size_t act_match_re_prefix(const char *re, size_t len, char *buf, size_t buf_len)
{
    size_t n = 0, i = 1;

    if (!buf_len)
        return 0;
    buf[0] = '\0';
    if (len < 2 || re[0] != '^' || !no_top_alternation(re, len))
        return 0;
    while (i < len && n + 1 < buf_len) {
        if (re[i] == '\\' && i + 1 < len && re[i + 1] && strchr(".-_/:@~%", re[i + 1])) {
            buf[n++] = re[i + 1];
            i += 2;
        } else if (plain_char(re[i])) {
            buf[n++] = re[i++];
        } else
            break;
    }
    /* A quantifier makes the last atom optional or repeatable: drop it. */
    if (i < len && n && strchr("*+?{", re[i]) && re[i])
        n--;
    buf[n] = '\0';
    return n;
}

/* Index just past the group opening at re[i] == '(', or 0 when unbalanced. */
static size_t skip_group(const char *re, size_t len, size_t i)
{
    int depth = 0;

    while (i < len) {
        if (re[i] == '\\') {
            i += 2;
        } else if (re[i] == '[') {
            if (!(i = skip_class(re, len, i)))
                return 0;
        } else {
            if (re[i] == '(')
                depth++;
            else if (re[i] == ')' && --depth == 0)
                return i + 1;
            i++;
        }
    }
    return 0;
}

struct run {
    char *buf;      /* best run so far */
    size_t best, cap;
    char cur[ACT_MATCH_MAX_PATTERN_LEN + 1];
    size_t n;
};

static void run_end(struct run *r)
{
    if (r->n > r->best && r->n < r->cap) {
        memcpy(r->buf, r->cur, r->n);
        r->best = r->n;
    }
    r->n = 0;
}

/* One top-level escape at re[i] == '\\'.  Returns the chars consumed, or 0
 * to give up (escapes that take arguments or change meaning). */
static size_t run_escape(const char *re, size_t len, size_t i, struct run *r)
{
    char e = i + 1 < len ? re[i + 1] : '\0';

    if (e && !((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9'))) {
        r->cur[r->n++] = e; /* an escaped punctuation character is itself */
        return 2;
    }
    if (e && strchr("dwsDWSbBAzZhvHVR", e)) {
        run_end(r); /* a class or an assertion: ends the literal run */
        return 2;
    }
    return 0;
}

size_t act_match_re_required(const char *re, size_t len, char *buf, size_t buf_len)
{
    struct run r = {.buf = buf, .cap = buf_len};
    size_t i = 0, k;

    if (!buf_len)
        return 0;
    buf[0] = '\0';
    if (len > ACT_MATCH_MAX_PATTERN_LEN || !no_top_alternation(re, len))
        return 0;
    while (i < len) {
        char c = re[i];
        if (c == '(') {
            /* (?i) and friends change how later literals match: give up */
            if (i + 2 < len && re[i + 1] == '?' && strchr("imnsxJU^-", re[i + 2]) && re[i + 2])
                return 0;
            run_end(&r);
            if (!(i = skip_group(re, len, i)))
                return 0;
        } else if (c == '[') {
            run_end(&r);
            if (!(i = skip_class(re, len, i)))
                return 0;
        } else if (c == '\\') {
            if (!(k = run_escape(re, len, i, &r)))
                return 0;
            i += k;
        } else if (c == '*' || c == '+' || c == '?' || c == '{') {
            if (r.n)
                r.n--; /* the quantified atom is optional or repeated */
            run_end(&r);
            if (c == '{')
                while (i < len && re[i] != '}')
                    i++;
            i++;
        } else if ((unsigned char)c > 0x20 && (unsigned char)c < 0x7f && !strchr(".^$|)", c)) {
            r.cur[r.n++] = c;
            i++;
        } else {
            run_end(&r); /* metacharacters, spaces, non-ASCII */
            i++;
        }
    }
    run_end(&r);
    buf[r.best] = '\0';
    return r.best;
}
