/*
 * Kind `sql`, shared by its files only (handler_sql.c: spec, pool and
 * output; handler_sql_parse.c: the statement lexer; handler_sql_sqlite.c and
 * handler_sql_pg.c: the two database backends).  docs/internals/sql.md
 * describes the kind.
 */
#ifndef ACT_HANDLER_HANDLER_SQL_H
#define ACT_HANDLER_HANDLER_SQL_H

#include "handler/handler.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACT_SQL_TEXT_MAX ((size_t)256 << 10) /* bytes of handler.sql */
#define ACT_SQL_NAMES_MAX 256                /* distinct placeholder names */
#define ACT_SQL_NAME_LEN_MAX 128             /* bytes of one placeholder name */
#define ACT_SQL_STMTS_MAX 64                 /* statements in handler.sql */

enum act_sql_dialect { ACT_SQL_SQLITE, ACT_SQL_PG };

/* One statement of handler.sql with its placeholders rewritten to local
 * positional ones ("?1" for SQLite, "$1" for PostgreSQL): local number k
 * (1-based) binds the value of global name param[k - 1]. */
struct act_sql_stmt {
    char *text;     /* owned, NUL-terminated, without the trailing ';' */
    size_t *param;  /* owned: n_params indexes into act_sql_parsed.names */
    size_t n_params;
};

/* The parsed handler.sql: statements in order and the distinct placeholder
 * names in order of first appearance. */
struct act_sql_parsed {
    struct act_sql_stmt *stmts;
    size_t n_stmts;
    char **names;   /* owned; without the ':' ("a", "input.user.id") */
    size_t n_names;
};

/* Split `sql` into statements at top-level ';' (outside quotes, comments,
 * PostgreSQL dollar quotes; SQLite trigger bodies stay whole), drop empty
 * ones, and rewrite every `:name` / `:a.b.c` placeholder outside quotes and
 * comments (`::` casts are left alone).  Refuses positional or other
 * placeholder forms (`?`, `$1`, `@x`), transaction control (BEGIN, COMMIT,
 * ROLLBACK other than TO SAVEPOINT, END, ABORT, START, SET TRANSACTION, SET
 * SESSION), unterminated quotes or comments, and more statements or names
 * than the limits above.  Errors: ACT_EUNPROC with field "handler.sql".
 * On failure *out is left empty.  thread: any */
int act_sql_parse(const char *sql, enum act_sql_dialect d, struct act_sql_parsed *out,
                  struct act_err *err);

/* Free what act_sql_parse filled (the struct is the caller's).  thread: any */
void act_sql_parsed_release(struct act_sql_parsed *p);

/* The immutable per-action spec built at open. */
struct act_sql_spec {
    enum act_sql_dialect dialect;
    char *target;          /* SQLite: the file path; PostgreSQL: the URI */
    char *password;        /* config.password opened, or NULL; never logged */
    char *dsn_password;    /* the password inside the URI, or NULL: redaction only */
    struct act_sql_parsed parsed;
    bool read_only;
    int64_t statement_timeout_ms;
    size_t max_rows;
};

/* One attempt, as a backend sees it. */
struct act_sql_run {
    const struct act_sql_spec *spec;
    json_t *const *values;   /* borrowed: the value of each parsed name */
    int64_t deadline_us;     /* act_time_mono_us() by which the attempt must end */
    /* filled by the backend */
    json_t *rows;            /* owned: rows of the last statement that returned rows */
    int64_t row_count;       /* rows that statement returned (rows holds at most max_rows) */
    int64_t affected;        /* rows inserted, updated or deleted, all statements */
    struct act_handler_result *res; /* where failures are written */
};

/* A database backend: connections are opaque and used by one thread at a
 * time.  thread: worker (any, one connection each) */
struct act_sql_backend {
    /* Open a connection; on failure fill res (through act_sql_fail) and
     * return a negative code. */
    int (*connect)(const struct act_sql_spec *s, int64_t deadline_us, void **conn,
                   struct act_handler_result *res);
    /* Run all statements in one transaction.  *broken is set when the
     * connection must not be reused. */
    int (*run)(void *conn, struct act_sql_run *run, bool *broken);
    /* True when a pooled connection still looks usable. */
    bool (*alive)(void *conn);
    void (*disconnect)(void *conn);
};

extern const struct act_sql_backend act_sql_sqlite_backend;
extern const struct act_sql_backend act_sql_pg_backend;

/* Fail an attempt with a one-line message in which every secret of the spec
 * (both passwords) is replaced by "***".  Returns `code`.  thread: any */
int act_sql_fail(const struct act_sql_spec *s, struct act_handler_result *res, int code,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Attach {"statement": n, "sqlstate"?: ..., "message": ...} as res->error_detail
 * (redacted like act_sql_fail).  `sqlstate` may be NULL.  thread: any */
void act_sql_detail(const struct act_sql_spec *s, struct act_handler_result *res, size_t stmt,
                    const char *sqlstate, const char *message);

/* Append one row value to a run: creates run->rows on first use, counts
 * every row, keeps at most max_rows.  `row` is taken (freed when dropped).
 * thread: any */
void act_sql_add_row(struct act_sql_run *run, json_t *row);

/* A JSON value as text for binding: strings as they are, numbers in
 * decimal, booleans "true"/"false", objects and arrays as compact JSON;
 * NULL for JSON null.  Heap string (act_free).  thread: any */
char *act_sql_value_text(const json_t *v);

/* "begin" for idx 0, "statement <idx>" for 1..n_stmts, "commit" after:
 * how messages name the step that failed; written into buf.  thread: any */
const char *act_sql_label(const struct act_sql_spec *s, size_t idx, char *buf, size_t cap);

/* Milliseconds left until deadline_us (at least 1).  thread: any */
int64_t act_sql_remaining_ms(int64_t deadline_us);

#endif
