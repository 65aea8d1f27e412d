/*
 * The statement lexer of kind `sql`: splits handler.sql into statements and
 * turns `:name` placeholders into the positional parameters of the database
 * (`?k` for SQLite, `$k` for PostgreSQL), so values are always bound and
 * never spliced into the text.
 *
 * It understands just enough SQL to know where text is not code: single
 * quotes (with '' doubling, and PostgreSQL E'...' backslash escapes), double
 * quotes, SQLite's [..] and `..` identifiers, -- and block comments (nested in
 * PostgreSQL), and PostgreSQL $tag$ dollar quotes.  A ';' outside all of
 * those ends a statement; in SQLite a statement also has to be complete by
 * sqlite3_complete(), which keeps CREATE TRIGGER ... BEGIN ...; END whole.
 *
 * Invariants: every statement of the output is non-empty; its local
 * parameter k maps to param[k - 1], an index into names; each distinct name
 * is listed once, in order of first appearance.
 */
#include "base/alloc.h"
#include "handler/handler_internal.h"
#include "handler/handler_sql.h"

#include <ctype.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct lex {
    const char *s;
    size_t i, n;
    enum act_sql_dialect d;
    struct act_buf cur;     /* the statement being built */
    size_t *lp;              /* its local parameters (global name indexes) */
    size_t n_lp, cap_lp;
    size_t raw_start;        /* where the statement began in s */
    bool content;            /* anything but space and comments seen */
    struct act_sql_parsed *out;
    size_t cap_stmts;
    struct act_err *err;
};

static int fail(struct lex *lx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct lex *lx, const char *fmt, ...)
{
    char msg[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return act_err_field(lx->err, ACT_EUNPROC, "handler.sql", "%s (statement %zu)", msg,
                         lx->out->n_stmts + 1);
}

static bool ident_start(char c)
{
    return isalpha((unsigned char)c) || c == '_' || (unsigned char)c >= 0x80;
}

static bool ident_char(char c)
{
    return ident_start(c) || isdigit((unsigned char)c) || c == '$';
}

static void emit(struct lex *lx, size_t from, size_t to)
{
    act_buf_add(&lx->cur, lx->s + from, to - from);
}

/* Copy a quoted run starting at lx->i (the opening char) through its
 * closing char; `close` doubled inside stands for itself. */
static int quoted(struct lex *lx, char close, bool backslash)
{
    size_t start = lx->i++;

    while (lx->i < lx->n) {
        char c = lx->s[lx->i++];

        if (backslash && c == '\\' && lx->i < lx->n) {
            lx->i++;
        } else if (c == close) {
            if (lx->i < lx->n && lx->s[lx->i] == close && close != ']') {
                lx->i++;
                continue;
            }
            emit(lx, start, lx->i);
            return ACT_OK;
        }
    }
    return fail(lx, "unterminated quote %c", lx->s[start]);
}

static int block_comment(struct lex *lx)
{
    size_t start = lx->i, depth = 0;

    while (lx->i + 1 < lx->n) {
        if (lx->s[lx->i] == '/' && lx->s[lx->i + 1] == '*') {
            depth = lx->d == ACT_SQL_PG || depth == 0 ? depth + 1 : depth;
            lx->i += 2;
        } else if (lx->s[lx->i] == '*' && lx->s[lx->i + 1] == '/') {
            lx->i += 2;
            if (--depth == 0) {
                emit(lx, start, lx->i);
                return ACT_OK;
            }
        } else {
            lx->i++;
        }
    }
    return fail(lx, "unterminated /* comment");
}

static void line_comment(struct lex *lx)
{
    size_t start = lx->i;

    while (lx->i < lx->n && lx->s[lx->i] != '\n')
        lx->i++;
    emit(lx, start, lx->i);
}

/* Length of a dollar-quote tag ($$ or $tag$) at s[i], or 0. */
static size_t dollar_tag(const struct lex *lx, size_t i)
{
    size_t j = i + 1;

    if (j < lx->n && lx->s[j] == '$')
        return 2;
    if (j >= lx->n || !ident_start(lx->s[j]))
        return 0;
    while (j < lx->n && ident_char(lx->s[j]) && lx->s[j] != '$')
        j++;
    return j < lx->n && lx->s[j] == '$' ? j + 1 - i : 0;
}

static int dollar_quoted(struct lex *lx, size_t tag)
{
    size_t start = lx->i;

    lx->i += tag;
    for (; lx->i + tag <= lx->n; lx->i++)
        if (memcmp(lx->s + lx->i, lx->s + start, tag) == 0) {
            lx->i += tag;
            emit(lx, start, lx->i);
            return ACT_OK;
        }
    return fail(lx, "unterminated dollar quote %.*s", (int)tag, lx->s + start);
}

static size_t name_index(struct lex *lx, const char *name, size_t len)
{
    struct act_sql_parsed *p = lx->out;

    for (size_t k = 0; k < p->n_names; k++)
        if (strlen(p->names[k]) == len && memcmp(p->names[k], name, len) == 0)
            return k;
    if (p->n_names == ACT_SQL_NAMES_MAX)
        return SIZE_MAX;
    if (p->n_names % 16 == 0)
        p->names = act_xrealloc(p->names, (p->n_names + 16) * sizeof(*p->names));
    p->names[p->n_names] = act_xstrndup(name, len);
    return p->n_names++;
}

/* lx->i is at the ':' of `:name` or `:a.b.c`. */
static int placeholder(struct lex *lx)
{
    size_t start = ++lx->i, k, g;
    char num[24];

    while (lx->i < lx->n) {
        while (lx->i < lx->n && ident_char(lx->s[lx->i]) && lx->s[lx->i] != '$')
            lx->i++;
        if (lx->i + 1 < lx->n && lx->s[lx->i] == '.' && ident_char(lx->s[lx->i + 1]) &&
            lx->s[lx->i + 1] != '$')
            lx->i++;
        else
            break;
    }
    if (lx->i - start > ACT_SQL_NAME_LEN_MAX)
        return fail(lx, "placeholder :%.40s... is too long", lx->s + start);
    g = name_index(lx, lx->s + start, lx->i - start);
    if (g == SIZE_MAX)
        return fail(lx, "more than %d distinct placeholders", ACT_SQL_NAMES_MAX);
    for (k = 0; k < lx->n_lp && lx->lp[k] != g; k++)
        ;
    if (k == lx->n_lp) {
        if (lx->n_lp == lx->cap_lp) {
            lx->cap_lp = lx->cap_lp ? lx->cap_lp * 2 : 8;
            lx->lp = act_xrealloc(lx->lp, lx->cap_lp * sizeof(*lx->lp));
        }
        lx->lp[lx->n_lp++] = g;
    }
    snprintf(num, sizeof(num), "%c%zu", lx->d == ACT_SQL_PG ? '$' : '?', k + 1);
    act_buf_add(&lx->cur, num, strlen(num));
    lx->content = true;
    return ACT_OK;
}

/* The first keyword after space and comments of `t`, upper-cased into w. */
static const char *next_word(const char *t, char *w, size_t cap)
{
    size_t n = 0;

    for (;;) {
        while (isspace((unsigned char)*t) || *t == '(')
            t++;
        if (t[0] == '-' && t[1] == '-')
            t += strcspn(t, "\n");
        else if (t[0] == '/' && t[1] == '*')
            t = strstr(t + 2, "*/") ? strstr(t + 2, "*/") + 2 : t + strlen(t);
        else
            break;
    }
    while (isalpha((unsigned char)*t) && n + 1 < cap)
        w[n++] = (char)toupper((unsigned char)*t++);
    w[n] = '\0';
    return t;
}

/* Transaction control would escape the one transaction the kind wraps
 * around the statements (and with it read_only): refuse it. */
static int check_first_keyword(struct lex *lx, const char *text)
{
    static const char *const banned[] = {"BEGIN", "START", "COMMIT", "END", "ABORT", NULL};
    char w[16], w2[16];
    const char *rest = next_word(text, w, sizeof(w));

    next_word(rest, w2, sizeof(w2));
    for (const char *const *b = banned; *b; b++)
        if (strcmp(w, *b) == 0)
            return fail(lx, "transaction control (%s) is not allowed: the statements already "
                            "run in one transaction", w);
    if (strcmp(w, "ROLLBACK") == 0 && strcmp(w2, "TO") != 0)
        return fail(lx, "transaction control (%s) is not allowed: the statements already "
                        "run in one transaction", w);
    if ((strcmp(w, "SET") == 0 || strcmp(w, "PREPARE") == 0) &&
        (strcmp(w2, "TRANSACTION") == 0 || strcmp(w2, "SESSION") == 0))
        return fail(lx, "%s is not allowed: the kind sets the transaction mode", w2);
    return ACT_OK;
}

/* At a top-level ';' (lx->i at it) or the end: close the statement. */
static int end_stmt(struct lex *lx, bool at_end)
{
    struct act_sql_parsed *p = lx->out;
    struct act_sql_stmt *st;
    int rc;

    if (lx->d == ACT_SQL_SQLITE && !at_end && lx->content) {
        char *raw = act_xstrndup(lx->s + lx->raw_start, lx->i + 1 - lx->raw_start);
        bool complete = sqlite3_complete(raw) != 0;

        act_free(raw);
        if (!complete) { /* inside a trigger body: the ';' belongs to it */
            act_buf_add(&lx->cur, ";", 1);
            lx->i++;
            return ACT_OK;
        }
    }
    if (!at_end)
        lx->i++;
    lx->raw_start = lx->i;
    if (!lx->content) {
        lx->cur.len = 0;
        return ACT_OK;
    }
    act_buf_add(&lx->cur, "", 0);
    if ((rc = check_first_keyword(lx, lx->cur.p)) < 0)
        return rc;
    if (p->n_stmts == ACT_SQL_STMTS_MAX)
        return fail(lx, "more than %d statements", ACT_SQL_STMTS_MAX);
    if (p->n_stmts == lx->cap_stmts) {
        lx->cap_stmts = lx->cap_stmts ? lx->cap_stmts * 2 : 4;
        p->stmts = act_xrealloc(p->stmts, lx->cap_stmts * sizeof(*p->stmts));
    }
    st = &p->stmts[p->n_stmts++];
    st->text = act_xstrndup(lx->cur.p, lx->cur.len);
    st->param = lx->lp;
    st->n_params = lx->n_lp;
    lx->lp = NULL;
    lx->n_lp = lx->cap_lp = 0;
    lx->cur.len = 0;
    lx->content = false;
    return ACT_OK;
}

/* A character that starts a placeholder form we do not take. */
static int foreign_placeholder(struct lex *lx, char c, char next, bool after_ident)
{
    if (lx->d == ACT_SQL_SQLITE) {
        if (c == '?' || ((c == '@' || c == '$') && ident_start(next) && !after_ident))
            return fail(lx, "placeholder form '%c' is not supported: use :name", c);
    } else if (c == '$' && isdigit((unsigned char)next) && !after_ident) {
        return fail(lx, "positional parameter $%c is not supported: use :name", next);
    }
    return ACT_OK;
}

/* One step of the scan at lx->i. */
static int step(struct lex *lx)
{
    char c = lx->s[lx->i], next = lx->i + 1 < lx->n ? lx->s[lx->i + 1] : '\0';
    bool after_ident = lx->i > 0 && ident_char(lx->s[lx->i - 1]);
    bool e_string = lx->d == ACT_SQL_PG && lx->i > 0 && (lx->s[lx->i - 1] == 'E' ||
                    lx->s[lx->i - 1] == 'e') && !(lx->i > 1 && ident_char(lx->s[lx->i - 2]));
    size_t tag;
    int rc;

    if (c == '-' && next == '-') {
        line_comment(lx);
        return ACT_OK;
    }
    if (c == '/' && next == '*')
        return block_comment(lx);
    if (!isspace((unsigned char)c) && c != ';')
        lx->content = true;
    if (c == '\'')
        return quoted(lx, '\'', e_string);
    if (c == '"')
        return quoted(lx, '"', false);
    if (lx->d == ACT_SQL_SQLITE && (c == '`' || c == '['))
        return quoted(lx, c == '`' ? '`' : ']', false);
    if (lx->d == ACT_SQL_PG && c == '$' && !after_ident && (tag = dollar_tag(lx, lx->i)))
        return dollar_quoted(lx, tag);
    if ((rc = foreign_placeholder(lx, c, next, after_ident)) < 0)
        return rc;
    if (c == ':' && next == ':') {
        emit(lx, lx->i, lx->i + 2);
        lx->i += 2;
        return ACT_OK;
    }
    if (c == ':' && ident_start(next))
        return placeholder(lx);
    if (c == ';')
        return end_stmt(lx, false);
    emit(lx, lx->i, lx->i + 1);
    lx->i++;
    return ACT_OK;
}

int act_sql_parse(const char *sql, enum act_sql_dialect d, struct act_sql_parsed *out,
                  struct act_err *err)
{
    struct lex lx = {.s = sql, .n = strlen(sql), .d = d, .out = out, .err = err};
    int rc = ACT_OK;

    memset(out, 0, sizeof(*out));
    while (lx.i < lx.n && rc == ACT_OK)
        rc = step(&lx);
    if (rc == ACT_OK)
        rc = end_stmt(&lx, true);
    if (rc == ACT_OK && out->n_stmts == 0)
        rc = act_err_field(err, ACT_EUNPROC, "handler.sql", "sql holds no statement");
    act_free(lx.cur.p);
    act_free(lx.lp);
    if (rc < 0)
        act_sql_parsed_release(out);
    return rc;
}

void act_sql_parsed_release(struct act_sql_parsed *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_stmts; i++) {
        act_free(p->stmts[i].text);
        act_free(p->stmts[i].param);
    }
    act_free(p->stmts);
    for (size_t i = 0; i < p->n_names; i++)
        act_free(p->names[i]);
    act_free(p->names);
    memset(p, 0, sizeof(*p));
}
